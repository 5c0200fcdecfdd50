"""Cycle counts, price lists, reorder rules, replenishment suggestions and stock reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.loaders import grouped_loader, rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Connection, Node, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.inventory import service as inventory
from backend.modules.inventory.graphql.types import (
    CategoryType,
    ProductNode,
    StockMoveType,
    WarehouseType,
    category_loader,
    product_loader,
    warehouse_loader,
)
from backend.modules.inventory.models import PriceList, PriceListItem, ReorderRule, StockCount, StockCountLine
from backend.modules.inventory.units import show
from backend.modules.platform.graphql.types import UserType, user_loader

_count = StockCount.__table__
_count_line = StockCountLine.__table__
_price_list = PriceList.__table__
_price_item = PriceListItem.__table__
_rule = ReorderRule.__table__


def _actor(ctx: RequestContext) -> uuid.UUID | None:
    return ctx.principal.user_id if ctx.principal is not None else None


# --- counts -----------------------------------------------------------------------------------------


@strawberry.enum
class StockCountStatus(Enum):
    OPEN = "open"
    POSTED = "posted"
    CANCELLED = "cancelled"


@strawberry.type(name="StockCountLine")
class StockCountLineType:
    expected: Decimal = strawberry.field(description="On hand when the sheet was made.")
    counted: Decimal | None
    posted_difference: Decimal | None = strawberry.field(description="Counted minus on hand at posting.")
    product_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> StockCountLineType:  # type: ignore[no-untyped-def]
        return cls(expected=show(r.expected), counted=None if r.counted is None else show(r.counted),
                   posted_difference=None if r.posted_difference is None else show(r.posted_difference),
                   product_pk=r.product_id)

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)


def _count_lines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    from backend.modules.inventory.models import Product

    product = Product.__table__
    return (select(_count_line).join(product, (product.c.tenant_id == _count_line.c.tenant_id)
                                     & (product.c.id == _count_line.c.product_id))
            .where(_count_line.c.tenant_id == tenant_id, any_of(_count_line.c.count_id, keys)).order_by(product.c.sku))


@strawberry.type(name="StockCount")
class StockCountType(Node):
    id: strawberry.ID
    name: str
    status: StockCountStatus
    created_at: datetime
    posted_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]
    created_by_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> StockCountType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("StockCount", r.id), name=r.name, status=StockCountStatus(r.status),
                   created_at=r.created_at, posted_at=r.posted_at, pk=r.id, warehouse_pk=r.warehouse_id,
                   created_by_pk=r.created_by)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await warehouse_loader(info.context).load(self.warehouse_pk)

    @strawberry.field
    async def lines(self, info: Info) -> list[StockCountLineType]:
        return await grouped_loader(info.context, "count_id", _count_lines_stmt,
                                    StockCountLineType.from_row).load(self.pk)

    @strawberry.field
    async def created_by(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.created_by_pk) if self.created_by_pk else None


async def load_counts(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, StockCountType]:
    rows = await rows_by_id(ctx, _count, ids)
    return {r.id: StockCountType.from_row(r) for r in rows}


@strawberry.input
class StockCountCreateInput:
    warehouse_id: strawberry.ID
    name: str | None = None
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Count these products; or a category; or (neither) all the warehouse holds.")
    category_id: strawberry.ID | None = None


@strawberry.input
class StockCountLineInput:
    product_id: strawberry.ID
    counted_quantity: Decimal | None = strawberry.field(description="null clears the count of this line.")


@strawberry.input
class StockCountSetInput:
    id: strawberry.ID
    lines: list[StockCountLineInput]


@strawberry.input
class StockCountPostInput:
    id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class StockCountCancelInput:
    id: strawberry.ID


@strawberry.type
class StockCountPayload:
    stock_count: StockCountType | None = None
    stock_moves: list[StockMoveType] = strawberry.field(default_factory=list, description="Posted moves (post only).")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# --- price lists ------------------------------------------------------------------------------------


@strawberry.type(name="PriceListItem")
class PriceListItemType:
    price: MoneyType
    min_quantity: Decimal
    valid_from: date | None
    valid_to: date | None
    product_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)


@strawberry.type(name="PriceList")
class PriceListType(Node):
    id: strawberry.ID
    name: str
    active: bool
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> PriceListType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("PriceList", r.id), name=r.name, active=r.active, created_at=r.created_at, pk=r.id)

    @strawberry.field
    async def items(self, info: Info) -> list[PriceListItemType]:
        ctx: RequestContext = info.context
        currency = await inventory.currency_of(ctx.require_tenant_session())

        def make(r):  # type: ignore[no-untyped-def]
            return PriceListItemType(price=MoneyType.of(r.price, currency), min_quantity=show(r.min_quantity),
                                     valid_from=r.valid_from, valid_to=r.valid_to, product_pk=r.product_id)

        rows = await grouped_loader(ctx, "price_list_id", _items_stmt, lambda r: r).load(self.pk)
        return [make(r) for r in rows]


def _items_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_price_item).where(_price_item.c.tenant_id == tenant_id, any_of(_price_item.c.price_list_id, keys))
            .order_by(_price_item.c.product_id, _price_item.c.min_quantity, _price_item.c.valid_from))


async def load_price_lists(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, PriceListType]:
    rows = await rows_by_id(ctx, _price_list, ids)
    return {r.id: PriceListType.from_row(r) for r in rows}


@strawberry.input
class PriceListCreateInput:
    name: str


@strawberry.input
class PriceInput:
    product_id: strawberry.ID
    price: Decimal
    min_quantity: Decimal | None = strawberry.field(default=None, description="From this quantity up (default 1).")
    valid_from: date | None = None
    valid_to: date | None = None


@strawberry.input
class PriceListSetPricesInput:
    id: strawberry.ID
    prices: list[PriceInput] = strawberry.field(default_factory=list)
    remove_product_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class PriceListAssignInput:
    id: strawberry.ID | None = strawberry.field(description="null: these customers go back to list prices.")
    customer_ids: list[strawberry.ID]


@strawberry.type
class PriceListPayload:
    price_list: PriceListType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PriceQuoteLineInput:
    product_id: strawberry.ID
    quantity: Decimal = Decimal(1)


@strawberry.type
class PriceQuoteLine:
    quantity: Decimal
    unit_price: MoneyType
    price_list: PriceListType | None = strawberry.field(description="null: the product's list price applies.")
    product_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)


# --- reorder rules, suggestions, reports ------------------------------------------------------------


@strawberry.type(name="ReorderRule")
class ReorderRuleType(Node):
    id: strawberry.ID
    minimum: Decimal
    maximum: Decimal
    multiple: Decimal
    product_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> ReorderRuleType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("ReorderRule", r.id), minimum=show(r.minimum), maximum=show(r.maximum),
                   multiple=show(r.multiple), product_pk=r.product_id, warehouse_pk=r.warehouse_id)

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await warehouse_loader(info.context).load(self.warehouse_pk)


async def load_rules(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, ReorderRuleType]:
    rows = await rows_by_id(ctx, _rule, ids)
    return {r.id: ReorderRuleType.from_row(r) for r in rows}


@strawberry.input
class ReorderRuleSetInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    minimum: Decimal
    maximum: Decimal
    multiple: Decimal | None = strawberry.field(default=None, description="Order in multiples of this (default 1).")


@strawberry.input
class ReorderRuleDeleteInput:
    id: strawberry.ID


@strawberry.type
class ReorderRulePayload:
    reorder_rule: ReorderRuleType | None = None
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.enum
class ReplenishmentAction(Enum):
    BUY = "buy"
    MOVE = "move"


@strawberry.type
class ReplenishmentSuggestion:
    action: ReplenishmentAction
    quantity: Decimal
    available: Decimal = strawberry.field(description="On hand minus reserved in the warehouse now.")
    incoming: Decimal
    minimum: Decimal
    maximum: Decimal
    product_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]
    from_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def product(self, info: Info) -> ProductNode:
        return await product_loader(info.context).load(self.product_pk)

    @strawberry.field(description="Where the stock is needed.")
    async def warehouse(self, info: Info) -> WarehouseType:
        return await warehouse_loader(info.context).load(self.warehouse_pk)

    @strawberry.field(description="MOVE: the warehouse with the surplus.")
    async def from_warehouse(self, info: Info) -> WarehouseType | None:
        return await warehouse_loader(info.context).load(self.from_pk) if self.from_pk else None


@strawberry.enum
class ValuationGrouping(Enum):
    WAREHOUSE = "warehouse"
    CATEGORY = "category"


@strawberry.type
class StockValuationLine:
    quantity: Decimal
    value: MoneyType
    key_pk: strawberry.Private[uuid.UUID | None]
    grouping: strawberry.Private[str]

    @strawberry.field(description="WAREHOUSE grouping.")
    async def warehouse(self, info: Info) -> WarehouseType | None:
        if self.grouping != "warehouse" or self.key_pk is None:
            return None
        return await warehouse_loader(info.context).load(self.key_pk)

    @strawberry.field(description="CATEGORY grouping; null for products without a category.")
    async def category(self, info: Info) -> CategoryType | None:
        if self.grouping != "category" or self.key_pk is None:
            return None
        return await category_loader(info.context).load(self.key_pk)


@strawberry.type
class StockValuation:
    as_of: datetime
    lines: list[StockValuationLine]
    total: MoneyType


@strawberry.type
class StockTurnover:
    cost_of_goods_shipped: MoneyType = strawberry.field(description="Shipments net of returns, at cost.")
    opening_value: MoneyType
    closing_value: MoneyType
    average_value: MoneyType
    ratio: Decimal | None = strawberry.field(description="Cost of goods shipped / average stock value.")


# --- root fields ------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @gated_field(module="inventory", permission="inventory.read")
    async def stock_counts(self, info: Info, first: int | None = None, after: str | None = None,
                           status: StockCountStatus | None = None) -> Connection[StockCountType]:
        ctx: RequestContext = info.context
        stmt = select(_count).where(_count.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if status is not None:
            stmt = stmt.where(_count.c.status == status.value)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_count.c.id, sort_col=_count.c.created_at, descending=True,
                                 to_node=StockCountType.from_row)

    @gated_field(module="inventory", permission="inventory.read")
    async def price_lists(self, info: Info, first: int | None = None, after: str | None = None
                          ) -> Connection[PriceListType]:
        ctx: RequestContext = info.context
        stmt = select(_price_list).where(_price_list.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_price_list.c.id, sort_col=_price_list.c.name, to_node=PriceListType.from_row)

    @gated_field(module="inventory", permission="inventory.read",
                 description="Unit prices for a customer (their price list, else list prices), as orders price them.")
    async def price_quote(self, info: Info, lines: list[PriceQuoteLineInput], customer_id: strawberry.ID | None = None,
                          on: date | None = None) -> list[PriceQuoteLine]:
        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        customer = decode_id(customer_id, "Customer", field="customerId") if customer_id else None
        resolved = await inventory.resolve_prices(
            session, customer_id=customer, on=on,
            lines=[(decode_id(x.product_id, "Product", field=["lines", str(i), "productId"]), x.quantity)
                   for i, x in enumerate(lines)])
        currency = await inventory.currency_of(session)
        lists = await load_price_lists(ctx, list({r.price_list_id for r in resolved if r.price_list_id}))
        return [PriceQuoteLine(quantity=x.quantity, unit_price=MoneyType.of(r.unit_price, currency),
                               price_list=lists.get(r.price_list_id) if r.price_list_id else None,
                               product_pk=r.product_id) for x, r in zip(lines, resolved, strict=True)]

    @gated_field(module="inventory", permission="inventory.read")
    async def reorder_rules(self, info: Info, first: int | None = None, after: str | None = None,
                            warehouse_id: strawberry.ID | None = None) -> Connection[ReorderRuleType]:
        ctx: RequestContext = info.context
        stmt = select(_rule).where(_rule.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if warehouse_id:
            stmt = stmt.where(_rule.c.warehouse_id == decode_id(warehouse_id, "Warehouse", field="warehouseId"))
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_rule.c.id, to_node=ReorderRuleType.from_row)

    @gated_field(module="inventory", permission="inventory.read",
                 description="What to move between warehouses or buy to bring each reorder rule back to its "
                             "maximum (counting reserved and incoming stock).")
    async def replenishment_suggestions(self, info: Info, warehouse_id: strawberry.ID | None = None
                                        ) -> list[ReplenishmentSuggestion]:
        ctx: RequestContext = info.context
        found = await inventory.replenishment_suggestions(
            ctx.require_tenant_session(),
            warehouse_id=decode_id(warehouse_id, "Warehouse", field="warehouseId") if warehouse_id else None)
        return [ReplenishmentSuggestion(action=ReplenishmentAction(s.action), quantity=show(s.quantity),
                                        available=show(s.available), incoming=show(s.incoming),
                                        minimum=show(s.minimum), maximum=show(s.maximum), product_pk=s.product_id,
                                        warehouse_pk=s.warehouse_id, from_pk=s.from_warehouse_id) for s in found]

    @gated_field(module="inventory", permission="inventory.read",
                 description="Stock value at a moment (now by default), from the ledger.")
    async def stock_valuation(self, info: Info, as_of: datetime | None = None,
                              group_by: ValuationGrouping = ValuationGrouping.WAREHOUSE) -> StockValuation:
        from backend.core.db import utcnow

        ctx: RequestContext = info.context
        moment = as_of or utcnow()
        lines, total, currency = await inventory.valuation(ctx.require_tenant_session(), as_of=moment,
                                                           by=group_by.value)
        return StockValuation(as_of=moment, total=MoneyType.of(total, currency), lines=[
            StockValuationLine(quantity=show(x.quantity), value=MoneyType.of(x.value, currency), key_pk=x.key,
                               grouping=group_by.value) for x in lines])

    @gated_field(module="inventory", permission="inventory.read")
    async def stock_turnover(self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")],
                             to: datetime | None = None) -> StockTurnover:
        from backend.core.db import utcnow

        ctx: RequestContext = info.context
        result = await inventory.turnover(ctx.require_tenant_session(), since=from_, until=to or utcnow())
        c = result.currency
        return StockTurnover(cost_of_goods_shipped=MoneyType.of(result.cost_of_goods_shipped, c),
                             opening_value=MoneyType.of(result.opening_value, c),
                             closing_value=MoneyType.of(result.closing_value, c),
                             average_value=MoneyType.of(result.average_value, c), ratio=result.ratio)


@strawberry.type
class Mutation:
    @gated_mutation(module="inventory", permission="inventory.write")
    async def stock_count_create(self, info: Info, input: StockCountCreateInput) -> StockCountPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockCountPayload:
            count = await inventory.create_count(
                ctx.require_tenant_session(),
                warehouse_id=decode_id(input.warehouse_id, "Warehouse", field="warehouseId"), name=input.name,
                product_ids=[decode_id(p, "Product", field=["productIds", str(i)])
                             for i, p in enumerate(input.product_ids or [])] or None,
                category_id=decode_id(input.category_id, "ProductCategory", field="categoryId")
                if input.category_id else None, created_by=_actor(ctx))
            return StockCountPayload(stock_count=(await load_counts(ctx, [count.id]))[count.id])

        return await run_mutation(info, StockCountPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write",
                    description="Enter counted quantities (a product not on the sheet is added).")
    async def stock_count_set(self, info: Info, input: StockCountSetInput) -> StockCountPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockCountPayload:
            count = await inventory.set_counted(
                ctx.require_tenant_session(), count_id=decode_id(input.id, "StockCount"),
                lines=[(decode_id(x.product_id, "Product", field=["lines", str(i), "productId"]), x.counted_quantity)
                       for i, x in enumerate(input.lines)])
            return StockCountPayload(stock_count=(await load_counts(ctx, [count.id]))[count.id])

        return await run_mutation(info, StockCountPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write",
                    description="Post the differences of every counted line as one group of COUNT moves.")
    async def stock_count_post(self, info: Info, input: StockCountPostInput) -> StockCountPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockCountPayload:
            session = ctx.require_tenant_session()
            count_id = decode_id(input.id, "StockCount")
            posted = await inventory.post_count(session, count_id=count_id, idempotency_key=input.idempotency_key,
                                                actor_id=_actor(ctx))
            currency = await inventory.currency_of(session)
            return StockCountPayload(stock_count=(await load_counts(ctx, [count_id]))[count_id],
                                     stock_moves=[StockMoveType.from_row(m, currency) for m in posted.moves])

        return await run_mutation(info, StockCountPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def stock_count_cancel(self, info: Info, input: StockCountCancelInput) -> StockCountPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockCountPayload:
            count = await inventory.cancel_count(ctx.require_tenant_session(),
                                                 count_id=decode_id(input.id, "StockCount"))
            return StockCountPayload(stock_count=(await load_counts(ctx, [count.id]))[count.id])

        return await run_mutation(info, StockCountPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.admin")
    async def price_list_create(self, info: Info, input: PriceListCreateInput) -> PriceListPayload:
        ctx: RequestContext = info.context

        async def operation() -> PriceListPayload:
            price_list = await inventory.create_price_list(ctx.require_tenant_session(), name=input.name)
            return PriceListPayload(price_list=(await load_price_lists(ctx, [price_list.id]))[price_list.id])

        return await run_mutation(info, PriceListPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.admin")
    async def price_list_set_prices(self, info: Info, input: PriceListSetPricesInput) -> PriceListPayload:
        ctx: RequestContext = info.context

        async def operation() -> PriceListPayload:
            session = ctx.require_tenant_session()
            list_id = decode_id(input.id, "PriceList")
            await inventory.set_prices(session, price_list_id=list_id, prices=[inventory.PriceInput(
                product_id=decode_id(p.product_id, "Product", field=["prices", str(i), "productId"]), price=p.price,
                min_quantity=p.min_quantity, valid_from=p.valid_from, valid_to=p.valid_to)
                for i, p in enumerate(input.prices)])
            if input.remove_product_ids:
                await inventory.remove_prices(session, price_list_id=list_id, product_ids=[
                    decode_id(p, "Product", field=["removeProductIds", str(i)])
                    for i, p in enumerate(input.remove_product_ids)])
            return PriceListPayload(price_list=(await load_price_lists(ctx, [list_id]))[list_id])

        return await run_mutation(info, PriceListPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.admin",
                    description="Make a price list the one these customers buy at (the CRM must be on).")
    async def price_list_assign(self, info: Info, input: PriceListAssignInput) -> PriceListPayload:
        ctx: RequestContext = info.context

        async def operation() -> PriceListPayload:
            list_id = decode_id(input.id, "PriceList") if input.id else None
            await inventory.assign_customers(ctx.require_tenant_session(), price_list_id=list_id, customer_ids=[
                decode_id(c, "Customer", field=["customerIds", str(i)]) for i, c in enumerate(input.customer_ids)])
            return PriceListPayload(price_list=(await load_price_lists(ctx, [list_id]))[list_id] if list_id else None)

        return await run_mutation(info, PriceListPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def reorder_rule_set(self, info: Info, input: ReorderRuleSetInput) -> ReorderRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> ReorderRulePayload:
            rule = await inventory.set_reorder_rule(
                ctx.require_tenant_session(), product_id=decode_id(input.product_id, "Product", field="productId"),
                warehouse_id=decode_id(input.warehouse_id, "Warehouse", field="warehouseId"), minimum=input.minimum,
                maximum=input.maximum, multiple=input.multiple)
            return ReorderRulePayload(reorder_rule=ReorderRuleType.from_row(rule))

        return await run_mutation(info, ReorderRulePayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def reorder_rule_delete(self, info: Info, input: ReorderRuleDeleteInput) -> ReorderRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> ReorderRulePayload:
            await inventory.delete_reorder_rule(ctx.require_tenant_session(),
                                                rule_id=decode_id(input.id, "ReorderRule"))
            return ReorderRulePayload(deleted_id=input.id)

        return await run_mutation(info, ReorderRulePayload, operation, input)


node_sources = [
    NodeSource("StockCount", "inventory", "inventory.read", load_counts),
    NodeSource("PriceList", "inventory", "inventory.read", load_price_lists),
    NodeSource("ReorderRule", "inventory", "inventory.read", load_rules),
]
types = [StockCountType, PriceListType, ReorderRuleType]
