"""Reservations under real concurrency: many transactions on their own connections at once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from backend.core.errors import DomainError
from backend.modules.inventory import service as inventory
from backend.modules.inventory.models import Reservation, StockLevel, StockMove
from tests.modules.inventory.conftest import Shop


def only_level_locks(session) -> None:  # type: ignore[no-untyped-def]
    """Skip the tenant-wide write lock (``lock_tenant_writes``) that normally queues these
    transactions, so that the level locks, the guarded UPDATEs and the CHECK constraints alone are
    what is tested here."""
    session.info["tenant_writes_locked"] = True


async def _reserve(db, tenant, product, quantity, *, reference=None, key=None, **kw):  # type: ignore[no-untyped-def]
    async with db.transaction(tenant) as session:
        return await inventory.reserve_stock(
            session, reference=reference or f"Order:{uuid.uuid4().hex}", idempotency_key=key,
            lines=[inventory.ReserveLine(product, Decimal(quantity))], **kw)


async def test_fifty_concurrent_reservations_of_ten_units_hold_exactly_ten(shop: Shop, wide_db):
    product = await shop.product("SCARCE", on_hand=10)
    start = asyncio.Event()

    async def one() -> str:
        async with wide_db.transaction(shop.tenant) as session:
            only_level_locks(session)
            await session.execute(text("SELECT 1"))  # connection checked out and transaction open
            await start.wait()
            try:
                await inventory.reserve_stock(session, reference=f"Order:{uuid.uuid4().hex}",
                                              lines=[inventory.ReserveLine(product, Decimal(1))])
            except DomainError as exc:
                return exc.code
            return "ok"

    tasks = [asyncio.create_task(one()) for _ in range(50)]
    await asyncio.sleep(0.3)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    assert outcomes.count("ok") == 10
    assert outcomes.count("INSUFFICIENT_STOCK") == 40
    level = await shop.level(product)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    async with shop.db.transaction(shop.tenant) as session:
        rows = (await session.execute(select(Reservation).where(Reservation.product_id == product))).scalars().all()
    assert len(rows) == 10 and all(r.quantity == 1 for r in rows)


async def test_multi_line_reservations_in_opposite_orders_do_not_deadlock(shop: Shop, wide_db):
    east = await shop.warehouse("EAST")
    a = await shop.product("A", on_hand=100)
    b = await shop.product("B", on_hand=100)
    for product in (a, b):
        async with shop.db.transaction(shop.tenant) as session:
            await inventory.receive_stock(session, lines=[inventory.ReceiptLine(product, east, Decimal(100))])
    start = asyncio.Event()

    async def one(i: int) -> str:
        lines = [inventory.ReserveLine(a, Decimal(2)), inventory.ReserveLine(b, Decimal(3))]
        async with wide_db.transaction(shop.tenant) as session:
            only_level_locks(session)
            await session.execute(text("SELECT 1"))
            await start.wait()
            if i % 5 == 4:  # transfers lock the same levels, in their own order
                await inventory.transfer_stock(session, product_id=b if i % 2 else a, from_warehouse_id=east,
                                               to_warehouse_id=shop.main, quantity=Decimal(1))
                return "moved"
            await inventory.reserve_stock(session, reference=f"Order:{i}", lines=lines if i % 2 else lines[::-1])
            return "reserved"

    tasks = [asyncio.create_task(one(i)) for i in range(40)]
    await asyncio.sleep(0.3)
    start.set()
    outcomes = await asyncio.gather(*tasks)  # a deadlock would raise DeadlockDetectedError here
    assert outcomes.count("reserved") == 32 and outcomes.count("moved") == 8
    total_reserved = [(await shop.level(p)).reserved + (await shop.level(p, east)).reserved for p in (a, b)]
    assert total_reserved == [64, 96]
    assert [(await shop.level(p)).on_hand + (await shop.level(p, east)).on_hand for p in (a, b)] == [200, 200]


async def test_a_repeated_idempotency_key_reserves_once(shop: Shop, wide_db):
    product = await shop.product("IDEM", on_hand=10)
    first = await _reserve(shop.db, shop.tenant, product, 4, reference="Order:1", key="reserve-order-1")
    again = await _reserve(shop.db, shop.tenant, product, 4, reference="Order:1", key="reserve-order-1")
    assert again.lines[0].reserved == first.lines[0].reserved == 4
    # At the same moment too: the second waits for the first and answers its result.
    results = await asyncio.gather(*[_reserve(wide_db, shop.tenant, product, 2, reference="Order:2", key="k2")
                                     for _ in range(8)])
    assert all(r.lines[0].reserved == 2 for r in results)
    assert (await shop.level(product)).reserved == 6
    with pytest.raises(DomainError) as reused:
        await _reserve(shop.db, shop.tenant, product, 3, reference="Order:1", key="reserve-order-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert (await shop.level(product)).reserved == 6


async def test_default_warehouse_first_then_by_priority_with_shortfall(shop: Shop):
    far = await shop.warehouse("FAR", priority=50)
    near = await shop.warehouse("NEAR", priority=10)
    product = await shop.product("SPLIT", on_hand=3)
    for warehouse, quantity in ((far, 5), (near, 4)):
        async with shop.db.transaction(shop.tenant) as session:
            await inventory.receive_stock(session, lines=[inventory.ReceiptLine(product, warehouse, Decimal(quantity))])
    result = await _reserve(shop.db, shop.tenant, product, 15, allow_partial=True)
    line = result.lines[0]
    assert [(a.warehouse_id, a.quantity) for a in line.allocations] == [(shop.main, 3), (near, 4), (far, 5)]
    assert (line.reserved, line.shortfall, result.complete) == (12, 3, False)
    # All-or-nothing refuses and holds nothing.
    other = await shop.product("SPLIT2", on_hand=2)
    with pytest.raises(DomainError) as refused:
        await _reserve(shop.db, shop.tenant, other, 3)
    assert refused.value.code == "INSUFFICIENT_STOCK" and refused.value.field == ["lines", "0", "quantity"]
    assert (await shop.level(other)).reserved == 0
    # A single named warehouse.
    only = await _reserve(shop.db, shop.tenant, product, 1, strategy="warehouse", warehouse_id=far, allow_partial=True)
    assert only.lines[0].shortfall == 1  # FAR is fully reserved already


async def test_release_and_consume(shop: Shop):
    product = await shop.product("SHIP", on_hand=10, cost="4.00")
    service = await shop.product("INSTALL", type="service")
    async with shop.db.transaction(shop.tenant) as session:
        result = await inventory.reserve_stock(session, reference="Order:9", lines=[
            inventory.ReserveLine(product, Decimal(6), line="Line:1"), inventory.ReserveLine(service, Decimal(1))])
    assert result.complete and result.lines[1].allocations == []
    async with shop.db.transaction(shop.tenant) as session:
        posted = await inventory.consume_reservation(session, reference="Order:9", source_id="Shipment:1",
                                                     lines=[inventory.ConsumeLine(Decimal(2), line="Line:1")])
    assert [(m.kind, m.quantity, m.unit_cost, m.source_id) for m in posted.moves] == [
        ("shipment", -2, Decimal("4.000000"), "Shipment:1")]
    level = await shop.level(product)
    assert (level.on_hand, level.reserved) == (8, 4)
    with pytest.raises(DomainError) as too_much:
        async with shop.db.transaction(shop.tenant) as session:
            await inventory.consume_reservation(session, reference="Order:9",
                                                lines=[inventory.ConsumeLine(Decimal(5), line="Line:1")])
    assert too_much.value.code == "NOT_RESERVED"
    async with shop.db.transaction(shop.tenant) as session:
        assert await inventory.release_reservation(session, reference="Order:9", line="Line:1",
                                                   quantity=Decimal(1)) == 1
        assert await inventory.release_reservation(session, reference="Order:9") == 3
        assert await inventory.release_reservation(session, reference="Order:9") == 0
    level = await shop.level(product)
    assert (level.on_hand, level.reserved) == (8, 0)
    async with shop.db.transaction(shop.tenant) as session:
        await inventory.return_stock(session, product_id=product, warehouse_id=shop.main, quantity=Decimal(1))
        result = await inventory.turnover(session, since=datetime.now(UTC) - timedelta(days=1),
                                          until=datetime.now(UTC) + timedelta(seconds=1))
    # 2 shipped and 1 returned at 4.00; stock worth 40 then 36.
    assert (result.cost_of_goods_shipped, result.opening_value, result.closing_value) == (4, 0, 36)
    assert result.ratio == Decimal("0.22")


async def test_levels_equal_the_sum_of_moves_after_a_random_concurrent_workload(shop: Shop, wide_db):
    rng = random.Random(7)
    west = await shop.warehouse("WEST")
    warehouses = [shop.main, west]
    products = [await shop.product(f"RND-{i}", on_hand=20, cost=f"{3 + i}.50") for i in range(4)]

    async def step(i: int) -> str:
        op = rng.choice(["reserve", "reserve", "adjust", "transfer", "receive", "ship", "release"])
        product, warehouse = rng.choice(products), rng.choice(warehouses)
        try:
            async with wide_db.transaction(shop.tenant) as session:
                only_level_locks(session)
                if op == "reserve":
                    await inventory.reserve_stock(session, reference=f"Order:{i % 7}", allow_partial=True, lines=[
                        inventory.ReserveLine(p, Decimal(rng.randint(1, 4))) for p in rng.sample(products, 2)])
                elif op == "adjust":
                    await inventory.adjust_stock(session, product_id=product, warehouse_id=warehouse,
                                                 quantity_delta=Decimal(rng.choice([-3, -1, 2, 5])), reason="count")
                elif op == "transfer":
                    await inventory.transfer_stock(session, product_id=product, from_warehouse_id=warehouse,
                                                   to_warehouse_id=[w for w in warehouses if w != warehouse][0],
                                                   quantity=Decimal(rng.randint(1, 3)))
                elif op == "receive":
                    await inventory.receive_stock(session, lines=[inventory.ReceiptLine(
                        product, warehouse, Decimal(rng.randint(1, 6)), Decimal(f"{rng.randint(2, 9)}.25"))])
                elif op == "ship":
                    await inventory.consume_reservation(session, reference=f"Order:{i % 7}", lines=[
                        inventory.ConsumeLine(Decimal(1), product_id=product)])
                else:
                    await inventory.release_reservation(session, reference=f"Order:{i % 7}")
        except DomainError as exc:
            return exc.code
        return op

    outcomes = await asyncio.gather(*[step(i) for i in range(150)])
    assert {"reserve", "adjust", "transfer", "receive"} <= set(outcomes)
    assert set(outcomes) <= {"reserve", "adjust", "transfer", "receive", "ship", "release", "INSUFFICIENT_STOCK",
                             "NOT_RESERVED"}
    async with shop.db.transaction(shop.tenant) as session:
        levels = {(r.product_id, r.warehouse_id): r for r in (await session.execute(select(StockLevel))).scalars()}
        moved: dict = defaultdict(Decimal)
        for m in (await session.execute(select(StockMove))).scalars():
            moved[(m.product_id, m.warehouse_id)] += m.quantity
        held: dict = defaultdict(Decimal)
        for r in (await session.execute(select(Reservation))).scalars():
            held[(r.product_id, r.warehouse_id)] += r.quantity
    assert levels, "the workload touched no stock"
    for key, level in levels.items():
        assert level.on_hand == moved[key], f"on hand drifted from the moves at {key}"
        assert level.reserved == held[key], f"reserved drifted from the reservations at {key}"
        assert 0 <= level.reserved <= level.on_hand
