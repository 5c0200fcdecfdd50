"""The raw baseline: Starlette + asyncpg + orjson answering the benchmark's reads with the least SQL
and the same JSON as Jishi's ``/graphql``. It lives here only, to measure against.

Like Jishi it connects as the runtime role and scopes each transaction to the tenant (row-level
security on), but it parses nothing, checks nothing and builds the response straight from rows.

    BENCH_DSN=postgresql://user:pass@host/db uvicorn infra.bench.baseline:app
    POST /graphql   header X-Bench-Tenant: <tenant id>, X-Bench-Workload: r1 | r2 | r3
                    (the body is ignored; r3 answers the order named by X-Bench-Order)
    POST /w/create, /w/submit, /w/approve, /w/allocate   the write workloads (baseline_writes)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_EVEN, Decimal

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.bench import baseline_writes as writes

CENTS = Decimal("0.01")
R1_ORDERS = """SELECT id, number, status, total, customer_id FROM ord_order
WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50"""
R1_CUSTOMERS = "SELECT id, name FROM crm_customer WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
R1_LINES = """SELECT l.order_id, l.quantity, p.sku FROM ord_order_line l
JOIN inv_product p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE l.tenant_id = $1 AND l.order_id = ANY($2::uuid[]) ORDER BY l.order_id, l.position"""


def _quantity(value: Decimal) -> str:
    normalized = value.normalize()
    return f"{normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized:f}"


R3_ORDER = "SELECT number, status, total FROM ord_order WHERE tenant_id = $1 AND id = $2"
R2_CUSTOMERS = """SELECT id, name, email FROM crm_customer WHERE tenant_id = $1 AND archived_at IS NULL
ORDER BY name, id LIMIT $2"""
R2_CONTACTS = """SELECT customer_id, name, email FROM crm_contact WHERE tenant_id = $1 AND customer_id = ANY($2::uuid[])
ORDER BY is_primary DESC, name"""
R2_OPPORTUNITIES = """SELECT customer_id, name, amount FROM crm_opportunity
WHERE tenant_id = $1 AND customer_id = ANY($2::uuid[]) AND status = 'open' ORDER BY created_at"""


STATEMENTS = [0]  # SQL statements sent (SET LOCAL and queries, as Jishi's counter counts them)


async def stats(_: Request) -> Response:
    return Response(orjson.dumps({"statements": STATEMENTS[0]}), media_type="application/json")


async def graphql(request: Request) -> Response:
    workload = request.headers.get("x-bench-workload")
    if workload == "r3":
        return await r3(request)
    if workload == "r2":
        return await r2(request)
    return await r1(request)


async def r2(request: Request) -> Response:
    """50 customers by name, with their contacts and open opportunities."""
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
        customers = await conn.fetch(R2_CUSTOMERS, tenant, 50)
        ids = [c["id"] for c in customers]
        contacts = await conn.fetch(R2_CONTACTS, tenant, ids)
        deals = await conn.fetch(R2_OPPORTUNITIES, tenant, ids)
    STATEMENTS[0] += 4
    contacts_of: dict[uuid.UUID, list] = {}
    for c in contacts:
        contacts_of.setdefault(c["customer_id"], []).append({"name": c["name"], "email": c["email"]})
    deals_of: dict[uuid.UUID, list] = {}
    for d in deals:
        deals_of.setdefault(d["customer_id"], []).append(
            {"name": d["name"], "amount": {"amount": str(d["amount"].quantize(CENTS, rounding=ROUND_HALF_EVEN))}})
    edges = [{"node": {"name": c["name"], "email": c["email"], "contacts": contacts_of.get(c["id"], []),
                       "opportunities": deals_of.get(c["id"], [])}} for c in customers]
    return Response(orjson.dumps({"data": {"customers": {"edges": edges}}}), media_type="application/json")


async def r3(request: Request) -> Response:
    """``node(id:)`` of one order: number, status and total."""
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
        row = await conn.fetchrow(R3_ORDER, tenant, uuid.UUID(request.headers["x-bench-order"]))
    STATEMENTS[0] += 2
    node = None if row is None else {"number": row["number"], "status": row["status"].upper(),
                                     "total": {"amount": str(row["total"].quantize(CENTS, rounding=ROUND_HALF_EVEN))}}
    return Response(orjson.dumps({"data": {"node": node}}), media_type="application/json")


async def r1(request: Request) -> Response:
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
        orders = await conn.fetch(R1_ORDERS, tenant)
        names = {r["id"]: r["name"] for r in await conn.fetch(R1_CUSTOMERS, tenant,
                                                               list({o["customer_id"] for o in orders}))}
        lines = await conn.fetch(R1_LINES, tenant, [o["id"] for o in orders])
    STATEMENTS[0] += 4
    by_order: dict[uuid.UUID, list] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(
            {"quantity": _quantity(line["quantity"]), "product": {"sku": line["sku"]}})
    edges = [{"node": {"number": o["number"], "status": o["status"].upper(),
                       "total": {"amount": str(o["total"].quantize(CENTS, rounding=ROUND_HALF_EVEN))},
                       "customer": {"name": names[o["customer_id"]]}, "lines": by_order.get(o["id"], [])}}
             for o in orders]
    return Response(orjson.dumps({"data": {"orders": {"edges": edges}}}), media_type="application/json")


async def healthz(_: Request) -> Response:
    return Response(b"ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=10)
    yield
    await app.state.pool.close()


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz),
                        Route("/stats", stats),
                        *(Route(f"/w/{name}", step, methods=["POST"]) for name, step in (
                            ("create", writes.create), ("submit", writes.submit), ("approve", writes.approve),
                            ("allocate", writes.allocate)))], lifespan=lifespan)
