"""Inventory test helpers: a tenant with inventory on, products with opening stock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from backend.core.db import Database
from backend.modules.inventory import service as inventory

INVENTORY_PERMISSIONS = ("platform.read", "platform.customize", "inventory.read", "inventory.write",
                         "inventory.admin", "crm.read")


@dataclass
class Shop:
    db: Database
    tenant: uuid.UUID
    main: uuid.UUID  # the default warehouse

    async def product(self, sku: str, *, on_hand: str | int = 0, cost: str = "10.00", price: str = "25.00",
                      type: str = "stocked", unit: str = "unit", warehouse: uuid.UUID | None = None) -> uuid.UUID:
        async with self.db.transaction(self.tenant) as session:
            product = await inventory.create_product(session, values=inventory.ProductFields(
                sku=sku, name=f"Product {sku}", type=type, unit=unit, list_price=Decimal(price), cost=Decimal(cost)))
            if Decimal(on_hand):
                await inventory.receive_stock(session, lines=[inventory.ReceiptLine(
                    product.id, warehouse or self.main, Decimal(on_hand), Decimal(cost))])
            return product.id

    async def warehouse(self, code: str, *, priority: int = 100) -> uuid.UUID:
        async with self.db.transaction(self.tenant) as session:
            return (await inventory.create_warehouse(session, code=code, name=f"Warehouse {code}",
                                                     priority=priority)).id

    async def level(self, product: uuid.UUID, warehouse: uuid.UUID | None = None) -> inventory.Level:
        async with self.db.transaction(self.tenant) as session:
            pair = (product, warehouse or self.main)
            return (await inventory.levels_for(session, [pair]))[pair]


@pytest.fixture
async def shop(db, make_tenant) -> Shop:  # type: ignore[no-untyped-def]
    tenant = await make_tenant(modules=["inventory"])
    async with db.transaction(tenant) as session:
        main = (await inventory.ensure_default_warehouse(session)).id
    return Shop(db=db, tenant=tenant, main=main)


@pytest.fixture(scope="module")
async def wide_db(owner_url):  # type: ignore[no-untyped-def]
    """A pool big enough for 50 transactions open at the same moment (real concurrency, not a queue)."""
    from backend.core.db import runtime_url
    from tests.conftest import APP_PASSWORD, APP_USER

    database = Database(app_url=runtime_url(owner_url, APP_USER, APP_PASSWORD), pool_size=55, max_overflow=0)
    yield database
    await database.dispose()
