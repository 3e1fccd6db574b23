"""The cache: answers, rate-limit windows, authorization snapshots and the worker's question log.

Redis (``redis.asyncio``) when REDIS_URL is set, otherwise an in-process store (the embedded
default). A request's cache work is one round trip: the route hands ``Store.run`` a few ``Op``s
and their commands go out in one pipeline. When Redis is configured but unavailable every op
falls back (in-process cache, per-worker rate limits, the database for authorization), and a
breaker keeps the outage cheap: a call costs at most ``timeout``; when one fails, the calls still
waiting on Redis are given up at once, the breaker opens, and callers skip Redis until one probe
(half-open) finds it back.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict, deque
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from app.breaker import Breaker
from app.metrics import CACHE_OPS

FAILURES = (RedisError, OSError, TimeoutError)


class CacheUnavailable(Exception):
    pass


class MemoryStore:
    """The in-process fallback: a dict with expiry, bounded so a busy worker cannot grow without limit."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._data: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lists: dict[str, deque[str]] = {}
        self._max_keys = max_keys

    def get(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= asyncio.get_running_loop().time():
            del self._data[key]
            return None
        return item[0]

    def set(self, key: str, value: str, ttl: float) -> None:
        self._data[key] = (value, asyncio.get_running_loop().time() + ttl)
        self._data.move_to_end(key)
        while len(self._data) > self._max_keys:
            self._data.popitem(last=False)

    def push_recent(self, key: str, value: str, maxlen: int) -> None:
        self._lists.setdefault(key, deque(maxlen=maxlen)).appendleft(value)

    def recent(self, key: str, count: int) -> list[str]:
        return list(self._lists.get(key, ()))[:count]


class Op:
    """One piece of a round trip: the commands it queues, what it makes of their replies, and
    what it does instead when Redis is not there (``store.shared`` tells an outage from the
    embedded default)."""

    commands = 1

    def queue(self, pipe: Pipeline) -> None:
        raise NotImplementedError

    async def done(self, replies: list[Any]) -> Any:
        return replies[0]

    async def fallback(self, store: Store) -> Any:
        raise NotImplementedError


class Get(Op):
    def __init__(self, key: str) -> None:
        self.key = key

    def queue(self, pipe: Pipeline) -> None:
        pipe.get(self.key)

    async def fallback(self, store: Store) -> str | None:
        return store.memory.get(self.key)


class Set(Op):
    def __init__(self, key: str, value: str, ttl: int) -> None:
        self.key, self.value, self.ttl = key, value, ttl

    def queue(self, pipe: Pipeline) -> None:
        pipe.set(self.key, self.value, ex=self.ttl)

    async def fallback(self, store: Store) -> None:
        store.memory.set(self.key, self.value, self.ttl)


class PushRecent(Op):
    """Prepend values, oldest first, to a capped list (the questions the worker pre-warms)."""

    commands = 2

    def __init__(self, key: str, values: list[str], maxlen: int = 1000) -> None:
        self.key, self.values, self.maxlen = key, values, maxlen

    def queue(self, pipe: Pipeline) -> None:
        pipe.lpush(self.key, *self.values)
        pipe.ltrim(self.key, 0, self.maxlen - 1)

    async def done(self, replies: list[Any]) -> None:
        return None

    async def fallback(self, store: Store) -> None:
        for value in self.values:
            store.memory.push_recent(self.key, value, self.maxlen)


class Recent(Op):
    def __init__(self, key: str, count: int) -> None:
        self.key, self.count = key, count

    def queue(self, pipe: Pipeline) -> None:
        pipe.lrange(self.key, 0, self.count - 1)

    async def fallback(self, store: Store) -> list[str]:
        return store.memory.recent(self.key, self.count)


class Store:
    def __init__(self, redis_url: str | None, timeout: float = 0.25, breaker_seconds: float = 5.0) -> None:
        self.redis = None
        if redis_url:
            # One immediate reconnect for a connection that went stale; never a retry after a timeout.
            # No per-socket read timeout: _guarded bounds each whole round trip (and costs less).
            self.redis = aioredis.Redis.from_url(
                redis_url, socket_timeout=None, socket_connect_timeout=timeout, decode_responses=True,
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)), health_check_interval=30)
        self.timeout = timeout
        self.memory = MemoryStore()
        self.breaker = Breaker("redis", breaker_seconds, "redis unavailable: serving from the in-process cache; "
                               "rate limits are per worker (fail-open)")
        self._scripts: dict[str, str] = {}
        self._waiting: set[asyncio.Timeout] = set()

    @property
    def backend(self) -> str:
        return "redis" if self.redis is not None else "memory"

    @property
    def shared(self) -> bool:
        """Redis is configured: state is shared by every worker and replica (inside a fallback: it is down)."""
        return self.redis is not None

    def script(self, lua: str) -> str:
        """Register a Lua script; ops call it by SHA (EVALSHA), reloaded if Redis lost it."""
        sha = hashlib.sha1(lua.encode()).hexdigest()
        self._scripts[sha] = lua
        return sha

    async def run(self, *ops: Op) -> list[Any]:
        """Each op's result, from one Redis round trip, or from each op's fallback."""
        if self.redis is None:
            return [await op.fallback(self) for op in ops]
        replies = await self._guarded(lambda: self._pipeline(ops))
        if replies is None:
            CACHE_OPS.labels("fallback").inc()
            return [await op.fallback(self) for op in ops]
        return [await op.done(replies[span]) for op, span in zip(ops, _spans(ops))]

    async def get(self, key: str) -> str | None:
        return (await self.run(Get(key)))[0]

    async def recent(self, key: str, count: int) -> list[str]:
        return (await self.run(Recent(key, count)))[0]

    async def ping(self) -> None:
        """Raises CacheUnavailable when the configured Redis does not answer (used by readiness)."""
        if self.redis is not None and await self._guarded(self.redis.ping) is None:
            raise CacheUnavailable("redis is unavailable")

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def _guarded(self, call) -> Any:  # noqa: ANN001
        """``await call()`` within the timeout and the breaker; None when Redis is unavailable."""
        if not self.breaker.allow():
            return None
        probe = self.breaker.down
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                self._waiting.add(deadline)
                try:
                    result = await call()
                finally:
                    self._waiting.discard(deadline)
        except FAILURES as exc:
            self.breaker.failure(exc)
            self._give_up_waiting()
            return None
        except BaseException:
            if probe:
                self.breaker.cancelled()
            raise
        self.breaker.success()
        return result

    def _give_up_waiting(self) -> None:
        # The calls already waiting on a hung Redis would each pay the full timeout: end them now.
        now = asyncio.get_running_loop().time()
        for deadline in list(self._waiting):
            try:
                deadline.reschedule(now)
            except RuntimeError:  # already expiring
                pass

    async def _pipeline(self, ops: tuple[Op, ...]) -> list[Any]:
        replies = await self._execute(ops)
        if any(isinstance(reply, NoScriptError) for reply in replies):
            # First use, or Redis restarted: load the scripts and rerun only the ops that called one
            # (the others' commands have run; running them twice would record a question twice).
            for lua in self._scripts.values():
                await self.redis.script_load(lua)
            spans = _spans(ops)
            again = [i for i, span in enumerate(spans)
                     if any(isinstance(reply, NoScriptError) for reply in replies[span])]
            rerun = await self._execute(tuple(ops[i] for i in again))
            for i, span in zip(again, _spans(tuple(ops[i] for i in again))):
                replies[spans[i]] = rerun[span]
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _execute(self, ops: tuple[Op, ...]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for op in ops:
            op.queue(pipe)
        return await pipe.execute(raise_on_error=False)


def _spans(ops: tuple[Op, ...]) -> list[slice]:
    """Where each op's replies sit in the pipeline's."""
    spans, start = [], 0
    for op in ops:
        spans.append(slice(start, start + op.commands))
        start += op.commands
    return spans
