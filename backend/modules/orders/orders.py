"""Orders: create (idempotent by key), edit, and the review transitions (submit, approve, reject,
hold, release, cancel). Allocation and shipping live in ``fulfillment.py``.

Every transition locks the order row first (FOR NO KEY UPDATE), checks the current status against
``ALLOWED`` (INVALID_TRANSITION names the status otherwise), writes an ``ord_order_event`` row (who,
when, from, to, note) and emits its event: two concurrent approvals of one order approve it once.

Numbers come from the tenant's gapless counter (SO-000001, ...), taken in the creating transaction,
so a rolled-back order gives its number back.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.core import events, idempotency
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.events import EventType
from backend.core.fetch import Prepared, fetch
from backend.core.ids import new_id, to_global_id
from backend.core.money import parse_amount
from backend.core.outbox import lock_tenant_writes, next_sequence
from backend.core.validation import optional_text
from backend.modules.crm import service as crm
from backend.modules.inventory import service as inventory
from backend.modules.orders import events as order_events
from backend.modules.orders.models import CHANNELS, Order, OrderEvent, OrderLine
from backend.modules.orders.pricing import line_amounts, order_amounts, tax_rates
from backend.modules.platform import service as platform

_order = Order.__table__
_line = OrderLine.__table__
_event = OrderEvent.__table__

# action -> statuses it may start from
ALLOWED: dict[str, tuple[str, ...]] = {
    "edit": ("draft", "submitted", "approved", "allocated", "partially_allocated", "on_hold"),
    "submit": ("draft",),
    "approve": ("submitted",),
    "reject": ("submitted",),
    "hold": ("submitted", "approved", "allocated", "partially_allocated"),
    "release": ("on_hold",),
    "cancel": ("draft", "submitted", "approved", "allocated", "partially_allocated", "on_hold", "rejected",
               "partially_shipped"),
    "allocate": ("approved", "partially_allocated", "allocated"),
    "fulfill": ("allocated", "partially_allocated", "partially_shipped"),
}
VERBS = {"edit": "edited", "submit": "submitted", "approve": "approved", "reject": "rejected", "hold": "put on hold",
         "release": "released", "cancel": "cancelled", "allocate": "allocated", "fulfill": "fulfilled"}


def tenant_of(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


def order_gid(order_id: uuid.UUID) -> str:
    return to_global_id("Order", order_id)


def line_gid(line_id: uuid.UUID) -> str:
    return to_global_id("OrderLine", line_id)


async def get_order(session: AsyncSession, *, order_id: uuid.UUID, lock: bool = False,
                    field_name: str | list[str] = "id") -> Order:
    stmt = select(Order).where(Order.tenant_id == tenant_of(session), Order.id == order_id)
    if lock:
        await lock_tenant_writes(session)
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No order with this ID.", field_name)
    return found


async def order_lines(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> list[OrderLine]:
    stmt = (select(OrderLine).where(OrderLine.tenant_id == tenant_of(session), OrderLine.order_id == order_id)
            .order_by(OrderLine.position))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


def tracking_token(tenant_id: uuid.UUID) -> str:
    """The customer's tracking link token: the tenant (so the public page can scope itself to it)
    and 192 random bits (so nobody can guess another order's)."""
    return f"{tenant_id.hex}{secrets.token_urlsafe(24)}"


def check_allowed(order: Order, action: str) -> None:
    if order.status not in ALLOWED[action]:
        raise DomainError("INVALID_TRANSITION",
                          f"Order {order.number} is {order.status.upper()}; it cannot be {VERBS[action]}.", "id")


_MOVES: dict[tuple[str, ...], Prepared] = {}  # one per set of columns a transition writes (a handful, in code)


def _move_statement(columns: tuple[str, ...]) -> Prepared:
    """The order's ``UPDATE`` of ``columns`` and its log row, in one statement (returns the log row's id)."""
    found = _MOVES.get(columns)
    if found is None:
        def param(name: str, column: Any) -> Any:
            return bindparam(name, type_=column.type)

        moved = (_order.update()
                 .where(_order.c.tenant_id == param("tenant_id", _order.c.tenant_id),
                        _order.c.id == param("order_id", _order.c.id))
                 .values({name: param(f"set_{name}", _order.c[name]) for name in columns})
                 .returning(_order.c.id).cte("moved"))
        logged = ("tenant_id", "id", "order_id", "from_status", "to_status", "actor_id", "note", "created_at")
        found = _MOVES[columns] = Prepared(insert(_event).from_select(list(logged), select(
            *(moved.c.id if name == "order_id" else param(name, _event.c[name]) for name in logged)))
            .returning(_event.c.id))
    return found


async def record(session: AsyncSession, order: Order, to_status: str, *, actor_id: uuid.UUID | None,
                 note: str | None = None, **changes: Any) -> None:
    """Move ``order`` to ``to_status`` and log it (the order row is already locked).

    ``changes`` are other columns the move sets (``submitted_at=...``): the order's ``UPDATE`` and the
    log's ``INSERT`` are one statement, and the object holds the values as written (no pending change
    left for a flush). Whatever the caller changed on the object itself is flushed first, as before."""
    from_status = order.status
    values = {"status": to_status, "updated_at": utcnow(), **changes}
    columns = tuple(sorted(values))
    logged = await fetch(session, _move_statement(columns), {
        "tenant_id": order.tenant_id, "order_id": order.id, **{f"set_{name}": values[name] for name in columns},
        "id": new_id(), "from_status": from_status, "to_status": to_status, "actor_id": actor_id, "note": note,
        "created_at": utcnow()})
    if not logged:  # the caller holds the row locked: it cannot be gone
        raise RuntimeError(f"order {order.id} vanished while locked")
    for name, value in values.items():
        set_committed_value(order, name, value)


async def emit(session: AsyncSession, event_type: EventType, order: Order, **extra: Any) -> None:
    await session.flush()
    gid = order_gid(order.id)
    await events.emit(session, event_type, aggregate_id=gid, payload={
        "orderId": gid, "number": order.number, "customerId": to_global_id("Customer", order.customer_id),
        "status": order.status.upper(), "total": str(order.total), "currencyCode": order.currency, **extra})


# --- create and edit ----------------------------------------------------------------------------------


@dataclass
class LineInput:
    product_id: uuid.UUID
    quantity: Any
    unit_price: Any = None  # None: the customer's price list, else the list price
    discount_percent: Any = None
    discount_amount: Any = None
    tax_rate: Any = None  # None: the rate of the product's tax category


@dataclass
class OrderFields:
    customer_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    lines: list[LineInput] | None = None
    channel: str | None = None
    billing_address: dict[str, Any] | None = None
    shipping_address: dict[str, Any] | None = None
    requested_delivery_date: date | None = None
    notes: str | None = None
    shipping_amount: Any = None
    given: set[str] = field(default_factory=set)


async def _priced_lines(session: AsyncSession, order: Order, lines: list[LineInput]) -> list[dict[str, Any]]:
    """Validated line rows with prices, taxes and amounts (not yet inserted)."""
    if not lines:
        raise DomainError("REQUIRED", "An order has at least one line.", "lines")
    if len(lines) > 500:
        raise DomainError("TOO_MANY_LINES", "An order has at most 500 lines.", "lines")
    products = await inventory.products_by_ids(session, list({x.product_id for x in lines}))
    rates = await tax_rates(session)
    quantities = []
    for i, x in enumerate(lines):
        at = ["lines", str(i)]
        product = products.get(x.product_id)
        if product is None:
            raise DomainError("NOT_FOUND", "No product with this ID.", [*at, "productId"])
        if not product.active:
            raise DomainError("PRODUCT_ARCHIVED", f"{product.sku} is archived.", [*at, "productId"])
        quantities.append(inventory.parse_quantity(x.quantity, unit=product.unit, field=[*at, "quantity"]))  # type: ignore[arg-type]
    need_price = [(i, x) for i, x in enumerate(lines) if x.unit_price is None]
    resolved = await inventory.resolve_prices(session, customer_id=order.customer_id, lines=[
        (x.product_id, quantities[i]) for i, x in need_price]) if need_price else []
    prices = {i: r.unit_price for (i, _), r in zip(need_price, resolved, strict=True)}
    out = []
    for i, x in enumerate(lines):
        at = ["lines", str(i)]
        product = products[x.product_id]
        price = prices[i] if x.unit_price is None else parse_amount(x.unit_price, currency=order.currency,
                                                                    field=[*at, "unitPrice"])  # type: ignore[arg-type]
        if x.discount_percent is not None and x.discount_amount is not None:
            raise DomainError("ONE_DISCOUNT", "Give a percent or an amount, not both.", [*at, "discountAmount"])
        kind, discount = "percent", Decimal(0)
        if x.discount_percent is not None:
            discount = Decimal(str(x.discount_percent))
            if not discount.is_finite() or not 0 <= discount <= 100:
                raise DomainError("INVALID_DISCOUNT", "A discount is 0 to 100 percent.", [*at, "discountPercent"])
        elif x.discount_amount is not None:
            kind = "amount"
            discount = parse_amount(x.discount_amount, currency=order.currency, field=[*at, "discountAmount"])  # type: ignore[arg-type]
        rate = rates.get(product.tax_category or "", Decimal(0)) if x.tax_rate is None else Decimal(str(x.tax_rate))
        if not rate.is_finite() or not 0 <= rate < 100:
            raise DomainError("INVALID_RATE", "A tax rate is 0 to below 100 percent.", [*at, "taxRate"])
        amounts = line_amounts(quantities[i], price, discount_kind=kind, discount=discount, tax_rate=rate,
                               currency=order.currency)
        out.append({"tenant_id": order.tenant_id, "id": new_id(), "order_id": order.id, "position": i + 1,
                    "product_id": product.id, "sku": product.sku, "name": product.name,
                    "stocked": product.type != "service", "quantity": quantities[i], "unit_price": price,
                    "discount_kind": kind, "discount": discount, "tax_rate": rate,
                    "line_subtotal": amounts.subtotal, "line_discount": amounts.discount, "line_tax": amounts.tax,
                    "line_total": amounts.total, "reserved": Decimal(0), "shipped": Decimal(0),
                    "delivered": Decimal(0), "cancelled": Decimal(0)})
    return out


def _total(order: Order, lines: list[dict[str, Any]]) -> None:
    from backend.modules.orders.pricing import LineAmounts

    amounts = order_amounts([LineAmounts(r["line_subtotal"], r["line_discount"], r["line_tax"], r["line_total"])
                             for r in lines], order.shipping_total)
    order.subtotal, order.discount_total, order.tax_total = amounts.subtotal, amounts.discount_total, amounts.tax_total
    order.total = amounts.total


async def _apply_fields(session: AsyncSession, order: Order, values: OrderFields) -> list[str]:
    changed = []
    if values.contact_id is not None:
        contact = await crm.get_contact(session, contact_id=values.contact_id)
        if contact.customer_id != order.customer_id:
            raise DomainError("CONTACT_OF_ANOTHER_CUSTOMER", "The contact must be one of the customer's.", "contactId")
        order.contact_id = contact.id
        changed.append("contact")
    if values.opportunity_id is not None:
        opportunity = await crm.get_opportunity(session, opportunity_id=values.opportunity_id)
        if opportunity.customer_id != order.customer_id:
            raise DomainError("OPPORTUNITY_OF_ANOTHER_CUSTOMER", "The opportunity must be the customer's.",
                              "opportunityId")
        order.opportunity_id = opportunity.id
    if values.channel is not None:
        if values.channel not in CHANNELS:
            raise DomainError("INVALID_CHANNEL", "Channel is WEB, PHONE, EMAIL, API or MARKETPLACE.", "channel")
        order.channel = values.channel
    for name in ("billing_address", "shipping_address", "requested_delivery_date"):
        if getattr(values, name) is not None or name in values.given:
            setattr(order, name, getattr(values, name))
            changed.append(name)
    if values.notes is not None or "notes" in values.given:
        order.notes = optional_text(values.notes, field="notes", max_length=5000)
    if values.shipping_amount is not None:
        order.shipping_total = parse_amount(values.shipping_amount, currency=order.currency, field="shippingAmount")
        changed.append("shipping")
    return changed


async def create_order(session: AsyncSession, *, values: OrderFields, created_by: uuid.UUID | None = None,
                       idempotency_key: str | None = None) -> Order:
    """A DRAFT order for a CRM customer; emits ``order.created``. A repeated key answers the first order."""
    await platform.ensure_module_enabled(session, "orders")
    request = {"customer": str(values.customer_id), "lines": [
        [str(x.product_id), str(x.quantity), str(x.unit_price), str(x.discount_percent), str(x.discount_amount),
         str(x.tax_rate)] for x in values.lines or []], "channel": values.channel,
        "shipping": str(values.shipping_amount), "contact": str(values.contact_id)}

    async def run() -> Order:
        if values.customer_id is None:
            raise DomainError("REQUIRED", "An order is for a customer.", "customerId")
        customer = await crm.get_customer(session, customer_id=values.customer_id, field_name="customerId")
        if customer.archived_at is not None:
            raise DomainError("CUSTOMER_ARCHIVED", f"{customer.name} is archived.", "customerId")
        order = Order(id=new_id(), customer_id=customer.id, currency=await platform.base_currency(session),
                      status="draft",
                      channel="web", number="", tracking_token=tracking_token(tenant_of(session)), owner_id=created_by,
                      billing_address=customer.billing_address, shipping_address=customer.shipping_address,
                      shipping_total=Decimal(0))
        order.tenant_id = tenant_of(session)
        await _apply_fields(session, order, values)
        if order.contact_id is None:
            primary = await crm.primary_contact(session, customer_id=customer.id)
            order.contact_id = primary.id if primary else None
        lines = await _priced_lines(session, order, values.lines or [])
        _total(order, lines)
        order.number = f"SO-{await next_sequence(session, 'order'):06d}"
        session.add(order)
        await session.flush()
        await session.execute(insert(_line), lines)
        await session.execute(insert(_event).values(tenant_id=order.tenant_id, id=new_id(), order_id=order.id,
                                                    from_status=None, to_status="draft", actor_id=created_by,
                                                    note=None, created_at=utcnow()))
        await emit(session, order_events.ORDER_CREATED, order, channel=order.channel.upper())
        return order

    async def load(stored: dict) -> Order:
        return await get_order(session, order_id=uuid.UUID(stored["orderId"]))

    return await idempotency.once(session, scope="orders.create", key=idempotency_key, request=request, run=run,
                                  dump=lambda o: {"orderId": str(o.id)}, load=load)


async def update_order(session: AsyncSession, *, order_id: uuid.UUID, values: OrderFields,
                       actor_id: uuid.UUID | None = None) -> Order:
    """Edit an order until it ships. New ``lines`` replace the old ones; on an allocated order the
    reservations are released and taken again for the new lines in the same transaction."""
    from backend.modules.orders import fulfillment

    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "edit")
    if values.customer_id is not None and values.customer_id != order.customer_id:
        raise DomainError("CUSTOMER_FIXED", "An order's customer cannot change; cancel it and create another.",
                          "customerId")
    changed = await _apply_fields(session, order, values)
    current = await order_lines(session, order.id, lock=True)
    if values.lines is not None:
        was_allocated = order.status in ("allocated", "partially_allocated") or (
            order.status == "on_hold" and order.held_from in ("allocated", "partially_allocated"))
        if was_allocated:
            await inventory.release_reservation(session, reference=order_gid(order.id))
        new_lines = await _priced_lines(session, order, values.lines)
        await session.execute(delete(_line).where(_line.c.tenant_id == order.tenant_id, _line.c.order_id == order.id))
        await session.execute(insert(_line), new_lines)
        _total(order, new_lines)
        changed.append("lines")
        if was_allocated and order.status != "on_hold":
            await fulfillment.allocate_lines(session, order, actor_id=actor_id, emit_event=False)
    elif "shipping" in changed:
        _total(order, [{"line_subtotal": x.line_subtotal, "line_discount": x.line_discount, "line_tax": x.line_tax,
                        "line_total": x.line_total} for x in current])
    if changed:
        order.updated_at = utcnow()
        await emit(session, order_events.ORDER_UPDATED, order, changed=sorted(changed))
    return order


