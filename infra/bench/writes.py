"""The write workloads: W1 (order placement) and W2 (many clients after one scarce product).

A placement is four requests in turn, each waiting for the one before: create a 3-line order,
submit it, approve it, allocate it. Jishi gets its GraphQL mutations (``orderCreate``,
``orderSubmit``, ``orderApprove``, ``orderAllocate``); the baseline its plain-SQL steps
(``baseline_writes``). wrk cannot chain requests, so a small asyncio load generator drives
``clients`` concurrent clients (keep-alive connections) for ``seconds``, the same for both
contestants; it runs on the same host, and its CPU is not counted as either contestant's.

* W1: each placement orders three products at random out of plenty of stock.
* W2: every placement orders one unit of the same product, of which only ``scarce`` units exist:
  the run reports how many placements got their unit, and checks that no unit was promised twice
  (reserved never above on hand, reservations adding up to the level).

Both run against a new small tenant each time (``benchw-...``), so the read data set stays as it is.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from backend.core.db import Database, asyncpg_connect
from backend.core.ids import to_global_id
from backend.settings import Settings
from infra.bench.dataset import Scale, generate

WRITE_SCALE = Scale(tenants=1, customers=50, products=30, orders=0)


@dataclass
class WriteResult:
    workload: str
    contestant: str
    placements_per_second: float
    p50_ms: float
    p99_ms: float
    ratio: float | None = None
    app_cpu_ms: float | None = None  # per placement
    allocated: int | None = None  # W2: placements that got their unit
    oversold: int | None = None  # W2: units promised beyond stock (must be 0)


Place = Callable[[httpx.AsyncClient, random.Random], Awaitable[None]]


async def drive(place: Place, *, clients: int, seconds: float) -> tuple[int, list[float]]:
    """Placements done and their latencies (ms), with ``clients`` concurrent clients for ``seconds``."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1)) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                await place(http, rng)
                latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies), latencies


def jishi_placer(url: str, headers: dict[str, str], customer: str, products: list[str], *,
                 quantity: str = "1", lines: int = 3, shortage_ok: bool = False) -> Place:
    create = """mutation($in: OrderCreateInput!) { orderCreate(input: $in) { order { id } userErrors { code } } }"""

    async def step(http: httpx.AsyncClient, name: str, order: str) -> dict[str, Any]:
        body = {"query": f"mutation($in: OrderIdInput!) {{ {name}(input: $in) {{ order {{ status }} "
                         f"userErrors {{ code message }} }} }}", "variables": {"in": {"id": order}}}
        answer = (await http.post(url, json=body, headers=headers)).json()
        if "errors" in answer or (answer["data"][name]["userErrors"] and not (shortage_ok and name == "orderAllocate")):
            raise RuntimeError(f"{name}: {answer}")
        return answer["data"][name]["order"]

    async def place(http: httpx.AsyncClient, rng: random.Random) -> None:
        chosen = rng.sample(products, lines)
        answer = (await http.post(url, json={"query": create, "variables": {"in": {
            "customerId": customer, "channel": "API",
            "lines": [{"productId": p, "quantity": quantity} for p in chosen]}}}, headers=headers)).json()
        if "errors" in answer or answer["data"]["orderCreate"]["userErrors"]:
            raise RuntimeError(f"orderCreate: {answer}")
        order = answer["data"]["orderCreate"]["order"]["id"]
        for name in ("orderSubmit", "orderApprove", "orderAllocate"):
            await step(http, name, order)

    return place


def baseline_placer(base_url: str, tenant: uuid.UUID, customer: uuid.UUID, products: list[uuid.UUID], *,
                    quantity: str = "1", lines: int = 3) -> Place:
    headers = {"X-Bench-Tenant": str(tenant)}

    async def place(http: httpx.AsyncClient, rng: random.Random) -> None:
        chosen = rng.sample(products, lines)
        made = await http.post(f"{base_url}/w/create", headers=headers, json={
            "customer": str(customer), "lines": [[str(p), quantity] for p in chosen]})
        order = made.json()["id"]
        for name in ("submit", "approve", "allocate"):
            answer = await http.post(f"{base_url}/w/{name}", headers=headers, json={"id": order})
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: {answer.text}")

    return place


