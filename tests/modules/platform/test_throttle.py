"""Login throttling stores: in-process and shared through Redis."""

from __future__ import annotations

import uuid

import pytest

from backend.modules.platform.throttle import LoginThrottle, MemoryThrottleStore, RedisThrottleStore
from tests.api.test_ratelimit import REDIS_URL, redis_reachable


async def exercise(throttle: LoginThrottle) -> None:
    keys = LoginThrottle.keys(f"{uuid.uuid4().hex}@example.com", f"10.1.{uuid.uuid4().int % 250}.1")
    assert await throttle.retry_after(keys) == 0 and await throttle.delay_for(keys) == 0
    for _ in range(2):
        await throttle.failed(keys)
    assert 0 < await throttle.delay_for(keys) <= 2
    await throttle.failed(keys)
    assert await throttle.retry_after(keys) > 0  # locked after the third failure


async def test_memory_store_slows_then_locks():
    await exercise(LoginThrottle(MemoryThrottleStore(window=60), max_failures=3, lockout=30))


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
async def test_redis_store_slows_then_locks_for_every_worker():
    a = RedisThrottleStore(REDIS_URL, window=60)
    b = RedisThrottleStore(REDIS_URL, window=60)
    throttle_a = LoginThrottle(a, max_failures=3, lockout=30)
    throttle_b = LoginThrottle(b, max_failures=3, lockout=30)
    keys = LoginThrottle.keys(f"{uuid.uuid4().hex}@example.com", "10.2.0.1")
    await throttle_a.failed(keys)
    await throttle_b.failed(keys)
    await throttle_a.failed(keys)
    assert await throttle_b.retry_after(keys) > 0  # worker b sees what worker a counted
    await exercise(throttle_a)
    await a.redis.aclose()
    await b.redis.aclose()
