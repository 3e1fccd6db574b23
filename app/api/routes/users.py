"""Admin: change a user's role or status. It takes effect on that user's next request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import update

from app.api.deps import AdminUser
from app.api.schemas import UserOut, UserUpdate
from app.errors import ApiError
from app.models import User
from app.users import Principal

router = APIRouter(prefix="/api/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.patch("/{user_id}", response_model=UserOut,
              responses={401: {"description": "Missing or bad token"}, 403: {"description": "Not an admin"},
                         404: {"description": "No such user"}, 429: {"description": "Rate limited"},
                         503: {"description": "The cache is unavailable (see Retry-After)"}})
async def update_user(user_id: UserId, body: UserUpdate, admin: AdminUser, request: Request) -> UserOut:
    state = request.app.state
    if state.store.shared and state.store.breaker.down:
        # A change saved now could not reach the cached snapshots: refuse it rather than let it lag.
        raise ApiError(503, "cache_unavailable", "Role changes wait for the cache to be reachable; retry shortly",
                       {"Retry-After": "5"})
    async with state.db.session() as session:
        row = (await session.execute(
            update(User).where(User.id == user_id)
            .values(**body.model_dump(exclude_none=True), auth_version=User.auth_version + 1)
            .returning(User.id, User.email, User.role, User.is_active, User.auth_version))).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", "No such user")
    if not await state.auth.publish(Principal(row.id, row.role, row.is_active, row.auth_version)):
        raise ApiError(503, "cache_unavailable",
                       f"Saved, but the cache did not take it: it takes effect everywhere within "
                       f"{state.settings.auth_cache_seconds} s", {"Retry-After": "5"})
    return UserOut(id=row.id, email=row.email, role=row.role, is_active=row.is_active)
