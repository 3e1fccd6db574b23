"""Per-client rate limits as moving windows: at most N requests in any W-second span.

Fixed windows (a counter per calendar minute) admit 2N across a boundary. A moving window keeps,
per client and window, the times of the last N admitted requests and admits a request only when
the oldest of them is at least W seconds old; a refused request is not recorded. In Redis that is
one capped list per window, checked and updated by one Lua script (atomic across every replica)
inside the request's single cache round trip. Without Redis each worker keeps the same windows in
memory: the limit then holds per worker (fail-open), counted by ``rate_limit_fail_open_total``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import Pipeline

from app.metrics import RATE_LIMIT_FAIL_OPEN
from app.store import Op, Store

SCRIPT = """
-- KEYS[i]: admitted times of window i, newest first. ARGV: now, then limit and seconds per window.
local now = tonumber(ARGV[1])
local wait = 0
for i = 1, #KEYS do
  local limit, seconds = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local oldest = redis.call('LINDEX', KEYS[i], limit - 1)
  if oldest and tonumber(oldest) + seconds > now then
    wait = math.max(wait, tonumber(oldest) + seconds - now)
  end
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, #KEYS do
  local limit, seconds = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('LPUSH', KEYS[i], ARGV[1])
  redis.call('LTRIM', KEYS[i], 0, limit - 1)
  redis.call('EXPIRE', KEYS[i], seconds)
end
return '0'
"""


class MemoryWindows:
    """The same moving windows in one process, for when Redis is away."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys

    def check(self, keys: list[str], windows: tuple[tuple[int, int], ...], now: float) -> float:
        lists = [self._times.get(key) for key in keys]
        wait = 0.0
        for times, (limit, seconds) in zip(lists, windows):
            if times is not None and len(times) >= limit and times[limit - 1] + seconds > now:
                wait = max(wait, times[limit - 1] + seconds - now)
        if wait > 0:
            return wait
        for key, times, (limit, _seconds) in zip(keys, lists, windows):
            if times is None:
                times = self._times[key] = deque(maxlen=limit)
            times.appendleft(now)
            self._times.move_to_end(key)
        while len(self._times) > self._max_keys:
            self._times.popitem(last=False)
        return 0.0


class RateLimiter:
    def __init__(self, store: Store, per_minute: int, per_hour: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.windows = ((per_minute, 60), (per_hour, 3600))
        self.sha = store.script(SCRIPT)
        self.memory = MemoryWindows()
        self.clock = clock  # wall time: replicas share the windows; tests move it

    def check(self, client: str) -> Op:
        """An op whose result is 0 when the request is admitted, else the seconds to wait (≥ 1)."""
        return _Check(self, client)


class _Check(Op):
    def __init__(self, limiter: RateLimiter, client: str) -> None:
        self.limiter, self.now = limiter, limiter.clock()
        # One hash tag per client keeps both lists in one slot on a cluster.
        self.keys = [f"rl:{{{client}}}:{seconds}" for _limit, seconds in limiter.windows]

    def queue(self, pipe: Pipeline) -> None:
        args = [f"{self.now:.6f}"]
        for limit, seconds in self.limiter.windows:
            args += [limit, seconds]
        pipe.evalsha(self.limiter.sha, len(self.keys), *self.keys, *args)

    async def done(self, replies: list[Any]) -> int:
        return _seconds(float(replies[0]))

    async def fallback(self, store: Store) -> int:
        if store.shared:
            RATE_LIMIT_FAIL_OPEN.inc()
        return _seconds(self.limiter.memory.check(self.keys, self.limiter.windows, self.now))


def _seconds(wait: float) -> int:
    return 0 if wait <= 0 else max(1, math.ceil(wait))
