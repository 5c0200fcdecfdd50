"""Cycle counts: a count sheet for a warehouse, counted quantities entered, differences posted as
``count`` moves in one step.

The sheet records what was on hand when it was made (``expected``); posting compares each counted
quantity with what is on hand *at posting* (with the levels locked), so sales and receipts between
making the sheet and posting it are not undone. A count below what is reserved is refused
(COUNT_BELOW_RESERVED): release or ship the reservation first.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import idempotency
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.outbox import lock_tenant_writes
from backend.core.validation import required_text
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.catalog import descendants_cte, get_category, products_by_ids, tenant_of
from backend.modules.inventory.models import Product, StockCount, StockCountLine, StockLevel
from backend.modules.inventory.stock import (
    Change,
    Posted,
    _apply,
    _dump,
    _emit_moves,
    _lock_levels,
    _plain,
    _replay,
    _write_moves,
)
from backend.modules.inventory.units import parse_quantity
from backend.modules.inventory.warehouses import get_warehouse
from backend.modules.platform import service as platform

_line = StockCountLine.__table__
_level = StockLevel.__table__
_product = Product.__table__


async def get_count(session: AsyncSession, *, count_id: uuid.UUID, field_name: str = "id",
                    for_update: bool = False) -> StockCount:
    stmt = select(StockCount).where(StockCount.tenant_id == tenant_of(session), StockCount.id == count_id)
    if for_update:
        await lock_tenant_writes(session)
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No stock count with this ID.", field_name)
    return found


def _must_be_open(count: StockCount) -> None:
    if count.status != "open":
        raise DomainError("COUNT_CLOSED", f"This count is {count.status}.", "id")


async def create_count(session: AsyncSession, *, warehouse_id: uuid.UUID, name: str | None = None,
                       product_ids: list[uuid.UUID] | None = None, category_id: uuid.UUID | None = None,
                       created_by: uuid.UUID | None = None) -> StockCount:
    """A sheet listing the given products, the products of a category, or (neither given) every
    stocked product that has a level in the warehouse, each with its on-hand quantity now."""
    await platform.ensure_module_enabled(session, "inventory")
    tenant_id = tenant_of(session)
    warehouse = await get_warehouse(session, warehouse_id=warehouse_id, active_only=True)
    stmt = select(_product.c.id).where(_product.c.tenant_id == tenant_id, _product.c.type != "service")
    if product_ids:
        found = await products_by_ids(session, list(dict.fromkeys(product_ids)))
        missing = [i for i, p in enumerate(product_ids) if p not in found]
        if missing:
            raise DomainError("NOT_FOUND", "No product with this ID.", ["productIds", str(missing[0])])
        stmt = stmt.where(_product.c.id.in_(list(found)))
    elif category_id is not None:
        await get_category(session, category_id=category_id, field_name="categoryId")
        stmt = stmt.where(_product.c.category_id.in_(select(descendants_cte(tenant_id, category_id).c.id)),
                          _product.c.active)
    else:
        stmt = stmt.where(_product.c.id.in_(select(_level.c.product_id).where(
            _level.c.tenant_id == tenant_id, _level.c.warehouse_id == warehouse.id)))
    products = list((await session.execute(stmt.order_by(_product.c.sku))).scalars())
    if not products:
        raise DomainError("NOTHING_TO_COUNT", "No stocked products match; name products or a category.", "productIds")
    count = StockCount(name=required_text(name or f"Count {warehouse.code} {utcnow():%Y-%m-%d}", field="name",
                                          max_length=100),
                       warehouse_id=warehouse.id, created_by=created_by)
    session.add(count)
    await session.flush()
    on_hand = {r.product_id: r.on_hand for r in await session.execute(select(_level.c.product_id, _level.c.on_hand)
                                                                       .where(_level.c.tenant_id == tenant_id,
                                                                              _level.c.warehouse_id == warehouse.id,
                                                                              _level.c.product_id.in_(products)))}
    await session.execute(insert(_line), [
        {"tenant_id": tenant_id, "id": new_id(), "count_id": count.id, "product_id": p,
         "expected": on_hand.get(p, Decimal(0))} for p in products])
    return count


async def set_counted(session: AsyncSession, *, count_id: uuid.UUID, lines: list[tuple[uuid.UUID, Any]]) -> StockCount:
    """Enter counted quantities (``(product id, quantity or None to clear)``); a product not on the
    sheet is added to it."""
    await platform.ensure_module_enabled(session, "inventory")
    tenant_id = tenant_of(session)
    count = await get_count(session, count_id=count_id, for_update=True)
    _must_be_open(count)
    products = await products_by_ids(session, list({p for p, _ in lines}))
    current = {r.product_id: r.expected for r in await session.execute(select(_line).where(
        _line.c.tenant_id == tenant_id, _line.c.count_id == count.id))}
    for i, (product_id, quantity) in enumerate(lines):
        product = products.get(product_id)
        if product is None or product.type == "service":
            raise DomainError("NOT_FOUND" if product is None else "NOT_STOCKED", "No stocked product with this ID.",
                              ["lines", str(i), "productId"])
        counted = None if quantity is None else parse_quantity(
            quantity, unit=product.unit, field=["lines", str(i), "countedQuantity"], allow_zero=True)  # type: ignore[arg-type]
        if product_id in current:
            await session.execute(_line.update().where(_line.c.tenant_id == tenant_id, _line.c.count_id == count.id,
                                                        _line.c.product_id == product_id).values(counted=counted))
        else:
            level = (await session.execute(select(_level.c.on_hand).where(
                _level.c.tenant_id == tenant_id, _level.c.warehouse_id == count.warehouse_id,
                _level.c.product_id == product_id))).scalar_one_or_none()
            await session.execute(insert(_line).values(tenant_id=tenant_id, id=new_id(), count_id=count.id,
                                                       product_id=product_id, expected=level or Decimal(0),
                                                       counted=counted))
            current[product_id] = level or Decimal(0)
    return count


async def post_count(session: AsyncSession, *, count_id: uuid.UUID, idempotency_key: str | None = None,
                     actor_id: uuid.UUID | None = None) -> Posted:
    """Post every counted line's difference as one group of ``count`` moves; uncounted lines are
    left alone. Emits ``stock.adjusted``. Posting twice is refused (COUNT_CLOSED)."""
    await platform.ensure_module_enabled(session, "inventory")

    async def run() -> Posted:
        tenant_id = tenant_of(session)
        count = await get_count(session, count_id=count_id, for_update=True)
        _must_be_open(count)
        lines = list(await session.execute(select(_line).where(
            _line.c.tenant_id == tenant_id, _line.c.count_id == count.id, _line.c.counted.is_not(None))))
        if not lines:
            raise DomainError("NOTHING_COUNTED", "Enter at least one counted quantity before posting.", "id")
        levels = await _lock_levels(session, [(r.product_id, count.warehouse_id) for r in lines], create=True)
        skus = {p.id: p.sku for p in (await products_by_ids(session, [r.product_id for r in lines])).values()}
        changes = []
        for r in lines:
            level = levels[(r.product_id, count.warehouse_id)]
            if r.counted < level.reserved:
                raise DomainError("COUNT_BELOW_RESERVED",
                                  f"{_plain(level.reserved)} of {skus[r.product_id]} is reserved, more than the "
                                  f"{_plain(r.counted)} counted; release or ship it first.", "id")
            difference = r.counted - level.on_hand
            await session.execute(_line.update().where(_line.c.tenant_id == tenant_id, _line.c.id == r.id)
                                  .values(posted_difference=difference))
            if difference:
                changes.append(Change(r.product_id, count.warehouse_id, on_hand=difference, kind="count"))
        await _apply(session, changes, levels)
        posted = Posted(group_id=new_id())
        reason = f"Count: {count.name}"
        posted.moves = await _write_moves(session, changes, group_id=posted.group_id,
                                          source_id=to_global_id("StockCount", count.id), reason=reason,
                                          actor_id=actor_id)
        count.status, count.posted_at, count.group_id = "posted", utcnow(), posted.group_id
        await session.flush()
        await _emit_moves(session, inv_events.STOCK_ADJUSTED, posted.moves, reason=reason)
        return posted

    return await idempotency.once(session, scope="inventory.count_post", key=idempotency_key,
                                  request={"countId": str(count_id)}, run=run, dump=_dump,
                                  load=lambda stored: _replay(session, stored))


async def cancel_count(session: AsyncSession, *, count_id: uuid.UUID) -> StockCount:
    await platform.ensure_module_enabled(session, "inventory")
    count = await get_count(session, count_id=count_id, for_update=True)
    _must_be_open(count)
    count.status = "cancelled"
    await session.flush()
    return count
