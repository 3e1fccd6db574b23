"""The API proper, under /api: ask, feedback, login. All of it is rate limited per client."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from app import answers
from app.api.deps import CurrentUser, SessionDep, SettingsDep, StoreDep, rate_limit, require_admin
from app.api.schemas import (
    AskRequest,
    AskResponse,
    FeedbackCreated,
    FeedbackDetail,
    FeedbackPage,
    FeedbackRequest,
    LoginRequest,
    TokenResponse,
)
from app.core.security import create_token, hash_password, verify_password
from app.errors import ApiError
from app.models import Feedback, User

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(rate_limit)])

_ERRORS = {401: {"description": "Missing or bad token"}, 429: {"description": "Rate limited"}}
# Verifying against a real hash for unknown emails keeps login timing from revealing which exist.
_DUMMY_HASH = hash_password("not-a-real-password")


@router.post("/ask", response_model=AskResponse, responses=_ERRORS)
def ask(body: AskRequest, user: CurrentUser, session: SessionDep, store: StoreDep,
        settings: SettingsDep) -> AskResponse:
    result = answers.answer(session, store, settings, body.question)
    return AskResponse(question=body.question, **result)


@router.post("/feedback", response_model=FeedbackCreated, status_code=201, responses=_ERRORS)
def create_feedback(body: FeedbackRequest, user: CurrentUser, session: SessionDep) -> FeedbackCreated:
    # 201 only after the commit: feedback that was acknowledged is never lost.
    row = Feedback(user_id=user.id, **body.model_dump())
    session.add(row)
    session.commit()
    return FeedbackCreated(id=row.id, created_at=row.created_at)


@router.get("/feedback/detailed", response_model=FeedbackPage,
            responses={**_ERRORS, 403: {"description": "Not an admin"}})
def feedback_detailed(
    admin: Annotated[User, Depends(require_admin)],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FeedbackPage:
    total = session.scalar(select(func.count()).select_from(Feedback)) or 0
    rows = session.execute(
        select(Feedback, User.email).join(User, User.id == Feedback.user_id)
        .order_by(Feedback.id.desc()).limit(limit).offset(offset)
    ).all()
    items = [
        FeedbackDetail(id=f.id, user_email=email, question=f.question, answer=f.answer, rating=f.rating,
                       comment=f.comment, created_at=f.created_at)
        for f, email in rows
    ]
    return FeedbackPage(total=total, items=items)


@router.post("/login", response_model=TokenResponse, responses=_ERRORS)
async def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    user = await run_in_threadpool(
        lambda: session.scalar(select(User).where(User.email == body.email)))
    ok = await run_in_threadpool(verify_password, body.password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.is_active:
        raise ApiError(401, "invalid_credentials", "Email or password is incorrect")
    token = create_token(user_id=user.id, role=user.role, secret_key=settings.secret_key,
                         expire_minutes=settings.token_expire_minutes)
    return TokenResponse(access_token=token)
