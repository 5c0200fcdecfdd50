"""Price lists and price resolution.

A price list holds per-product prices, each from a minimum quantity and within optional validity
dates; a customer is assigned at most one list. ``resolve_prices`` is what orders call: for each
line, the customer's list price that applies on that date at that quantity (the item with the
highest minimum quantity not above the line's, the most recently starting one first), else the
product's list price.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.fetch import fetch_statement
from backend.core.ids import new_id
from backend.core.money import parse_amount
from backend.core.validation import required_text
from backend.modules.inventory.catalog import currency_of, products_by_ids, tenant_of
from backend.modules.inventory.models import PriceList, PriceListCustomer, PriceListItem
from backend.modules.inventory.units import parse_quantity
from backend.modules.platform import service as platform

_list = PriceList.__table__
_item = PriceListItem.__table__
_assigned = PriceListCustomer.__table__


async def get_price_list(session: AsyncSession, *, price_list_id: uuid.UUID, field_name: str = "priceListId"
                         ) -> PriceList:
    found = (await session.execute(select(PriceList).where(
        PriceList.tenant_id == tenant_of(session), PriceList.id == price_list_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No price list with this ID.", field_name)
    return found


async def create_price_list(session: AsyncSession, *, name: str) -> PriceList:
    await platform.ensure_module_enabled(session, "inventory")
    name = required_text(name, field="name", max_length=100)
    if await session.scalar(select(func.count()).select_from(_list).where(
            _list.c.tenant_id == tenant_of(session), func.lower(_list.c.name) == name.lower())):
        raise DomainError("DUPLICATE_NAME", f"There is already a price list {name!r}.", "name")
    price_list = PriceList(name=name)
    session.add(price_list)
    await session.flush()
    return price_list


@dataclass
class PriceInput:
    product_id: uuid.UUID
    price: Any
    min_quantity: Any = None
    valid_from: date | None = None
    valid_to: date | None = None


async def set_prices(session: AsyncSession, *, price_list_id: uuid.UUID, prices: list[PriceInput]) -> PriceList:
    """Add or replace prices on a list: an item with the same product, minimum quantity and start
    date is replaced (``remove_prices`` takes products off the list)."""
    await platform.ensure_module_enabled(session, "inventory")
    tenant_id = tenant_of(session)
    price_list = await get_price_list(session, price_list_id=price_list_id, field_name="id")
    currency = await currency_of(session)
    products = await products_by_ids(session, list({p.product_id for p in prices}))
    rows = []
    seen: set[tuple] = set()
    for i, p in enumerate(prices):
        at = ["prices", str(i)]
        product = products.get(p.product_id)
        if product is None:
            raise DomainError("NOT_FOUND", "No product with this ID.", [*at, "productId"])
        price = parse_amount(p.price, currency=currency, field=[*at, "price"])  # type: ignore[arg-type]
        minimum = (Decimal(1) if p.min_quantity is None else
                   parse_quantity(p.min_quantity, unit=product.unit, field=[*at, "minQuantity"]))  # type: ignore[arg-type]
        if p.valid_from and p.valid_to and p.valid_to < p.valid_from:
            raise DomainError("INVALID_DATES", "validTo is before validFrom.", [*at, "validTo"])
        key = (p.product_id, minimum, p.valid_from)
        if key in seen:
            raise DomainError("DUPLICATE_PRICE", "The same product, minimum quantity and start date twice.", at)
        seen.add(key)
        rows.append({"tenant_id": tenant_id, "id": new_id(), "price_list_id": price_list.id,
                     "product_id": p.product_id, "price": price, "min_quantity": minimum, "valid_from": p.valid_from,
                     "valid_to": p.valid_to})
    for row in rows:
        same_start = (_item.c.valid_from.is_(None) if row["valid_from"] is None
                      else _item.c.valid_from == row["valid_from"])
        await session.execute(delete(_item).where(
            _item.c.tenant_id == tenant_id, _item.c.price_list_id == price_list.id,
            _item.c.product_id == row["product_id"], _item.c.min_quantity == row["min_quantity"], same_start))
    if rows:
        await session.execute(insert(_item), rows)
    return price_list


async def remove_prices(session: AsyncSession, *, price_list_id: uuid.UUID, product_ids: list[uuid.UUID]) -> int:
    await platform.ensure_module_enabled(session, "inventory")
    price_list = await get_price_list(session, price_list_id=price_list_id, field_name="id")
    result = await session.execute(delete(_item).where(
        _item.c.tenant_id == tenant_of(session), _item.c.price_list_id == price_list.id,
        _item.c.product_id.in_(product_ids)))
    return result.rowcount or 0


async def assign_customers(session: AsyncSession, *, price_list_id: uuid.UUID | None,
                           customer_ids: list[uuid.UUID]) -> None:
    """Make ``price_list_id`` the list of these customers (None: back to list prices). Customers
    are the CRM's, checked through its service, so the CRM must be on."""
    from backend.modules.crm import service as crm

    await platform.ensure_module_enabled(session, "inventory")
    await platform.ensure_module_enabled(session, "crm")
    tenant_id = tenant_of(session)
    if price_list_id is not None:
        await get_price_list(session, price_list_id=price_list_id, field_name="id")
    for i, customer_id in enumerate(customer_ids):
        await crm.get_customer(session, customer_id=customer_id, field_name=["customerIds", str(i)])  # type: ignore[arg-type]
    await session.execute(delete(_assigned).where(_assigned.c.tenant_id == tenant_id,
                                                  _assigned.c.customer_id.in_(customer_ids)))
    if price_list_id is not None and customer_ids:
        await session.execute(insert(_assigned), [
            {"tenant_id": tenant_id, "id": new_id(), "price_list_id": price_list_id, "customer_id": c}
            for c in dict.fromkeys(customer_ids)])


