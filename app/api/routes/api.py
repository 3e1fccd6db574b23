"""The API proper, under /api: ask, feedback, login. All of it is rate limited per client."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, insert, select
from starlette.concurrency import run_in_threadpool

from app import answers
from app.api.deps import AdminUser, Credentials, CurrentUser, DatabaseDep, SettingsDep, admit, rate_limited
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
from app.metrics import CACHE_OPS
from app.models import Feedback, User

router = APIRouter(prefix="/api", tags=["api"])

_ERRORS = {401: {"description": "Missing or bad token"}, 429: {"description": "Rate limited"},
           503: {"description": "Overloaded or a dependency is unavailable (see Retry-After)"}}
# Verifying against a real hash for unknown emails keeps login timing from revealing which exist.
_DUMMY_HASH = hash_password("not-a-real-password")


@router.post("/ask", response_model=AskResponse, responses=_ERRORS)
async def ask(body: AskRequest, request: Request, credentials: Credentials) -> AskResponse | JSONResponse:
    # A cache hit is this one round trip and no database at all.
    admission = await admit(request, credentials, answers.lookup(body.question))
    state = request.app.state
    state.questions.record(body.question)
    cached = admission.results[0]
    if cached is not None:
        CACHE_OPS.labels("hit").inc()
        # Our own cached JSON in AskResponse's shape: sent as is, not validated again.
        return JSONResponse({"question": body.question, **cached, "cached": True})
    CACHE_OPS.labels("miss").inc()
    result = await answers.compute_answer(state.db, state.http, state.settings, body.question)
    await state.store.run(answers.store_answer(state.settings, body.question, result))
    return AskResponse(question=body.question, **result, cached=False)


@router.post("/feedback", response_model=FeedbackCreated, status_code=201, responses=_ERRORS)
async def create_feedback(body: FeedbackRequest, user: CurrentUser, db: DatabaseDep) -> FeedbackCreated:
    # Autocommit (app/db.py): the row is committed when this returns, so an acknowledged one is never lost.
    async with db.session() as session:
        row = (await session.execute(insert(Feedback).values(user_id=user.id, **body.model_dump())
                                     .returning(Feedback.id, Feedback.created_at))).one()
    return FeedbackCreated(id=row.id, created_at=row.created_at)


@router.get("/feedback/detailed", response_model=FeedbackPage,
            responses={**_ERRORS, 403: {"description": "Not an admin"}})
async def feedback_detailed(
    admin: AdminUser,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FeedbackPage:
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Feedback)) or 0
        rows = (await session.execute(
            select(Feedback, User.email).join(User, User.id == Feedback.user_id)
            .order_by(Feedback.id.desc()).limit(limit).offset(offset)
        )).all()
    items = [
        FeedbackDetail(id=f.id, user_email=email, question=f.question, answer=f.answer, rating=f.rating,
                       comment=f.comment, created_at=f.created_at)
        for f, email in rows
    ]
    return FeedbackPage(total=total, items=items)


@router.post("/login", response_model=TokenResponse, responses=_ERRORS, dependencies=[Depends(rate_limited)])
async def login(body: LoginRequest, db: DatabaseDep, settings: SettingsDep) -> TokenResponse:
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.email == body.email))
    # Hashing takes tens of milliseconds of CPU: off the event loop, and holding no connection.
    ok = await run_in_threadpool(verify_password, body.password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.is_active:
        raise ApiError(401, "invalid_credentials", "Email or password is incorrect")
    token = create_token(user_id=user.id, role=user.role, secret_key=settings.secret_key,
                         expire_minutes=settings.token_expire_minutes)
    return TokenResponse(access_token=token)