async def write_tenant(settings: Settings, owner_url: str, registry: Any) -> tuple[uuid.UUID, str]:
    """A new small tenant for the write workloads; its id and slug."""
    slug_prefix = f"benchw-{uuid.uuid4().hex[:6]}"
    db = Database.from_settings(settings, owner_url)
    try:
        tenant = (await generate(db, registry, scale=WRITE_SCALE, prefix=slug_prefix))[0]
    finally:
        await db.dispose()
    return tenant, f"{slug_prefix}-1"


async def catalog(owner_url: str, tenant: uuid.UUID) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A customer and the products of the write tenant."""
    conn = await asyncpg_connect(owner_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
            customer = await conn.fetchval("SELECT id FROM crm_customer WHERE tenant_id = $1 ORDER BY name LIMIT 1",
                                           tenant)
            products = [r["id"] for r in await conn.fetch(
                "SELECT id FROM inv_product WHERE tenant_id = $1 ORDER BY sku", tenant)]
    finally:
        await conn.close()
    return customer, products


async def make_scarce(owner_url: str, tenant: uuid.UUID, product: uuid.UUID, units: int) -> None:
    """Leave ``units`` of ``product`` on hand, through an adjustment move (the ledger still explains it)."""
    conn = await asyncpg_connect(owner_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
            level = await conn.fetchrow("""SELECT warehouse_id, on_hand FROM inv_stock_level
                                           WHERE tenant_id = $1 AND product_id = $2""", tenant, product)
            delta = units - level["on_hand"]
            await conn.execute("""UPDATE inv_stock_level SET on_hand = on_hand + $3, updated_at = now()
                                  WHERE tenant_id = $1 AND product_id = $2""", tenant, product, delta)
            await conn.execute(
                """INSERT INTO inv_stock_move (tenant_id, id, product_id, warehouse_id, kind, quantity, unit_cost,
                                               value, group_id, reason, created_at)
                   SELECT $1, gen_random_uuid(), $2, $3, 'adjustment', $4, cost, round($4 * cost, 2),
                          gen_random_uuid(), 'bench: scarce', now()
                   FROM inv_product WHERE tenant_id = $1 AND id = $2""",
                tenant, product, level["warehouse_id"], delta)
    finally:
        await conn.close()


async def scarce_outcome(owner_url: str, tenant: uuid.UUID, product: uuid.UUID) -> tuple[int, int]:
    """(units reserved, units oversold): oversold counts reserved above on hand, and any difference between
    the level's reserved quantity and the reservations that hold it."""
    conn = await asyncpg_connect(owner_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
            level = await conn.fetchrow("SELECT on_hand, reserved FROM inv_stock_level WHERE tenant_id = $1 "
                                        "AND product_id = $2", tenant, product)
            held = await conn.fetchval("""SELECT coalesce(sum(quantity - consumed - released), 0) FROM inv_reservation
                                          WHERE tenant_id = $1 AND product_id = $2""", tenant, product)
    finally:
        await conn.close()
    oversold = max(level["reserved"] - level["on_hand"], 0) + abs(level["reserved"] - held)
    return int(level["reserved"]), int(oversold)


def summarize(workload: str, contestant: str, done: int, latencies: list[float], seconds: float,
              cpu_seconds: float) -> WriteResult:
    ordered = sorted(latencies) or [0.0]
    return WriteResult(workload, contestant, round(done / seconds, 1), round(statistics.median(ordered), 2),
                       round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                       app_cpu_ms=round(cpu_seconds * 1000 / max(done, 1), 2))


def gids(customer: uuid.UUID, products: list[uuid.UUID]) -> tuple[str, list[str]]:
    return to_global_id("Customer", customer), [to_global_id("Product", p) for p in products]

