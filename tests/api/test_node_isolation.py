"""Every Node type, through GraphQL: another tenant's object answers null to node() and nodes(),
and is there for its own tenant. Objects come from the demo seed of two tenants; a Node type this
test does not know fails it, so a new type cannot skip the check."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from backend.core.ids import to_global_id
from tenants.demo import create_demo_tenant

# Node type -> (table, the column whose value the global ID carries)
TABLES = {
    "Account": ("fin_account", "id"), "Activity": ("crm_activity", "id"), "ApiClient": ("api_client", "id"),
    "Bill": ("fin_bill", "id"), "Campaign": ("crm_campaign", "id"), "Case": ("crm_case", "id"),
    "Contact": ("crm_contact", "id"), "Customer": ("crm_customer", "id"), "Fulfillment": ("ord_fulfillment", "id"),
    "Invoice": ("fin_invoice", "id"), "JournalEntry": ("fin_journal_entry", "id"), "Lead": ("crm_lead", "id"),
    "Member": ("membership", "id"), "Opportunity": ("crm_opportunity", "id"), "Order": ("ord_order", "id"),
    "OrderLine": ("ord_order_line", "id"), "Payment": ("fin_payment", "id"), "PriceList": ("inv_price_list", "id"),
    "Product": ("inv_product", "id"), "ProductCategory": ("inv_category", "id"),
    "ReorderRule": ("inv_reorder_rule", "id"), "Return": ("ord_return", "id"), "StockCount": ("inv_count", "id"),
    "StockMove": ("inv_stock_move", "id"), "Tenant": ("tenant", "id"), "User": ("membership", "user_id"),
    "Warehouse": ("inv_warehouse", "id"),
    "Note": ("test_note", "id"), "NoteFolder": ("test_note_folder", "id"),  # the test-only module
}


@pytest.fixture(scope="module")
async def two_demo_tenants(db, registry):  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:8]
    a = await create_demo_tenant(db, registry=registry, slug=f"node-a-{suffix}", name="Node A", scale=8)
    b = await create_demo_tenant(db, registry=registry, slug=f"node-b-{suffix}", name="Node B", scale=8)
    return a, b


async def test_every_node_type_is_known_here(app):  # type: ignore[no-untyped-def]
    registered = {source.type_name for source in app.state.schema.nodes}
    assert registered == set(TABLES), f"add the new Node types to TABLES: {registered ^ set(TABLES)}"


async def test_another_tenants_objects_are_null_for_every_node_type(gql, db, registry, two_demo_tenants):
    a, b = two_demo_tenants
    everything = tuple(registry.all_permissions())
    ids = []
    async with db.owner_engine.connect() as conn:
        for type_name, (table, column) in TABLES.items():
            where = "id = :a" if table == "tenant" else "tenant_id = :a"
            pk = await conn.scalar(text(f"SELECT {column} FROM {table} WHERE {where} LIMIT 1"), {"a": a})
            assert pk is not None, f"the demo seed has no {type_name}"
            ids.append((type_name, to_global_id(type_name, pk)))
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    own = await gql(query, {"ids": [gid for _, gid in ids]}, tenant=a, permissions=everything)
    missing = [t for (t, _), node in zip(ids, own["data"]["nodes"], strict=True) if node is None]
    assert missing == [], f"tenant A cannot see its own {missing}"
    other = await gql(query, {"ids": [gid for _, gid in ids]}, tenant=b, permissions=everything)
    leaked = [t for (t, _), node in zip(ids, other["data"]["nodes"], strict=True) if node is not None]
    assert leaked == [], f"tenant B sees tenant A's {leaked}"
    for type_name, gid in ids:
        r = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, tenant=b, permissions=everything)
        assert r["data"]["node"] is None, type_name
