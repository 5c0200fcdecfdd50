"""Inventory object types and their per-request loaders (one query per batch)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.loaders import by_id_loader, grouped_loader, rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Node
from backend.api.rows import RowObject, Selection
from backend.api.sqltree import enum, global_id, text
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.inventory.catalog import currency_of
from backend.modules.inventory.models import Category, Product, StockLevel, StockMove, Warehouse
from backend.modules.inventory.units import show
from backend.modules.platform.graphql.types import UserType, user_loader

_product = Product.__table__
_category = Category.__table__
_warehouse = Warehouse.__table__
_level = StockLevel.__table__
_move = StockMove.__table__


@strawberry.enum(name="ProductType")
class ProductKind(Enum):
    STOCKED = "stocked"
    SERVICE = "service"
    CONSUMABLE = "consumable"


@strawberry.enum
class StockMoveKind(Enum):
    RECEIPT = "receipt"
    SHIPMENT = "shipment"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RETURN = "return"
    PRODUCTION_CONSUME = "production_consume"
    PRODUCTION_PRODUCE = "production_produce"
    COUNT = "count"


# --- loaders ----------------------------------------------------------------------------------------


async def load_products(ctx: RequestContext, ids: list[uuid.UUID],
                        selection: Selection = None) -> dict[uuid.UUID, ProductNode]:
    session = ctx.require_tenant_session()
    currency = await currency_of(session)
    rows = await rows_by_id(ctx, _product, ids, ProductNode, selection)
    return {r.id: ProductNode.from_row(r, currency) for r in rows}


async def load_warehouses(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, WarehouseType]:
    rows = await rows_by_id(ctx, _warehouse, ids)
    return {r.id: WarehouseType.from_row(r) for r in rows}


async def load_categories(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, CategoryType]:
    rows = await rows_by_id(ctx, _category, ids)
    return {r.id: CategoryType.from_row(r) for r in rows}


async def load_moves(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, StockMoveType]:
    session = ctx.require_tenant_session()
    currency = await currency_of(session)
    rows = await session.execute(select(_move).where(_move.c.tenant_id == ctx.principal.tenant_id,  # type: ignore[union-attr]
                                                     any_of(_move.c.id, ids)))
    return {r.id: StockMoveType.from_row(r, currency) for r in rows}


def product_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return by_id_loader(ctx, "ProductById", load_products, row_type=ProductNode)


def warehouse_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return by_id_loader(ctx, "WarehouseById", load_warehouses)


def category_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return by_id_loader(ctx, "CategoryById", load_categories)


def _levels_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    same = (_warehouse.c.tenant_id == _level.c.tenant_id) & (_warehouse.c.id == _level.c.warehouse_id)
    return (select(_level).join(_warehouse, same)
            .where(_level.c.tenant_id == tenant_id, any_of(_level.c.product_id, keys))
            .order_by(_warehouse.c.is_default.desc(), _warehouse.c.priority, _warehouse.c.code))


def _children_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_category).where(_category.c.tenant_id == tenant_id, any_of(_category.c.parent_id, keys))
            .order_by(_category.c.name))


# --- types ------------------------------------------------------------------------------------------


@strawberry.type(name="ProductCategory")
class CategoryType(Node):
    id: strawberry.ID
    name: str
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    parent_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> CategoryType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("ProductCategory", r.id), name=r.name, created_at=r.created_at, pk=r.id,
                   parent_pk=r.parent_id)

    @strawberry.field
    async def parent(self, info: Info) -> CategoryType | None:
        return await category_loader(info.context).load(self.parent_pk) if self.parent_pk else None

    @strawberry.field
    async def children(self, info: Info) -> list[CategoryType]:
        return await grouped_loader(info.context, "parent_id", _children_stmt, CategoryType.from_row).load(self.pk)


@strawberry.type(name="Warehouse")
class WarehouseType(Node):
    id: strawberry.ID
    code: str
    name: str
    address: JSON | None
    active: bool
    priority: int = strawberry.field(description="Reservations try the default warehouse, then lower priority first.")
    is_default: bool
    created_at: datetime

    @classmethod
    def from_row(cls, r) -> WarehouseType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Warehouse", r.id), code=r.code, name=r.name, address=r.address, active=r.active,
                   priority=r.priority, is_default=r.is_default, created_at=r.created_at)


@strawberry.type(name="StockLevel", description="Stock of one product in one warehouse; always the sum of its moves.")
class StockLevelType:
    on_hand: Decimal
    reserved: Decimal
    available: Decimal = strawberry.field(description="On hand minus reserved: what can still be promised.")
    incoming: Decimal = strawberry.field(description="Expected from open purchase orders and production.")
    updated_at: datetime
    product_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> StockLevelType:  # type: ignore[no-untyped-def]
        return cls(on_hand=show(r.on_hand), reserved=show(r.reserved), available=show(r.on_hand - r.reserved),
                   incoming=show(r.incoming), updated_at=r.updated_at, product_pk=r.product_id,
                   warehouse_pk=r.warehouse_id)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await warehouse_loader(info.context).load(self.warehouse_pk)

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)


@strawberry.type(name="Product")
class ProductNode(RowObject, Node):
    id: strawberry.ID
    sku: str
    name: str
    description: str | None
    type: ProductKind
    unit: str = strawberry.field(description="Unit of measure (unit, kg, l, m, box, hour, ...).")
    barcode: str | None
    unit_price: MoneyType = strawberry.field(description="List price, in the tenant's currency.")
    cost: MoneyType = strawberry.field(description="Moving average cost (receipts update it).")
    tax_category: str | None
    image_url: str | None
    active: bool
    custom_fields: JSON
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]
    category_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r, currency: str) -> ProductNode:  # type: ignore[no-untyped-def]
        return cls.lazy(r, currency=currency)

    @strawberry.field
    async def category(self, info: Info) -> CategoryType | None:
        return await category_loader(info.context).load(self.category_pk) if self.category_pk else None

    @strawberry.field(description="Per warehouse where the product has or had stock (default warehouse first).")
    async def stock_levels(self, info: Info) -> list[StockLevelType]:
        return await grouped_loader(info.context, "product_id", _levels_stmt, StockLevelType.from_row).load(self.pk)


ProductNode.computes(
    _product,
    id=lambda r, k: to_global_id("Product", r.id), sku=lambda r, k: r.sku, name=lambda r, k: r.name,
    description=lambda r, k: r.description, type=lambda r, k: ProductKind(r.type), unit=lambda r, k: r.unit,
    barcode=lambda r, k: r.barcode, unit_price=lambda r, k: MoneyType.of(r.list_price, k["currency"]),
    cost=lambda r, k: MoneyType.of(r.cost, k["currency"]), tax_category=lambda r, k: r.tax_category,
    image_url=lambda r, k: r.image_url, active=lambda r, k: r.active,
    custom_fields=lambda r, k: r.custom_fields or {}, created_at=lambda r, k: r.created_at,
    updated_at=lambda r, k: r.updated_at, pk=lambda r, k: r.id, category_pk=lambda r, k: r.category_id,
)
ProductNode.sql(id=global_id("Product"), sku=text("sku"), name=text("name"), description=text("description"),
                type=enum("type", ProductKind), unit=text("unit"), barcode=text("barcode"),
                tax_category=text("tax_category"), image_url=text("image_url"), active=text("active"))


@strawberry.type(name="StockMove", description="One change of on-hand stock. Moves are never edited or deleted.")
class StockMoveType(Node):
    id: strawberry.ID
    kind: StockMoveKind
    quantity: Decimal = strawberry.field(description="Signed: positive into the warehouse, negative out of it.")
    unit_cost: MoneyType
    value: MoneyType = strawberry.field(description="quantity x unit cost.")
    source_id: strawberry.ID | None = strawberry.field(description="Global ID of the source document, if any.")
    group_id: strawberry.ID = strawberry.field(description="Moves written together share it (both sides of a "
                                                           "transfer, the lines of a count).")
    reason: str | None
    created_at: datetime
    product_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]
    actor_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r, currency: str) -> StockMoveType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("StockMove", r.id), kind=StockMoveKind(r.kind), quantity=show(r.quantity),
                   unit_cost=MoneyType(amount=r.unit_cost.normalize(), currency_code=currency),
                   value=MoneyType.of(r.value, currency),
                   source_id=strawberry.ID(r.source_id) if r.source_id else None,
                   group_id=strawberry.ID(str(r.group_id)), reason=r.reason, created_at=r.created_at,
                   product_pk=r.product_id, warehouse_pk=r.warehouse_id, actor_pk=r.actor_id)

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await warehouse_loader(info.context).load(self.warehouse_pk)

    @strawberry.field(description="Who made the change (null for automatic moves).")
    async def actor(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.actor_pk) if self.actor_pk else None

