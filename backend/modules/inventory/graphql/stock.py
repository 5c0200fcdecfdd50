"""``warehouses``, ``stockLevels``, ``stockMoves`` and the stock mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args
from backend.modules.inventory import service as inventory
from backend.modules.inventory.graphql.types import (
    StockLevelType,
    StockMoveKind,
    StockMoveType,
    WarehouseType,
    load_moves,
    load_warehouses,
)
from backend.modules.inventory.models import StockLevel, StockMove, Warehouse

_warehouse = Warehouse.__table__
_level = StockLevel.__table__
_move = StockMove.__table__


@strawberry.input
class StockLevelFilter:
    product_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None
    available_below: Decimal | None = strawberry.field(default=None, description="Only levels with less available.")
    include_empty: bool = strawberry.field(default=False, description="Include levels with nothing on hand, "
                                                                      "reserved or incoming.")


@strawberry.input
class StockMoveFilter:
    product_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None
    kind: StockMoveKind | None = None
    source_id: strawberry.ID | None = strawberry.field(default=None, description="Moves of one source document.")
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.input
class WarehouseCreateInput:
    code: str
    name: str
    address: JSON | None = None
    priority: int = 100
    is_default: bool = False


@strawberry.input
class WarehouseUpdateInput:
    id: strawberry.ID
    name: str | None = None
    address: JSON | None = None
    priority: int | None = None
    active: bool | None = None
    is_default: bool | None = None


@strawberry.type
class WarehousePayload:
    warehouse: WarehouseType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class StockAdjustInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity_delta: Decimal = strawberry.field(description="Positive adds stock, negative removes it; never zero.")
    reason: str
    unit_cost: Decimal | None = strawberry.field(default=None, description="For an increase: values it and updates "
                                                                           "the average cost (like a receipt).")
    idempotency_key: str | None = None


@strawberry.input
class StockReceiveLineInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity: Decimal
    unit_cost: Decimal | None = strawberry.field(default=None, description="Default: the current average cost.")


@strawberry.input
class StockReceiveInput:
    lines: list[StockReceiveLineInput]
    reference: str | None = strawberry.field(default=None, description="The supplier's delivery note, etc.")
    idempotency_key: str | None = None


@strawberry.input
class StockTransferInput:
    product_id: strawberry.ID
    from_warehouse_id: strawberry.ID
    to_warehouse_id: strawberry.ID
    quantity: Decimal
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.type
class StockMovesPayload:
    stock_moves: list[StockMoveType] = strawberry.field(default_factory=list)
    stock_levels: list[StockLevelType] = strawberry.field(default_factory=list,
                                                          description="The levels after the change.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _moves_payload(ctx: RequestContext, posted: inventory.Posted) -> StockMovesPayload:
    session = ctx.require_tenant_session()
    currency = await inventory.currency_of(session)
    pairs = list(dict.fromkeys((m.product_id, m.warehouse_id) for m in posted.moves))
    rows = {(r.product_id, r.warehouse_id): r for r in await session.execute(select(_level).where(
        _level.c.tenant_id == ctx.principal.tenant_id,  # type: ignore[union-attr]
        _level.c.product_id.in_({p for p, _ in pairs}), _level.c.warehouse_id.in_({w for _, w in pairs})))}
    return StockMovesPayload(stock_moves=[StockMoveType.from_row(m, currency) for m in posted.moves],
                             stock_levels=[StockLevelType.from_row(rows[p]) for p in pairs if p in rows])


@strawberry.type
class Query:
    @gated_field(module="inventory", permission="inventory.read")
    async def warehouses(self, info: Info, first: int | None = None, after: str | None = None,
                         include_inactive: bool = False) -> Connection[WarehouseType]:
        ctx: RequestContext = info.context
        stmt = select(_warehouse).where(_warehouse.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if not include_inactive:
            stmt = stmt.where(_warehouse.c.active)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_warehouse.c.id, sort_col=_warehouse.c.code, to_node=WarehouseType.from_row)

    @gated_field(module="inventory", permission="inventory.read",
                 description="Stock per product and warehouse, by product then warehouse.")
    async def stock_levels(self, info: Info, first: int | None = None, after: str | None = None,
                           filter: StockLevelFilter | None = None) -> Connection[StockLevelType]:
        ctx: RequestContext = info.context
        stmt = select(_level).where(_level.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        flt = filter or StockLevelFilter()
        if flt.product_id:
            stmt = stmt.where(_level.c.product_id == decode_id(flt.product_id, "Product", field="productId"))
        if flt.warehouse_id:
            stmt = stmt.where(_level.c.warehouse_id == decode_id(flt.warehouse_id, "Warehouse", field="warehouseId"))
        if flt.available_below is not None:
            stmt = stmt.where(_level.c.on_hand - _level.c.reserved < flt.available_below)
        if not flt.include_empty:
            stmt = stmt.where((_level.c.on_hand != 0) | (_level.c.incoming != 0))
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_level.c.id, to_node=StockLevelType.from_row)

    @gated_field(module="inventory", permission="inventory.read",
                 description="Every change of stock, newest first, with its source document.")
    async def stock_moves(self, info: Info, first: int | None = None, after: str | None = None,
                          filter: StockMoveFilter | None = None) -> Connection[StockMoveType]:
        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        stmt = select(_move).where(_move.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        flt = filter or StockMoveFilter()
        if flt.product_id:
            stmt = stmt.where(_move.c.product_id == decode_id(flt.product_id, "Product", field="productId"))
        if flt.warehouse_id:
            stmt = stmt.where(_move.c.warehouse_id == decode_id(flt.warehouse_id, "Warehouse", field="warehouseId"))
        if flt.kind:
            stmt = stmt.where(_move.c.kind == flt.kind.value)
        if flt.source_id:
            stmt = stmt.where(_move.c.source_id == flt.source_id)
        if flt.from_:
            stmt = stmt.where(_move.c.created_at >= flt.from_)
        if flt.to:
            stmt = stmt.where(_move.c.created_at < flt.to)
        currency = await inventory.currency_of(session)
        return await keyset_page(session, stmt, args=page_args(first, after), id_col=_move.c.id,
                                 sort_col=_move.c.created_at, descending=True,
                                 to_node=lambda r: StockMoveType.from_row(r, currency))


def _actor(ctx: RequestContext) -> uuid.UUID | None:
    return ctx.principal.user_id if ctx.principal is not None else None


@strawberry.type
class Mutation:
    @gated_mutation(module="inventory", permission="inventory.admin")
    async def warehouse_create(self, info: Info, input: WarehouseCreateInput) -> WarehousePayload:
        ctx: RequestContext = info.context

        async def operation() -> WarehousePayload:
            warehouse = await inventory.create_warehouse(
                ctx.require_tenant_session(), code=input.code, name=input.name,
                address=input.address if isinstance(input.address, dict) else None, priority=input.priority,
                is_default=input.is_default)
            return WarehousePayload(warehouse=(await load_warehouses(ctx, [warehouse.id]))[warehouse.id])

        return await run_mutation(info, WarehousePayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.admin")
    async def warehouse_update(self, info: Info, input: WarehouseUpdateInput) -> WarehousePayload:
        ctx: RequestContext = info.context

        async def operation() -> WarehousePayload:
            warehouse = await inventory.update_warehouse(
                ctx.require_tenant_session(), warehouse_id=decode_id(input.id, "Warehouse"), name=input.name,
                address=input.address if isinstance(input.address, dict) else None, priority=input.priority,
                active=input.active, is_default=input.is_default)
            return WarehousePayload(warehouse=(await load_warehouses(ctx, [warehouse.id]))[warehouse.id])

        return await run_mutation(info, WarehousePayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def stock_adjust(self, info: Info, input: StockAdjustInput) -> StockMovesPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockMovesPayload:
            posted = await inventory.adjust_stock(
                ctx.require_tenant_session(), product_id=decode_id(input.product_id, "Product", field="productId"),
                warehouse_id=decode_id(input.warehouse_id, "Warehouse", field="warehouseId"),
                quantity_delta=input.quantity_delta, reason=input.reason, unit_cost=input.unit_cost,
                idempotency_key=input.idempotency_key, actor_id=_actor(ctx))
            return await _moves_payload(ctx, posted)

        return await run_mutation(info, StockMovesPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write",
                    description="Goods in (without a purchase order): updates the moving average cost.")
    async def stock_receive(self, info: Info, input: StockReceiveInput) -> StockMovesPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockMovesPayload:
            lines = [inventory.ReceiptLine(
                product_id=decode_id(x.product_id, "Product", field=["lines", str(i), "productId"]),
                warehouse_id=decode_id(x.warehouse_id, "Warehouse", field=["lines", str(i), "warehouseId"]),
                quantity=x.quantity, unit_cost=x.unit_cost) for i, x in enumerate(input.lines)]
            posted = await inventory.receive_stock(ctx.require_tenant_session(), lines=lines, reason=input.reference,
                                                   idempotency_key=input.idempotency_key, actor_id=_actor(ctx))
            return await _moves_payload(ctx, posted)

        return await run_mutation(info, StockMovesPayload, operation, input)

    @gated_mutation(module="inventory", permission="inventory.write")
    async def stock_transfer(self, info: Info, input: StockTransferInput) -> StockMovesPayload:
        ctx: RequestContext = info.context

        async def operation() -> StockMovesPayload:
            posted = await inventory.transfer_stock(
                ctx.require_tenant_session(), product_id=decode_id(input.product_id, "Product", field="productId"),
                from_warehouse_id=decode_id(input.from_warehouse_id, "Warehouse", field="fromWarehouseId"),
                to_warehouse_id=decode_id(input.to_warehouse_id, "Warehouse", field="toWarehouseId"),
                quantity=input.quantity, reason=input.reason, idempotency_key=input.idempotency_key,
                actor_id=_actor(ctx))
            return await _moves_payload(ctx, posted)

        return await run_mutation(info, StockMovesPayload, operation, input)


node_sources = [
    NodeSource("Warehouse", "inventory", "inventory.read", load_warehouses),
    NodeSource("StockMove", "inventory", "inventory.read", load_moves),
]
