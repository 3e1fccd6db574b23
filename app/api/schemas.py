"""Request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

MAX_QUESTION_CHARS = 500


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    # Postgres text cannot hold NUL; refuse it here rather than fail at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value.strip()


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        value = _clean_text(value) or ""
        if not value:
            raise ValueError("must not be blank")
        return value


class AskResponse(BaseModel):
    question: str
    answer: str
    source: str = Field(description="faq, llm or none")
    cached: bool


class FeedbackRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(default=None, max_length=4000)
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("question", "answer", "comment")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _clean_text(value)

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be blank")
        return value


class FeedbackCreated(BaseModel):
    id: int
    created_at: dt.datetime


class FeedbackDetail(BaseModel):
    id: int
    user_email: str
    question: str
    answer: str | None
    rating: int
    comment: str | None
    created_at: dt.datetime


class FeedbackPage(BaseModel):
    total: int
    items: list[FeedbackDetail]


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return (_clean_text(value) or "").lower()


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserUpdate(BaseModel):
    role: Literal["admin", "user"] | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserUpdate:
        if self.role is None and self.is_active is None:
            raise ValueError("give role, is_active or both")
        return self


class UserOut(BaseModel):
    id: int
    email: str
    role: str
    is_active: bool
