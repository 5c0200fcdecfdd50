"""Counts, price lists, reorder rules and suggestions, valuation and turnover, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.modules.inventory.conftest import INVENTORY_PERMISSIONS
from tests.modules.inventory.test_stock_api import RECEIVE, Stock

COUNT = """fragment C on StockCount { id name status warehouse { code }
  lines { product { sku } expected counted postedDifference } }"""


@pytest.fixture
async def stock(gql, make_tenant) -> Stock:  # type: ignore[no-untyped-def]
    return Stock(gql, await make_tenant(), permissions=(*INVENTORY_PERMISSIONS, "crm.write"))


async def test_a_cycle_count_posts_differences_against_stock_at_posting(stock: Stock):
    main = await stock.main()
    a = (await stock.product(sku="A", cost="2"))["product"]["id"]
    b = (await stock.product(sku="B", cost="3"))["product"]["id"]
    c = (await stock.product(sku="C"))["product"]["id"]
    await stock.adjust(productId=a, warehouseId=main, quantityDelta="10")
    await stock.adjust(productId=b, warehouseId=main, quantityDelta="5")
    r = await stock(COUNT + """mutation($in: StockCountCreateInput!) { stockCountCreate(input: $in) {
        stockCount { ...C } userErrors { field code } } }""", {"in": {"warehouseId": main, "name": "Shelf 1"}})
    sheet = r["data"]["stockCountCreate"]["stockCount"]
    assert [(x["product"]["sku"], x["expected"]) for x in sheet["lines"]] == [("A", "10"), ("B", "5")]
    await stock.adjust(productId=a, warehouseId=main, quantityDelta="-1")  # a sale while counting
    r = await stock(COUNT + """mutation($in: StockCountSetInput!) { stockCountSet(input: $in) {
        stockCount { ...C } userErrors { field code } } }""", {"in": {"id": sheet["id"], "lines": [
        {"productId": a, "countedQuantity": "7"}, {"productId": c, "countedQuantity": "2"},
        {"productId": b, "countedQuantity": "-1"}]}})
    assert r["data"]["stockCountSet"]["userErrors"] == [{"field": ["input", "lines", "2", "countedQuantity"],
                                                         "code": "NEGATIVE_QUANTITY"}]
    r = await stock(COUNT + """mutation($in: StockCountSetInput!) { stockCountSet(input: $in) {
        stockCount { ...C } userErrors { field code } } }""", {"in": {"id": sheet["id"], "lines": [
        {"productId": a, "countedQuantity": "7"}, {"productId": c, "countedQuantity": "2"}]}})
    assert [(x["product"]["sku"], x["counted"]) for x in r["data"]["stockCountSet"]["stockCount"]["lines"]] == [
        ("A", "7"), ("B", None), ("C", "2")]
    post = COUNT + """mutation($in: StockCountPostInput!) { stockCountPost(input: $in) {
        stockCount { ...C } stockMoves { kind quantity product { sku } } userErrors { field code } } }"""
    r = await stock(post, {"in": {"id": sheet["id"]}})
    done = r["data"]["stockCountPost"]
    assert done["userErrors"] == [] and done["stockCount"]["status"] == "POSTED"
    assert [(m["product"]["sku"], m["kind"], m["quantity"]) for m in done["stockMoves"]] == [
        ("A", "COUNT", "-2"), ("C", "COUNT", "2")]  # A: 9 on hand at posting, counted 7; B not counted
    assert [(x["product"]["sku"], x["postedDifference"]) for x in done["stockCount"]["lines"]] == [
        ("A", "-2"), ("B", None), ("C", "2")]
    r = await stock(post, {"in": {"id": sheet["id"]}})
    assert r["data"]["stockCountPost"]["userErrors"][0]["code"] == "COUNT_CLOSED"


async def test_price_lists_resolve_by_customer_quantity_and_date(stock: Stock):
    tea = (await stock.product(sku="TEA", unitPrice="100"))["product"]["id"]
    cup = (await stock.product(sku="CUP", unitPrice="20"))["product"]["id"]
    r = await stock("""mutation { customerCreate(input: {name: "Wholesale Buyer"}) { customer { id } } }""")
    buyer = r["data"]["customerCreate"]["customer"]["id"]
    r = await stock("""mutation { priceListCreate(input: {name: "Wholesale"}) { priceList { id } } }""")
    wholesale = r["data"]["priceListCreate"]["priceList"]["id"]
    soon = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    r = await stock("""mutation($in: PriceListSetPricesInput!) { priceListSetPrices(input: $in) {
        priceList { items { product { sku } price { amount } minQuantity validFrom } } userErrors { field code } } }""",
                    {"in": {"id": wholesale, "prices": [
                        {"productId": tea, "price": "80"}, {"productId": tea, "price": "70", "minQuantity": "10"},
                        {"productId": cup, "price": "1", "validFrom": soon}]}})
    assert r["data"]["priceListSetPrices"]["userErrors"] == []
    r = await stock("""mutation($in: PriceListAssignInput!) { priceListAssign(input: $in) { userErrors { code } } }""",
                    {"in": {"id": wholesale, "customerIds": [buyer]}})
    assert r["data"]["priceListAssign"]["userErrors"] == []
    quote = """query($c: ID, $lines: [PriceQuoteLineInput!]!) { priceQuote(customerId: $c, lines: $lines) {
        product { sku } unitPrice { amount } priceList { name } } }"""
    lines = [{"productId": tea, "quantity": "1"}, {"productId": tea, "quantity": "12"}, {"productId": cup}]
    r = await stock(quote, {"c": buyer, "lines": lines})
    assert [(x["unitPrice"]["amount"], x["priceList"] and x["priceList"]["name"]) for x in r["data"]["priceQuote"]] == [
        ("80.00", "Wholesale"), ("70.00", "Wholesale"), ("20.00", None)]  # the cup's price starts next month
    r = await stock(quote, {"c": None, "lines": lines})
    assert [x["unitPrice"]["amount"] for x in r["data"]["priceQuote"]] == ["100.00", "100.00", "20.00"]


async def test_replenishment_moves_surplus_then_buys_in_multiples(stock: Stock):
    main = await stock.main()
    south = await stock.warehouse("SOUTH")
    p = (await stock.product(sku="REORDER"))["product"]["id"]
    await stock.adjust(productId=p, warehouseId=main, quantityDelta="5")
    await stock.adjust(productId=p, warehouseId=south, quantityDelta="30")
    rule = """mutation($in: ReorderRuleSetInput!) { reorderRuleSet(input: $in) {
        reorderRule { id minimum maximum multiple } userErrors { field code } } }"""
    r = await stock(rule, {"in": {"productId": p, "warehouseId": main, "minimum": "20", "maximum": "60",
                                  "multiple": "12"}})
    assert r["data"]["reorderRuleSet"]["reorderRule"]["maximum"] == "60"
    r = await stock(rule, {"in": {"productId": p, "warehouseId": south, "minimum": "5", "maximum": "10"}})
    assert r["data"]["reorderRuleSet"]["userErrors"] == []
    bad = await stock(rule, {"in": {"productId": p, "warehouseId": main, "minimum": "9", "maximum": "3"}})
    assert bad["data"]["reorderRuleSet"]["userErrors"] == [{"field": ["input", "maximum"], "code": "INVALID_RANGE"}]
    query = """{ replenishmentSuggestions { action quantity available product { sku } warehouse { code }
        fromWarehouse { code } } }"""
    r = await stock(query)
    # main needs 60 - 5 = 55: SOUTH can spare 30 - 10 = 20, the other 35 are bought in 12s (36).
    assert r["data"]["replenishmentSuggestions"] == [
        {"action": "MOVE", "quantity": "20", "available": "5", "product": {"sku": "REORDER"},
         "warehouse": {"code": "MAIN"}, "fromWarehouse": {"code": "SOUTH"}},
        {"action": "BUY", "quantity": "36", "available": "5", "product": {"sku": "REORDER"},
         "warehouse": {"code": "MAIN"}, "fromWarehouse": None}]


async def test_valuation_at_a_past_date_and_turnover(stock: Stock):
    main = await stock.main()
    p = (await stock.product(sku="VAL", cost="0"))["product"]["id"]
    r = await stock(RECEIVE, {"in": {"lines": [{"productId": p, "warehouseId": main, "quantity": "10",
                                                "unitCost": "4"}]}})
    assert r["data"]["stockReceive"]["userErrors"] == []
    between = datetime.now(UTC).isoformat()
    await stock(RECEIVE, {"in": {"lines": [{"productId": p, "warehouseId": main, "quantity": "10", "unitCost": "8"}]}})
    await stock.adjust(productId=p, warehouseId=main, quantityDelta="-5")  # at the average, 6
    valuation = """query($at: DateTime) { stockValuation(asOf: $at) { total { amount } lines { quantity
        value { amount } warehouse { code } } } }"""
    r = await stock(valuation, {"at": between})
    assert r["data"]["stockValuation"]["total"]["amount"] == "40.00"
    r = await stock(valuation, {"at": None})
    assert r["data"]["stockValuation"]["lines"] == [{"quantity": "15", "value": {"amount": "90.00"},
                                                     "warehouse": {"code": "MAIN"}}]
    r = await stock("""query($from: DateTime!) { stockTurnover(from: $from) { costOfGoodsShipped { amount }
        averageValue { amount } ratio } }""", {"from": (datetime.now(UTC) - timedelta(days=1)).isoformat()})
    assert r["data"]["stockTurnover"] == {"costOfGoodsShipped": {"amount": "0.00"}, "averageValue": {"amount": "45.00"},
                                          "ratio": "0.00"}


async def test_another_tenants_ids_are_refused_everywhere(stock: Stock, gql, make_tenant):
    main = await stock.main()
    mine = (await stock.product(sku="MINE"))["product"]["id"]
    await stock.adjust(productId=mine, warehouseId=main, quantityDelta="5")
    other = Stock(gql, await make_tenant(), permissions=stock.permissions)
    theirs = (await other.product(sku="THEIRS"))["product"]["id"]
    their_main = await other.main()
    r = await other("""mutation($w: ID!) { stockCountCreate(input: {warehouseId: $w}) { stockCount { id } } }""",
                    {"w": their_main})
    assert r["data"]["stockCountCreate"]["stockCount"] is None  # nothing to count there yet
    await other.adjust(productId=theirs, warehouseId=their_main, quantityDelta="1")
    r = await other("""mutation($w: ID!) { stockCountCreate(input: {warehouseId: $w}) { stockCount { id } } }""",
                    {"w": their_main})
    their_count = r["data"]["stockCountCreate"]["stockCount"]["id"]
    their_list = (await other("""mutation { priceListCreate(input: {name: "Theirs"}) { priceList { id } } }"""
                              ))["data"]["priceListCreate"]["priceList"]["id"]
    attempts = [
        ("stockTransfer", "StockTransferInput", {"productId": mine, "fromWarehouseId": main,
                                                 "toWarehouseId": their_main, "quantity": "1"}, "toWarehouseId"),
        ("stockCountCreate", "StockCountCreateInput", {"warehouseId": their_main}, "warehouseId"),
        ("stockCountCreate", "StockCountCreateInput", {"warehouseId": main, "productIds": [theirs]}, "productIds"),
        ("stockCountSet", "StockCountSetInput", {"id": their_count, "lines": []}, "id"),
        ("stockCountPost", "StockCountPostInput", {"id": their_count}, "id"),
        ("priceListSetPrices", "PriceListSetPricesInput", {"id": their_list, "prices": []}, "id"),
        ("priceListSetPrices", "PriceListSetPricesInput", {"id": (await stock(
            """mutation { priceListCreate(input: {name: "Mine"}) { priceList { id } } }"""))["data"][
            "priceListCreate"]["priceList"]["id"], "prices": [{"productId": theirs, "price": "1"}]}, "prices"),
        ("reorderRuleSet", "ReorderRuleSetInput", {"productId": theirs, "warehouseId": main, "minimum": "1",
                                                   "maximum": "2"}, "productId"),
        ("reorderRuleSet", "ReorderRuleSetInput", {"productId": mine, "warehouseId": their_main, "minimum": "1",
                                                   "maximum": "2"}, "warehouseId"),
    ]
    for mutation, input_type, value, field in attempts:
        r = await stock(f"mutation($in: {input_type}!) {{ {mutation}(input: $in) {{ userErrors {{ field code }} }} }}",
                        {"in": value})
        errors = r["data"][mutation]["userErrors"]
        assert errors and errors[0]["code"] == "NOT_FOUND" and errors[0]["field"][1] == field, (mutation, r)
    for gid in (their_count, their_list, their_main):
        assert (await stock("query($id: ID!) { node(id: $id) { id } }", {"id": gid}))["data"]["node"] is None
    r = await stock("{ stockCounts(first: 10) { totalCount } priceLists(first: 10) { totalCount } }")
    assert r["data"] == {"stockCounts": {"totalCount": 0}, "priceLists": {"totalCount": 1}}


async def test_a_merged_customers_price_list_goes_to_the_survivor(stock: Stock):
    tea = (await stock.product(sku="TEA", unitPrice="100"))["product"]["id"]
    ids = []
    for name in ("Jade Tea House", "Jade Tea House Ltd"):
        r = await stock("mutation($n: String!) { customerCreate(input: {name: $n, allowDuplicate: true}) "
                        "{ customer { id } } }", {"n": name})
        ids.append(r["data"]["customerCreate"]["customer"]["id"])
    r = await stock("""mutation { priceListCreate(input: {name: "VIP"}) { priceList { id } } }""")
    vip = r["data"]["priceListCreate"]["priceList"]["id"]
    await stock("""mutation($l: ID!, $p: ID!) { priceListSetPrices(input: {id: $l, prices: [{productId: $p,
        price: "90"}]}) { userErrors { code } } }""", {"l": vip, "p": tea})
    await stock("""mutation($l: ID!, $c: ID!) { priceListAssign(input: {id: $l, customerIds: [$c]}) {
        userErrors { code } } }""", {"l": vip, "c": ids[1]})
    r = await stock("""mutation($s: ID!, $m: ID!) { customerMerge(input: {survivorId: $s, mergedId: $m}) {
        userErrors { code } } }""", {"s": ids[0], "m": ids[1]})
    assert r["data"]["customerMerge"]["userErrors"] == []
    r = await stock("""query($c: ID, $p: ID!) { priceQuote(customerId: $c, lines: [{productId: $p}]) {
        unitPrice { amount } } }""", {"c": ids[0], "p": tea})
    assert r["data"]["priceQuote"] == [{"unitPrice": {"amount": "90.00"}}]
