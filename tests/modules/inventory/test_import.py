"""CSV import of products and opening stock, over HTTP and the CLI."""

from __future__ import annotations

import time

from tests.modules.inventory.conftest import INVENTORY_PERMISSIONS
from tests.modules.inventory.test_stock_api import Stock
from tests.support.auth import PERMISSIONS_HEADER, TENANT_HEADER

PRODUCTS = """Article,name,type,unit,price,cost,category,barcode
LJ-250,Longjing 250 g,stocked,kg,128.50,60,Tea/Green tea,6901
CUP-1,Celadon cup,,,35,12,Teaware,
BAD 1,Has a space,,,10,,,
SVC-1,Tasting,service,hour,380,,Services,
NEW-2,,,,,,,
FUR-1,Furlong rope,,furlong,5,,,
"""


async def upload(client, tenant, path: str, body: str, **params) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    r = await client.post(path, params=params, content=body.encode(), headers={
        TENANT_HEADER: str(tenant), PERMISSIONS_HEADER: ",".join(INVENTORY_PERMISSIONS), "content-type": "text/csv"})
    return r.status_code, r.json()


async def test_products_import_dry_run_then_skip_invalid_then_update(client, gql, make_tenant):
    tenant = await make_tenant()
    stock = Stock(gql, tenant)
    status, report = await upload(client, tenant, "/inventory/import/products", PRODUCTS, dryRun="true",
                                  map="Article:sku")
    assert status == 422 and report["written"] is False and report["rows"] == 6
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "sku"), (5, "name"), (5, "unit_price"), (6, "unit")]
    status, report = await upload(client, tenant, "/inventory/import/products", PRODUCTS, map="Article:sku")
    assert status == 422 and report["written"] is False  # all or nothing
    assert (await stock("{ products(first: 10) { totalCount } }"))["data"]["products"]["totalCount"] == 0
    status, report = await upload(client, tenant, "/inventory/import/products", PRODUCTS, map="Article:sku",
                                  mode="skip_invalid")
    assert status == 200 and (report["created"], report["updated"], report["skipped"]) == (3, 0, 3)
    r = await stock("""{ products(first: 10, sort: {field: SKU}) { nodes { sku type unit unitPrice { amount }
        cost { amount } category { name parent { name } } } } }""")
    assert r["data"]["products"]["nodes"] == [
        {"sku": "CUP-1", "type": "STOCKED", "unit": "unit", "unitPrice": {"amount": "35.00"}, "cost": {"amount": "12.00"},
         "category": {"name": "Teaware", "parent": None}},
        {"sku": "LJ-250", "type": "STOCKED", "unit": "kg", "unitPrice": {"amount": "128.50"},
         "cost": {"amount": "60.00"}, "category": {"name": "Green tea", "parent": {"name": "Tea"}}},
        {"sku": "SVC-1", "type": "SERVICE", "unit": "hour", "unitPrice": {"amount": "380.00"}, "cost": {"amount": "0.00"},
         "category": {"name": "Services", "parent": None}}]
    status, report = await upload(client, tenant, "/inventory/import/products", "sku,price\nCUP-1,39\n")
    assert status == 200 and (report["created"], report["updated"]) == (0, 1)
    r = await stock("""{ products(first: 10, filter: {query: "CUP-1"}) { nodes { name unitPrice { amount } } } }""")
    assert r["data"]["products"]["nodes"] == [{"name": "Celadon cup", "unitPrice": {"amount": "39.00"}}]


async def test_opening_stock_import_posts_one_receipt_once_per_key(client, gql, make_tenant):
    tenant = await make_tenant()
    stock = Stock(gql, tenant)
    await stock.warehouse("SZ")
    await upload(client, tenant, "/inventory/import/products", "sku,name,price,cost,unit\nT-1,Tea,10,4,kg\nC-1,Cup,5,2,unit\n")
    body = "sku,warehouse,quantity,unit_cost\nT-1,main,12.5,6\nC-1,SZ,40,\nC-1,SZ,1,\nNOPE,MAIN,1,\nC-1,XX,1,\nC-1,MAIN,1.5,\n"
    status, report = await upload(client, tenant, "/inventory/import/stock", body)
    assert status == 422 and [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "sku"), (4, "sku"), (5, "warehouse"), (6, "quantity")]
    good = "sku,warehouse,quantity,unit_cost\nT-1,main,12.5,6\nC-1,SZ,40,\n"
    for _ in range(2):
        status, report = await upload(client, tenant, "/inventory/import/stock", good, idempotencyKey="opening-1")
        assert status == 200 and report["created"] == 2
    r = await stock("""{ stockMoves(first: 10) { totalCount nodes { kind quantity unitCost { amount } } } }""")
    assert r["data"]["stockMoves"]["totalCount"] == 2  # the second upload replayed the first
    r = await stock("""{ products(first: 10, sort: {field: SKU}) { nodes { sku cost { amount }
        stockLevels { onHand warehouse { code } } } } }""")
    assert r["data"]["products"]["nodes"] == [
        {"sku": "C-1", "cost": {"amount": "2.00"}, "stockLevels": [{"onHand": "40", "warehouse": {"code": "SZ"}}]},
        {"sku": "T-1", "cost": {"amount": "6.00"}, "stockLevels": [{"onHand": "12.5", "warehouse": {"code": "MAIN"}}]}]


def test_cli_imports_products_and_stock(tmp_path, owner_url, monkeypatch):
    from typer.testing import CliRunner

    from backend.cli import app
    from backend.settings import get_settings
    from tests.conftest import APP_PASSWORD, APP_USER

    monkeypatch.setenv("JISHI_DATABASE_URL", owner_url)
    monkeypatch.setenv("JISHI_APP_DB_USER", APP_USER)
    monkeypatch.setenv("JISHI_APP_DB_PASSWORD", APP_PASSWORD)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        slug = f"inv-{int(time.time() * 1000) % 10**9}"
        assert runner.invoke(app, ["tenant", "create", "--name", "CLI Stock", "--slug", slug,
                                   "--plan", "growth"]).exit_code == 0
        products = tmp_path / "products.csv"
        products.write_text("sku,name,price\nA-1,Alpha,3\nB 2,Bad,1\n", encoding="utf-8")
        result = runner.invoke(app, ["import", "products", str(products), "--tenant", slug])
        assert result.exit_code == 1 and "row 2: sku: required, without spaces" in result.output
        result = runner.invoke(app, ["import", "products", str(products), "--tenant", slug, "--skip-invalid"])
        assert result.exit_code == 0 and "1 created, 0 updated, 1 invalid" in result.output, result.output
        stock = tmp_path / "stock.csv"
        stock.write_text("sku,warehouse,quantity\nA-1,MAIN,7\n", encoding="utf-8")
        result = runner.invoke(app, ["import", "stock", str(stock), "--tenant", slug])
        assert result.exit_code == 0 and "1 created" in result.output, result.output
    finally:
        get_settings.cache_clear()
