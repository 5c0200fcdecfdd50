"""Query-cost rate limiting: a leaky bucket per tenant (and per API client), in memory or in Redis."""

from __future__ import annotations

import os
import socket
import uuid

import httpx
import pytest

from backend.api.ratelimit import MemoryBuckets, RedisBuckets
from backend.api.schema import build_schema
from backend.app import create_app
from tests.conftest import GraphQLClient
from tests.support.auth import header_authenticator

PAGE = "{ notes(first: 10) { edges { node { title } } } }"  # requested cost 2 + 10 * 2 = 22
REDIS_URL = os.environ.get("JISHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


async def app_client(settings, registry, db, **overrides):
    app = create_app(settings.model_copy(update={"cost_bucket_size": 50, "cost_restore_rate": 1, **overrides}),
                     registry=registry, schema=build_schema(registry), authenticator=header_authenticator, database=db)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return GraphQLClient(http), lifespan, http


async def fill_notes(gql, tenant, n=10):
    for i in range(n):
        await gql(f'mutation {{ noteCreate(input: {{title: "n{i}"}}) {{ note {{ id }} }} }}', tenant=tenant)


async def test_an_empty_bucket_answers_throttled_with_retry_after(settings, registry, db, make_tenant, gql):
    setup = gql
    gql, lifespan, http = await app_client(settings, registry, db)
    try:
        a, b = await make_tenant(), await make_tenant()
        await fill_notes(setup, a)  # through the default app, whose bucket is another one
        body = await gql(PAGE, tenant=a)
        cost = body["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 22 and cost["actualQueryCost"] == 22
        assert cost["throttleStatus"]["maximumAvailable"] == 50 and cost["throttleStatus"]["restoreRate"] == 1
        assert cost["throttleStatus"]["currentlyAvailable"] < 50
        assert "errors" not in await gql(PAGE, tenant=a)  # 50 - 22 - 22 = 6 left
        body = await gql(PAGE, tenant=a)
        assert gql.last.status_code == 429 and int(gql.last.headers["retry-after"]) >= 1
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED" and "data" not in body
        # Another tenant has its own bucket.
        assert "errors" not in await gql(PAGE, tenant=b)
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_unused_estimate_is_refunded(settings, registry, db, make_tenant):
    gql, lifespan, http = await app_client(settings, registry, db)
    try:
        a = await make_tenant()  # no notes: the page is empty, the actual cost is 2
        for _ in range(5):
            body = await gql(PAGE, tenant=a)
            assert "errors" not in body and body["extensions"]["cost"]["actualQueryCost"] == 2
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= 40
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_memory_bucket_refills_at_its_rate():
    import asyncio

    buckets = MemoryBuckets(size=10, rate=100)
    assert (await buckets.take("k", 10)).allowed
    assert not (await buckets.take("k", 10)).allowed
    await asyncio.sleep(0.15)  # 15 points' worth of refill, capped at 10
    state = await buckets.take("k", 10)
    assert state.allowed and state.available < 1


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
async def test_workers_share_one_bucket_through_redis(settings, registry, db, make_tenant, gql):
    one, l1, h1 = await app_client(settings, registry, db, redis_url=REDIS_URL)
    two, l2, h2 = await app_client(settings, registry, db, redis_url=REDIS_URL)
    try:
        a = await make_tenant()
        await fill_notes(gql, a)
        assert "errors" not in await one(PAGE, tenant=a)
        assert "errors" not in await two(PAGE, tenant=a)
        body = await one(PAGE, tenant=a)  # 50 - 22 - 22 = 6 left, whichever worker asks
        assert one.last.status_code == 429 and body["errors"][0]["extensions"]["code"] == "THROTTLED"
    finally:
        for http, lifespan in ((h1, l1), (h2, l2)):
            await http.aclose()
            await lifespan.__aexit__(None, None, None)


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
async def test_redis_bucket_refunds_and_caps():
    buckets = RedisBuckets(REDIS_URL, size=30, rate=1)
    key = f"test-{uuid.uuid4().hex}"
    assert (await buckets.take(key, 25)).allowed
    assert not (await buckets.take(key, 25)).allowed
    state = await buckets.refund(key, 100)
    assert state.available == 30  # never above the bucket size
    await buckets.redis.aclose()