# --- review transitions -------------------------------------------------------------------------------


async def submit_order(session: AsyncSession, *, order_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> Order:
    """DRAFT -> SUBMITTED, into the review queue (routing rules choose the reviewer)."""
    from backend.modules.orders import routing

    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "submit")
    await record(session, order, "submitted", actor_id=actor_id, submitted_at=utcnow())
    decision = await routing.route(session, order)
    order.assignee_id, order.team_id = decision.assignee_id, decision.team_id
    await emit(session, order_events.ORDER_SUBMITTED, order,
               assigneeId=to_global_id("User", order.assignee_id) if order.assignee_id else None)
    if decision.approve:
        await _approve(session, order, actor_id=None, note=decision.note, automatically=True)
    return order


async def _approve(session: AsyncSession, order: Order, *, actor_id: uuid.UUID | None, note: str | None,
                   automatically: bool) -> None:
    await record(session, order, "approved", actor_id=actor_id, note=note, approved_at=utcnow())
    await emit(session, order_events.ORDER_APPROVED, order, automatically=automatically)


async def approve_order(session: AsyncSession, *, order_id: uuid.UUID, actor_id: uuid.UUID | None = None,
                        note: str | None = None) -> Order:
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "approve")
    await _approve(session, order, actor_id=actor_id, note=optional_text(note, field="note", max_length=500),
                   automatically=False)
    return order


