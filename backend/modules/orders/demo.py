"""Demo orders in every state, through the services (so stock, the ledger, events and the customer
timeline are real): drafts, orders waiting for review, approved, rejected, allocated, backordered,
on hold, cancelled, partly shipped, shipped and completed. Tax rates and two routing rules too."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.modules.crm import service as crm
from backend.modules.inventory import service as inventory
from backend.modules.orders import service as orders
from backend.modules.platform.models import Membership

# the state each demo order is taken to, in order
PLAN = ["completed", "completed", "shipped", "partially_shipped", "allocated", "partially_allocated", "approved",
        "submitted", "submitted", "on_hold", "rejected", "cancelled", "draft", "draft"]


async def seed(session: AsyncSession) -> None:
    rng = random.Random(20261201)
    tenant_id = session.info["tenant_id"]
    await orders.set_tax_rate(session, tax_category="standard", rate=Decimal(13))
    await orders.set_tax_rate(session, tax_category="services", rate=Decimal(6))
    manager = await session.scalar(select(Membership.user_id).where(Membership.tenant_id == tenant_id,
                                                                    Membership.role == "manager"))
    currency = await inventory.currency_of(session)
    await orders.create_routing_rule(session, currency=currency, values=orders.RuleFields(
        name="Large orders go to the sales manager", min_total=Decimal(20000), assignee_id=manager))
    await orders.create_routing_rule(session, currency=currency, values=orders.RuleFields(
        name="Small web orders are approved at once", channel="web", max_total=Decimal(800), auto_approve=True))
    customers = [r.id for r in (await session.execute(crm.customers_query(tenant_id, None).limit(40))).all()]
    stocked = [r for r in (await session.execute(inventory.products_query(tenant_id, inventory.ProductFilter(
        type="stocked")).limit(60))).all()]
    levels = await inventory.levels_for(session, [(p.id, w.id) for p in stocked
                                                  for w in await inventory.list_warehouses(session)])
    in_stock = [p for p in stocked if sum(lv.available for (pid, _), lv in levels.items() if pid == p.id) >= 6]
    scale = max(1, int(session.info.get("demo_scale", 200)) // 40)
    completed = []
    for n, target in enumerate(PLAN * scale):
        customer = customers[n % len(customers)]
        picks = rng.sample(in_stock, k=min(len(in_stock), rng.randint(1, 3)))
        lines = [orders.LineInput(p.id, Decimal(rng.randint(1, 2))) for p in picks]
        if target == "partially_shipped" and len(lines) == 1:
            lines.append(orders.LineInput(next(p.id for p in in_stock if p.id != picks[0].id), Decimal(1)))
        if target == "partially_allocated":  # a few more than there is: a backorder
            short = in_stock[-1]
            held = sum(lv.available for (pid, _), lv in (await inventory.levels_for(session, [
                (short.id, w.id) for w in await inventory.list_warehouses(session)])).items())
            lines = [orders.LineInput(short.id, held + 3)]
        order = await orders.create_order(session, values=orders.OrderFields(
            customer_id=customer, lines=lines, channel=rng.choice(["phone", "email", "api"]),
            notes="Demo order", shipping_amount=Decimal(rng.choice([0, 15, 25]))), created_by=manager)
        await _advance(session, order.id, target, manager)
        if target == "completed":
            completed.append(order.id)
    # A return received back into stock, and one still on its way.
    for n, order_id in enumerate(completed[:2]):
        line = (await orders.order_lines(session, order_id))[0]
        made = await orders.create_return(session, order_id=order_id, lines=[(line.id, Decimal(1))],
                                          reason="Damaged in transit" if n == 0 else "Wrong colour",
                                          created_by=manager)
        if n == 0:
            await orders.receive_return(session, return_id=made.id, warehouse_id=None, actor_id=manager)


async def _advance(session: AsyncSession, order_id, target: str, actor) -> None:  # type: ignore[no-untyped-def]
    if target == "draft":
        return
    await orders.submit_order(session, order_id=order_id, actor_id=actor)
    if target == "submitted":
        return
    if target == "rejected":
        await orders.reject_order(session, order_id=order_id, reason="Customer asked for a new quotation",
                                  actor_id=actor)
        return
    await orders.approve_order(session, order_id=order_id, actor_id=actor)
    if target in ("approved", "cancelled", "on_hold"):
        if target == "cancelled":
            await orders.cancel_order(session, order_id=order_id, reason="Duplicate order", actor_id=actor)
        if target == "on_hold":
            await orders.hold_order(session, order_id=order_id, reason="Waiting for payment", actor_id=actor)
        return
    await orders.allocate_order(session, order_id=order_id, actor_id=actor)
    if target in ("allocated", "partially_allocated"):
        return
    if target == "partially_shipped":  # the first line now, the rest later
        first = (await orders.order_lines(session, order_id))[0]
        shipping = await orders.create_fulfillments(session, order_id=order_id, lines=[(first.id, first.quantity)])
    else:
        shipping = await orders.create_fulfillments(session, order_id=order_id)
    for fulfillment in shipping:
        await orders.ship(session, fulfillment_id=fulfillment.id, carrier="SF Express",
                          tracking_number=f"SF{fulfillment.id.int % 10**12:012d}", actor_id=actor)
    if target == "completed":
        for fulfillment in shipping:
            await orders.deliver(session, fulfillment_id=fulfillment.id, actor_id=actor)
