"""Inventory GraphQL, merged for the schema builder."""

from strawberry.tools import merge_types

from backend.modules.inventory.graphql import catalog, operations, stock
from backend.modules.inventory.graphql.types import CategoryType, ProductNode, StockMoveType, WarehouseType

_parts = (catalog, stock, operations)
Query = merge_types("InventoryQuery", tuple(p.Query for p in _parts))
Mutation = merge_types("InventoryMutation", tuple(p.Mutation for p in _parts))
types = [ProductNode, CategoryType, WarehouseType, StockMoveType, *operations.types]
node_sources = [source for p in _parts for source in getattr(p, "node_sources", ())]