async def reject_order(session: AsyncSession, *, order_id: uuid.UUID, reason: str,
                       actor_id: uuid.UUID | None = None) -> Order:
    """SUBMITTED -> REJECTED; a reason is required."""
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "reject")
    why = optional_text(reason, field="reason", max_length=500)
    if not why:
        raise DomainError("REQUIRED", "Say why the order is rejected.", "reason")
    await record(session, order, "rejected", actor_id=actor_id, note=why, rejection_reason=why)
    await emit(session, order_events.ORDER_REJECTED, order, reason=why)
    return order


async def hold_order(session: AsyncSession, *, order_id: uuid.UUID, reason: str | None = None,
                     actor_id: uuid.UUID | None = None) -> Order:
    """Stop an order where it is (reservations stay); ``release_order`` returns it there."""
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "hold")
    why = optional_text(reason, field="reason", max_length=500)
    await record(session, order, "on_hold", actor_id=actor_id, note=why, held_from=order.status)
    await emit(session, order_events.ORDER_HELD, order, reason=why)
    return order


async def release_order(session: AsyncSession, *, order_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> Order:
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "release")
    back = order.held_from or "submitted"
    await record(session, order, back, actor_id=actor_id, held_from=None)
    await emit(session, order_events.ORDER_RELEASED, order)
    return order


