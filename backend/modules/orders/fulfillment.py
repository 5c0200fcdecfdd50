"""Allocation, fulfillments, shipments and delivery.

* ``allocate_order`` reserves what each line still needs through inventory's service (partial
  allowed): ALLOCATED when every line is held, PARTIALLY_ALLOCATED with backorders otherwise.
  Service lines need no stock and count as held.
* When stock is received, backordered lines of that product are allocated automatically, oldest
  submission first (``allocate_backorders``, run by the ``stock.received`` handler inside the
  receiving transaction; it only takes levels that transaction already holds, and skips orders
  another transaction has locked, so it adds no lock-order hazard).
* ``create_fulfillments`` picks held quantities per warehouse; ``ship`` consumes the reservation
  (inventory writes the shipment moves) and records carrier and tracking; ``deliver`` confirms
  delivery. An order whose every line is delivered or cancelled is COMPLETED.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.validation import optional_text, required_text
from backend.modules.inventory import service as inventory
from backend.modules.orders import events as order_events
from backend.modules.orders.models import Fulfillment, FulfillmentLine, Order, OrderLine
from backend.modules.orders.orders import (
    check_allowed,
    emit,
    get_order,
    line_gid,
    order_gid,
    order_lines,
    record,
    tenant_of,
)
from backend.modules.platform import service as platform

_line = OrderLine.__table__
_fulfillment = Fulfillment.__table__
_fline = FulfillmentLine.__table__
_order = Order.__table__

# carrier (lower case) -> tracking page; {number} is replaced
TRACKING_URLS = {
    "sf express": "https://www.sf-express.com/chn/en/waybill/waybill-detail/{number}",
    "sf": "https://www.sf-express.com/chn/en/waybill/waybill-detail/{number}",
    "ems": "https://www.ems.com.cn/qps/yjcx?mailNo={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
}


def _open(line: OrderLine) -> Decimal:
    """What a line still needs held: ordered, less cancelled, shipped and already held."""
    return line.quantity - line.cancelled - line.shipped - line.reserved


def backordered(lines: list[OrderLine]) -> list[dict[str, Any]]:
    return [{"lineId": line_gid(x.id), "sku": x.sku, "quantity": str(_open(x).normalize())}
            for x in lines if _open(x) > 0]


async def allocate_lines(session: AsyncSession, order: Order, *, actor_id: uuid.UUID | None, emit_event: bool = True,
                         only_products: set[uuid.UUID] | None = None) -> list[OrderLine]:
    """Reserve what the order's lines still need (the order row is locked); set its status."""
    lines = await order_lines(session, order.id, lock=True)
    wanted = [x for x in lines if _open(x) > 0 and (only_products is None or x.product_id in only_products)]
    stocked = [x for x in wanted if x.stocked]
    if stocked:
        result = await inventory.reserve_stock(session, reference=order_gid(order.id), allow_partial=True, lines=[
            inventory.ReserveLine(x.product_id, _open(x), line=line_gid(x.id)) for x in stocked])
        for line, got in zip(stocked, result.lines, strict=True):
            line.reserved += got.reserved
    for line in wanted:
        if not line.stocked:
            line.reserved += _open(line)
    await session.flush()
    status = "allocated" if all(_open(x) <= 0 for x in lines) else "partially_allocated"
    if status != order.status:
        await record(session, order, status, actor_id=actor_id)
    if emit_event and (wanted or status != order.status):
        await emit(session, order_events.ORDER_ALLOCATED, order, backordered=backordered(lines))
    return lines


async def allocate_order(session: AsyncSession, *, order_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> Order:
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "allocate")
    await allocate_lines(session, order, actor_id=actor_id)
    return order


async def allocate_backorders(session: AsyncSession, *, product_ids: set[uuid.UUID]) -> int:
    """Allocate backordered lines of these products, oldest submission first; returns orders touched."""
    tenant_id = tenant_of(session)
    candidates = list((await session.execute(
        select(_order.c.id).where(_order.c.tenant_id == tenant_id, _order.c.status == "partially_allocated",
                                  _order.c.id.in_(select(_line.c.order_id).where(
                                      _line.c.tenant_id == tenant_id, _line.c.product_id.in_(product_ids),
                                      _line.c.quantity - _line.c.cancelled - _line.c.shipped - _line.c.reserved > 0)))
        .order_by(_order.c.submitted_at, _order.c.id)
        .with_for_update(key_share=True, skip_locked=True))).scalars())
    for order_id in candidates:
        order = await get_order(session, order_id=order_id)
        await allocate_lines(session, order, actor_id=None, only_products=product_ids)
    return len(candidates)


# --- fulfillments ---------------------------------------------------------------------------------------