async def move_price_list(session: AsyncSession, *, from_customer: uuid.UUID, to_customer: uuid.UUID) -> None:
    """Give ``from_customer``'s price list to ``to_customer`` when that one has none (customer merges)."""
    tenant_id = tenant_of(session)
    if await price_list_of(session, to_customer) is None:
        await session.execute(_assigned.update().where(_assigned.c.tenant_id == tenant_id,
                                                       _assigned.c.customer_id == from_customer)
                              .values(customer_id=to_customer))
    else:
        await session.execute(delete(_assigned).where(_assigned.c.tenant_id == tenant_id,
                                                      _assigned.c.customer_id == from_customer))


async def price_list_of(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    rows = await fetch_statement(session, select(_assigned.c.price_list_id).where(
        _assigned.c.tenant_id == tenant_of(session), _assigned.c.customer_id == customer_id))
    return rows[0][0] if rows else None


@dataclass(frozen=True)
class ResolvedPrice:
    product_id: uuid.UUID
    unit_price: Decimal
    price_list_id: uuid.UUID | None  # None: the product's list price


async def resolve_prices(session: AsyncSession, *, lines: list[tuple[uuid.UUID, Decimal]],
                         customer_id: uuid.UUID | None = None, on: date | None = None,
                         price_list_id: uuid.UUID | None = None) -> list[ResolvedPrice]:
    """The unit price of each ``(product id, quantity)`` for the customer on ``on`` (today by
    default); two queries for any number of lines. Unknown products raise NOT_FOUND."""
    tenant_id = tenant_of(session)
    day = on or date.today()
    products = await products_by_ids(session, list({p for p, _ in lines}))
    for i, (product_id, _) in enumerate(lines):
        if product_id not in products:
            raise DomainError("NOT_FOUND", "No product with this ID.", ["lines", str(i), "productId"])
    if price_list_id is None and customer_id is not None:
        price_list_id = await price_list_of(session, customer_id)
    items: dict[uuid.UUID, list[Any]] = {}
    if price_list_id is not None:
        rows = await session.execute(select(_item).join(_list, and_(
            _list.c.tenant_id == _item.c.tenant_id, _list.c.id == _item.c.price_list_id)).where(
            _item.c.tenant_id == tenant_id, _item.c.price_list_id == price_list_id, _list.c.active,
            _item.c.product_id.in_(list(products)),
            or_(_item.c.valid_from.is_(None), _item.c.valid_from <= day),
            or_(_item.c.valid_to.is_(None), _item.c.valid_to >= day))
            .order_by(_item.c.min_quantity.desc(), _item.c.valid_from.desc().nulls_last()))
        for row in rows:
            items.setdefault(row.product_id, []).append(row)
    out = []
    for product_id, quantity in lines:
        match = next((r for r in items.get(product_id, []) if r.min_quantity <= quantity), None)
        out.append(ResolvedPrice(product_id, match.price if match else products[product_id].list_price,
                                 match.price_list_id if match else None))
    return out