async def cancel_order(session: AsyncSession, *, order_id: uuid.UUID, reason: str | None = None,
                       actor_id: uuid.UUID | None = None) -> Order:
    """Cancel what has not shipped: reservations are released, open fulfillments cancelled and the
    unshipped quantities of the lines cancelled. An order with nothing shipped becomes CANCELLED; a
    partially shipped one keeps what left (SHIPPED, or COMPLETED when that is all delivered)."""
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "cancel")
    why = optional_text(reason, field="reason", max_length=500)
    await inventory.release_reservation(session, reference=order_gid(order.id))
    await session.execute(_line.update().where(_line.c.tenant_id == order.tenant_id, _line.c.order_id == order.id)
                          .values(cancelled=_line.c.quantity - _line.c.shipped, reserved=0))
    from backend.modules.orders.models import Fulfillment

    fulfillment = Fulfillment.__table__
    await session.execute(fulfillment.update().where(fulfillment.c.tenant_id == order.tenant_id,
                                                     fulfillment.c.order_id == order.id,
                                                     fulfillment.c.status == "open").values(status="cancelled"))
    order.cancel_reason, order.held_from = why, None
    lines = await order_lines(session, order.id)
    if not any(x.shipped for x in lines):
        order.cancelled_at = utcnow()
        await record(session, order, "cancelled", actor_id=actor_id, note=why)
        await emit(session, order_events.ORDER_CANCELLED, order, reason=why)
        return order
    await record(session, order, "shipped", actor_id=actor_id, note=f"Rest cancelled: {why}" if why else
                 "Rest cancelled")
    await emit(session, order_events.ORDER_UPDATED, order, changed=["lines"])
    if all(x.delivered >= x.quantity - x.cancelled for x in lines):
        order.delivered_at = order.completed_at = utcnow()
        await record(session, order, "delivered", actor_id=actor_id)
        await record(session, order, "completed", actor_id=None, note="Every line delivered or cancelled")
        await emit(session, order_events.ORDER_COMPLETED, order)
    return order
