"""Orders, stock and payments post themselves; the books stay balanced and tie to the documents."""

from __future__ import annotations

from tests.modules.finance.conftest import PERMISSIONS, Books
from tests.modules.orders.test_flow_api import DELIVER, FULFIL, SHIP

INVOICES = """query($id: ID!) { node(id: $id) { ... on Order { invoices { id number status total { amount }
  order { number }
  balanceDue { amount } lines { description subtotal { amount } tax { amount } }
  journalEntries { kind lines { account { role } debit credit } } } } } }"""
PAY = """mutation($in: PaymentRecordInput!) { paymentRecord(input: $in) {
  payment { number amount { amount } unapplied { amount } } userErrors { field code message } } }"""


async def _sold(books: Books, quantity: str = "3") -> tuple[str, str]:
    r = await books("""mutation { orderTaxRateSet(input: {taxCategory: "standard", rate: "13"}) { userErrors { code } } }""")
    customer = await books.customer()
    tea = await books.stocked("TEA", "0", unitPrice="100", cost="40", taxCategory="standard")
    r = await books("""mutation($p: ID!, $w: ID!) { stockReceive(input: {lines: [{productId: $p, warehouseId: $w,
        quantity: "10", unitCost: "40"}]}) { userErrors { code } } }""", {"p": tea, "w": await books.main()})
    assert r["data"]["stockReceive"]["userErrors"] == []
    oid = (await books.order(customer, [{"productId": tea, "quantity": quantity}], shippingAmount="20"))["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await books.act(step, oid)
    return oid, customer


async def test_an_order_is_invoiced_on_approval_and_costed_on_shipment(books: Books):
    oid, customer = await _sold(books)
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    # 3 x 100 = 300 + 13 % tax 39 + shipping 20 = 359
    assert (invoice["status"], invoice["total"], invoice["balanceDue"]) == (
        "ISSUED", {"amount": "359.00"}, {"amount": "359.00"})
    issue = invoice["journalEntries"][0]
    assert sorted((x["account"]["role"], x["debit"], x["credit"]) for x in issue["lines"]) == [
        ("ar", "359.00", "0.00"), ("revenue", "0.00", "300.00"), ("shipping_revenue", "0.00", "20.00"),
        ("tax_payable", "0.00", "39.00")]
    assert await books.balance("inventory") == "400.00" and await books.balance("grni") == "-400.00"
    fulfillment = (await books(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    await books(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "EMS", "trackingNumber": "E1"}})
    await books(DELIVER, {"in": {"fulfillmentId": fulfillment}})
    assert await books.balance("cogs") == "120.00" and await books.balance("inventory") == "280.00"
    r = await books("{ stockValuation { total { amount } } }")
    assert r["data"]["stockValuation"]["total"]["amount"] == await books.balance("inventory")
    # Paid in two parts, the second with too much: the excess is customer credit.
    r = await books(PAY, {"in": {"customerId": customer, "amount": "159", "reference": "wire 1"}})
    assert r["data"]["paymentRecord"]["payment"]["unapplied"] == {"amount": "0.00"}
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert (invoice["status"], invoice["balanceDue"]) == ("PARTIALLY_PAID", {"amount": "200.00"})
    r = await books(PAY, {"in": {"customerId": customer, "amount": "250", "method": "CASH"}})
    assert r["data"]["paymentRecord"]["payment"]["unapplied"] == {"amount": "50.00"}
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert invoice["status"] == "PAID" and await books.balance("ar") == "0.00"
    r = await books("query($id: ID!) { node(id: $id) { ... on Order { payments { method amount { amount } } } } }",
                    {"id": oid})
    assert r["data"]["node"]["payments"] == [{"method": "BANK_TRANSFER", "amount": {"amount": "159.00"}},
                                             {"method": "CASH", "amount": {"amount": "250.00"}}]
    assert await books.balance("customer_credit") == "-50.00"
    assert await books.balance("bank") == "159.00" and await books.balance("cash") == "250.00"
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]
    r = await books("""{ profitAndLoss(from: "2000-01-01", to: "2100-01-01") { totalIncome { amount }
        totalExpenses { amount } netIncome { amount } } balanceSheet { totalAssets { amount }
        totalLiabilitiesAndEquity { amount } currentEarnings { amount } } }""")
    assert r["data"]["profitAndLoss"] == {"totalIncome": {"amount": "320.00"}, "totalExpenses": {"amount": "120.00"},
                                          "netIncome": {"amount": "200.00"}}
    sheet = r["data"]["balanceSheet"]
    assert sheet["totalAssets"] == sheet["totalLiabilitiesAndEquity"] and sheet["currentEarnings"]["amount"] == "200.00"


