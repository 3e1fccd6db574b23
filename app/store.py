"""Key-value store for the answer cache, the rate limiter and the worker's question log.

Redis when REDIS_URL is set, otherwise an in-process store (the embedded default).
When Redis is configured but unreachable the service keeps serving on the in-process
store (per-replica cache and limits) and says so: a WARNING log at most every 30 s,
``errors_total{type="redis"}`` and ``cache_operations_total{operation="fallback"}``.
A short circuit breaker stops every request from paying a connect timeout meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.metrics import CACHE_OPS, ERRORS

log = logging.getLogger("app.store")


class MemoryStore:
    """Thread-safe dict with expiry, bounded so a busy replica cannot grow without limit."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._data: OrderedDict[str, tuple[object, float]] = OrderedDict()
        self._lists: dict[str, deque[str]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _live(self, key: str, now: float) -> object | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._data[key]
            return None
        return item[0]

    def _put(self, key: str, value: object, ttl: float, now: float) -> None:
        self._data[key] = (value, now + ttl)
        self._data.move_to_end(key)
        while len(self._data) > self._max_keys:
            self._data.popitem(last=False)

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._live(key, time.monotonic())
            return value if isinstance(value, str) else None

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._put(key, value, ttl, time.monotonic())

    def incr_windows(self, keys: list[tuple[str, int]]) -> list[int]:
        now = time.monotonic()
        counts = []
        with self._lock:
            for key, ttl in keys:
                current = self._live(key, now)
                count = (current if isinstance(current, int) else 0) + 1
                if current is None:
                    self._put(key, count, ttl, now)
                else:
                    self._data[key] = (count, self._data[key][1])
                counts.append(count)
        return counts

    def push_recent(self, key: str, value: str, maxlen: int) -> None:
        with self._lock:
            self._lists.setdefault(key, deque(maxlen=maxlen)).appendleft(value)

    def recent(self, key: str, count: int) -> list[str]:
        with self._lock:
            return list(self._lists.get(key, ()))[:count]

    def ping(self) -> None:
        return None


class RedisStore:
    def __init__(self, url: str, timeout: float) -> None:
        # No retries: an outage should cost one short timeout, not several.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
            health_check_interval=30,
        )

    def get(self, key: str) -> str | None:
        return self.client.get(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self.client.set(key, value, ex=ttl)

    def incr_windows(self, keys: list[tuple[str, int]]) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for key, ttl in keys:
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
        results = pipe.execute()
        return [int(results[i * 2]) for i in range(len(keys))]

    def push_recent(self, key: str, value: str, maxlen: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(key, value)
        pipe.ltrim(key, 0, maxlen - 1)
        pipe.execute()

    def recent(self, key: str, count: int) -> list[str]:
        return self.client.lrange(key, 0, count - 1)

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()


class Store:
    """Redis with an in-process fallback; every method is safe to call during an outage."""

    BREAKER_SECONDS = 2.0
    WARN_EVERY_SECONDS = 30.0

    def __init__(self, redis_url: str | None, timeout: float = 1.0) -> None:
        self.redis = RedisStore(redis_url, timeout) if redis_url else None
        self.memory = MemoryStore()
        self._down_until = 0.0
        self._last_warning = 0.0

    @property
    def backend(self) -> str:
        return "redis" if self.redis else "memory"

    def _call(self, method: str, *args):  # noqa: ANN202
        if self.redis is not None and time.monotonic() >= self._down_until:
            try:
                return getattr(self.redis, method)(*args)
            except redis.RedisError as exc:
                self._trip(exc)
        elif self.redis is not None:
            CACHE_OPS.labels("fallback").inc()
        return getattr(self.memory, method)(*args)

    def _trip(self, exc: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + self.BREAKER_SECONDS
        ERRORS.labels("redis").inc()
        CACHE_OPS.labels("fallback").inc()
        if now - self._last_warning >= self.WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(
                "redis unavailable, serving from the in-process cache and rate limiter",
                extra={"error": type(exc).__name__},
            )

    def get(self, key: str) -> str | None:
        return self._call("get", key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self._call("set", key, value, ttl)

    def incr_windows(self, keys: list[tuple[str, int]]) -> list[int]:
        return self._call("incr_windows", keys)

    def push_recent(self, key: str, value: str, maxlen: int = 1000) -> None:
        self._call("push_recent", key, value, maxlen)

    def recent(self, key: str, count: int) -> list[str]:
        return self._call("recent", key, count)

    def ping(self) -> None:
        """Raises when the configured backend is unreachable (used by readiness)."""
        if self.redis is not None:
            self.redis.ping()
            self._down_until = 0.0

    def close(self) -> None:
        if self.redis is not None:
            self.redis.close()
