"""Credit notes: what a customer is owed back for a return.

When a return of an invoiced order is received, the returned quantities are credited at the
order's own net prices and tax (the line's amounts pro rata): the credit note (CN-000001, gapless)
is applied to the order's open invoices, oldest first, and what is left is customer credit. It
posts Dr revenue (net) / Dr tax payable (tax) / Cr receivables (applied) / Cr customer credit (the
rest). A return posts at most one credit note (its global ID is unique on them).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.ids import new_id, to_global_id
from backend.core.money import round_money
from backend.core.outbox import next_sequence
from backend.modules.finance import events as fin_events
from backend.modules.finance.invoices import OPEN, balance_of, settle
from backend.modules.finance.ledger import Line, account_for, begin_posting, post
from backend.modules.finance.models import CreditNote, Invoice

_invoice = Invoice.__table__
_note = CreditNote.__table__


async def credit_return(session: AsyncSession, *, order_id: uuid.UUID, return_gid: str,
                        lines: list[tuple[uuid.UUID, Decimal]], reason: str | None,
                        source_event_id: uuid.UUID | None = None) -> CreditNote | None:
    """The credit note for returned ``(order line, quantity)``; None when the order was never invoiced."""
    from backend.modules.orders import service as orders

    await begin_posting(session)
    tenant_id = session.info["tenant_id"]
    if await session.scalar(select(_note.c.id).where(_note.c.tenant_id == tenant_id,
                                                     _note.c.source_id == return_gid)):
        return None
    invoices = list((await session.execute(select(Invoice).where(
        Invoice.tenant_id == tenant_id, Invoice.order_id == order_id, Invoice.status != "void",
        Invoice.status != "draft").order_by(Invoice.id).with_for_update()
        .execution_options(populate_existing=True))).scalars())
    if not invoices:
        return None
    order = await orders.get_order(session, order_id=order_id)
    by_id = {x.id: x for x in await orders.order_lines(session, order_id)}
    subtotal = tax = Decimal(0)
    for line_id, quantity in lines:
        line = by_id[line_id]
        subtotal += round_money((line.line_subtotal - line.line_discount) * quantity / line.quantity, order.currency)
        tax += round_money(line.line_tax * quantity / line.quantity, order.currency)
    total = subtotal + tax
    if total <= 0:
        return None
    left = total
    applied_to = None
    for invoice in sorted((i for i in invoices if i.status in OPEN), key=lambda i: (i.issue_date, i.number)):
        share = min(left, balance_of(invoice))
        if share <= 0:
            continue
        invoice.amount_credited += share
        settle(invoice)
        applied_to = applied_to or invoice.id
        left -= share
    note = CreditNote(id=new_id(), number=f"CN-{await next_sequence(session, 'credit_note'):06d}",
                      customer_id=order.customer_id, order_id=order.id, invoice_id=applied_to, source_id=return_gid,
                      issue_date=date.today(), subtotal=subtotal, tax=tax, total=total, applied=total - left,
                      unapplied=left, reason=reason, created_at=utcnow())
    note.tenant_id = tenant_id
    session.add(note)
    await session.flush()
    gid = to_global_id("CreditNote", note.id)
    customer = order.customer_id
    await post(session, entry_date=note.issue_date, memo=f"Credit note {note.number}", source_id=gid,
               reference=note.number, source_event_id=source_event_id, lines=[
                   Line(await account_for(session, "revenue"), debit=subtotal, customer_id=customer),
                   Line(await account_for(session, "tax_payable"), debit=tax, customer_id=customer),
                   Line(await account_for(session, "ar"), credit=total - left, customer_id=customer),
                   Line(await account_for(session, "customer_credit"), credit=left, customer_id=customer)])
    await events.emit(session, fin_events.CREDIT_NOTE_ISSUED, aggregate_id=gid, payload={
        "creditNoteId": gid, "number": note.number, "customerId": to_global_id("Customer", customer),
        "orderId": to_global_id("Order", order.id), "returnId": return_gid, "total": str(total),
        "applied": str(total - left), "currencyCode": order.currency})
    return note
