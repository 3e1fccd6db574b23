"""How the service notices that a dependency is away, and how loudly it says so.

``Outage`` (the database) and ``Breaker`` (the cache) log the same way: one WARNING when the
dependency fails, at most one more per window while it stays down, one INFO when it is back,
and ``errors_total{type=<name>}`` for every failed call. The breaker also stops calls: while
open, callers skip the cache; after the window one caller at a time probes it (half-open).
"""

from __future__ import annotations

import logging
import time

from app.metrics import ERRORS

log = logging.getLogger("app.dependencies")


class Outage:
    def __init__(self, name: str, window: float, warning: str) -> None:
        self.name, self.window, self.warning = name, window, warning
        self.down = False
        self._warned_at = float("-inf")

    def failure(self, exc: BaseException) -> None:
        ERRORS.labels(self.name).inc()
        now = time.monotonic()
        if now - self._warned_at >= self.window:
            self._warned_at = now
            log.warning(self.warning, extra={"dependency": self.name, "error": type(exc).__name__})
        self.down = True

    def success(self) -> None:
        if self.down:
            self.down = False
            self._warned_at = float("-inf")
            log.info("%s available again", self.name, extra={"dependency": self.name})


class Breaker(Outage):
    """Closed → (a failure) → open for ``window`` s → half-open: one probe at a time."""

    def __init__(self, name: str, window: float, warning: str) -> None:
        super().__init__(name, window, warning)
        self._open_until = 0.0
        self._probing = False

    def allow(self) -> bool:
        """May this caller use the dependency now? At most one caller is let through half-open."""
        if not self.down:
            return True
        if self._probing or time.monotonic() < self._open_until:
            return False
        self._probing = True
        return True

    def failure(self, exc: BaseException) -> None:
        super().failure(exc)
        self._open_until = time.monotonic() + self.window
        self._probing = False

    def success(self) -> None:
        super().success()
        self._probing = False

    def cancelled(self) -> None:
        """The call ended with neither answer (its request was cancelled): let another probe."""
        self._probing = False
