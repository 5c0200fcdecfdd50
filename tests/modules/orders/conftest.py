"""Orders test helpers: a tenant with CRM, inventory and orders on, as a GraphQL client."""

from __future__ import annotations

import pytest

from tests.modules.inventory.test_stock_api import Stock
from tests.support.apps import client_of, served

PERMISSIONS = ("platform.read", "crm.read", "crm.write", "inventory.read", "inventory.write", "inventory.admin",
               "orders.read", "orders.write", "orders.submit", "orders.approve", "orders.fulfill", "orders.admin")

ORDER = """fragment O on Order { id number status total { amount currencyCode } subtotal { amount }
  taxTotal { amount } discountTotal { amount } shippingTotal { amount } customer { name }
  lines { id sku quantity unitPrice { amount } total { amount } reserved shipped delivered backordered }
  events { from to note } }"""


class Shop(Stock):
    async def customer(self, name: str = "Jade Tea House", **extra) -> str:  # type: ignore[no-untyped-def]
        r = await self("mutation($in: CustomerCreateInput!) { customerCreate(input: $in) { customer { id } "
                       "userErrors { code } } }", {"in": {"name": name, "allowDuplicate": True, **extra}})
        return r["data"]["customerCreate"]["customer"]["id"]

    async def stocked(self, sku: str, on_hand: str = "0", **fields) -> str:  # type: ignore[no-untyped-def]
        product = (await self.product(sku=sku, **fields))["product"]["id"]
        if on_hand != "0":
            done = await self.adjust(productId=product, warehouseId=await self.main(), quantityDelta=on_hand)
            assert done["userErrors"] == [], done
        return product

    async def order(self, customer: str, lines: list[dict], **extra) -> dict:  # type: ignore[no-untyped-def]
        r = await self(ORDER + """mutation($in: OrderCreateInput!) { orderCreate(input: $in) { order { ...O }
            userErrors { field code message } } }""", {"in": {"customerId": customer, "lines": lines, **extra}})
        assert "data" in r, r
        return r["data"]["orderCreate"]

    async def act(self, mutation: str, order_id: str, **extra) -> dict:  # type: ignore[no-untyped-def]
        input_type = {"orderReject": "OrderReasonInput", "orderHold": "OrderReasonInput",
                      "orderCancel": "OrderReasonInput"}.get(mutation, "OrderIdInput")
        r = await self(ORDER + f"""mutation($in: {input_type}!) {{ {mutation}(input: $in) {{ order {{ ...O }}
            userErrors {{ field code message }} }} }}""", {"in": {"id": order_id, **extra}})
        assert "errors" not in r, r
        return r["data"][mutation]


@pytest.fixture
async def shop(gql, make_tenant) -> Shop:  # type: ignore[no-untyped-def]
    return Shop(gql, await make_tenant(), permissions=PERMISSIONS)


from tests.modules.inventory.conftest import wide_db  # noqa: E402,F401  (50 connections at once)

# --- the same documents on other execution paths ---------------------------------------------------------


@pytest.fixture(scope="module")
async def reference_app(settings, registry, db):
    async with served(settings.model_copy(update={"compiled_execution": False}), registry, db) as app:
        yield app


@pytest.fixture
async def reference(reference_app):
    async with client_of(reference_app) as client:
        yield client


@pytest.fixture(scope="module")
async def python_path_app(settings, registry, db):
    """Compiled execution without SQL subtrees: every object built in Python, as loaders load it."""
    async with served(settings.model_copy(update={"sql_subtrees": False}), registry, db) as app:
        yield app


@pytest.fixture
async def python_path(python_path_app):
    async with client_of(python_path_app) as client:
        yield client


async def same(gql, reference, query: str, variables: dict | None = None, **who) -> dict:  # type: ignore[no-untyped-def]
    """The answer of ``gql`` (the served app), checked equal to ``reference``'s: data, errors and actual cost."""
    compiled = await gql(query, variables, **who)
    expected = await reference(query, variables, **who)
    assert compiled.get("data") == expected.get("data")
    assert compiled.get("errors") == expected.get("errors")
    cost = compiled.get("extensions", {}).get("cost", {})
    assert cost.get("actualQueryCost") == expected.get("extensions", {}).get("cost", {}).get("actualQueryCost")
    return compiled
