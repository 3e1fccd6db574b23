"""Who may do what, without a database round trip per request.

A user's role and active flag live in the users table. Every change made through the admin
endpoint bumps the row's ``auth_version`` and writes the new snapshot to the cache, so the next
request anywhere sees it. Requests read the snapshot within their one cache round trip. A snapshot
missing from the cache is loaded from the database and written back only if the cache holds no
newer version (a compare-and-set script), so a slow reader cannot restore a role an admin has just
removed. Without Redis every request reads the database: authorization never falls back to a
copy that might be stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline
from sqlalchemy import select

from app.db import Database
from app.models import User
from app.store import Op, Store

KEY = "auth:v1:{}"
PUBLISH = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version > tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Principal:
    id: int
    role: str
    active: bool
    version: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def encode(self) -> str:
        return f"{self.version}:{self.role}:{int(self.active)}"

    @classmethod
    def decode(cls, user_id: int, text: str) -> Principal:
        version, role, active = text.split(":")
        return cls(user_id, role, active == "1", int(version))


class Authorizations:
    """The cached snapshots: ``lookup`` (an op of the request's round trip) and ``publish``."""

    def __init__(self, store: Store, db: Database, ttl: int) -> None:
        self.store, self.db, self.ttl = store, db, ttl
        self.sha = store.script(PUBLISH)

    def lookup(self, user_id: int) -> Op:
        """An op whose result is the user's current Principal, or None for no such user."""
        return _Lookup(self, user_id)

    async def load(self, user_id: int) -> Principal | None:
        async with self.db.session() as session:
            row = (await session.execute(
                select(User.role, User.is_active, User.auth_version).where(User.id == user_id))).one_or_none()
        return None if row is None else Principal(user_id, row.role, row.is_active, row.auth_version)

    async def publish(self, principal: Principal) -> bool:
        """Write the snapshot unless a newer one is cached. False when Redis is unavailable."""
        return (await self.store.run(_Publish(self, principal)))[0]


class _Lookup(Op):
    def __init__(self, auth: Authorizations, user_id: int) -> None:
        self.auth, self.user_id = auth, user_id

    def queue(self, pipe: Pipeline) -> None:
        pipe.get(KEY.format(self.user_id))

    async def done(self, replies: list[Any]) -> Principal | None:
        if replies[0] is not None:
            return Principal.decode(self.user_id, replies[0])
        principal = await self.auth.load(self.user_id)
        if principal is not None:
            await self.auth.publish(principal)
        return principal

    async def fallback(self, store: Store) -> Principal | None:
        return await self.auth.load(self.user_id)


class _Publish(Op):
    def __init__(self, auth: Authorizations, principal: Principal) -> None:
        self.auth, self.principal = auth, principal

    def queue(self, pipe: Pipeline) -> None:
        pipe.evalsha(self.auth.sha, 1, KEY.format(self.principal.id), self.principal.version,
                     self.principal.encode(), self.auth.ttl)

    async def done(self, replies: list[Any]) -> bool:
        return True  # written, or a newer snapshot is there: either way the cache is current

    async def fallback(self, store: Store) -> bool:
        return not store.shared  # nothing to publish to without Redis
