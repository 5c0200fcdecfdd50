"""The stock ledger: every change of on-hand stock is an append-only move, and each stock level is
updated in the same transaction, so a level always equals the sum of its moves.

Concurrency rules (DESIGN.md section 6):

* Levels are locked before they are read for a decision, always in one global order
  (product id, then warehouse id), by ``_lock_levels``; so two operations touching the same levels
  in opposite orders queue instead of deadlocking.
* Each change is then applied by one guarded UPDATE (``... WHERE on_hand + :delta >= 0 AND ...``)
  whose row count is checked, and the table's CHECK constraints (on_hand >= 0,
  0 <= reserved <= on_hand) hold whatever the code does.
* Receipts also lock the product row first (product, then its levels) to update the moving
  average cost from a consistent on-hand quantity. That lock is FOR NO KEY UPDATE: rows inserted
  with a foreign key to the product take KEY SHARE on it, which it does not block, so a transaction
  holding levels never waits for a product (a plain FOR UPDATE deadlocks here; the random workload
  test found it).
* Events are emitted last, after every stock lock is held.

Values: receipts carry their own unit cost and update the product's moving average cost
(``(Q * avg + q * cost) / (Q + q)``, Q the on-hand quantity of all warehouses); every other move
is valued at the average of the moment. The value of stock at any date is therefore the sum of
``quantity * unit_cost`` over the moves up to that date.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Uuid, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events, idempotency
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.events import EventType
from backend.core.fetch import Prepared, fetch
from backend.core.ids import new_id, to_global_id
from backend.core.money import parse_amount
from backend.core.outbox import lock_tenant_writes
from backend.core.validation import optional_text, required_text
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.catalog import currency_of, get_product, products_by_ids, tenant_of
from backend.modules.inventory.models import Product, StockLevel, StockMove
from backend.modules.inventory.units import parse_quantity
from backend.modules.inventory.warehouses import get_warehouse
from backend.modules.platform import service as platform

COST_PLACES = Decimal("0.000001")
_level = StockLevel.__table__
_move = StockMove.__table__
_product = Product.__table__

Pair = tuple[uuid.UUID, uuid.UUID]  # (product id, warehouse id)


@dataclass
class Level:
    on_hand: Decimal
    reserved: Decimal
    incoming: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


@dataclass
class Change:
    """A change to one level: on-hand (a move of ``kind``), reserved and incoming deltas."""

    product_id: uuid.UUID
    warehouse_id: uuid.UUID
    on_hand: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    incoming: Decimal = Decimal(0)
    kind: str | None = None  # the move written for a non-zero on-hand change
    unit_cost: Decimal | None = None  # None: the product's average cost
    field: list[str] | str | None = None  # the input field to blame when this change is refused


@dataclass
class Posted:
    """The moves one operation wrote (the answer an idempotency key replays)."""

    group_id: uuid.UUID
    moves: list[Any] = field(default_factory=list)  # inv_stock_move rows


def _uuids(name: str, values: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return bindparam(name, values, type_=ARRAY(Uuid))


async def _lock_levels(session: AsyncSession, pairs: list[Pair], *, create: bool) -> dict[Pair, Level]:
    """Lock the levels of ``pairs`` in (product, warehouse) order and return them.

    ``create`` makes missing levels (at zero) in the same statement: INSERT ... ON CONFLICT DO UPDATE
    locks existing rows and new ones alike, in the order of its SELECT. Without it, missing levels
    are simply absent (nothing there to take).
    """
    ordered = sorted(set(pairs))
    if not ordered:
        return {}
    await lock_tenant_writes(session)
    tenant_id = session.info["tenant_id"]
    products, warehouses = [p for p, _ in ordered], [w for _, w in ordered]
    rows = await fetch(session, _LOCK_OR_CREATE if create else _LOCK,
                       {"t": tenant_id, "products": products, "warehouses": warehouses})
    return {(r.product_id, r.warehouse_id): Level(r.on_hand, r.reserved, r.incoming) for r in rows}


# The stock statements, built once (they run on every reservation, receipt and shipment).
_PAIRS = (bindparam("t", type_=Uuid), bindparam("products", type_=ARRAY(Uuid)),
          bindparam("warehouses", type_=ARRAY(Uuid)))
_LOCK_OR_CREATE = Prepared(text(
    "INSERT INTO inv_stock_level (tenant_id, id, product_id, warehouse_id, on_hand, reserved, incoming, "
    "updated_at) SELECT :t, gen_random_uuid(), v.p, v.w, 0, 0, 0, now() "
    "FROM unnest(:products, :warehouses) AS v(p, w) ORDER BY v.p, v.w "
    "ON CONFLICT (tenant_id, product_id, warehouse_id) DO UPDATE SET updated_at = excluded.updated_at "
    "RETURNING product_id, warehouse_id, on_hand, reserved, incoming").bindparams(*_PAIRS))
_LOCK = Prepared(text(
    "SELECT l.product_id, l.warehouse_id, l.on_hand, l.reserved, l.incoming FROM inv_stock_level l "
    "JOIN unnest(:products, :warehouses) AS v(p, w) ON l.product_id = v.p AND l.warehouse_id = v.w "
    "WHERE l.tenant_id = :t ORDER BY l.product_id, l.warehouse_id FOR UPDATE OF l").bindparams(*_PAIRS))
_QUANTITIES = ARRAY(_level.c.on_hand.type)
_UPDATE_LEVELS = Prepared(text(
    "UPDATE inv_stock_level l SET on_hand = l.on_hand + v.dq, reserved = l.reserved + v.dr, "
    "incoming = l.incoming + v.di, updated_at = now() "
    "FROM unnest(:products, :warehouses, :dq, :dr, :di) AS v(p, w, dq, dr, di) "
    "WHERE l.tenant_id = :t AND l.product_id = v.p AND l.warehouse_id = v.w "
    "AND l.on_hand + v.dq >= 0 AND l.reserved + v.dr >= 0 AND l.reserved + v.dr <= l.on_hand + v.dq "
    "AND l.incoming + v.di >= 0 RETURNING 1"
).bindparams(*_PAIRS, bindparam("dq", type_=_QUANTITIES), bindparam("dr", type_=_QUANTITIES),
             bindparam("di", type_=_QUANTITIES)))


async def _apply(session: AsyncSession, changes: list[Change], levels: dict[Pair, Level]) -> None:
    """Apply the summed changes per level with one guarded UPDATE; refuse what would break a rule."""
    totals: dict[Pair, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    blame: dict[Pair, Change] = {}
    for c in changes:
        key = (c.product_id, c.warehouse_id)
        totals[key][0] += c.on_hand
        totals[key][1] += c.reserved
        totals[key][2] += c.incoming
        if key not in blame or c.on_hand < 0:
            blame[key] = c
    if not totals:
        return
    names: dict[uuid.UUID, str] | None = None
    for key, (d_on_hand, d_reserved, d_incoming) in totals.items():
        level = levels.get(key, Level(Decimal(0), Decimal(0), Decimal(0)))
        on_hand, reserved = level.on_hand + d_on_hand, level.reserved + d_reserved
        if on_hand < 0 or reserved < 0 or reserved > on_hand or level.incoming + d_incoming < 0:
            if names is None:
                names = {p.id: p.sku for p in (await products_by_ids(session, list({k[0] for k in totals}))).values()}
            if reserved < 0:
                raise DomainError("NOT_RESERVED", f"Less of {names[key[0]]} is reserved there than that.",
                                  blame[key].field)
            if level.incoming + d_incoming < 0:
                raise DomainError("INVALID_QUANTITY", f"Less of {names[key[0]]} is expected there than that.",
                                  blame[key].field)
            raise DomainError("INSUFFICIENT_STOCK",
                              f"Only {_plain(level.available)} of {names[key[0]]} is available there "
                              f"({_plain(level.on_hand)} on hand, {_plain(level.reserved)} reserved).",
                              blame[key].field)
    keys = list(totals)
    for key in keys:
        if key not in levels:
            raise AssertionError("a level changed without being locked first")
    updated = await fetch(session, _UPDATE_LEVELS, {
        "t": tenant_of(session), "products": [k[0] for k in keys], "warehouses": [k[1] for k in keys],
        "dq": [totals[k][0] for k in keys], "dr": [totals[k][1] for k in keys], "di": [totals[k][2] for k in keys]})
    if len(updated) != len(keys):  # cannot happen while the levels are locked; never write half
        raise RuntimeError("a guarded stock update matched fewer levels than it locked")
    for key, (d_on_hand, d_reserved, d_incoming) in totals.items():
        level = levels[key]
        level.on_hand += d_on_hand
        level.reserved += d_reserved
        level.incoming += d_incoming


def _plain(quantity: Decimal) -> str:
    normalized = quantity.normalize()
    return f"{normalized:f}"


async def _write_moves(session: AsyncSession, changes: list[Change], *, group_id: uuid.UUID,
                       source_id: str | None, reason: str | None, actor_id: uuid.UUID | None) -> list[Any]:
    from backend.core.money import round_money

    costs = {p.id: p.cost for p in (await products_by_ids(
        session, list({c.product_id for c in changes if c.on_hand and c.unit_cost is None}))).values()}
    currency = await currency_of(session)
    now = utcnow()
    rows = []
    for c in changes:
        if c.on_hand == 0:
            continue
        cost = c.unit_cost if c.unit_cost is not None else costs[c.product_id]
        rows.append({"tenant_id": tenant_of(session), "id": new_id(), "product_id": c.product_id,
                     "warehouse_id": c.warehouse_id, "kind": c.kind, "quantity": c.on_hand, "unit_cost": cost,
                     "value": round_money(c.on_hand * cost, currency), "source_id": source_id, "group_id": group_id,
                     "reason": reason, "actor_id": actor_id, "created_at": now})
    if not rows:
        return []
    # RETURNING in the parameters' order: the rows as written, without reading them back
    return list(await session.execute(insert(_move).returning(*_move.c, sort_by_parameter_order=True), rows))


async def moves_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    found = {r.id: r for r in await session.execute(select(_move).where(
        _move.c.tenant_id == tenant_of(session), _move.c.id.in_(ids)))}
    return [found[i] for i in ids]


async def _emit_moves(session: AsyncSession, event_type: EventType, moves: list[Any], **extra: Any) -> None:
    if not moves:
        return
    currency = await currency_of(session)
    lines = [{"productId": to_global_id("Product", m.product_id),
              "warehouseId": to_global_id("Warehouse", m.warehouse_id), "quantity": _plain(m.quantity),
              "unitCost": _plain(m.unit_cost), "value": str(m.value)}
             for m in moves]
    total = sum((m.value for m in moves), Decimal(0))
    if event_type is inv_events.STOCK_SHIPPED:
        total = -total  # the cost of what left, as a positive amount
    await events.emit(session, event_type, aggregate_id=to_global_id("StockMove", moves[0].id),
                      payload={**extra, "moves": lines, "value": str(total), "currencyCode": currency})


async def _replay(session: AsyncSession, stored: dict) -> Posted:
    return Posted(group_id=uuid.UUID(stored["groupId"]),
                  moves=await moves_by_ids(session, [uuid.UUID(i) for i in stored["moveIds"]]))


def _dump(posted: Posted) -> dict:
    return {"groupId": str(posted.group_id), "moveIds": [str(m.id) for m in posted.moves]}


async def _stocked_product(session: AsyncSession, product_id: uuid.UUID, field_name: str = "productId",
                           for_update: bool = False) -> Product:
    product = await get_product(session, product_id=product_id, field_name=field_name, for_update=for_update)
    if product.type == "service":
        raise DomainError("NOT_STOCKED", f"{product.sku} is a service; services have no stock.", field_name)
    return product


# --- adjustments, receipts, transfers -----------------------------------------------------------------


async def adjust_stock(session: AsyncSession, *, product_id: uuid.UUID, warehouse_id: uuid.UUID,
                       quantity_delta: Any, reason: str, unit_cost: Any = None, idempotency_key: str | None = None,
                       actor_id: uuid.UUID | None = None, kind: str = "adjustment") -> Posted:
    """Correct on-hand stock by ``quantity_delta`` (positive or negative, never zero).

    A decrease cannot take reserved stock (INSUFFICIENT_STOCK: release the reservation first). An
    increase is valued at the average cost unless ``unit_cost`` is given, which then updates the
    moving average like a receipt. Emits ``stock.adjusted``.
    """
    await platform.ensure_module_enabled(session, "inventory")
    request = {"productId": str(product_id), "warehouseId": str(warehouse_id), "quantityDelta": str(quantity_delta),
               "reason": reason, "unitCost": None if unit_cost is None else str(unit_cost)}

    async def run() -> Posted:
        product = await _stocked_product(session, product_id)
        await get_warehouse(session, warehouse_id=warehouse_id, active_only=True)
        delta = parse_quantity(quantity_delta, unit=product.unit, field="quantityDelta", allow_negative=True)
        why = required_text(reason, field="reason", max_length=300)
        cost = None
        if unit_cost is not None:
            if delta < 0:
                raise DomainError("COST_ON_DECREASE", "A decrease is valued at the average cost; give no unit cost.",
                                  "unitCost")
            cost = parse_amount(unit_cost, currency=await currency_of(session), field="unitCost")
        change = Change(product_id, warehouse_id, on_hand=delta, kind=kind, field="quantityDelta")
        if cost is not None:
            return await _receive(session, [(change, cost)], source_id=None, reason=why, actor_id=actor_id,
                                  event_type=inv_events.STOCK_ADJUSTED, extra={"reason": why})
        levels = await _lock_levels(session, [(product_id, warehouse_id)], create=delta > 0)
        await _apply(session, [change], levels)
        posted = Posted(group_id=new_id())
        posted.moves = await _write_moves(session, [change], group_id=posted.group_id, source_id=None, reason=why,
                                          actor_id=actor_id)
        await _emit_moves(session, inv_events.STOCK_ADJUSTED, posted.moves, reason=why)
        return posted

    return await idempotency.once(session, scope="inventory.stock_adjust", key=idempotency_key, request=request,
                                  run=run, dump=_dump, load=lambda stored: _replay(session, stored))


@dataclass
class ReceiptLine:
    product_id: uuid.UUID
    warehouse_id: uuid.UUID
    quantity: Any
    unit_cost: Any = None  # None: the product's current average cost


async def receive_stock(session: AsyncSession, *, lines: list[ReceiptLine], source_id: str | None = None,
                        reason: str | None = None, idempotency_key: str | None = None,
                        actor_id: uuid.UUID | None = None, kind: str = "receipt") -> Posted:
    """Goods in: each line adds stock at its unit cost and updates the product's moving average.
    ``kind`` is ``receipt`` (purchasing, a manual receipt) or ``production_produce``. Emits ``stock.received``."""
    await platform.ensure_module_enabled(session, "inventory")
    request = {"lines": [[str(x.product_id), str(x.warehouse_id), str(x.quantity), str(x.unit_cost)] for x in lines],
               "sourceId": source_id, "reason": reason, "kind": kind}

    async def run() -> Posted:
        if not lines:
            raise DomainError("REQUIRED", "Receive at least one line.", "lines")
        currency = await currency_of(session)
        checked = []
        for i, line in enumerate(lines):
            product = await _stocked_product(session, line.product_id, field_name=["lines", str(i), "productId"])  # type: ignore[arg-type]
            await get_warehouse(session, warehouse_id=line.warehouse_id, field_name=["lines", str(i), "warehouseId"],  # type: ignore[arg-type]
                                active_only=True)
            quantity = parse_quantity(line.quantity, unit=product.unit, field=["lines", str(i), "quantity"])  # type: ignore[arg-type]
            cost = (product.cost if line.unit_cost is None
                    else parse_amount(line.unit_cost, currency=currency, field=["lines", str(i), "unitCost"]))  # type: ignore[arg-type]
            checked.append((Change(line.product_id, line.warehouse_id, on_hand=quantity, kind=kind,
                                   field=["lines", str(i), "quantity"]), cost))
        why = optional_text(reason, field="reason", max_length=300)
        return await _receive(session, checked, source_id=source_id, reason=why, actor_id=actor_id,
                              event_type=inv_events.STOCK_RECEIVED, extra={"sourceId": source_id})

    return await idempotency.once(session, scope=f"inventory.{kind}", key=idempotency_key, request=request, run=run,
                                  dump=_dump, load=lambda stored: _replay(session, stored))


async def _receive(session: AsyncSession, lines: list[tuple[Change, Decimal]], *, source_id: str | None,
                   reason: str | None, actor_id: uuid.UUID | None, event_type: EventType,
                   extra: dict[str, Any]) -> Posted:
    """Inbound moves with a cost: lock the products (id order), then all their levels, then post."""
    await lock_tenant_writes(session)
    tenant_id = tenant_of(session)
    product_ids = sorted({c.product_id for c, _ in lines})
    locked = {r.id: r for r in await session.execute(select(_product.c.id, _product.c.cost).where(
        _product.c.tenant_id == tenant_id, _product.c.id.in_(product_ids)).order_by(_product.c.id)
        .with_for_update(key_share=True))}  # FOR NO KEY UPDATE: foreign-key checks (KEY SHARE) do not wait
    targets = [(c.product_id, c.warehouse_id) for c, _ in lines]
    existing = [(r.product_id, r.warehouse_id) for r in await session.execute(
        select(_level.c.product_id, _level.c.warehouse_id).where(
            _level.c.tenant_id == tenant_id, _level.c.product_id.in_(product_ids)))]
    levels = await _lock_levels(session, targets + existing, create=True)
    on_hand: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for (product_id, _), level in levels.items():
        on_hand[product_id] += level.on_hand
    average = {pid: locked[pid].cost for pid in product_ids}
    changes = []
    for change, cost in lines:
        pid = change.product_id
        held = max(on_hand[pid], Decimal(0))
        average[pid] = ((held * average[pid] + change.on_hand * cost) / (held + change.on_hand)).quantize(
            COST_PLACES, rounding=ROUND_HALF_EVEN)
        on_hand[pid] += change.on_hand
        change.unit_cost = cost
        changes.append(change)
    await _apply(session, changes, levels)
    for pid in product_ids:
        if average[pid] != locked[pid].cost:
            await session.execute(_product.update().where(_product.c.tenant_id == tenant_id, _product.c.id == pid)
                                  .values(cost=average[pid], updated_at=utcnow()))
    posted = Posted(group_id=new_id())
    posted.moves = await _write_moves(session, changes, group_id=posted.group_id, source_id=source_id, reason=reason,
                                      actor_id=actor_id)
    await _emit_moves(session, event_type, posted.moves, **extra)
    return posted


async def transfer_stock(session: AsyncSession, *, product_id: uuid.UUID, from_warehouse_id: uuid.UUID,
                         to_warehouse_id: uuid.UUID, quantity: Any, reason: str | None = None,
                         idempotency_key: str | None = None, actor_id: uuid.UUID | None = None) -> Posted:
    """Move available stock between two warehouses: both moves (out, then in) in one transaction."""
    await platform.ensure_module_enabled(session, "inventory")
    request = {"productId": str(product_id), "from": str(from_warehouse_id), "to": str(to_warehouse_id),
               "quantity": str(quantity), "reason": reason}

    async def run() -> Posted:
        product = await _stocked_product(session, product_id)
        if from_warehouse_id == to_warehouse_id:
            raise DomainError("SAME_WAREHOUSE", "Transfer between two different warehouses.", "toWarehouseId")
        await get_warehouse(session, warehouse_id=from_warehouse_id, field_name="fromWarehouseId")
        await get_warehouse(session, warehouse_id=to_warehouse_id, field_name="toWarehouseId", active_only=True)
        amount = parse_quantity(quantity, unit=product.unit)
        why = optional_text(reason, field="reason", max_length=300)
        changes = [Change(product_id, from_warehouse_id, on_hand=-amount, kind="transfer_out", field="quantity"),
                   Change(product_id, to_warehouse_id, on_hand=amount, kind="transfer_in", field="quantity")]
        levels = await _lock_levels(session, [(product_id, from_warehouse_id), (product_id, to_warehouse_id)],
                                    create=True)
        await _apply(session, changes, levels)
        posted = Posted(group_id=new_id())
        posted.moves = await _write_moves(session, changes, group_id=posted.group_id, source_id=None, reason=why,
                                          actor_id=actor_id)
        await events.emit(session, inv_events.STOCK_TRANSFERRED,
                          aggregate_id=to_global_id("StockMove", posted.moves[0].id),
                          payload={"productId": to_global_id("Product", product_id),
                                   "fromWarehouseId": to_global_id("Warehouse", from_warehouse_id),
                                   "toWarehouseId": to_global_id("Warehouse", to_warehouse_id),
                                   "quantity": _plain(amount)})
        return posted

    return await idempotency.once(session, scope="inventory.stock_transfer", key=idempotency_key, request=request,
                                  run=run, dump=_dump, load=lambda stored: _replay(session, stored))


async def change_incoming(session: AsyncSession, *, product_id: uuid.UUID, warehouse_id: uuid.UUID,
                          delta: Any) -> None:
    """Expected stock (open purchase orders, production): purchasing raises it when ordering and
    lowers it when receiving. It never goes below zero."""
    await platform.ensure_module_enabled(session, "inventory")
    product = await _stocked_product(session, product_id)
    amount = parse_quantity(delta, unit=product.unit, allow_negative=True)
    levels = await _lock_levels(session, [(product_id, warehouse_id)], create=True)
    await _apply(session, [Change(product_id, warehouse_id, incoming=amount, field="quantity")], levels)


async def levels_for(session: AsyncSession, pairs: list[Pair]) -> dict[Pair, Level]:
    """Current levels (no lock); missing ones are zero."""
    if not pairs:
        return {}
    rows = await session.execute(text(
        "SELECT l.product_id, l.warehouse_id, l.on_hand, l.reserved, l.incoming FROM inv_stock_level l "
        "JOIN unnest(:products, :warehouses) AS v(p, w) ON l.product_id = v.p AND l.warehouse_id = v.w "
        "WHERE l.tenant_id = :t").bindparams(_uuids("products", [p for p, _ in pairs]),
                                             _uuids("warehouses", [w for _, w in pairs])), {"t": tenant_of(session)})
    found = {(r.product_id, r.warehouse_id): Level(r.on_hand, r.reserved, r.incoming) for r in rows}
    return {pair: found.get(pair, Level(Decimal(0), Decimal(0), Decimal(0))) for pair in pairs}

