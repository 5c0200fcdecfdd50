"""Automatic postings: finance reads other modules' events (never their tables) and posts them.

| event | debit | credit |
|---|---|---|
| ``stock.received`` | inventory | goods received not invoiced |
| ``stock.shipped`` | cost of goods sold | inventory |
| ``stock.returned`` | inventory | cost of goods sold |
| ``stock.adjusted`` (up / down) | inventory / inventory adjustments | inventory adjustments / inventory |
| ``order.approved`` / ``order.shipped`` (``invoiceOn``) | receivables (an invoice) | revenue, shipping, tax |
| ``return.received`` (an invoiced order) | revenue, tax payable (a credit note) | receivables, customer credit |
| ``order.cancelled`` | its unpaid invoices are voided (the reversal of each) | |

Each entry carries the event's id, so an event posts once. Handlers run only while finance is on.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.core.ids import from_global_id
from backend.modules.finance.invoices import invoice_order, settings_of, void_invoice
from backend.modules.finance.ledger import Line, account_for, post, seed_chart
from backend.modules.finance.models import Invoice
from backend.modules.inventory import events as inv_events
from backend.modules.orders import events as order_events
from backend.modules.platform import events as platform_events

_invoice = Invoice.__table__


@on(platform_events.MODULE_ENABLED, module="finance")
async def set_up_the_books(session: AsyncSession, event: Event) -> None:
    """A tenant that switches finance on starts with a chart of accounts for its currency."""
    if "finance" in event.payload.get("enabledModules", []):
        await seed_chart(session)


def _pk(gid: str | None) -> uuid.UUID | None:
    parsed = from_global_id(gid or "")
    return parsed[1] if parsed else None


async def _stock_entry(session: AsyncSession, event: Event, debit_role: str, credit_role: str, memo: str) -> None:
    debit, credit = await account_for(session, debit_role), await account_for(session, credit_role)
    lines = []
    for move in event.payload.get("moves", []):
        value = abs(Decimal(move["value"]))
        product = _pk(move.get("productId"))
        lines += [Line(debit, debit=value, product_id=product), Line(credit, credit=value, product_id=product)]
    if any(x.debit for x in lines):
        await post(session, entry_date=event.occurred_at.date(), lines=lines, memo=memo,
                   source_id=event.payload.get("sourceId") or event.aggregate_id, source_event_id=event.id)


@on(inv_events.STOCK_RECEIVED, module="finance")
async def post_receipt(session: AsyncSession, event: Event) -> None:
    await _stock_entry(session, event, "inventory", "grni", "Goods received")


@on(inv_events.STOCK_SHIPPED, module="finance")
async def post_shipment(session: AsyncSession, event: Event) -> None:
    await _stock_entry(session, event, "cogs", "inventory", "Cost of goods shipped")


@on(inv_events.STOCK_RETURNED, module="finance")
async def post_return(session: AsyncSession, event: Event) -> None:
    await _stock_entry(session, event, "inventory", "cogs", "Goods returned to stock")


@on(inv_events.STOCK_ADJUSTED, module="finance")
async def post_adjustment(session: AsyncSession, event: Event) -> None:
    inventory, adjustment = await account_for(session, "inventory"), await account_for(session,
                                                                                        "inventory_adjustment")
    lines = []
    for move in event.payload.get("moves", []):
        value = Decimal(move["value"])
        product = _pk(move.get("productId"))
        up, down = (inventory, adjustment) if value > 0 else (adjustment, inventory)
        lines += [Line(up, debit=abs(value), product_id=product), Line(down, credit=abs(value), product_id=product)]
    if any(x.debit for x in lines):
        await post(session, entry_date=event.occurred_at.date(), lines=lines,
                   memo=f"Stock adjustment: {event.payload.get('reason') or ''}".strip(),
                   source_id=event.aggregate_id, source_event_id=event.id)


@on(order_events.ORDER_APPROVED, module="finance")
async def invoice_on_approval(session: AsyncSession, event: Event) -> None:
    if (await settings_of(session)).invoice_on == "approval":
        await invoice_order(session, order_id=_pk(event.payload["orderId"]), shipped=None,  # type: ignore[arg-type]
                            source_event_id=event.id)


@on(order_events.ORDER_SHIPPED, module="finance")
async def invoice_on_shipment(session: AsyncSession, event: Event) -> None:
    if (await settings_of(session)).invoice_on != "shipment":
        return
    shipped: dict[uuid.UUID, Decimal] = {}
    for x in event.payload.get("lines", []):
        line = _pk(x["lineId"])
        if line is not None:
            shipped[line] = shipped.get(line, Decimal(0)) + Decimal(x["quantity"])
    await invoice_order(session, order_id=_pk(event.payload["orderId"]), shipped=shipped,  # type: ignore[arg-type]
                        source_event_id=event.id)


@on(order_events.RETURN_RECEIVED, module="finance")
async def credit_the_return(session: AsyncSession, event: Event) -> None:
    from backend.modules.finance.credit_notes import credit_return

    lines = [(_pk(x["lineId"]), Decimal(x["quantity"])) for x in event.payload.get("lines", [])]
    await credit_return(session, order_id=_pk(event.payload["orderId"]), return_gid=event.payload["returnId"],  # type: ignore[arg-type]
                        lines=[(line, q) for line, q in lines if line is not None], source_event_id=event.id,
                        reason=f"Return {event.payload.get('number')}")


@on(order_events.ORDER_CANCELLED, module="finance")
async def void_unpaid_invoices(session: AsyncSession, event: Event) -> None:
    order_id = _pk(event.payload["orderId"])
    for invoice_id in (await session.execute(select(_invoice.c.id).where(
            _invoice.c.tenant_id == event.tenant_id, _invoice.c.order_id == order_id,
            _invoice.c.status.in_(("draft", "issued")), _invoice.c.amount_paid == 0))).scalars():
        await void_invoice(session, invoice_id=invoice_id)
