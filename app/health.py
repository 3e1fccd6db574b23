"""Dependency checks for /readiness and /health, cached briefly per process.

Every replica's probes poll these every few seconds; a 1-2 s cache keeps that from
becoming load on Postgres and Redis while still noticing an outage within seconds.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time

from sqlalchemy import text

from app.core.config import Settings
from app.db import Database
from app.store import Store

MIN_FREE_DISK_BYTES = 50 * 1024 * 1024


class HealthChecker:
    def __init__(self, settings: Settings, db: Database, store: Store) -> None:
        self.settings, self.db, self.store = settings, db, store
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, str]] | None = None

    def _database(self) -> str:
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as exc:  # any failure means "not reachable"
            return f"error: {type(exc).__name__}"

    def _cache(self) -> str:
        try:
            self.store.ping()
            return "ok"
        except Exception as exc:
            return f"error: {type(exc).__name__}"

    @staticmethod
    def _disk() -> str:
        free = shutil.disk_usage(tempfile.gettempdir()).free
        return "ok" if free >= MIN_FREE_DISK_BYTES else f"error: {free // (1024 * 1024)} MiB free"

    def checks(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self.settings.health_cache_seconds:
                return self._cached[1]
            result = {"database": self._database(), "cache": self._cache(), "disk": self._disk()}
            self._cached = (time.monotonic(), result)
            return result

    def health(self) -> dict[str, object]:
        checks = self.checks()
        return {
            "status": "ok" if all(v == "ok" for v in checks.values()) else "degraded",
            "version": self.settings.app_version,
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
            "checks": checks,
        }
