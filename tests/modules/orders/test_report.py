"""orderReport against hand-computed fixtures (timestamps set by hand after the real flow)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text

from backend.core.ids import from_global_id
from backend.modules.orders import service as orders
from tests.modules.orders.conftest import Shop

REPORT = """query($from: DateTime, $to: DateTime) { orderReport(from: $from, to: $to) {
  countByStatus { status count value { amount } } averageCycleTime cycleTimeP90 averageReviewTime onTimeRate
  perfectOrderRate salesByPeriod { period orders value { amount } } salesByProduct { sku quantity value { amount } }
  salesByCustomer { customer { name } orders value { amount } } salesByChannel { channel orders }
  openBackorders { number sku quantity } } }"""


def _at(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC) if moment else None


async def _order(session, customer, product, quantity, channel="web"):  # type: ignore[no-untyped-def]
    return await orders.create_order(session, values=orders.OrderFields(
        customer_id=customer, channel=channel, lines=[orders.LineInput(product, Decimal(quantity))]))


async def _complete(session, order_id):  # type: ignore[no-untyped-def]
    await orders.submit_order(session, order_id=order_id)
    await orders.approve_order(session, order_id=order_id)
    await orders.allocate_order(session, order_id=order_id)
    for f in await orders.create_fulfillments(session, order_id=order_id):
        await orders.ship(session, fulfillment_id=f.id, carrier="EMS", tracking_number="E")
        await orders.deliver(session, fulfillment_id=f.id)


async def test_the_report_matches_hand_computed_numbers(shop: Shop, db):
    ann, bob = await shop.customer("Ann Tea"), await shop.customer("Bob Cups")
    tea = from_global_id(await shop.stocked("TEA", "100", unitPrice="10"))[1]  # type: ignore[index]
    cup = from_global_id(await shop.stocked("CUP", "3", unitPrice="4"))[1]  # type: ignore[index]
    ann_id, bob_id = from_global_id(ann)[1], from_global_id(bob)[1]  # type: ignore[index]
    async with db.transaction(shop.tenant) as session:
        a = await _order(session, ann_id, tea, 2)            # 20.00, on time, perfect
        b = await _order(session, ann_id, tea, 5, "phone")   # 50.00, late
        c = await _order(session, bob_id, tea, 1)            # 10.00, returned
        d = await _order(session, bob_id, tea, 9)            # cancelled: not a sale
        e = await _order(session, bob_id, cup, 5)            # 20.00, 2 backordered
        for order in (a, b, c):
            await _complete(session, order.id)
        line = (await orders.order_lines(session, c.id))[0]
        await orders.create_return(session, order_id=c.id, lines=[(line.id, Decimal(1))], reason="Broken")
        await orders.submit_order(session, order_id=d.id)
        await orders.cancel_order(session, order_id=d.id)
        await orders.submit_order(session, order_id=e.id)
        await orders.approve_order(session, order_id=e.id)
        await orders.allocate_order(session, order_id=e.id)
    times = {  # submitted, approved, completed (= delivered), requested delivery date
        a.id: ("2026-03-01 08:00", "2026-03-01 10:00", "2026-03-03 08:00", "2026-03-05"),
        b.id: ("2026-03-10 00:00", "2026-03-10 06:00", "2026-03-15 00:00", "2026-03-12"),
        c.id: ("2026-04-02 00:00", "2026-04-02 01:00", "2026-04-04 00:00", None),
        d.id: ("2026-04-05 00:00", None, None, None),
        e.id: ("2026-04-06 00:00", "2026-04-06 03:00", None, None),
    }
    async with db.owner_engine.begin() as conn:
        for order_id, (submitted, approved, completed, requested) in times.items():
            await conn.execute(text(
                "UPDATE ord_order SET submitted_at = CAST(:s AS timestamptz), approved_at = CAST(:a AS timestamptz), "
                "completed_at = CAST(:c AS timestamptz), delivered_at = CAST(:c AS timestamptz), "
                "requested_delivery_date = CAST(:r AS date) WHERE id = :id"),
                {"s": _at(submitted), "a": _at(approved), "c": _at(completed),
                 "r": date.fromisoformat(requested) if requested else None, "id": order_id})
    r = (await shop(REPORT, {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}))["data"]["orderReport"]
    assert r["countByStatus"] == [
        {"status": "CANCELLED", "count": 1, "value": {"amount": "90.00"}},
        {"status": "COMPLETED", "count": 3, "value": {"amount": "80.00"}},
        {"status": "PARTIALLY_ALLOCATED", "count": 1, "value": {"amount": "20.00"}}]
    assert r["averageCycleTime"] == "72.00"  # (48 + 120 + 48) / 3
    assert r["cycleTimeP90"] == "105.60"  # 48 + 0.8 x (120 - 48)
    assert r["averageReviewTime"] == "3.00"  # (2 + 6 + 1 + 3) / 4
    assert r["onTimeRate"] == "0.5000"  # A on time, B late; C has no requested date
    assert r["perfectOrderRate"] == "0.3333"  # A of A, B, C
    assert r["salesByPeriod"] == [{"period": "2026-03-01", "orders": 2, "value": {"amount": "70.00"}},
                                  {"period": "2026-04-01", "orders": 2, "value": {"amount": "30.00"}}]
    assert r["salesByProduct"] == [{"sku": "TEA", "quantity": "8", "value": {"amount": "80.00"}},
                                   {"sku": "CUP", "quantity": "5", "value": {"amount": "20.00"}}]
    assert r["salesByCustomer"] == [{"customer": {"name": "Ann Tea"}, "orders": 2, "value": {"amount": "70.00"}},
                                    {"customer": {"name": "Bob Cups"}, "orders": 2, "value": {"amount": "30.00"}}]
    assert r["salesByChannel"] == [{"channel": "PHONE", "orders": 1}, {"channel": "WEB", "orders": 3}]  # 50 each
    assert r["openBackorders"] == [{"number": e.number, "sku": "CUP", "quantity": "2"}]
    march = (await shop(REPORT, {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}))["data"]["orderReport"]
    assert march["countByStatus"] == [{"status": "COMPLETED", "count": 2, "value": {"amount": "70.00"}}]
    assert march["averageCycleTime"] == "84.00" and march["perfectOrderRate"] == "0.5000"