async def _unfulfilled_holds(session: AsyncSession, order: Order, lines: list[OrderLine]
                             ) -> dict[tuple[uuid.UUID, uuid.UUID | None], Decimal]:
    """(line, warehouse) -> held quantity not yet in an open fulfillment (services: warehouse None)."""
    held: dict[tuple[uuid.UUID, uuid.UUID | None], Decimal] = defaultdict(Decimal)
    by_gid = {line_gid(x.id): x for x in lines}
    for r in await inventory.reservations_for(session, reference=order_gid(order.id)):
        if r.line in by_gid:
            held[(by_gid[r.line].id, r.warehouse_id)] += r.quantity
    for x in lines:
        if not x.stocked and x.reserved > 0:
            held[(x.id, None)] += x.reserved
    picked = await session.execute(
        select(_fline.c.order_line_id, _fulfillment.c.warehouse_id, _fline.c.quantity)
        .join(_fulfillment, (_fulfillment.c.tenant_id == _fline.c.tenant_id)
              & (_fulfillment.c.id == _fline.c.fulfillment_id))
        .where(_fline.c.tenant_id == order.tenant_id, _fulfillment.c.order_id == order.id,
               _fulfillment.c.status == "open"))
    stocked = {x.id: x.stocked for x in lines}
    for line_id, warehouse_id, quantity in picked:
        held[(line_id, warehouse_id if stocked[line_id] else None)] -= quantity
    return {k: v for k, v in held.items() if v > 0}


async def create_fulfillments(session: AsyncSession, *, order_id: uuid.UUID, warehouse_id: uuid.UUID | None = None,
                              lines: list[tuple[uuid.UUID, Any]] | None = None) -> list[Fulfillment]:
    """Fulfillments for held quantities: everything held (``lines`` None) or the given
    ``(order line id, quantity)``; one per warehouse, or only from ``warehouse_id``. Service lines
    ride along with the first fulfillment."""
    await platform.ensure_module_enabled(session, "orders")
    order = await get_order(session, order_id=order_id, lock=True)
    check_allowed(order, "fulfill")
    all_lines = await order_lines(session, order.id)
    by_id = {x.id: x for x in all_lines}
    available = await _unfulfilled_holds(session, order, all_lines)
    if warehouse_id is not None:
        await inventory.get_warehouse(session, warehouse_id=warehouse_id)
        available = {k: v for k, v in available.items() if k[1] in (warehouse_id, None)}
    picks: dict[uuid.UUID | None, dict[uuid.UUID, Decimal]] = defaultdict(dict)
    if lines is None:
        for (line_id, wh), quantity in available.items():
            picks[wh][line_id] = quantity
    else:
        for i, (line_id, quantity) in enumerate(lines):
            line = by_id.get(line_id)
            if line is None:
                raise DomainError("NOT_FOUND", "No line of this order with this ID.", ["lines", str(i), "lineId"])
            want = inventory.parse_quantity(quantity, unit="kg", field=["lines", str(i), "quantity"])  # type: ignore[arg-type]
            for (held_line, wh), held in sorted(available.items(), key=lambda kv: str(kv[0][1])):
                if held_line != line_id or want <= 0:
                    continue
                take = min(want, held)
                picks[wh][line_id] = picks[wh].get(line_id, Decimal(0)) + take
                available[(held_line, wh)] -= take
                want -= take
            if want > 0:
                raise DomainError("NOT_ALLOCATED", f"Only what is held for {line.sku} can be fulfilled.",
                                  ["lines", str(i), "quantity"])
    services = picks.pop(None, {})
    if not picks and not services:
        raise DomainError("NOTHING_TO_FULFILL", "Nothing held for this order is waiting to be fulfilled.", "orderId")
    if not picks:  # only services: fulfil them from the default warehouse
        picks[(await inventory.ensure_default_warehouse(session)).id] = {}
    made = []
    for n, (wh, quantities) in enumerate(sorted(picks.items(), key=lambda kv: str(kv[0]))):
        if n == 0:
            quantities = {**quantities, **services}
        fulfillment = Fulfillment(id=new_id(), order_id=order.id, warehouse_id=wh, status="open", created_at=utcnow())
        fulfillment.tenant_id = order.tenant_id
        session.add(fulfillment)
        await session.flush()
        await session.execute(insert(_fline), [
            {"tenant_id": order.tenant_id, "id": new_id(), "fulfillment_id": fulfillment.id, "order_line_id": lid,
             "quantity": q} for lid, q in quantities.items()])
        made.append(fulfillment)
    return made


