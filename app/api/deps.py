"""Dependencies shared by the routes: settings, database sessions, and the gate of /api.

``admit`` is a request's one cache round trip: the client's rate-limit windows, the caller's
current role (app/users.py) and whatever the route adds (the cached answer for /api/ask),
pipelined together. Nothing here blocks, so no dependency costs a threadpool hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.config import Settings
from app.db import Database
from app.errors import ApiError
from app.metrics import RATE_LIMITED
from app.store import Op
from app.users import Principal

_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
# Routes open `async with db.session()` around their statements only: a pooled connection is
# never held while a response is serialized and sent.
DatabaseDep = Annotated[Database, Depends(get_db)]


def client_address(request: Request) -> str:
    """The peer, or the client a trusted proxy named (the server applies FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message, {"WWW-Authenticate": "Bearer"})


@dataclass
class Admission:
    user: Principal | None
    results: list[Any]  # one per op the route added


async def admit(request: Request, credentials: HTTPAuthorizationCredentials | None, *ops: Op,
                authenticate: bool = True) -> Admission:
    """Rate limit (429 first, whatever the token), then the caller's current role (401)."""
    state = request.app.state
    user_id = None
    if authenticate and credentials is not None:
        user_id = state.tokens.user_id(credentials.credentials)
    checks = [state.limiter.check(client_address(request))]
    if user_id is not None:
        checks.append(state.auth.lookup(user_id))
    elif authenticate:
        ops = ()  # refused below: do not record or look up anything for it
    results = await state.store.run(*checks, *ops)
    wait = results[0]
    if wait:
        RATE_LIMITED.inc()
        raise ApiError(429, "rate_limited", f"Too many requests, retry in {wait} s", {"Retry-After": str(wait)})
    if not authenticate:
        return Admission(None, results[1:])
    if credentials is None:
        raise _unauthorized("A bearer token is required")
    user = results[1] if user_id is not None else None
    if user is None or not user.active:
        raise _unauthorized("The bearer token is invalid or expired")
    return Admission(user, results[2:])


async def rate_limited(request: Request) -> None:
    await admit(request, None, authenticate=False)


async def current_user(request: Request, credentials: Credentials) -> Principal:
    return (await admit(request, credentials)).user


CurrentUser = Annotated[Principal, Depends(current_user)]


async def require_admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "insufficient_permissions", "This endpoint requires the admin role")
    return user


AdminUser = Annotated[Principal, Depends(require_admin)]
