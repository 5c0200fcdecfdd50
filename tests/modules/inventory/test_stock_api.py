"""Stock over HTTP: adjustments, receipts with the moving average, transfers, the ledger, batching."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.modules.inventory.test_catalog_api import Client

MOVES = "stockMoves { kind quantity unitCost { amount } value { amount } reason sourceId warehouse { code } }"
LEVELS = "stockLevels { onHand reserved available warehouse { code } }"
ADJUST = f"""mutation($in: StockAdjustInput!) {{ stockAdjust(input: $in) {{ {MOVES} {LEVELS}
  userErrors {{ field code message }} }} }}"""
RECEIVE = f"""mutation($in: StockReceiveInput!) {{ stockReceive(input: $in) {{ {MOVES} {LEVELS}
  userErrors {{ field code message }} }} }}"""
TRANSFER = f"""mutation($in: StockTransferInput!) {{ stockTransfer(input: $in) {{ {MOVES} {LEVELS}
  userErrors {{ field code message }} }} }}"""
PRODUCT = "query($id: ID!) { node(id: $id) { ... on Product { cost { amount } stockLevels { onHand warehouse { code } } } } }"


class Stock(Client):
    async def warehouse(self, code: str, **extra) -> str:  # type: ignore[no-untyped-def]
        r = await self("""mutation($in: WarehouseCreateInput!) { warehouseCreate(input: $in) {
            warehouse { id code isDefault } userErrors { field code } } }""", {"in": {"code": code, "name": code,
                                                                                     **extra}})
        assert r["data"]["warehouseCreate"]["userErrors"] == [], r
        return r["data"]["warehouseCreate"]["warehouse"]["id"]

    async def main(self) -> str:
        r = await self("{ warehouses(first: 10) { nodes { id code isDefault } } }")
        return next(w["id"] for w in r["data"]["warehouses"]["nodes"] if w["isDefault"])

    async def adjust(self, **fields) -> dict:  # type: ignore[no-untyped-def]
        fields.setdefault("reason", "count")
        return (await self(ADJUST, {"in": fields}))["data"]["stockAdjust"]


@pytest.fixture
async def stock(gql, make_tenant) -> Stock:  # type: ignore[no-untyped-def]
    return Stock(gql, await make_tenant())


async def test_the_default_warehouse_exists_and_adjustments_post_moves(stock: Stock):
    main = await stock.main()
    p = (await stock.product(sku="TEA-1", cost="4.00"))["product"]["id"]
    done = await stock.adjust(productId=p, warehouseId=main, quantityDelta="12", reason="Opening count")
    assert done["userErrors"] == []
    assert done["stockMoves"] == [{"kind": "ADJUSTMENT", "quantity": "12", "unitCost": {"amount": "4"},
                                   "value": {"amount": "48.00"}, "reason": "Opening count", "sourceId": None,
                                   "warehouse": {"code": "MAIN"}}]
    assert done["stockLevels"] == [{"onHand": "12", "reserved": "0", "available": "12", "warehouse": {"code": "MAIN"}}]
    done = await stock.adjust(productId=p, warehouseId=main, quantityDelta="-5", reason="Breakage")
    assert done["stockLevels"][0]["onHand"] == "7" and done["stockMoves"][0]["value"] == {"amount": "-20.00"}


async def test_bad_adjustments_are_refused_and_write_nothing(stock: Stock, gql, make_tenant):
    main = await stock.main()
    p = (await stock.product(sku="CUP-1"))["product"]["id"]
    kg = (await stock.product(sku="TEA-KG", unit="kg"))["product"]["id"]
    svc = (await stock.product(sku="SVC-1", type="SERVICE"))["product"]["id"]
    await stock.adjust(productId=p, warehouseId=main, quantityDelta="3")
    other = Stock(gql, await make_tenant())
    foreign_product = (await other.product(sku="THEIRS"))["product"]["id"]
    foreign_warehouse = await other.main()
    for fields, code, field in [
        ({"productId": p, "quantityDelta": "-4"}, "INSUFFICIENT_STOCK", "quantityDelta"),
        ({"productId": p, "quantityDelta": "0"}, "ZERO_QUANTITY", "quantityDelta"),
        ({"productId": p, "quantityDelta": "1.5"}, "INVALID_QUANTITY", "quantityDelta"),  # pieces are whole
        ({"productId": kg, "quantityDelta": "0.0005"}, "INVALID_QUANTITY", "quantityDelta"),
        ({"productId": p, "quantityDelta": "1", "reason": " "}, "REQUIRED", "reason"),
        ({"productId": svc, "quantityDelta": "1"}, "NOT_STOCKED", "productId"),
        ({"productId": foreign_product, "quantityDelta": "1"}, "NOT_FOUND", "productId"),
        ({"productId": p, "warehouseId": foreign_warehouse, "quantityDelta": "1"}, "NOT_FOUND", "warehouseId"),
        ({"productId": p, "quantityDelta": "-1", "unitCost": "3"}, "COST_ON_DECREASE", "unitCost"),
    ]:
        done = await stock.adjust(**{"warehouseId": main, **fields})
        assert [(e["code"], e["field"]) for e in done["userErrors"]] == [(code, ["input", field])], (fields, done)
    assert (await stock.adjust(productId=kg, warehouseId=main, quantityDelta="0.25"))["userErrors"] == []
    r = await stock(PRODUCT, {"id": p})
    assert r["data"]["node"]["stockLevels"] == [{"onHand": "3", "warehouse": {"code": "MAIN"}}]
    r = await stock("{ stockMoves(first: 50) { totalCount } }")
    assert r["data"]["stockMoves"]["totalCount"] == 2
    assert (await other("{ stockMoves(first: 50) { totalCount } }"))["data"]["stockMoves"]["totalCount"] == 0


async def test_an_idempotency_key_posts_once(stock: Stock):
    main = await stock.main()
    p = (await stock.product(sku="IDEM"))["product"]["id"]
    first = await stock.adjust(productId=p, warehouseId=main, quantityDelta="5", idempotencyKey="count-2026-11-1")
    again = await stock.adjust(productId=p, warehouseId=main, quantityDelta="5", idempotencyKey="count-2026-11-1")
    assert again["userErrors"] == [] and again["stockMoves"] == first["stockMoves"]
    assert again["stockLevels"][0]["onHand"] == "5"
    changed = await stock.adjust(productId=p, warehouseId=main, quantityDelta="6", idempotencyKey="count-2026-11-1")
    assert changed["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    r = await stock("{ stockMoves(first: 50) { totalCount } }")
    assert r["data"]["stockMoves"]["totalCount"] == 1


async def test_receipts_update_the_moving_average_cost(stock: Stock):
    main = await stock.main()
    p = (await stock.product(sku="AVG", cost="0"))["product"]["id"]
    for quantity, cost in (("10", "4.00"), ("30", "6.00")):
        r = await stock(RECEIVE, {"in": {"lines": [{"productId": p, "warehouseId": main, "quantity": quantity,
                                                    "unitCost": cost}], "reference": "DN-1"}})
        assert r["data"]["stockReceive"]["userErrors"] == [], r
    node = (await stock(PRODUCT, {"id": p}))["data"]["node"]
    assert node["cost"]["amount"] == "5.50"  # (10 x 4 + 30 x 6) / 40
    # A decrease is valued at the average, and does not change it.
    done = await stock.adjust(productId=p, warehouseId=main, quantityDelta="-4")
    assert done["stockMoves"][0]["value"] == {"amount": "-22.00"}
    assert (await stock(PRODUCT, {"id": p}))["data"]["node"]["cost"]["amount"] == "5.50"
    r = await stock(RECEIVE, {"in": {"lines": [{"productId": p, "warehouseId": main, "quantity": "-1"}]}})
    assert r["data"]["stockReceive"]["userErrors"][0] == {"field": ["input", "lines", "0", "quantity"],
                                                          "code": "NEGATIVE_QUANTITY",
                                                          "message": "The quantity must be positive."}


async def test_transfers_move_both_sides_in_one_step(stock: Stock):
    main = await stock.main()
    south = await stock.warehouse("SOUTH", priority=20)
    p = (await stock.product(sku="MOVE", cost="2"))["product"]["id"]
    await stock.adjust(productId=p, warehouseId=main, quantityDelta="10")
    r = await stock(TRANSFER, {"in": {"productId": p, "fromWarehouseId": main, "toWarehouseId": south,
                                      "quantity": "4", "idempotencyKey": "t-1"}})
    done = r["data"]["stockTransfer"]
    assert [(m["kind"], m["quantity"], m["warehouse"]["code"]) for m in done["stockMoves"]] == [
        ("TRANSFER_OUT", "-4", "MAIN"), ("TRANSFER_IN", "4", "SOUTH")]
    assert sorted((lv["warehouse"]["code"], lv["onHand"]) for lv in done["stockLevels"]) == [("MAIN", "6"),
                                                                                           ("SOUTH", "4")]
    for fields, code, field in [({"toWarehouseId": main}, "SAME_WAREHOUSE", "toWarehouseId"),
                                ({"quantity": "7"}, "INSUFFICIENT_STOCK", "quantity"),
                                ({"quantity": "-1"}, "NEGATIVE_QUANTITY", "quantity")]:
        r = await stock(TRANSFER, {"in": {"productId": p, "fromWarehouseId": main, "toWarehouseId": south,
                                          "quantity": "1", **fields}})
        assert [(e["code"], e["field"]) for e in r["data"]["stockTransfer"]["userErrors"]] == [
            (code, ["input", field])]
    r = await stock("""query($p: ID!) { stockMoves(first: 10, filter: {productId: $p, kind: TRANSFER_IN}) {
        nodes { quantity warehouse { code } product { sku } } } }""", {"p": p})
    assert r["data"]["stockMoves"]["nodes"] == [{"quantity": "4", "warehouse": {"code": "SOUTH"},
                                                 "product": {"sku": "MOVE"}}]


async def test_warehouse_rules(stock: Stock):
    main = await stock.main()
    south = await stock.warehouse("SOUTH")
    p = (await stock.product(sku="W"))["product"]["id"]
    await stock.adjust(productId=p, warehouseId=south, quantityDelta="1")
    update = """mutation($in: WarehouseUpdateInput!) { warehouseUpdate(input: $in) {
        warehouse { code active isDefault } userErrors { field code } } }"""
    for fields, code in [({"id": main, "active": False}, "DEFAULT_REQUIRED"),
                         ({"id": south, "active": False}, "WAREHOUSE_NOT_EMPTY"),
                         ({"id": main, "isDefault": False}, "DEFAULT_REQUIRED")]:
        r = await stock(update, {"in": fields})
        assert r["data"]["warehouseUpdate"]["userErrors"][0]["code"] == code
    r = await stock(update, {"in": {"id": south, "isDefault": True}})
    assert r["data"]["warehouseUpdate"]["warehouse"]["isDefault"] is True
    r = await stock("{ warehouses(first: 10) { nodes { code isDefault } } }")
    assert r["data"]["warehouses"]["nodes"] == [{"code": "MAIN", "isDefault": False},
                                                {"code": "SOUTH", "isDefault": True}]
    r = await stock("""mutation { warehouseCreate(input: {code: "main", name: "again"}) { userErrors { code } } }""")
    assert r["data"]["warehouseCreate"]["userErrors"][0]["code"] == "DUPLICATE_CODE"


async def test_the_ledger_is_append_only_for_the_runtime_role(stock: Stock, db):
    main = await stock.main()
    p = (await stock.product(sku="LEDGER"))["product"]["id"]
    await stock.adjust(productId=p, warehouseId=main, quantityDelta="2")
    async with db.app_engine.connect() as conn:
        for statement in ("UPDATE inv_stock_move SET quantity = 100", "DELETE FROM inv_stock_move"):
            async with conn.begin():
                await conn.execute(text(f"SET LOCAL app.tenant_id = '{stock.tenant}'"))
                with pytest.raises(DBAPIError, match="permission denied"):
                    await conn.execute(text(statement))
        async with conn.begin():
            await conn.execute(text(f"SET LOCAL app.tenant_id = '{stock.tenant}'"))
            with pytest.raises(DBAPIError, match="ck_inv_stock_level"):  # the CHECK holds whatever the code does
                await conn.execute(text("UPDATE inv_stock_level SET reserved = on_hand + 1"))


async def test_a_page_of_products_with_stock_levels_is_constant_sql(stock: Stock, count_sql):
    main = await stock.main()
    south = await stock.warehouse("SOUTH")
    for i in range(55):
        p = (await stock.product(sku=f"BULK-{i:03d}"))["product"]["id"]
        await stock.adjust(productId=p, warehouseId=main, quantityDelta="3")
        if i % 2:
            await stock.adjust(productId=p, warehouseId=south, quantityDelta="1")
    query = ("{ products(first: %d) { nodes { sku unitPrice { amount } category { name } "
             "stockLevels { onHand available warehouse { code } } } } }")
    counts = []
    for size in (5, 50):
        count_sql.statements.clear()
        r = await stock(query % size)
        assert len(r["data"]["products"]["nodes"]) == size, r
        counts.append(len(count_sql.queries))
    assert counts[0] == counts[1], count_sql.queries
    assert counts[1] <= 8
