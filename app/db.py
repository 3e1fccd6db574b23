"""Database engines: async for the service (SQLAlchemy asyncio over psycopg 3), sync for
migrations and the command line (same driver, same URL).

The service's pool is per worker process, never grows past ``DB_POOL_SIZE`` (no overflow
connections opened and closed under load) and makes a request wait at most
``DB_POOL_TIMEOUT_SECONDS`` for a connection; past that the request gets 503 with Retry-After
(app/errors.py). No pre-ping round trip per checkout: a connection found dead is invalidated
with the rest of the pool, that request gets 503, and the next ones reconnect.

The service's statements run in autocommit: each is its own transaction, one round trip with no
BEGIN or ROLLBACK around it, and a write is committed when ``execute`` returns. Every route's
database work is a single statement; one that needs more would open ``session.begin()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.breaker import Outage
from app.core.config import Settings


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def make_sync_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True,
                         connect_args={"connect_timeout": settings.db_connect_timeout_seconds})


def make_async_engine(settings: Settings) -> AsyncEngine:
    url = settings.async_database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
        _sqlite_pragmas(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"connect_timeout": settings.db_connect_timeout_seconds},
    )


class Database:
    def __init__(self, settings: Settings) -> None:
        self.engine = make_async_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.outage = Outage("database", settings.breaker_seconds,
                             "database unavailable: requests that need it get 503 with Retry-After")
        self.saturated = Outage("database_pool", settings.breaker_seconds,
                                "database pool exhausted: requests past the checkout timeout get 503 with Retry-After")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session
        self.outage.success()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        self.outage.success()

    async def dispose(self) -> None:
        await self.engine.dispose()
