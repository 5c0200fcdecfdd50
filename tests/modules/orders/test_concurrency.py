"""Orders under real concurrency: scarce stock never oversold, one approval per order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select, text

from backend.core.errors import DomainError
from backend.core.ids import from_global_id
from backend.modules.inventory.models import StockLevel
from backend.modules.orders import service as orders
from backend.modules.orders.models import OrderEvent, OrderLine
from tests.modules.orders.conftest import Shop


async def _approved_orders(shop: Shop, db, customer: str, product: str, count: int) -> list:  # type: ignore[no-untyped-def]
    made = []
    async with db.transaction(shop.tenant) as session:
        for _ in range(count):
            order = await orders.create_order(session, values=orders.OrderFields(
                customer_id=from_global_id(customer)[1],  # type: ignore[index]
                lines=[orders.LineInput(from_global_id(product)[1], Decimal(1))]))  # type: ignore[index]
            await orders.submit_order(session, order_id=order.id)
            await orders.approve_order(session, order_id=order.id)
            made.append(order.id)
    return made


async def _together(wide_db, tenant, ids, work):  # type: ignore[no-untyped-def]
    start = asyncio.Event()

    async def one(order_id):  # type: ignore[no-untyped-def]
        async with wide_db.transaction(tenant) as session:
            await session.execute(text("SELECT 1"))
            await start.wait()
            try:
                return await work(session, order_id)
            except DomainError as exc:
                return exc.code

    tasks = [asyncio.create_task(one(i)) for i in ids]
    await asyncio.sleep(0.3)
    start.set()
    return await asyncio.gather(*tasks)


async def test_many_orders_competing_for_scarce_stock_never_oversell(shop: Shop, db, wide_db):
    customer = await shop.customer()
    product = await shop.stocked("SCARCE", "5")
    ids = await _approved_orders(shop, db, customer, product, 30)

    async def allocate(session, order_id):  # type: ignore[no-untyped-def]
        return (await orders.allocate_order(session, order_id=order_id)).status

    outcomes = await _together(wide_db, shop.tenant, ids, allocate)
    assert outcomes.count("allocated") == 5 and outcomes.count("partially_allocated") == 25
    async with db.transaction(shop.tenant) as session:
        level = (await session.execute(select(StockLevel))).scalars().one()
        held = await session.scalar(select(func.sum(OrderLine.reserved)))
    assert (level.on_hand, level.reserved, held) == (5, 5, 5)

    async def ship_all(session, order_id):  # type: ignore[no-untyped-def]
        made = await orders.create_fulfillments(session, order_id=order_id)
        for fulfillment in made:
            await orders.ship(session, fulfillment_id=fulfillment.id, carrier="EMS", tracking_number="E1")
        return "shipped"

    shipped = await _together(wide_db, shop.tenant, ids, ship_all)
    assert shipped.count("shipped") == 5 and shipped.count("NOTHING_TO_FULFILL") + shipped.count(
        "INVALID_TRANSITION") == 25
    async with db.transaction(shop.tenant) as session:
        level = (await session.execute(select(StockLevel))).scalars().one()
    assert (level.on_hand, level.reserved) == (0, 0)


async def test_two_concurrent_approvals_approve_once(shop: Shop, db, wide_db):
    customer = await shop.customer()
    product = await shop.stocked("TEA", "5")
    async with db.transaction(shop.tenant) as session:
        order = await orders.create_order(session, values=orders.OrderFields(
            customer_id=from_global_id(customer)[1],  # type: ignore[index]
            lines=[orders.LineInput(from_global_id(product)[1], Decimal(1))]))  # type: ignore[index]
        await orders.submit_order(session, order_id=order.id)

    async def approve(session, order_id):  # type: ignore[no-untyped-def]
        return (await orders.approve_order(session, order_id=order_id)).status

    outcomes = await _together(wide_db, shop.tenant, [order.id] * 8, approve)
    assert sorted(outcomes) == ["INVALID_TRANSITION"] * 7 + ["approved"]
    async with db.transaction(shop.tenant) as session:
        approvals = await session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id == order.id, OrderEvent.to_status == "approved"))
    assert approvals == 1
