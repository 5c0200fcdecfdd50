"""Reservations: the service API orders and production use to hold, release and ship stock.

    result = await inventory.reserve_stock(session, reference=order_gid, lines=[
        ReserveLine(product_id, Decimal(3), line=line_gid)], allow_partial=True, idempotency_key=...)
    result.lines[0].shortfall   # what could not be reserved (a backorder)

Every path locks the levels it may touch first, in (product, warehouse) order (``stock._lock_levels``),
then reads and changes reservation rows; so reserve, release, consume, adjustments and transfers
running at once queue in one order and never deadlock, and the guarded UPDATE plus the CHECK
constraints mean stock is never reserved twice.

Strategies: ``default_first`` takes from the default warehouse, then the other active ones by
priority; ``warehouse`` takes from ``warehouse_id`` only. With ``allow_partial`` a line takes what
there is and reports its shortfall; without it, any shortfall refuses the whole request
(INSUFFICIENT_STOCK, nothing held). Services need no stock: their lines are reserved in full
without touching a level.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import idempotency
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.catalog import products_by_ids, tenant_of
from backend.modules.inventory.models import Reservation
from backend.modules.inventory.stock import Change, Posted, _apply, _emit_moves, _lock_levels, _plain, _write_moves
from backend.modules.inventory.units import parse_quantity
from backend.modules.inventory.warehouses import get_warehouse, list_warehouses
from backend.modules.platform import service as platform

STRATEGIES = ("default_first", "warehouse")
_reservation = Reservation.__table__


@dataclass
class ReserveLine:
    product_id: uuid.UUID
    quantity: Any
    line: str | None = None  # the document line's global ID (lets release and consume name the line)


@dataclass
class Allocation:
    warehouse_id: uuid.UUID
    quantity: Decimal


@dataclass
class LineResult:
    product_id: uuid.UUID
    line: str | None
    requested: Decimal
    allocations: list[Allocation] = field(default_factory=list)
    stocked: bool = True  # False for services (nothing held, nothing short)

    @property
    def reserved(self) -> Decimal:
        return self.requested if not self.stocked else sum((a.quantity for a in self.allocations), Decimal(0))

    @property
    def shortfall(self) -> Decimal:
        return self.requested - self.reserved


@dataclass
class ReservationResult:
    reference: str
    lines: list[LineResult]

    @property
    def complete(self) -> bool:
        return all(line.shortfall == 0 for line in self.lines)


def _dump(result: ReservationResult) -> dict:
    return {"reference": result.reference, "lines": [
        {"productId": str(x.product_id), "line": x.line, "requested": str(x.requested), "stocked": x.stocked,
         "allocations": [[str(a.warehouse_id), str(a.quantity)] for a in x.allocations]} for x in result.lines]}


async def _load(stored: dict) -> ReservationResult:
    return ReservationResult(reference=stored["reference"], lines=[
        LineResult(product_id=uuid.UUID(x["productId"]), line=x["line"], requested=Decimal(x["requested"]),
                   stocked=x["stocked"],
                   allocations=[Allocation(uuid.UUID(w), Decimal(q)) for w, q in x["allocations"]])
        for x in stored["lines"]])


def _reference(reference: str) -> str:
    value = (reference or "").strip()
    if not value or len(value) > 200:
        raise DomainError("INVALID_REFERENCE", "A reservation names its document (1 to 200 characters).",
                          "reference")
    return value


async def reserve_stock(session: AsyncSession, *, lines: list[ReserveLine], reference: str,
                        strategy: str = "default_first", warehouse_id: uuid.UUID | None = None,
                        allow_partial: bool = False, idempotency_key: str | None = None) -> ReservationResult:
    """Hold stock for ``reference``'s lines; see the module docstring. A repeated key reserves once."""
    await platform.ensure_module_enabled(session, "inventory")
    request = {"reference": reference, "strategy": strategy, "warehouseId": str(warehouse_id),
               "allowPartial": allow_partial, "lines": [[str(x.product_id), str(x.quantity), x.line] for x in lines]}

    async def run() -> ReservationResult:
        ref = _reference(reference)
        if not lines:
            raise DomainError("REQUIRED", "Reserve at least one line.", "lines")
        if strategy not in STRATEGIES:
            raise DomainError("INVALID_STRATEGY", "Strategy is DEFAULT_FIRST or WAREHOUSE.", "strategy")
        if strategy == "warehouse":
            if warehouse_id is None:
                raise DomainError("REQUIRED", "Name the warehouse to reserve from.", "warehouseId")
            candidates = [(await get_warehouse(session, warehouse_id=warehouse_id, active_only=True)).id]
        else:
            candidates = [w.id for w in await list_warehouses(session)]
        products = await products_by_ids(session, list({x.product_id for x in lines}))
        results: list[LineResult] = []
        for i, x in enumerate(lines):
            product = products.get(x.product_id)
            if product is None:
                raise DomainError("NOT_FOUND", "No product with this ID.", ["lines", str(i), "productId"])
            if not product.active:
                raise DomainError("PRODUCT_ARCHIVED", f"{product.sku} is archived.", ["lines", str(i), "productId"])
            quantity = parse_quantity(x.quantity, unit=product.unit, field=["lines", str(i), "quantity"])  # type: ignore[arg-type]
            results.append(LineResult(product.id, x.line, quantity, stocked=product.type != "service"))

        stocked = sorted({r.product_id for r in results if r.stocked})
        levels = await _lock_levels(session, [(p, w) for p in stocked for w in candidates], create=False)
        available = {key: level.available for key, level in levels.items()}
        changes: list[Change] = []
        for i, result in enumerate(results):
            if not result.stocked:
                continue
            need = result.requested
            for w in candidates:
                take = min(need, available.get((result.product_id, w), Decimal(0)))
                if take <= 0:
                    continue
                available[(result.product_id, w)] -= take
                result.allocations.append(Allocation(w, take))
                changes.append(Change(result.product_id, w, reserved=take, field=["lines", str(i), "quantity"]))
                need -= take
                if need == 0:
                    break
            if need > 0 and not allow_partial:
                sku = products[result.product_id].sku
                raise DomainError("INSUFFICIENT_STOCK",
                                  f"Only {_plain(result.reserved)} of {_plain(result.requested)} {sku} can be "
                                  "reserved.", ["lines", str(i), "quantity"])
        if changes:
            await _apply(session, changes, levels)
            now = utcnow()
            await session.execute(insert(_reservation), [
                {"tenant_id": tenant_of(session), "id": new_id(), "reference": ref, "line": r.line,
                 "product_id": r.product_id, "warehouse_id": a.warehouse_id, "quantity": a.quantity,
                 "consumed": Decimal(0), "released": Decimal(0), "created_at": now, "updated_at": now}
                for r in results for a in r.allocations])
        return ReservationResult(reference=ref, lines=results)

    return await idempotency.once(session, scope="inventory.reserve", key=idempotency_key, request=request, run=run,
                                  dump=_dump, load=_load)


