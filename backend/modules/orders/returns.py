"""Returns (RMA): ``create_return`` records what the customer sends back (only shipped quantities not
already returned), ``receive_return`` takes it in: restocked lines go back into a warehouse through
inventory (a ``return`` move at the average cost), scrapped ones are written off. Finance, when it
is enabled, turns a received return into a credit note from the ``return.received`` event.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.outbox import next_sequence
from backend.core.validation import required_text
from backend.modules.inventory import service as inventory
from backend.modules.orders import events as order_events
from backend.modules.orders.models import OrderLine, Return, ReturnLine
from backend.modules.orders.orders import get_order, line_gid, order_lines, tenant_of
from backend.modules.platform import service as platform

_return = Return.__table__
_rline = ReturnLine.__table__
_line = OrderLine.__table__
RETURNABLE = ("partially_shipped", "shipped", "delivered", "completed")


async def get_return(session: AsyncSession, *, return_id: uuid.UUID, lock: bool = False) -> Return:
    stmt = select(Return).where(Return.tenant_id == tenant_of(session), Return.id == return_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No return with this ID.", "id")
    return found


async def returned_so_far(session: AsyncSession, line_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Quantities of each line already on a (not cancelled) return."""
    rows = await session.execute(select(_rline.c.order_line_id, func.sum(_rline.c.quantity))
                                 .join(_return, (_return.c.tenant_id == _rline.c.tenant_id)
                                       & (_return.c.id == _rline.c.return_id))
                                 .where(_rline.c.tenant_id == tenant_of(session), _rline.c.order_line_id.in_(line_ids),
                                        _return.c.status != "cancelled").group_by(_rline.c.order_line_id))
    return defaultdict(Decimal, {line_id: total for line_id, total in rows})


async def create_return(session: AsyncSession, *, order_id: uuid.UUID, lines: list[tuple[uuid.UUID, Any]],
                        reason: str, created_by: uuid.UUID | None = None) -> Return:
    """A return of shipped goods; refuses more than was shipped and not yet returned (NOT_RETURNABLE)."""
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True, field_name="orderId")
    if order.status not in RETURNABLE:
        raise DomainError("INVALID_TRANSITION", f"Order {order.number} is {order.status.upper()}; only shipped goods "
                                                "can be returned.", "orderId")
    why = required_text(reason, field="reason", max_length=500)
    if not lines:
        raise DomainError("REQUIRED", "Return at least one line.", "lines")
    by_id = {x.id: x for x in await order_lines(session, order.id)}
    already = await returned_so_far(session, list(by_id))
    rows = []
    for i, (line_id, quantity) in enumerate(lines):
        line = by_id.get(line_id)
        if line is None:
            raise DomainError("NOT_FOUND", "No line of this order with this ID.", ["lines", str(i), "lineId"])
        amount = inventory.parse_quantity(quantity, unit="kg", field=["lines", str(i), "quantity"])  # type: ignore[arg-type]
        if already[line_id] + amount > line.shipped:
            raise DomainError("NOT_RETURNABLE", f"Only {(line.shipped - already[line_id]).normalize():f} of "
                                                f"{line.sku} was shipped and not yet returned.",
                              ["lines", str(i), "quantity"])
        already[line_id] += amount
        rows.append({"tenant_id": order.tenant_id, "id": new_id(), "order_line_id": line_id, "quantity": amount,
                     "restocked": Decimal(0), "scrapped": Decimal(0)})
    item = Return(id=new_id(), number=f"RMA-{await next_sequence(session, 'return'):06d}", order_id=order.id,
                  status="requested", reason=why, created_by=created_by, created_at=utcnow())
    item.tenant_id = order.tenant_id
    session.add(item)
    await session.flush()
    await session.execute(insert(_rline), [{**r, "return_id": item.id} for r in rows])
    gid = to_global_id("Return", item.id)
    await events.emit(session, order_events.RETURN_CREATED, aggregate_id=gid, payload={
        "returnId": gid, "number": item.number, "orderId": to_global_id("Order", order.id),
        "orderNumber": order.number, "customerId": to_global_id("Customer", order.customer_id), "reason": why})
    return item


async def receive_return(session: AsyncSession, *, return_id: uuid.UUID, warehouse_id: uuid.UUID | None,
                         scrap_line_ids: set[uuid.UUID] | None = None, actor_id: uuid.UUID | None = None) -> Return:
    """Take a requested return in: every line is restocked into ``warehouse_id`` (the default
    warehouse when omitted) except those in ``scrap_line_ids``, which are written off."""
    await platform.ensure_module_enabled(session, "orders")
    found = await get_return(session, return_id=return_id)
    order = await get_order(session, order_id=found.order_id, lock=True)
    item = await get_return(session, return_id=return_id, lock=True)
    if item.status != "requested":
        raise DomainError("INVALID_TRANSITION", f"Return {item.number} is {item.status.upper()}.", "id")
    warehouse = (await inventory.get_warehouse(session, warehouse_id=warehouse_id, active_only=True)
                 if warehouse_id is not None else await inventory.ensure_default_warehouse(session))
    lines = {x.id: x for x in await order_lines(session, order.id)}
    scrap = scrap_line_ids or set()
    unknown = scrap - set(lines)
    if unknown:
        raise DomainError("NOT_FOUND", "No line of this order with this ID.", "scrapLineIds")
    gid = to_global_id("Return", item.id)
    received = []
    for r in await session.execute(select(_rline).where(_rline.c.tenant_id == item.tenant_id,
                                                        _rline.c.return_id == item.id)):
        line = lines[r.order_line_id]
        restock = line.stocked and r.order_line_id not in scrap
        if restock:
            await inventory.return_stock(session, product_id=line.product_id, warehouse_id=warehouse.id,
                                         quantity=r.quantity, source_id=gid, actor_id=actor_id)
        await session.execute(_rline.update().where(_rline.c.tenant_id == item.tenant_id, _rline.c.id == r.id)
                              .values(restocked=r.quantity if restock else 0, scrapped=0 if restock else r.quantity))
        received.append({"lineId": line_gid(line.id), "sku": line.sku, "quantity": str(r.quantity.normalize()),
                         "restocked": restock, "unitPrice": str(line.unit_price), "taxRate": str(line.tax_rate)})
    item.status, item.warehouse_id, item.received_at = "received", warehouse.id, utcnow()
    await session.flush()
    await events.emit(session, order_events.RETURN_RECEIVED, aggregate_id=gid, payload={
        "returnId": gid, "number": item.number, "orderId": to_global_id("Order", order.id),
        "orderNumber": order.number, "customerId": to_global_id("Customer", order.customer_id),
        "warehouseId": to_global_id("Warehouse", warehouse.id), "lines": received})
    return item
