"""Orders' reactions: backorders allocated when stock arrives, orders following a customer merge,
and order events on the CRM's customer timeline."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.core.fetch import fetch_statement
from backend.core.ids import from_global_id
from backend.modules.crm import events as crm_events
from backend.modules.crm import service as crm
from backend.modules.inventory import events as inv_events
from backend.modules.orders import events as order_events
from backend.modules.orders.fulfillment import allocate_backorders
from backend.modules.orders.models import Order
from backend.modules.platform import notifications
from backend.settings import get_settings

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


@on(crm_events.OPPORTUNITY_WON, module="orders")
async def draft_order_for_won_opportunity(session: AsyncSession, event: Event) -> None:
    """``opportunityWin(input: {draftOrderLines})``: the draft order for the deal, linked to it."""
    from backend.core.errors import DomainError
    from backend.modules.orders.orders import LineInput, OrderFields, create_order

    draft = event.payload.get("draftOrder")
    if not draft:
        return
    lines = []
    for i, x in enumerate(draft["lines"]):
        parsed = from_global_id(x["productId"])
        if parsed is None or parsed[0] != "Product":
            raise DomainError("NOT_FOUND", "No product with this ID.", ["draftOrderLines", str(i), "productId"])
        lines.append(LineInput(product_id=parsed[1], quantity=x["quantity"], unit_price=x.get("unitPrice")))
    customer, opportunity = from_global_id(event.payload["customerId"]), from_global_id(event.payload["opportunityId"])
    try:
        await create_order(session, values=OrderFields(
            customer_id=customer[1], opportunity_id=opportunity[1], lines=lines,  # type: ignore[index]
            notes=f"From the won opportunity {event.payload.get('name') or ''}".strip()))
    except DomainError as exc:  # name the CRM input's field
        if exc.field and exc.field[0] == "lines":
            exc.field = ["draftOrderLines", *exc.field[1:]]
        raise


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


# --- telling the customer ---------------------------------------------------------------------------------

notifications.add_built_in({
    ("order.approved", "en"): (
        "Order $number confirmed",
        "Hello $name,\n\nThank you for your order $number with $tenant ($total $currencyCode). We are preparing it.\n"
        "Follow it here: $trackingLink\n"),
    ("order.approved", "zh-CN"): (
        "订单 $number 已确认",
        "$name，您好：\n\n感谢您在 $tenant 下单（订单号 $number，金额 $total $currencyCode），我们正在为您备货。\n"
        "查看物流进度：$trackingLink\n"),
    ("order.shipped", "en"): (
        "Order $number has shipped",
        "Hello $name,\n\nYour order $number is on its way with $carrier, tracking number $trackingNumber.\n"
        "$trackingUrl\nAll shipments: $trackingLink\n"),
    ("order.shipped", "zh-CN"): (
        "订单 $number 已发货",
        "$name，您好：\n\n您的订单 $number 已由 $carrier 发出，运单号 $trackingNumber。\n$trackingUrl\n"
        "全部包裹：$trackingLink\n"),
    ("order.delivered", "en"): (
        "Order $number delivered",
        "Hello $name,\n\nA shipment of your order $number was delivered. Thank you for buying from $tenant.\n"),
    ("order.delivered", "zh-CN"): (
        "订单 $number 已送达",
        "$name，您好：\n\n您的订单 $number 的包裹已送达。感谢您对 $tenant 的支持。\n"),
    ("order.cancelled", "en"): (
        "Order $number cancelled",
        "Hello $name,\n\nYour order $number with $tenant was cancelled. $reason\n"),
    ("order.cancelled", "zh-CN"): (
        "订单 $number 已取消",
        "$name，您好：\n\n您在 $tenant 的订单 $number 已取消。$reason\n"),
})


async def _tell_the_customer(session: AsyncSession, event: Event) -> None:
    """Mail the order's contact (else the customer's address) about confirmation, shipment,
    delivery and cancellation, in the tenant's language."""
    parsed = from_global_id(event.payload["orderId"])
    if parsed is None:
        return
    rows = await fetch_statement(session, select(_order.c.contact_id, _order.c.customer_id, _order.c.tracking_token)
                                 .where(_order.c.tenant_id == event.tenant_id, _order.c.id == parsed[1]))
    if not rows:
        return
    order = rows[0]
    recipient = name = None
    if order.contact_id is not None:
        contact = await crm.get_contact(session, contact_id=order.contact_id)
        recipient, name = contact.email, contact.name
    if not recipient:
        customer = await crm.get_customer(session, customer_id=order.customer_id)
        recipient, name = customer.email, customer.name
    if not recipient:
        return
    link = f"{get_settings().public_url.rstrip('/')}/track/{order.tracking_token}"
    await notifications.notify(session, recipient=recipient, name=name or "", event=event,
                               variables={"trackingLink": link, "reason": event.payload.get("reason") or ""})


for _type in (order_events.ORDER_APPROVED, order_events.ORDER_SHIPPED, order_events.ORDER_DELIVERED,
              order_events.ORDER_CANCELLED):
    on(_type, module="orders")(_tell_the_customer)