async def reservations_for(session: AsyncSession, *, reference: str, open_only: bool = True) -> list[Any]:
    stmt = select(_reservation).where(_reservation.c.tenant_id == tenant_of(session),
                                      _reservation.c.reference == reference)
    if open_only:
        stmt = stmt.where(_reservation.c.quantity > 0)
    return list(await session.execute(stmt.order_by(_reservation.c.created_at, _reservation.c.id)))


async def _locked_rows(session: AsyncSession, reference: str, match) -> tuple[list[Any], dict]:  # type: ignore[no-untyped-def]
    """The open reservation rows of ``reference`` that ``match``, with their levels locked first."""
    seen = [r for r in await reservations_for(session, reference=reference) if match(r)]
    levels = await _lock_levels(session, [(r.product_id, r.warehouse_id) for r in seen], create=False)
    rows = [r for r in (await session.execute(
        select(_reservation).where(_reservation.c.tenant_id == tenant_of(session),
                                   _reservation.c.reference == reference, _reservation.c.quantity > 0)
        .order_by(_reservation.c.created_at, _reservation.c.id).with_for_update()))
        if match(r) and (r.product_id, r.warehouse_id) in levels]  # one made meanwhile waits for the next call
    return rows, levels


async def _take(session: AsyncSession, rows: list[Any], want: Decimal | None, column: str) -> dict[uuid.UUID, Decimal]:
    """Take ``want`` (None: everything) from ``rows`` in order; record it in ``column``."""
    taken: dict[uuid.UUID, Decimal] = {}
    for r in rows:
        amount = r.quantity if want is None else min(want, r.quantity)
        if amount <= 0:
            continue
        taken[r.id] = amount
        await session.execute(_reservation.update().where(
            _reservation.c.tenant_id == r.tenant_id, _reservation.c.id == r.id).values(
            quantity=_reservation.c.quantity - amount, updated_at=utcnow(),
            **{column: _reservation.c[column] + amount}))
        if want is not None:
            want -= amount
            if want == 0:
                break
    return taken


