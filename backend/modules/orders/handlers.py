"""Orders' reactions: backorders allocated when stock arrives, orders following a customer merge,
and order events on the CRM's customer timeline."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.core.ids import from_global_id
from backend.modules.crm import events as crm_events
from backend.modules.crm import service as crm
from backend.modules.inventory import events as inv_events
from backend.modules.orders import events as order_events
from backend.modules.orders.fulfillment import allocate_backorders
from backend.modules.orders.models import Order

_order = Order.__table__


def _arrived(event: Event) -> set:
    products = set()
    for move in event.payload.get("moves", []):
        parsed = from_global_id(move.get("productId", ""))
        if parsed and Decimal(move.get("quantity", "0")) > 0:
            products.add(parsed[1])
    return products


async def _allocate_backorders(session: AsyncSession, event: Event) -> None:
    """New stock goes to backordered lines, oldest submission first."""
    products = _arrived(event)
    if products:
        await allocate_backorders(session, product_ids=products)


for _type in (inv_events.STOCK_RECEIVED, inv_events.STOCK_ADJUSTED, inv_events.STOCK_RETURNED):
    on(_type, module="orders")(_allocate_backorders)


@on(crm_events.CUSTOMER_MERGED, module="orders")
async def follow_customer_merge(session: AsyncSession, event: Event) -> None:
    survivor, merged = from_global_id(event.payload["customerId"]), from_global_id(event.payload["mergedCustomerId"])
    if survivor is None or merged is None:
        return
    await session.execute(_order.update().where(_order.c.tenant_id == event.tenant_id,
                                                _order.c.customer_id == merged[1]).values(customer_id=survivor[1]))


def _money(p: dict) -> str:
    return f"{p['total']} {p['currencyCode']}"


for _type, _title in (
    (order_events.ORDER_CREATED, lambda p: f"Order {p['number']} created ({_money(p)})"),
    (order_events.ORDER_SUBMITTED, lambda p: f"Order {p['number']} submitted"),
    (order_events.ORDER_APPROVED, lambda p: f"Order {p['number']} approved"),
    (order_events.ORDER_REJECTED, lambda p: f"Order {p['number']} rejected: {p['reason']}"),
    (order_events.ORDER_CANCELLED, lambda p: f"Order {p['number']} cancelled"),
    (order_events.ORDER_SHIPPED, lambda p: f"Order {p['number']} shipped with {p['carrier']} ({p['trackingNumber']})"),
    (order_events.ORDER_DELIVERED, lambda p: f"Order {p['number']}: shipment delivered"),
    (order_events.ORDER_COMPLETED, lambda p: f"Order {p['number']} completed"),
    (order_events.RETURN_CREATED, lambda p: f"Return {p['number']} requested for {p['orderNumber']}: {p['reason']}"),
    (order_events.RETURN_RECEIVED, lambda p: f"Return {p['number']} received"),
):
    crm.show_on_timeline(_type, _title)
