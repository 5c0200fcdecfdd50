"""Order arithmetic, in Decimal, rounded half-even to the currency's minor unit at fixed points.

For each line:

1. ``subtotal = round(quantity x unit price)``
2. ``discount = round(subtotal x percent / 100)`` for a percent discount, or the amount itself
   (never more than the subtotal)
3. ``tax = round((subtotal - discount) x tax rate / 100)``
4. ``total = subtotal - discount + tax``

The order's subtotal, discount total and tax total are the sums of its lines' rounded values (so
the lines always add up to the order, to the cent), and its grand total is
``subtotal - discounts + tax + shipping``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.fetch import fetch_statement
from backend.core.ids import new_id
from backend.core.money import round_money
from backend.core.validation import required_text
from backend.modules.orders.models import TaxRate
from backend.modules.platform import service as platform

_tax = TaxRate.__table__
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, *, discount_kind: str, discount: Decimal,
                 tax_rate: Decimal, currency: str) -> LineAmounts:
    subtotal = round_money(quantity * unit_price, currency)
    if discount_kind == "percent":
        off = round_money(subtotal * discount / HUNDRED, currency)
    else:
        off = min(round_money(discount, currency), subtotal)
    tax = round_money((subtotal - off) * tax_rate / HUNDRED, currency)
    return LineAmounts(subtotal=subtotal, discount=off, tax=tax, total=subtotal - off + tax)


@dataclass(frozen=True)
class OrderAmounts:
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping_total: Decimal
    total: Decimal


def order_amounts(lines: list[LineAmounts], shipping: Decimal) -> OrderAmounts:
    subtotal = sum((x.subtotal for x in lines), Decimal(0))
    discount = sum((x.discount for x in lines), Decimal(0))
    tax = sum((x.tax for x in lines), Decimal(0))
    return OrderAmounts(subtotal=subtotal, discount_total=discount, tax_total=tax, shipping_total=shipping,
                        total=subtotal - discount + tax + shipping)


# --- tax rates by product tax category --------------------------------------------------------------


async def tax_rates(session: AsyncSession) -> dict[str, Decimal]:
    rows = await fetch_statement(session, select(_tax.c.tax_category, _tax.c.rate).where(
        _tax.c.tenant_id == session.info["tenant_id"]))
    return {r.tax_category: r.rate for r in rows}


async def set_tax_rate(session: AsyncSession, *, tax_category: str, rate: Decimal | None) -> None:
    """Set (or with None remove) the rate orders charge for a product tax category, in percent."""
    await platform.ensure_module_enabled(session, "orders")
    category = required_text(tax_category, field="taxCategory", max_length=50)
    tenant_id = session.info["tenant_id"]
    if rate is None:
        await session.execute(_tax.delete().where(_tax.c.tenant_id == tenant_id, _tax.c.tax_category == category))
        return
    if not rate.is_finite() or rate < 0 or rate >= HUNDRED or rate != round(rate, 4):
        raise DomainError("INVALID_RATE", "A tax rate is a percentage from 0 to below 100, such as \"13\".", "rate")
    stmt = insert(_tax).values(tenant_id=tenant_id, id=new_id(), tax_category=category, rate=rate)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "tax_category"],
                                                     set_={"rate": rate}))

