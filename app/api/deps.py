"""Dependencies shared by the routes: settings, DB session, store, auth and rate limiting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.security import decode_token
from app.errors import ApiError
from app.metrics import RATE_LIMITED
from app.models import User
from app.store import Store

_bearer = HTTPBearer(auto_error=False)


# No I/O here, so async: a sync dependency would cost a threadpool hop per request.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> Store:
    return request.app.state.store


def get_session(request: Request) -> Iterator[Session]:
    yield from request.app.state.db.session()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message, {"WWW-Authenticate": "Bearer"})


def current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise _unauthorized("A bearer token is required")
    try:
        claims = decode_token(credentials.credentials, settings.secret_key)
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, KeyError):
        raise _unauthorized("The bearer token is invalid or expired") from None
    # The role comes from the database, so demoting or disabling a user takes effect at once.
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise _unauthorized("The bearer token is invalid or expired")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise ApiError(403, "insufficient_permissions", "This endpoint requires the admin role")
    return user


def rate_limit(request: Request, store: StoreDep, settings: SettingsDep) -> None:
    """Fixed windows per client address: RATE_LIMIT_PER_MINUTE and RATE_LIMIT_PER_HOUR."""
    client = request.client.host if request.client else "unknown"
    now = int(time.time())
    minute, hour = now // 60, now // 3600
    counts = store.incr_windows([(f"rl:{client}:m:{minute}", 60), (f"rl:{client}:h:{hour}", 3600)])
    retry_after = None
    if counts[1] > settings.rate_limit_per_hour:
        retry_after = 3600 - now % 3600
    elif counts[0] > settings.rate_limit_per_minute:
        retry_after = 60 - now % 60
    if retry_after is not None:
        RATE_LIMITED.inc()
        raise ApiError(429, "rate_limited", f"Too many requests, retry in {retry_after} s",
                       {"Retry-After": str(retry_after)})
