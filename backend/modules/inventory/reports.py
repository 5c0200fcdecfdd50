"""Reorder rules, replenishment suggestions and stock reports (valuation, turnover).

Valuation at a date is read from the ledger: the sum of the values (``quantity x unit_cost``,
rounded once when the move was written) of the moves up to that moment (receipts at their cost,
everything else at the moving average of its moment), so it needs no snapshot and answers for
any past date.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id
from backend.core.money import round_money
from backend.modules.inventory.catalog import currency_of, get_product, tenant_of
from backend.modules.inventory.models import Category, Product, ReorderRule, StockLevel, StockMove, Warehouse
from backend.modules.inventory.units import parse_quantity
from backend.modules.inventory.warehouses import get_warehouse
from backend.modules.platform import service as platform

_rule = ReorderRule.__table__
_level = StockLevel.__table__
_move = StockMove.__table__
_product = Product.__table__
_category = Category.__table__
_warehouse = Warehouse.__table__


# --- reorder rules ----------------------------------------------------------------------------------


async def set_reorder_rule(session: AsyncSession, *, product_id: uuid.UUID, warehouse_id: uuid.UUID, minimum: Any,
                           maximum: Any, multiple: Any = None) -> Any:
    """Create or replace the rule of a product in a warehouse (minimum <= maximum, multiple > 0)."""
    await platform.ensure_module_enabled(session, "inventory")
    product = await get_product(session, product_id=product_id, field_name="productId")
    if product.type == "service":
        raise DomainError("NOT_STOCKED", f"{product.sku} is a service; services have no stock.", "productId")
    await get_warehouse(session, warehouse_id=warehouse_id)
    low = parse_quantity(minimum, unit=product.unit, field="minimum", allow_zero=True)
    high = parse_quantity(maximum, unit=product.unit, field="maximum")
    step = Decimal(1) if multiple is None else parse_quantity(multiple, unit=product.unit, field="multiple")
    if high < low:
        raise DomainError("INVALID_RANGE", "The maximum cannot be below the minimum.", "maximum")
    stmt = insert(_rule).values(tenant_id=tenant_of(session), id=new_id(), product_id=product_id,
                                warehouse_id=warehouse_id, minimum=low, maximum=high, multiple=step,
                                created_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "product_id", "warehouse_id"],
                                      set_={"minimum": low, "maximum": high, "multiple": step})
    return (await session.execute(stmt.returning(*_rule.c))).one()


async def delete_reorder_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> None:
    await platform.ensure_module_enabled(session, "inventory")
    result = await session.execute(_rule.delete().where(_rule.c.tenant_id == tenant_of(session), _rule.c.id == rule_id))
    if not result.rowcount:
        raise DomainError("NOT_FOUND", "No reorder rule with this ID.", "id")


@dataclass
class Suggestion:
    action: str  # "buy" or "move"
    product_id: uuid.UUID
    warehouse_id: uuid.UUID  # where the stock is needed
    quantity: Decimal
    from_warehouse_id: uuid.UUID | None  # for "move"
    available: Decimal
    incoming: Decimal
    minimum: Decimal
    maximum: Decimal


def _round_up(quantity: Decimal, multiple: Decimal) -> Decimal:
    return (quantity / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple


async def replenishment_suggestions(session: AsyncSession, *, warehouse_id: uuid.UUID | None = None
                                    ) -> list[Suggestion]:
    """What to move or buy so each rule's warehouse is back at its maximum.

    A rule is short when available + incoming (projected stock) is below its minimum; the need is
    ``maximum - projected``. It is met first by moving surplus from other warehouses (what they hold
    above their own rule's maximum, or all their available stock when they have no rule), then by
    buying the rest, rounded up to the rule's multiple.
    """
    await platform.ensure_module_enabled(session, "inventory")
    tenant_id = tenant_of(session)
    level_join = and_(_level.c.tenant_id == _rule.c.tenant_id, _level.c.product_id == _rule.c.product_id,
                      _level.c.warehouse_id == _rule.c.warehouse_id)
    active = and_(_product.c.tenant_id == _rule.c.tenant_id, _product.c.id == _rule.c.product_id)
    stmt = (select(_rule, func.coalesce(_level.c.on_hand - _level.c.reserved, 0).label("available"),
                   func.coalesce(_level.c.incoming, 0).label("incoming"))
            .join(_product, active).outerjoin(_level, level_join)
            .where(_rule.c.tenant_id == tenant_id, _product.c.active)
            .order_by(_product.c.sku, _rule.c.warehouse_id))
    rules = list(await session.execute(stmt))
    short = [r for r in rules if r.available + r.incoming < r.minimum
             and (warehouse_id is None or r.warehouse_id == warehouse_id)]
    if not short:
        return []
    products = list({r.product_id for r in short})
    cap = {(r.product_id, r.warehouse_id): r.maximum for r in rules}
    surplus: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    for level in await session.execute(select(_level.c.product_id, _level.c.warehouse_id, _level.c.on_hand,
                                              _level.c.reserved).join(_warehouse, and_(
            _warehouse.c.tenant_id == _level.c.tenant_id, _warehouse.c.id == _level.c.warehouse_id)).where(
            _level.c.tenant_id == tenant_id, _level.c.product_id.in_(products), _warehouse.c.active)):
        key = (level.product_id, level.warehouse_id)
        spare = level.on_hand - level.reserved - cap.get(key, Decimal(0))
        if spare > 0:
            surplus[key] = spare
    out = []
    for r in short:
        need = r.maximum - (r.available + r.incoming)
        for (product_id, source), spare in sorted(surplus.items(), key=lambda kv: -kv[1]):
            if product_id != r.product_id or source == r.warehouse_id or spare <= 0 or need <= 0:
                continue
            take = min(spare, need)
            surplus[(product_id, source)] -= take
            need -= take
            out.append(Suggestion("move", r.product_id, r.warehouse_id, take, source, r.available, r.incoming,
                                  r.minimum, r.maximum))
        if need > 0:
            out.append(Suggestion("buy", r.product_id, r.warehouse_id, _round_up(need, r.multiple), None,
                                  r.available, r.incoming, r.minimum, r.maximum))
    return out


# --- valuation and turnover ---------------------------------------------------------------------------


@dataclass
class ValuationLine:
    key: uuid.UUID | None  # warehouse or category id (None: uncategorised)
    quantity: Decimal
    value: Decimal


async def valuation(session: AsyncSession, *, as_of: datetime | None = None, by: str = "warehouse"
                    ) -> tuple[list[ValuationLine], Decimal, str]:
    """Stock value per warehouse or per category at ``as_of`` (now by default), from the moves."""
    await platform.ensure_module_enabled(session, "inventory")
    if by not in ("warehouse", "category"):
        raise DomainError("INVALID_GROUPING", "Group by WAREHOUSE or CATEGORY.", "groupBy")
    tenant_id = tenant_of(session)
    currency = await currency_of(session)
    key = _move.c.warehouse_id if by == "warehouse" else _product.c.category_id
    stmt = (select(key.label("key"), func.sum(_move.c.quantity).label("quantity"),
                   func.sum(_move.c.value).label("value"))
            .join(_product, and_(_product.c.tenant_id == _move.c.tenant_id, _product.c.id == _move.c.product_id))
            .where(_move.c.tenant_id == tenant_id, _move.c.created_at <= (as_of or utcnow()))
            .group_by(key))
    lines = [ValuationLine(r.key, r.quantity, round_money(r.value, currency)) for r in await session.execute(stmt)
             if r.quantity != 0 or r.value != 0]
    lines.sort(key=lambda x: -x.value)
    return lines, sum((x.value for x in lines), Decimal(0)), currency


@dataclass
class Turnover:
    cost_of_goods_shipped: Decimal
    opening_value: Decimal
    closing_value: Decimal
    currency: str

    @property
    def average_value(self) -> Decimal:
        return (self.opening_value + self.closing_value) / 2

    @property
    def ratio(self) -> Decimal | None:
        """Cost of goods shipped / average stock value (None when there was no stock)."""
        if self.average_value <= 0:
            return None
        return (self.cost_of_goods_shipped / self.average_value).quantize(Decimal("0.01"))


async def turnover(session: AsyncSession, *, since: datetime, until: datetime) -> Turnover:
    """Stock turnover for a period: shipments (net of returns) at cost against the average of the
    opening and closing stock values."""
    await platform.ensure_module_enabled(session, "inventory")
    if until <= since:
        raise DomainError("INVALID_PERIOD", "The period must end after it starts.", "to")
    tenant_id = tenant_of(session)
    currency = await currency_of(session)
    value = _move.c.value
    row = (await session.execute(select(
        func.coalesce(func.sum(case((_move.c.created_at < since, value), else_=0)), 0).label("opening"),
        func.coalesce(func.sum(value), 0).label("closing"),
        func.coalesce(func.sum(case((and_(_move.c.created_at >= since, _move.c.kind.in_(("shipment", "return"))),
                                     -value), else_=0)), 0).label("shipped"),
    ).where(_move.c.tenant_id == tenant_id, _move.c.created_at < until))).one()
    return Turnover(cost_of_goods_shipped=round_money(row.shipped, currency),
                    opening_value=round_money(row.opening, currency), closing_value=round_money(row.closing, currency),
                    currency=currency)
