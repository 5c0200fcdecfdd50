"""The catalog: product categories (a tree) and products.

Prices and costs are in the tenant's base currency. ``cost`` is the moving average cost: it is set
when a product is created and after that only receipts change it (``stock.receive``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.money import parse_amount
from backend.core.validation import optional_text, required_text
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.models import Category, Product, StockLevel, StockMove
from backend.modules.inventory.units import check_unit
from backend.modules.platform import service as platform

TYPES = ("stocked", "service", "consumable")
ENTITY = "inventory.product"  # custom fields
WORD_MATCH = 0.5  # pg_trgm word similarity at which a search word matches a product name
_product = Product.__table__
_category = Category.__table__
_level = StockLevel.__table__
_move = StockMove.__table__


def tenant_of(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def currency_of(session: AsyncSession) -> str:
    """The tenant's base currency (prices, costs and stock values are in it)."""
    return await platform.base_currency(session)


# --- categories -------------------------------------------------------------------------------------


async def get_category(session: AsyncSession, *, category_id: uuid.UUID, field_name: str = "id") -> Category:
    found = (await session.execute(select(Category).where(
        Category.tenant_id == tenant_of(session), Category.id == category_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No product category with this ID.", field_name)
    return found


async def _check_sibling_name(session: AsyncSession, name: str, parent_id: uuid.UUID | None,
                              exclude: uuid.UUID | None = None) -> None:
    stmt = select(func.count()).select_from(_category).where(
        _category.c.tenant_id == tenant_of(session), func.lower(_category.c.name) == name.lower(),
        _category.c.parent_id.is_(None) if parent_id is None else _category.c.parent_id == parent_id)
    if exclude is not None:
        stmt = stmt.where(_category.c.id != exclude)
    if await session.scalar(stmt):
        raise DomainError("DUPLICATE_NAME", "A category with this name already exists here.", "name")


async def create_category(session: AsyncSession, *, name: str, parent_id: uuid.UUID | None = None) -> Category:
    await platform.ensure_module_enabled(session, "inventory")
    name = required_text(name, field="name", max_length=100)
    if parent_id is not None:
        await get_category(session, category_id=parent_id, field_name="parentId")
    await _check_sibling_name(session, name, parent_id)
    category = Category(name=name, parent_id=parent_id)
    session.add(category)
    await session.flush()
    return category


async def update_category(session: AsyncSession, *, category_id: uuid.UUID, name: str | None = None,
                          parent_id: uuid.UUID | None = None, clear_parent: bool = False) -> Category:
    """Rename or move a category; moving it under itself or one of its descendants is refused (CYCLE)."""
    await platform.ensure_module_enabled(session, "inventory")
    category = await get_category(session, category_id=category_id)
    new_name = required_text(name, field="name", max_length=100) if name is not None else category.name
    new_parent = None if clear_parent else (parent_id if parent_id is not None else category.parent_id)
    if new_parent is not None and new_parent != category.parent_id:
        await get_category(session, category_id=new_parent, field_name="parentId")
        if category.id in await ancestors(session, new_parent):
            raise DomainError("CYCLE", "A category cannot be moved under itself or one of its subcategories.",
                              "parentId")
    if new_name != category.name or new_parent != category.parent_id:
        await _check_sibling_name(session, new_name, new_parent, exclude=category.id)
    category.name, category.parent_id = new_name, new_parent
    await session.flush()
    return category


async def ancestors(session: AsyncSession, category_id: uuid.UUID) -> list[uuid.UUID]:
    """``category_id`` and its ancestors, nearest first (one recursive query)."""
    tenant_id = tenant_of(session)
    tree = (select(_category.c.id, _category.c.parent_id, literal(0).label("depth"))
            .where(_category.c.tenant_id == tenant_id, _category.c.id == category_id).cte(recursive=True))
    tree = tree.union_all(select(_category.c.id, _category.c.parent_id, (tree.c.depth + 1).label("depth"))
                          .where(_category.c.tenant_id == tenant_id, _category.c.id == tree.c.parent_id,
                                 tree.c.depth < 100))
    return list((await session.execute(select(tree.c.id).order_by(tree.c.depth))).scalars())


def descendants_cte(tenant_id: uuid.UUID, category_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """A CTE of ``category_id`` and every category below it."""
    tree = (select(_category.c.id, literal(0).label("depth"))
            .where(_category.c.tenant_id == tenant_id, _category.c.id == category_id).cte(recursive=True))
    return tree.union_all(select(_category.c.id, (tree.c.depth + 1).label("depth")).where(
        _category.c.tenant_id == tenant_id, _category.c.parent_id == tree.c.id, tree.c.depth < 100))


# --- products ---------------------------------------------------------------------------------------


@dataclass
class ProductFields:
    """What a caller may set on a product; None means "not given"."""

    sku: str | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    category_id: uuid.UUID | None = None
    unit: str | None = None
    barcode: str | None = None
    list_price: Any = None
    cost: Any = None
    tax_category: str | None = None
    image_url: str | None = None
    custom_fields: dict[str, Any] | None = None
    given: set[str] = field(default_factory=set)  # fields explicitly given (so null clears them)


async def _checked(session: AsyncSession, values: ProductFields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    currency = await currency_of(session)
    if values.sku is not None:
        sku = required_text(values.sku, field="sku", max_length=64, label="SKU")
        if any(c.isspace() for c in sku):
            raise DomainError("INVALID_SKU", "A SKU has no spaces.", "sku")
        out["sku"] = sku
    if values.name is not None:
        out["name"] = required_text(values.name, field="name", max_length=200)
    if values.type is not None:
        if values.type not in TYPES:
            raise DomainError("INVALID_TYPE", "Type is STOCKED, SERVICE or CONSUMABLE.", "type")
        out["type"] = values.type
    if values.unit is not None:
        out["unit"] = check_unit(values.unit)
    if values.list_price is not None:
        out["list_price"] = parse_amount(values.list_price, currency=currency, field="unitPrice")
    if values.cost is not None:
        out["cost"] = parse_amount(values.cost, currency=currency, field="cost")
    if values.category_id is not None:
        await get_category(session, category_id=values.category_id, field_name="categoryId")
        out["category_id"] = values.category_id
    elif "category_id" in values.given:
        out["category_id"] = None
    for name, limit in (("barcode", 64), ("tax_category", 50), ("image_url", 500)):
        value = getattr(values, name)
        if value is not None or name in values.given:
            out[name] = optional_text(value, field=name, max_length=limit)
    if out.get("image_url") and not out["image_url"].startswith(("https://", "http://")):
        raise DomainError("INVALID_URL", "The image URL must start with https:// or http://.", "imageUrl")
    if values.description is not None or "description" in values.given:
        out["description"] = optional_text(values.description, field="description", max_length=5000)
    return out


async def _sku_taken(session: AsyncSession, sku: str, exclude: uuid.UUID | None = None) -> bool:
    stmt = select(func.count()).select_from(_product).where(_product.c.tenant_id == tenant_of(session),
                                                            _product.c.sku == sku)
    if exclude is not None:
        stmt = stmt.where(_product.c.id != exclude)
    return bool(await session.scalar(stmt))


async def create_product(session: AsyncSession, *, values: ProductFields) -> Product:
    """Add a product; refuses DUPLICATE_SKU. Emits ``product.created``."""
    await platform.ensure_module_enabled(session, "inventory")
    for name, label in (("sku", "SKU"), ("name", "Name"), ("list_price", "The unit price")):
        if getattr(values, name) is None:
            raise DomainError("REQUIRED", f"{label} is required.", "unitPrice" if name == "list_price" else name)
    data = await _checked(session, values)
    if await _sku_taken(session, data["sku"]):
        raise DomainError("DUPLICATE_SKU", f"Another product has SKU {data['sku']}.", "sku")
    data["custom_fields"] = await platform.validate_values(session, entity=ENTITY, values=values.custom_fields)
    product = Product(**data)
    session.add(product)
    await session.flush()
    gid = to_global_id("Product", product.id)
    await events.emit(session, inv_events.PRODUCT_CREATED, aggregate_id=gid, payload={
        "productId": gid, "sku": product.sku, "name": product.name, "type": product.type.upper()})
    return product


async def get_product(session: AsyncSession, *, product_id: uuid.UUID, field_name: str = "id",
                      for_update: bool = False) -> Product:
    stmt = select(Product).where(Product.tenant_id == tenant_of(session), Product.id == product_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)  # FOR NO KEY UPDATE: rows referencing it may still be added
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No product with this ID.", field_name)
    return found


async def products_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Product]:
    """The tenant's products with these ids. Those the transaction has loaded already come from the session
    (a query would answer the very same objects, unchanged), so pricing an order after validating its lines
    reads the products once."""
    if not ids:
        return {}
    tenant_id = tenant_of(session)
    identities = session.sync_session.identity_map if not session.deleted else {}  # a pending delete: ask
    found: dict[uuid.UUID, Product] = {}
    missing = []
    for product_id in ids:
        known = identities.get(identity_key(Product, (tenant_id, product_id)))
        if known is not None:
            found[product_id] = known
        else:
            missing.append(product_id)
    if missing:
        rows = await session.execute(select(Product).where(Product.tenant_id == tenant_id, Product.id.in_(missing)))
        found.update((p.id, p) for p in rows.scalars())
    return found


async def _has_stock_history(session: AsyncSession, product_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(literal(1)).where(select(_move.c.id).where(
        _move.c.tenant_id == tenant_of(session), _move.c.product_id == product_id).exists())))


async def update_product(session: AsyncSession, *, product_id: uuid.UUID, values: ProductFields) -> Product:
    """Change the given fields; emits ``product.updated`` naming what changed.

    The unit and the type of a product with stock history cannot change (UNIT_IN_USE,
    TYPE_IN_USE): its moves were counted in the old one. The cost changes through receipts only.
    """
    await platform.ensure_module_enabled(session, "inventory")
    product = await get_product(session, product_id=product_id)
    if values.cost is not None:
        raise DomainError("COST_FROM_RECEIPTS", "The cost is the moving average of receipts; receive stock "
                                                "with a unit cost to change it.", "cost")
    data = await _checked(session, values)
    if "sku" in data and data["sku"] != product.sku and await _sku_taken(session, data["sku"], exclude=product.id):
        raise DomainError("DUPLICATE_SKU", f"Another product has SKU {data['sku']}.", "sku")
    for name, code in (("unit", "UNIT_IN_USE"), ("type", "TYPE_IN_USE")):
        if name in data and data[name] != getattr(product, name) and await _has_stock_history(session, product.id):
            raise DomainError(code, f"This product has stock moves; its {name} cannot change.", name)
    if values.custom_fields is not None:
        data["custom_fields"] = await platform.validate_values(session, entity=ENTITY, values=values.custom_fields,
                                                               current=product.custom_fields)
    changed = []
    for name, value in data.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed.append(name)
    if changed:
        product.updated_at = utcnow()
        await session.flush()
        gid = to_global_id("Product", product.id)
        await events.emit(session, inv_events.PRODUCT_UPDATED, aggregate_id=gid,
                          payload={"productId": gid, "changed": sorted(changed)})
    return product


async def set_product_active(session: AsyncSession, *, product_id: uuid.UUID, active: bool) -> Product:
    """Archive (hide from the catalog, keep the history) or restore a product.

    A product with reserved stock cannot be archived (PRODUCT_RESERVED): release it first.
    """
    await platform.ensure_module_enabled(session, "inventory")
    product = await get_product(session, product_id=product_id)
    if product.active == active:
        return product
    if not active and await session.scalar(select(func.coalesce(func.sum(_level.c.reserved), 0)).where(
            _level.c.tenant_id == product.tenant_id, _level.c.product_id == product.id)):
        raise DomainError("PRODUCT_RESERVED", "This product has reserved stock; release it before archiving.", "id")
    product.active = active
    product.updated_at = utcnow()
    await session.flush()
    gid = to_global_id("Product", product.id)
    if active:
        await events.emit(session, inv_events.PRODUCT_UPDATED, aggregate_id=gid,
                          payload={"productId": gid, "changed": ["active"]})
    else:
        await events.emit(session, inv_events.PRODUCT_ARCHIVED, aggregate_id=gid, payload={"productId": gid})
    return product


@dataclass
class ProductFilter:
    query: str | None = None  # SKU, barcode or name (typo-tolerant)
    type: str | None = None
    category_id: uuid.UUID | None = None  # with its subcategories
    include_archived: bool = False
    custom_fields: dict[str, Any] | None = None


def products_query(tenant_id: uuid.UUID, flt: ProductFilter | None = None) -> Select[Any]:
    stmt = select(_product).where(_product.c.tenant_id == tenant_id)
    flt = flt or ProductFilter()
    if not flt.include_archived:
        stmt = stmt.where(_product.c.active)
    if flt.query and flt.query.strip():
        q = flt.query.strip()
        # word_similarity: a misspelt word matches inside a longer name ("Longjnig" finds "Longjing green tea")
        stmt = stmt.where(or_(_product.c.sku == q, _product.c.barcode == q,
                              func.word_similarity(q, _product.c.name) >= WORD_MATCH,
                              func.lower(_product.c.name).like(f"%{q.lower()}%"),
                              func.lower(_product.c.sku).like(f"{q.lower()}%")))
    if flt.type:
        stmt = stmt.where(_product.c.type == flt.type)
    if flt.category_id:
        tree = descendants_cte(tenant_id, flt.category_id)
        stmt = stmt.where(_product.c.category_id.in_(select(tree.c.id)))
    if flt.custom_fields:
        stmt = stmt.where(_product.c.custom_fields.contains(flt.custom_fields))
    return stmt