async def release_reservation(session: AsyncSession, *, reference: str, line: str | None = None,
                              quantity: Any = None) -> Decimal:
    """Give held stock back: all of ``reference``, or of one ``line`` (up to ``quantity``, the
    most recently reserved first). Returns how much was released (0 when nothing was held)."""
    await platform.ensure_module_enabled(session, "inventory")
    ref = _reference(reference)
    rows, levels = await _locked_rows(session, ref, lambda r: line is None or r.line == line)
    want = None
    if quantity is not None:
        want = parse_quantity(quantity, unit="kg")
        held = sum((r.quantity for r in rows), Decimal(0))
        if want > held:
            raise DomainError("NOT_RESERVED", f"Only {_plain(held)} is held for this line.", "quantity")
    rows.reverse()  # the last reserved goes back first
    by_id = {r.id: r for r in rows}
    taken = await _take(session, rows, want, "released")
    await _apply(session, [Change(by_id[i].product_id, by_id[i].warehouse_id, reserved=-q) for i, q in taken.items()],
                 levels)
    return sum(taken.values(), Decimal(0))


@dataclass
class ConsumeLine:
    quantity: Any
    line: str | None = None  # the reserved line, or
    product_id: uuid.UUID | None = None  # any reservation of this product under the reference
    warehouse_id: uuid.UUID | None = None  # only what is held in this warehouse


async def consume_reservation(session: AsyncSession, *, reference: str, lines: list[ConsumeLine],
                              source_id: str | None = None, actor_id: uuid.UUID | None = None) -> Posted:
    """Ship held stock: lowers on hand and reserved together and writes the shipment moves at the
    average cost; refuses NOT_RESERVED for more than is held. Emits ``stock.shipped`` (with the cost
    of the goods, for finance)."""
    await platform.ensure_module_enabled(session, "inventory")
    ref = _reference(reference)
    if not lines:
        raise DomainError("REQUIRED", "Ship at least one line.", "lines")

    def matches(x: ConsumeLine):  # type: ignore[no-untyped-def]
        return lambda r: ((x.line is None or r.line == x.line)
                          and (x.product_id is None or r.product_id == x.product_id)
                          and (x.warehouse_id is None or r.warehouse_id == x.warehouse_id))

    rows, levels = await _locked_rows(session, ref, lambda r: any(matches(x)(r) for x in lines))
    changes: list[Change] = []
    remaining = {r.id: r.quantity for r in rows}
    plan: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for i, x in enumerate(lines):
        if x.line is None and x.product_id is None:
            raise DomainError("REQUIRED", "Name the line or the product to ship.", ["lines", str(i)])
        want = parse_quantity(x.quantity, unit="kg", field=["lines", str(i), "quantity"])  # type: ignore[arg-type]
        for r in rows:
            if want == 0:
                break
            if not matches(x)(r) or remaining[r.id] <= 0:
                continue
            amount = min(want, remaining[r.id])
            remaining[r.id] -= amount
            plan[r.id] += amount
            want -= amount
            changes.append(Change(r.product_id, r.warehouse_id, on_hand=-amount, reserved=-amount, kind="shipment",
                                  field=["lines", str(i), "quantity"]))
        if want > 0:
            raise DomainError("NOT_RESERVED", f"{_plain(want)} more than is held would ship.",
                              ["lines", str(i), "quantity"])
    by_id = {r.id: r for r in rows}
    for row_id, amount in plan.items():
        await _take(session, [by_id[row_id]], amount, "consumed")
    await _apply(session, changes, levels)
    posted = Posted(group_id=new_id())
    posted.moves = await _write_moves(session, changes, group_id=posted.group_id, source_id=source_id or ref,
                                      reason=None, actor_id=actor_id)
    await _emit_moves(session, inv_events.STOCK_SHIPPED, posted.moves, reference=ref, sourceId=source_id)
    return posted


async def return_stock(session: AsyncSession, *, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: Any,
                       source_id: str | None = None, actor_id: uuid.UUID | None = None) -> Posted:
    """Put returned goods back into stock at the average cost (a ``return`` move). Emits ``stock.returned``."""
    from backend.modules.inventory.stock import _stocked_product

    await platform.ensure_module_enabled(session, "inventory")
    product = await _stocked_product(session, product_id)
    await get_warehouse(session, warehouse_id=warehouse_id, active_only=True)
    amount = parse_quantity(quantity, unit=product.unit)
    change = Change(product_id, warehouse_id, on_hand=amount, kind="return", field="quantity")
    levels = await _lock_levels(session, [(product_id, warehouse_id)], create=True)
    await _apply(session, [change], levels)
    posted = Posted(group_id=new_id())
    posted.moves = await _write_moves(session, [change], group_id=posted.group_id, source_id=source_id, reason=None,
                                      actor_id=actor_id)
    await _emit_moves(session, inv_events.STOCK_RETURNED, posted.moves, sourceId=source_id)
    return posted