async def _locked_fulfillment(session: AsyncSession, fulfillment_id: uuid.UUID, *, lock: bool = True
                              ) -> Fulfillment:
    """The fulfillment; locked only after its order (order, then fulfillment, as everywhere)."""
    stmt = select(Fulfillment).where(Fulfillment.tenant_id == tenant_of(session), Fulfillment.id == fulfillment_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No fulfillment with this ID.", "fulfillmentId")
    return found


async def ship(session: AsyncSession, *, fulfillment_id: uuid.UUID, carrier: str, tracking_number: str,
               tracking_url: str | None = None, actor_id: uuid.UUID | None = None) -> Fulfillment:
    """Ship an open fulfillment: the held stock leaves (shipment moves at the average cost)."""
    await platform.ensure_module_enabled(session, "orders")
    found = await _locked_fulfillment(session, fulfillment_id, lock=False)
    order = await get_order(session, order_id=found.order_id, lock=True)
    fulfillment = await _locked_fulfillment(session, fulfillment_id)
    if fulfillment.status != "open":
        raise DomainError("INVALID_TRANSITION", f"This shipment is {fulfillment.status.upper()}.", "fulfillmentId")
    carrier = required_text(carrier, field="carrier", max_length=100)
    number = required_text(tracking_number, field="trackingNumber", max_length=100)
    url = optional_text(tracking_url, field="trackingUrl", max_length=500)
    if url and not url.startswith(("https://", "http://")):
        raise DomainError("INVALID_URL", "The tracking URL must start with https:// or http://.", "trackingUrl")
    template = TRACKING_URLS.get(carrier.lower())
    url = url or (template.format(number=number) if template else None)
    lines = {x.id: x for x in await order_lines(session, order.id, lock=True)}
    picked = list(await session.execute(select(_fline).where(_fline.c.tenant_id == order.tenant_id,
                                                             _fline.c.fulfillment_id == fulfillment.id)))
    stocked = [r for r in picked if lines[r.order_line_id].stocked]
    if stocked:
        await inventory.consume_reservation(
            session, reference=order_gid(order.id), source_id=to_global_id("Fulfillment", fulfillment.id),
            actor_id=actor_id, lines=[inventory.ConsumeLine(r.quantity, line=line_gid(r.order_line_id),
                                                            warehouse_id=fulfillment.warehouse_id) for r in stocked])
    for r in picked:
        line = lines[r.order_line_id]
        line.reserved -= r.quantity
        line.shipped += r.quantity
    fulfillment.status, fulfillment.carrier, fulfillment.tracking_number = "shipped", carrier, number
    fulfillment.tracking_url, fulfillment.shipped_at = url, utcnow()
    await session.flush()
    done = all(x.shipped >= x.quantity - x.cancelled for x in lines.values())
    status = "shipped" if done else "partially_shipped"
    order.shipped_at = order.shipped_at or utcnow()
    if status != order.status:
        await record(session, order, status, actor_id=actor_id)
    await emit(session, order_events.ORDER_SHIPPED, order, shipmentId=to_global_id("Fulfillment", fulfillment.id),
               carrier=carrier, trackingNumber=number, trackingUrl=url,
               lines=[{"lineId": line_gid(r.order_line_id), "sku": lines[r.order_line_id].sku,
                       "quantity": str(r.quantity.normalize())} for r in picked])
    return fulfillment


async def deliver(session: AsyncSession, *, fulfillment_id: uuid.UUID, actor_id: uuid.UUID | None = None
                  ) -> Fulfillment:
    """Confirm a shipment's delivery; the order is DELIVERED, then COMPLETED, once every line is
    delivered or cancelled."""
    await platform.ensure_module_enabled(session, "orders")
    found = await _locked_fulfillment(session, fulfillment_id, lock=False)
    order = await get_order(session, order_id=found.order_id, lock=True)
    fulfillment = await _locked_fulfillment(session, fulfillment_id)
    if fulfillment.status != "shipped":
        raise DomainError("INVALID_TRANSITION", f"This shipment is {fulfillment.status.upper()}; only a SHIPPED one "
                                                "can be delivered.", "fulfillmentId")
    lines = {x.id: x for x in await order_lines(session, order.id, lock=True)}
    for r in await session.execute(select(_fline).where(_fline.c.tenant_id == order.tenant_id,
                                                        _fline.c.fulfillment_id == fulfillment.id)):
        lines[r.order_line_id].delivered += r.quantity
    fulfillment.status, fulfillment.delivered_at = "delivered", utcnow()
    await session.flush()
    await emit(session, order_events.ORDER_DELIVERED, order, shipmentId=to_global_id("Fulfillment", fulfillment.id))
    if all(x.delivered >= x.quantity - x.cancelled for x in lines.values()):
        order.delivered_at = utcnow()
        await record(session, order, "delivered", actor_id=actor_id)
        order.completed_at = utcnow()
        await record(session, order, "completed", actor_id=None, note="Every line delivered or cancelled")
        await emit(session, order_events.ORDER_COMPLETED, order)
    return fulfillment

