"""Dependency checks for /readiness and /health, cached briefly per process.

Every replica's probes poll these every few seconds; a 1-2 s cache keeps that from becoming
load on Postgres and Redis while still noticing an outage within seconds. A fresh result is
returned without any I/O or thread hop; when it is stale one refresh runs and concurrent
probes wait for that one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import time

from app.core.config import Settings
from app.db import Database
from app.store import Store

MIN_FREE_DISK_BYTES = 50 * 1024 * 1024


class HealthChecker:
    def __init__(self, settings: Settings, db: Database, store: Store) -> None:
        self.settings, self.db, self.store = settings, db, store
        self._cached: tuple[float, dict[str, str]] | None = None
        self._refresh: asyncio.Task[dict[str, str]] | None = None

    async def _database(self) -> str:
        # Bounded even if Postgres hangs: pool checkout plus connect, then the query.
        limit = self.settings.db_pool_timeout_seconds + self.settings.db_connect_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                await self.db.ping()
            return "ok"
        except Exception as exc:  # any failure means "not reachable"
            self.db.outage.failure(exc)
            return f"error: {type(exc).__name__}"

    async def _cache(self) -> str:
        try:
            await self.store.ping()
            return "ok"
        except Exception as exc:
            return f"error: {type(exc).__name__}"

    @staticmethod
    def _disk() -> str:
        free = shutil.disk_usage(tempfile.gettempdir()).free
        return "ok" if free >= MIN_FREE_DISK_BYTES else f"error: {free // (1024 * 1024)} MiB free"

    async def _check(self) -> dict[str, str]:
        database, cache = await asyncio.gather(self._database(), self._cache())
        result = {"database": database, "cache": cache, "disk": self._disk()}
        self._cached = (time.monotonic(), result)
        return result

    async def checks(self) -> dict[str, str]:
        cached = self._cached
        if cached and time.monotonic() - cached[0] < self.settings.health_cache_seconds:
            return cached[1]
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._check())
        return await asyncio.shield(self._refresh)

    async def health(self) -> dict[str, object]:
        checks = await self.checks()
        return {
            "status": "ok" if all(v == "ok" for v in checks.values()) else "degraded",
            "version": self.settings.app_version,
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
            "checks": checks,
        }
