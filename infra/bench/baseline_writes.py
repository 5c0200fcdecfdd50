"""The raw baseline of the write workloads: order placement in plain SQL, the same writes and locks.

Each step is one transaction as the runtime role, scoped to the tenant, that takes the tenant's
write lock first (the event counter row, as Jishi's ``lock_tenant_writes``), writes the step's rows,
numbers one outbox event and writes one audit row:

* create: the order number from the tenant's sequence, the order, its lines priced from the
  products (half-even cents), the first status event;
* submit, approve: the guarded status change and its event;
* allocate: the default warehouse's stock levels locked in product order, guarded
  ``reserved + q <= on_hand`` updates (what is short stays unreserved), the reservations, the lines'
  reserved quantities, the status (allocated or partially allocated) and its event.

What Jishi does on top (routing rules, the customer timeline, notifications, idempotency keys, the
GraphQL payloads) is not repeated here.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal

import orjson
from starlette.requests import Request
from starlette.responses import Response

CENTS = Decimal("0.01")


async def _begin(conn, tenant: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
    await conn.execute("SELECT 1 FROM tenant_sequence WHERE tenant_id = $1 AND name = 'event' FOR UPDATE", tenant)


async def _finish(conn, tenant: uuid.UUID, event_type: str, order_id: uuid.UUID, payload: dict) -> None:  # type: ignore[no-untyped-def]
    seq = await conn.fetchval(
        """INSERT INTO tenant_sequence (tenant_id, id, name, value) VALUES ($1, gen_random_uuid(), 'event', 1)
           ON CONFLICT (tenant_id, name) DO UPDATE SET value = tenant_sequence.value + 1 RETURNING value""", tenant)
    await conn.execute(
        """INSERT INTO outbox_event (tenant_id, id, seq, type, version, aggregate_id, payload, occurred_at)
           VALUES ($1, gen_random_uuid(), $2, $3, 1, $4, $5::jsonb, now())""",
        tenant, seq, event_type, str(order_id), orjson.dumps(payload).decode())
    await conn.execute(
        """INSERT INTO audit_event (tenant_id, id, occurred_at, operation, targets, input_summary, outcome)
           VALUES ($1, gen_random_uuid(), now(), $2, ARRAY[$3]::varchar[], '{}'::jsonb, 'ok')""",
        tenant, event_type, str(order_id))


async def _event(conn, tenant: uuid.UUID, order_id: uuid.UUID, before: str | None, after: str) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        """INSERT INTO ord_order_event (tenant_id, id, order_id, from_status, to_status, created_at)
           VALUES ($1, gen_random_uuid(), $2, $3, $4, now())""", tenant, order_id, before, after)


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def create(request: Request) -> Response:
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    body = orjson.loads(await request.body())
    customer = uuid.UUID(body["customer"])
    lines = [(uuid.UUID(p), Decimal(q)) for p, q in body["lines"]]
    order_id = uuid.uuid4()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _begin(conn, tenant)
        products = {r["id"]: r for r in await conn.fetch(
            "SELECT id, sku, name, list_price FROM inv_product WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            tenant, [p for p, _ in lines])}
        number = await conn.fetchval("""UPDATE tenant_sequence SET value = value + 1
                                        WHERE tenant_id = $1 AND name = 'order' RETURNING value""", tenant)
        totals = [(p, q, (q * products[p]["list_price"]).quantize(CENTS, rounding=ROUND_HALF_EVEN)) for p, q in lines]
        total = sum((t for _, _, t in totals), Decimal(0))
        await conn.execute(
            """INSERT INTO ord_order (tenant_id, id, number, status, customer_id, channel, currency, subtotal,
                                      discount_total, tax_total, shipping_total, total, tracking_token, created_at,
                                      updated_at)
               VALUES ($1, $2, $3, 'draft', $4, 'api', 'USD', $5, 0, 0, 0, $5, $6, now(), now())""",
            tenant, order_id, f"SO-{number:06d}", customer, total, uuid.uuid4().hex)
        await conn.executemany(
            """INSERT INTO ord_order_line (tenant_id, id, order_id, position, product_id, sku, name, stocked, quantity,
                                           unit_price, discount_kind, discount, tax_rate, line_subtotal, line_discount,
                                           line_tax, line_total, reserved, shipped, delivered, cancelled)
               VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, true, $7, $8, 'percent', 0, 0, $9, 0, 0, $9,
                       0, 0, 0, 0)""",
            [(tenant, order_id, i + 1, p, products[p]["sku"], products[p]["name"], q, products[p]["list_price"], t)
             for i, (p, q, t) in enumerate(totals)])
        await _event(conn, tenant, order_id, None, "draft")
        await _finish(conn, tenant, "order.created", order_id, {"order": str(order_id), "total": str(total)})
    return _json({"id": str(order_id), "status": "DRAFT"})


async def _move(request: Request, before: str, after: str, stamp: str) -> Response:
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    order_id = uuid.UUID(orjson.loads(await request.body())["id"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _begin(conn, tenant)
        moved = await conn.fetchval(
            f"""UPDATE ord_order SET status = $3, {stamp} = now(), updated_at = now()
                WHERE tenant_id = $1 AND id = $2 AND status = $4 RETURNING id""", tenant, order_id, after, before)
        if moved is None:
            return _json({"error": "INVALID_STATUS"}, 409)
        await _event(conn, tenant, order_id, before, after)
        await _finish(conn, tenant, f"order.{after}", order_id, {"order": str(order_id)})
    return _json({"id": str(order_id), "status": after.upper()})


async def submit(request: Request) -> Response:
    return await _move(request, "draft", "submitted", "submitted_at")


async def approve(request: Request) -> Response:
    return await _move(request, "submitted", "approved", "approved_at")


async def allocate(request: Request) -> Response:
    tenant = uuid.UUID(request.headers["x-bench-tenant"])
    order_id = uuid.UUID(orjson.loads(await request.body())["id"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _begin(conn, tenant)
        if await conn.fetchval("SELECT status FROM ord_order WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                               tenant, order_id) != "approved":
            return _json({"error": "INVALID_STATUS"}, 409)
        lines = await conn.fetch("""SELECT id, product_id, quantity - reserved AS wanted FROM ord_order_line
                                    WHERE tenant_id = $1 AND order_id = $2 ORDER BY position""", tenant, order_id)
        warehouse = await conn.fetchval("SELECT id FROM inv_warehouse WHERE tenant_id = $1 AND is_default", tenant)
        available = {r["product_id"]: r["on_hand"] - r["reserved"] for r in await conn.fetch(
            """SELECT product_id, on_hand, reserved FROM inv_stock_level WHERE tenant_id = $1 AND warehouse_id = $2
               AND product_id = ANY($3::uuid[]) ORDER BY product_id FOR UPDATE""",
            tenant, warehouse, [line["product_id"] for line in lines])}
        short = False
        for line in lines:
            product = line["product_id"]
            got = min(line["wanted"], max(available.get(product, Decimal(0)), Decimal(0)))
            short = short or got < line["wanted"]
            if got <= 0:
                continue
            await conn.execute("""UPDATE inv_stock_level SET reserved = reserved + $4, updated_at = now()
                                  WHERE tenant_id = $1 AND warehouse_id = $2 AND product_id = $3
                                  AND on_hand - reserved >= $4""", tenant, warehouse, product, got)
            available[product] -= got
            await conn.execute(
                """INSERT INTO inv_reservation (tenant_id, id, reference, line, product_id, warehouse_id, quantity,
                                                consumed, released, created_at, updated_at)
                   VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, 0, 0, now(), now())""",
                tenant, f"order:{order_id}", str(line["id"]), product, warehouse, got)
            await conn.execute("UPDATE ord_order_line SET reserved = reserved + $3 WHERE tenant_id = $1 AND id = $2",
                               tenant, line["id"], got)
        status = "partially_allocated" if short else "allocated"
        await conn.execute("UPDATE ord_order SET status = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                           tenant, order_id, status)
        await _event(conn, tenant, order_id, "approved", status)
        await _finish(conn, tenant, "order.allocated", order_id, {"order": str(order_id), "status": status})
    return _json({"id": str(order_id), "status": status.upper()})
