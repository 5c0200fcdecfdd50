"""Login throttling per account and per IP.

Failures within ``window`` seconds count against both keys; from the third failure each attempt is
slowed down (up to 2 s); at ``max_failures`` the key is locked for ``lockout`` seconds and answers
429 with Retry-After, whether or not the account exists (the answer reveals nothing). A success
clears the account's count. In-process by default; through Redis when ``JISHI_REDIS_URL`` is set,
so every worker shares the counts.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol


class ThrottleStore(Protocol):
    async def failures(self, key: str) -> int: ...
    async def record_failure(self, key: str) -> int: ...
    async def locked_for(self, key: str) -> float: ...
    async def lock(self, key: str, seconds: float) -> None: ...
    async def clear(self, key: str) -> None: ...


class MemoryThrottleStore:
    def __init__(self, window: float, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._locks: dict[str, float] = {}

    def _recent(self, key: str) -> deque[float]:
        now = time.monotonic()
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    async def failures(self, key: str) -> int:
        return len(self._recent(key))

    async def record_failure(self, key: str) -> int:
        if len(self._failures) >= self.max_keys:
            self._failures.clear()
        q = self._recent(key)
        q.append(time.monotonic())
        self._failures[key] = q
        return len(q)

    async def locked_for(self, key: str) -> float:
        return max(0.0, self._locks.get(key, 0.0) - time.monotonic())

    async def lock(self, key: str, seconds: float) -> None:
        self._locks[key] = time.monotonic() + seconds

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        self._locks.pop(key, None)


class RedisThrottleStore:
    def __init__(self, url: str, window: int) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.window = window

    async def failures(self, key: str) -> int:
        return int(await self.redis.get(f"jishi:login:fail:{key}") or 0)

    async def record_failure(self, key: str) -> int:
        k = f"jishi:login:fail:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(k).expire(k, self.window, nx=True).execute()
        return int(count)

    async def locked_for(self, key: str) -> float:
        ttl = await self.redis.pttl(f"jishi:login:lock:{key}")
        return max(0.0, ttl / 1000) if ttl and ttl > 0 else 0.0

    async def lock(self, key: str, seconds: float) -> None:
        await self.redis.set(f"jishi:login:lock:{key}", 1, px=int(seconds * 1000))

    async def clear(self, key: str) -> None:
        await self.redis.delete(f"jishi:login:fail:{key}", f"jishi:login:lock:{key}")


class LoginThrottle:
    def __init__(self, store: ThrottleStore, *, max_failures: int, lockout: float) -> None:
        self.store = store
        self.max_failures = max_failures
        self.lockout = lockout

    @staticmethod
    def keys(username: str, ip: str | None) -> list[str]:
        return [f"acct:{username.strip().lower()}", f"ip:{ip or '-'}"]

    async def retry_after(self, keys: list[str]) -> float:
        """Seconds until these keys may try again; 0 when they may now."""
        return max([await self.store.locked_for(k) for k in keys] or [0.0])

    async def delay_for(self, keys: list[str]) -> float:
        worst = max([await self.store.failures(k) for k in keys] or [0])
        return 0.0 if worst < 2 else min(2.0, 0.25 * 2 ** (worst - 2))

    async def failed(self, keys: list[str]) -> None:
        for key in keys:
            if await self.store.record_failure(key) >= self.max_failures:
                await self.store.lock(key, self.lockout)

    async def succeeded(self, username: str) -> None:
        await self.store.clear(f"acct:{username.strip().lower()}")
