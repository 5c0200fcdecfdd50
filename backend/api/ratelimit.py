"""Query-cost rate limiting, Shopify's leaky bucket.

Each tenant's staff share one bucket; each API client has its own. A bucket holds up to
``cost_bucket_size`` points and refills at ``cost_restore_rate`` points per second. A query's
requested (estimated) cost is taken before it runs; when the bucket cannot cover it the request
answers THROTTLED with HTTP 429 and Retry-After, and nothing runs. After execution the difference
between the estimate and the actual cost (what the response really holds) is given back.

In-process by default. With ``JISHI_REDIS_URL`` the buckets live in Redis (one atomic Lua script
per take or refund), so every worker draws from the same bucket.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from backend.core.principal import Principal


@dataclass(frozen=True)
class BucketState:
    allowed: bool
    available: float
    maximum: int
    restore_rate: int

    def retry_after(self, cost: int) -> int:
        return max(1, math.ceil((cost - self.available) / self.restore_rate))

    def as_extension(self) -> dict[str, float | int]:
        return {"maximumAvailable": self.maximum, "currentlyAvailable": math.floor(self.available),
                "restoreRate": self.restore_rate}


class BucketStore(Protocol):
    async def take(self, key: str, cost: int) -> BucketState: ...
    async def refund(self, key: str, points: int) -> BucketState: ...


class MemoryBuckets:
    def __init__(self, size: int, rate: int, max_keys: int = 100_000) -> None:
        self.size = size
        self.rate = rate
        self.max_keys = max_keys
        self._levels: dict[str, tuple[float, float]] = {}  # key -> (available, at)

    def _current(self, key: str) -> float:
        available, at = self._levels.get(key, (float(self.size), time.monotonic()))
        return min(float(self.size), available + (time.monotonic() - at) * self.rate)

    async def take(self, key: str, cost: int) -> BucketState:
        if len(self._levels) >= self.max_keys:
            self._levels.clear()
        available = self._current(key)
        allowed = cost <= available
        if allowed:
            available -= cost
        self._levels[key] = (available, time.monotonic())
        return BucketState(allowed, available, self.size, self.rate)

    async def refund(self, key: str, points: int) -> BucketState:
        available = min(float(self.size), self._current(key) + points)
        self._levels[key] = (available, time.monotonic())
        return BucketState(True, available, self.size, self.rate)


# KEYS[1] bucket; ARGV: size, rate, now (s), delta (negative takes, positive refunds), ttl (s)
_LUA = """
local size = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local delta = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'available', 'at')
local available = tonumber(state[1]) or size
local at = tonumber(state[2]) or now
available = math.min(size, available + math.max(0, now - at) * rate)
local allowed = 1
if delta < 0 and available + delta < 0 then allowed = 0 else available = math.min(size, available + delta) end
redis.call('HSET', KEYS[1], 'available', tostring(available), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return {allowed, tostring(available)}
"""


class RedisBuckets:
    def __init__(self, url: str, size: int, rate: int) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.size = size
        self.rate = rate
        self._script = self.redis.register_script(_LUA)
        self._ttl = max(60, math.ceil(size / rate) * 2)

    async def _apply(self, key: str, delta: int) -> BucketState:
        allowed, available = await self._script(
            keys=[f"jishi:cost:{key}"], args=[self.size, self.rate, f"{time.time():.6f}", delta, self._ttl])
        return BucketState(bool(int(allowed)), float(available), self.size, self.rate)

    async def take(self, key: str, cost: int) -> BucketState:
        return await self._apply(key, -cost)

    async def refund(self, key: str, points: int) -> BucketState:
        return await self._apply(key, points)


def bucket_key(principal: Principal) -> str | None:
    if principal.api_client_id is not None:
        return f"client:{principal.api_client_id}"
    if principal.tenant_id is not None:
        return f"tenant:{principal.tenant_id}"
    return None  # platform administration is not metered


def build_buckets(*, size: int, rate: int, redis_url: str | None) -> BucketStore:
    return RedisBuckets(redis_url, size, rate) if redis_url else MemoryBuckets(size, rate)