async def test_cancelling_an_unpaid_order_voids_its_invoice(books: Books):
    oid, _ = await _sold(books)
    await books.act("orderCancel", oid)
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert invoice["status"] == "VOID" and invoice["balanceDue"] == {"amount": "0.00"}
    assert [e["kind"] for e in invoice["journalEntries"]] == ["AUTOMATIC", "REVERSAL"]
    assert await books.balance("ar") == "0.00" and await books.balance("revenue") == "0.00"


async def test_invoicing_on_shipment_bills_what_shipped(books: Books):
    r = await books("""mutation { financeSettingsUpdate(input: {invoiceOn: "shipment"}) {
        settings { invoiceOn } userErrors { code } } }""")
    assert r["data"]["financeSettingsUpdate"]["settings"]["invoiceOn"] == "SHIPMENT"
    oid, _ = await _sold(books, quantity="3")
    assert (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"] == []
    line = (await books("query($id: ID!) { node(id: $id) { ... on Order { lines { id } } } }", {"id": oid}))[
        "data"]["node"]["lines"][0]["id"]
    for quantity in ("1", "2"):
        r = await books(FULFIL, {"in": {"orderId": oid, "lines": [{"lineId": line, "quantity": quantity}]}})
        f = r["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
        await books(SHIP, {"in": {"fulfillmentId": f, "carrier": "EMS", "trackingNumber": quantity}})
    invoices = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"]
    # 1/3 then 2/3 of 300 net and 39 tax; shipping on the first; together exactly the order's 359.
    assert [i["total"]["amount"] for i in invoices] == ["133.00", "226.00"]


async def test_bad_payments_and_other_tenants(books: Books, gql, make_tenant):
    oid, customer = await _sold(books)
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]["id"]
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    their_customer = await other.customer("Theirs")
    for fields, code in [({"amount": "-5"}, "NEGATIVE_AMOUNT"), ({"amount": "0"}, "INVALID_AMOUNT"),
                         ({"customerId": their_customer, "amount": "5"}, "NOT_FOUND")]:
        r = await books(PAY, {"in": {"customerId": customer, **fields}})
        assert r["data"]["paymentRecord"]["userErrors"][0]["code"] == code, fields
    r = await other(PAY, {"in": {"customerId": their_customer, "amount": "5",
                                 "allocations": [{"invoiceId": invoice, "amount": "5"}]}})
    assert r["data"]["paymentRecord"]["userErrors"][0]["code"] == "NOT_FOUND"
    for query in ("query($id: ID!) { node(id: $id) { id } }",):
        assert (await other(query, {"id": invoice}))["data"]["node"] is None
    r = await other("mutation($id: ID!) { invoiceVoid(input: {id: $id}) { userErrors { code } } }", {"id": invoice})
    assert r["data"]["invoiceVoid"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await books(PAY, {"in": {"customerId": customer, "amount": "10", "idempotencyKey": "wire-7"}})
    again = await books(PAY, {"in": {"customerId": customer, "amount": "10", "idempotencyKey": "wire-7"}})
    assert again["data"]["paymentRecord"]["payment"]["number"] == r["data"]["paymentRecord"]["payment"]["number"]
    r = await books("mutation($id: ID!) { invoiceVoid(input: {id: $id}) { userErrors { code } } }", {"id": invoice})
    assert r["data"]["invoiceVoid"]["userErrors"][0]["code"] == "INVOICE_PAID"


async def test_a_tenant_without_finance_keeps_selling(books: Books):
    r = await books("""mutation { moduleDisable(input: {module: "finance"}) { userErrors { code } } }""")
    assert r["data"]["moduleDisable"]["userErrors"] == [], r
    oid, customer = await _sold(books)
    r = await books(INVOICES, {"id": oid})
    assert r["data"]["node"]["invoices"] == []
    r = await books("{ invoices(first: 5) { totalCount } }")
    assert r["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"
    r = await books("query($c: ID!) { node(id: $c) { ... on Customer { invoices { id } } } }", {"c": customer})
    assert r["data"]["node"]["invoices"] == []


async def test_a_return_of_an_invoiced_order_is_credited(books: Books):
    oid, customer = await _sold(books)
    fulfillment = (await books(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    await books(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "EMS", "trackingNumber": "E1"}})
    await books(PAY, {"in": {"customerId": customer, "amount": "300"}})  # 59 still owed
    line = (await books("query($id: ID!) { node(id: $id) { ... on Order { lines { id } } } }", {"id": oid}))[
        "data"]["node"]["lines"][0]["id"]
    r = await books("""mutation($in: ReturnCreateInput!) { returnCreate(input: $in) { return { id } } }""",
                    {"in": {"orderId": oid, "reason": "Damaged", "lines": [{"lineId": line, "quantity": "1"}]}})
    rid = r["data"]["returnCreate"]["return"]["id"]
    await books("""mutation($id: ID!) { returnReceive(input: {id: $id}) { userErrors { code } } }""", {"id": rid})
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    # one of three at 100 + 13 % = 113: 59 settles the invoice, 54 is credit for the customer
    assert (invoice["status"], invoice["balanceDue"]) == ("PAID", {"amount": "0.00"})
    assert await books.balance("ar") == "0.00" and await books.balance("customer_credit") == "-54.00"
    assert await books.balance("revenue") == "-200.00" and await books.balance("tax_payable") == "-26.00"
    assert await books.balance("cogs") == "80.00"  # 3 shipped at 40, 1 back
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]


async def test_overdue_invoices_stop_automatic_approval(books: Books, db):
    from sqlalchemy import text

    customer = await books.customer("Slow Payer")
    tea = await books.stocked("TEA", "10", unitPrice="10")
    await books("""mutation { orderRoutingRuleCreate(input: {name: "Small", maxTotal: "1000", autoApprove: true}) {
        userErrors { code } } }""")
    first = (await books.order(customer, [{"productId": tea, "quantity": "1"}]))["order"]["id"]
    assert (await books.act("orderSubmit", first))["order"]["status"] == "APPROVED"  # and invoiced
    async with db.owner_engine.begin() as conn:  # its invoice falls due a month ago
        await conn.execute(text("UPDATE fin_invoice SET due_date = current_date - 30 WHERE tenant_id = :t"),
                           {"t": books.tenant})
    second = (await books.order(customer, [{"productId": tea, "quantity": "1"}]))["order"]["id"]
    assert (await books.act("orderSubmit", second))["order"]["status"] == "SUBMITTED"


async def test_backfill_posts_what_happened_while_finance_was_off(books: Books):
    from datetime import date

    await books("""mutation { moduleDisable(input: {module: "finance"}) { userErrors { code } } }""")
    oid, _ = await _sold(books)
    fulfillment = (await books(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    await books(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "EMS", "trackingNumber": "E1"}})
    r = await books("""mutation { moduleEnable(input: {module: "finance"}) { userErrors { code } } }""")
    assert r["data"]["moduleEnable"]["userErrors"] == []
    assert (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"] == []  # nothing posted silently
    today = date.today().isoformat()
    backfill = """mutation($d: Date!) { financeBackfill(input: {from: $d, to: $d}) { events posted skipped
        userErrors { code } } }"""
    first = (await books(backfill, {"d": today}))["data"]["financeBackfill"]
    assert first["posted"] >= 3 and first["userErrors"] == []  # the receipt, the invoice, the shipment
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert invoice["total"] == {"amount": "359.00"}
    assert await books.balance("cogs") == "120.00" and await books.balance("inventory") == "280.00"
    again = (await books(backfill, {"d": today}))["data"]["financeBackfill"]
    assert again["posted"] == 0 and again["events"] == first["events"]
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]


async def test_an_order_over_the_credit_limit_waits_for_review(books: Books):
    customer = await books.customer("Big Spender")
    tea = await books.stocked("TEA", "100", unitPrice="100")
    await books("""mutation { orderRoutingRuleCreate(input: {name: "All", autoApprove: true}) { userErrors { code } } }""")
    r = await books("""mutation($c: ID!) { creditLimitSet(input: {customerId: $c, amount: "500"}) {
        standing { creditLimit { amount } available { amount } } userErrors { code } } }""", {"c": customer})
    assert r["data"]["creditLimitSet"]["standing"] == {"creditLimit": {"amount": "500.00"},
                                                       "available": {"amount": "500.00"}}
    first = (await books.order(customer, [{"productId": tea, "quantity": "3"}]))["order"]["id"]
    assert (await books.act("orderSubmit", first))["order"]["status"] == "APPROVED"  # 300, invoiced
    second = (await books.order(customer, [{"productId": tea, "quantity": "3"}]))["order"]["id"]
    assert (await books.act("orderSubmit", second))["order"]["status"] == "SUBMITTED"  # 300 + 300 > 500
    r = await books("query($c: ID!) { creditStanding(customerId: $c) { openBalance { amount } available { amount } } }",
                    {"c": customer})
    assert r["data"]["creditStanding"] == {"openBalance": {"amount": "300.00"}, "available": {"amount": "200.00"}}


async def test_an_invoice_in_another_currency_posts_the_exchange_difference(books: Books):
    customer = await books.customer("Paris Salon de Thé")
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, currencyCode: "EUR",
        lines: [{description: "Tea", quantity: "10", unitPrice: "33.33"}]}) { userErrors { field code } } }""",
                    {"c": customer})
    assert r["data"]["invoiceCreate"]["userErrors"] == [{"field": ["input", "exchangeRate"],
                                                         "code": "EXCHANGE_RATE_REQUIRED"}]
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, currencyCode: "EUR", exchangeRate: "1.1",
        lines: [{description: "Tea", quantity: "10", unitPrice: "33.33"}]}) { invoice { id } } }""", {"c": customer})
    invoice = r["data"]["invoiceCreate"]["invoice"]["id"]
    r = await books("""mutation($i: ID!) { invoiceIssue(input: {id: $i}) { invoice { total { amount currencyCode }
        exchangeRate } } }""", {"i": invoice})
    assert r["data"]["invoiceIssue"]["invoice"] == {"total": {"amount": "333.30", "currencyCode": "EUR"},
                                                    "exchangeRate": "1.1"}
    assert await books.balance("ar") == "366.63"  # 333.30 x 1.1 in USD
    r = await books(PAY, {"in": {"customerId": customer, "amount": "100", "currencyCode": "USD",
                                 "allocations": [{"invoiceId": invoice, "amount": "100"}]}})
    assert r["data"]["paymentRecord"]["userErrors"][0]["code"] == "CURRENCY_MISMATCH"
    r = await books(PAY, {"in": {"customerId": customer, "amount": "333.30", "currencyCode": "EUR",
                                 "exchangeRate": "1.15"}})
    assert r["data"]["paymentRecord"]["userErrors"] == []
    # 333.30 x 1.15 = 383.30 received for a receivable of 366.63: a 16.67 gain
    assert await books.balance("ar") == "0.00" and await books.balance("bank") == "383.30"
    assert await books.balance("fx") == "-16.67"
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]
    # A page mixing currencies: each invoice's lines are in that invoice's currency (one batch loads them).
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "Cup",
        quantity: "1", unitPrice: "5"}]}) { invoice { id } } }""", {"c": customer})
    r = await books("{ invoices(first: 10) { nodes { total { currencyCode } lines { unitPrice { currencyCode } "
                    "total { amount currencyCode } } } } }")
    shown = sorted((i["total"]["currencyCode"], [line["unitPrice"]["currencyCode"] for line in i["lines"]])
                   for i in r["data"]["invoices"]["nodes"])
    assert shown == [("EUR", ["EUR"]), ("USD", ["USD"])]
