"""``products``, ``productCategories`` and their mutations."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args
from backend.modules.inventory import service as inventory
from backend.modules.inventory.graphql.types import (
    CategoryType,
    ProductKind,
    ProductNode,
    load_categories,
    load_products,
)
from backend.modules.inventory.models import Category, Product
from backend.modules.platform import service as platform

_product = Product.__table__
_category = Category.__table__


@strawberry.enum
class ProductSortField(Enum):
    NAME = "name"
    SKU = "sku"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.enum(name="ProductSortDirection")
class Direction(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class ProductSort:
    field: ProductSortField = ProductSortField.NAME
    direction: Direction = Direction.ASC


@strawberry.input
class ProductFilter:
    query: str | None = strawberry.field(default=None, description="SKU or barcode (exact), or name (typo-tolerant).")
    type: ProductKind | None = None
    category_id: strawberry.ID | None = strawberry.field(default=None, description="Includes subcategories.")
    include_archived: bool = False
    custom_fields: JSON | None = strawberry.field(default=None, description='e.g. {"origin": "Yunnan"}')


@strawberry.input
class ProductCreateInput:
    sku: str
    name: str
    type: ProductKind = ProductKind.STOCKED
    unit_price: Decimal = strawberry.field(description="List price in the tenant's currency.")
    cost: Decimal | None = strawberry.field(default=None, description="Opening average cost; receipts update it.")
    description: str | None = None
    category_id: strawberry.ID | None = None
    unit: str = strawberry.field(default="unit", description="unit, kg, g, l, ml, m, box, pack, hour, ...")
    barcode: str | None = None
    tax_category: str | None = None
    image_url: str | None = None
    custom_fields: JSON | None = None


@strawberry.input
class ProductUpdateInput:
    id: strawberry.ID
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    type: ProductKind | None = strawberry.UNSET
    unit_price: Decimal | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    unit: str | None = strawberry.UNSET
    barcode: str | None = strawberry.UNSET
    tax_category: str | None = strawberry.UNSET
    image_url: str | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(default=strawberry.UNSET, description="Merged; null removes a key.")


def _fields(data: ProductCreateInput | ProductUpdateInput) -> inventory.ProductFields:
    out = inventory.ProductFields()
    for name in ("sku", "name", "description", "unit", "barcode", "tax_category", "image_url"):
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        if value is None and name in ("sku", "name", "unit"):
            continue  # required fields: null means "unchanged"
        setattr(out, name, value)
        out.given.add(name)
    if data.type not in (strawberry.UNSET, None):
        out.type = data.type.value  # type: ignore[union-attr]
    if data.unit_price not in (strawberry.UNSET, None):
        out.list_price = data.unit_price
    if isinstance(data, ProductCreateInput) and data.cost is not None:
        out.cost = data.cost
    if data.category_id is not strawberry.UNSET:
        out.given.add("category_id")
        if data.category_id is not None:
            out.category_id = decode_id(data.category_id, "ProductCategory", field="categoryId")
    if isinstance(data.custom_fields, dict):
        out.custom_fields = data.custom_fields
    return out


@strawberry.type
class ProductPayload:
    product: ProductNode | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ProductArchiveInput:
    id: strawberry.ID


@strawberry.input
class ProductCategoryCreateInput:
    name: str
    parent_id: strawberry.ID | None = None


@strawberry.input
class ProductCategoryUpdateInput:
    id: strawberry.ID
    name: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="null: make it a root.")


@strawberry.type
class ProductCategoryPayload:
    category: CategoryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _product_payload(ctx: RequestContext, product_id: uuid.UUID) -> ProductPayload:
    return ProductPayload(product=(await load_products(ctx, [product_id]))[product_id])


@strawberry.type
class Query:
    @gated_field(module="inventory", permission="inventory.read")
    async def products(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                       before: str | None = None, filter: ProductFilter | None = None,
                       sort: ProductSort | None = None) -> Connection[ProductNode]:
        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        flt = inventory.ProductFilter()
        if filter is not None:
            flt = inventory.ProductFilter(
                query=filter.query, type=filter.type.value if filter.type else None,
                category_id=decode_id(filter.category_id, "ProductCategory", field="categoryId")
                if filter.category_id else None,
                include_archived=filter.include_archived,
                custom_fields=await platform.filter_custom_values(session, entity="inventory.product",
                                                                  values=filter.custom_fields))
        sort = sort or ProductSort()
        currency = await inventory.currency_of(session)
        return await keyset_page(session, inventory.products_query(ctx.principal.tenant_id, flt),  # type: ignore[union-attr]
                                 args=page_args(first, after, last, before), id_col=_product.c.id,
                                 sort_col=_product.c[sort.field.value], descending=sort.direction is Direction.DESC,
                                 to_node=lambda r: ProductNode.from_row(r, currency))

    @gated_field(module="inventory", permission="inventory.read")
    async def product_categories(self, info: Info, first: int | None = None, after: str | None = None,
                                 roots_only: bool = False) -> Connection[CategoryType]:
        from sqlalchemy import select

        ctx: RequestContext = info.context
        stmt = select(_category).where(_category.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if roots_only:
            stmt = stmt.where(_category.c.parent_id.is_(None))
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_category.c.id, sort_col=_category.c.name, to_node=CategoryType.from_row)


@strawberry.type
class Mutation:
    @gated_mutation(module="inventory", permission="inventory.write")
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        ctx: RequestContext = info.context

        async def operation() -> ProductPayload:
            product = await inventory.create_product(ctx.require_tenant_session(), values=_fields(input))
            return await _product_payload(ctx, product.id)

        return await run_mutation(info, ProductPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def product_update(self, info: Info, input: ProductUpdateInput) -> ProductPayload:
        ctx: RequestContext = info.context

        async def operation() -> ProductPayload:
            product = await inventory.update_product(ctx.require_tenant_session(),
                                                     product_id=decode_id(input.id, "Product"), values=_fields(input))
            return await _product_payload(ctx, product.id)

        return await run_mutation(info, ProductPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def product_archive(self, info: Info, input: ProductArchiveInput) -> ProductPayload:
        return await _set_active(info, input, False)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def product_restore(self, info: Info, input: ProductArchiveInput) -> ProductPayload:
        return await _set_active(info, input, True)

    @gated_mutation(module="inventory", permission="inventory.admin")
    async def product_category_create(self, info: Info, input: ProductCategoryCreateInput) -> ProductCategoryPayload:
        ctx: RequestContext = info.context

        async def operation() -> ProductCategoryPayload:
            category = await inventory.create_category(
                ctx.require_tenant_session(), name=input.name,
                parent_id=decode_id(input.parent_id, "ProductCategory", field="parentId") if input.parent_id else None)
            return ProductCategoryPayload(category=(await load_categories(ctx, [category.id]))[category.id])

        return await run_mutation(info, ProductCategoryPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.admin")
    async def product_category_update(self, info: Info, input: ProductCategoryUpdateInput) -> ProductCategoryPayload:
        ctx: RequestContext = info.context

        async def operation() -> ProductCategoryPayload:
            parent = input.parent_id
            category = await inventory.update_category(
                ctx.require_tenant_session(), category_id=decode_id(input.id, "ProductCategory"), name=input.name,
                parent_id=decode_id(parent, "ProductCategory", field="parentId") if parent else None,
                clear_parent=parent is None)
            return ProductCategoryPayload(category=(await load_categories(ctx, [category.id]))[category.id])

        return await run_mutation(info, ProductCategoryPayload, operation, input)


async def _set_active(info: Info, input: ProductArchiveInput, active: bool) -> ProductPayload:
    ctx: RequestContext = info.context

    async def operation() -> ProductPayload:
        product = await inventory.set_product_active(ctx.require_tenant_session(),
                                                     product_id=decode_id(input.id, "Product"), active=active)
        return await _product_payload(ctx, product.id)

    return await run_mutation(info, ProductPayload, operation, input)


node_sources = [
    NodeSource("Product", "inventory", "inventory.read", load_products),
    NodeSource("ProductCategory", "inventory", "inventory.read", load_categories),
]
