"""``python -m app worker``: pre-warms the answer cache for the most asked questions.

Every admitted /api/ask question lands on a capped Redis list (each service process pushes its
batch once a second); every ``interval`` seconds the worker counts the list and computes answers
for the top ones that are not cached, so popular questions stay fast even after their cache
entries expire.
SIGTERM/SIGINT stop it between rounds (a round in progress is finished first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import Counter

import httpx

from app import answers
from app.core.config import Settings
from app.db import Database
from app.store import Store

log = logging.getLogger("app.worker")


class Worker:
    def __init__(self, settings: Settings, interval: float = 30.0, top: int = 10, window: int = 1000) -> None:
        self.settings, self.interval, self.top, self.window = settings, interval, top, window
        self.db = Database(settings)
        self.store = Store(settings.redis_url, settings.cache_timeout_seconds, settings.breaker_seconds)
        self.http = httpx.AsyncClient()
        self.stopping = asyncio.Event()

    async def run_once(self) -> int:
        recent = await self.store.recent(answers.RECENT_QUESTIONS_KEY, self.window)
        warmed = 0
        for question, _count in Counter(recent).most_common(self.top):
            if await self.store.get(answers.cache_key(question)) is None:
                result = await answers.compute_answer(self.db, self.http, self.settings, question)
                await self.store.run(answers.store_answer(self.settings, question, result))
                warmed += 1
        return warmed

    def stop(self, signum: int) -> None:
        log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
        self.stopping.set()

    async def close(self) -> None:
        await self.http.aclose()
        await self.store.close()
        await self.db.dispose()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop, signum)
        log.info("worker started", extra={"interval": self.interval, "top": self.top})
        while not self.stopping.is_set():
            try:
                warmed = await self.run_once()
                log.info("cache warmed", extra={"warmed": warmed})
            except Exception:  # keep going: Postgres or Redis may be back next round
                log.exception("warm-up round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.interval)
        await self.close()
        log.info("worker stopped")
