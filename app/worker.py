"""``python -m app worker``: pre-warms the answer cache for the most asked questions.

Every request to /api/ask pushes its normalised question onto a capped Redis list; every
``interval`` seconds the worker counts the list and computes answers for the top ones that
are not cached, so popular questions stay fast even after their cache entries expire.
SIGTERM/SIGINT stop it between rounds (a round in progress is finished first).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter

from app import answers
from app.core.config import Settings
from app.db import Database
from app.store import Store

log = logging.getLogger("app.worker")


class Worker:
    def __init__(self, settings: Settings, interval: float = 30.0, top: int = 10, window: int = 1000) -> None:
        self.settings, self.interval, self.top, self.window = settings, interval, top, window
        self.db = Database(settings)
        self.store = Store(settings.redis_url, settings.dependency_timeout_seconds)
        self.stopping = threading.Event()

    def run_once(self) -> int:
        recent = self.store.recent(answers.RECENT_QUESTIONS_KEY, self.window)
        warmed = 0
        with self.db.sessionmaker() as session:
            for question, _count in Counter(recent).most_common(self.top):
                if self.store.get(answers.cache_key(question)) is None:
                    result = answers.compute_answer(session, self.settings, question)
                    answers.cache_answer(self.store, self.settings, question, result)
                    warmed += 1
        return warmed

    def stop(self, signum: int, _frame: object) -> None:
        log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("worker started", extra={"interval": self.interval, "top": self.top})
        while not self.stopping.is_set():
            try:
                warmed = self.run_once()
                log.info("cache warmed", extra={"warmed": warmed})
            except Exception:  # keep going: Postgres or Redis may be back next round
                log.exception("warm-up round failed")
            self.stopping.wait(self.interval)
        self.store.close()
        self.db.dispose()
        log.info("worker stopped")
