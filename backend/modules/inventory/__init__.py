"""Inventory and catalog: products, warehouses, the stock ledger, oversell-proof reservations."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="inventory",
    title="Inventory and catalog",
    permissions=(
        "inventory.read",  # products, warehouses, stock levels and moves, reports
        "inventory.write",  # products and stock: adjustments, receipts, transfers, counts
        "inventory.admin",  # warehouses and categories
    ),
    description="Products and price lists, warehouses, the stock ledger, reservations, valuation and replenishment.",
)
