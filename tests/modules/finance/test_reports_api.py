"""Bills and payables, the tax report, budgets, general ledger detail and the customer statement."""

from __future__ import annotations

from datetime import date, timedelta

from tests.modules.finance.conftest import Books

BILL = """mutation($in: BillCreateInput!) { billCreate(input: $in) { bill { id number status total { amount }
  balanceDue { amount } } userErrors { field code } } }"""


async def test_bills_payables_tax_and_budgets(books: Books):
    rent, revenue = await books.account("6000"), await books.account("revenue")
    today = date.today()
    r = await books(BILL, {"in": {"supplier": "Landlord Ltd", "reference": "R-11", "billDate": today.isoformat(),
                                  "dueDate": (today - timedelta(days=40)).isoformat(),
                                  "lines": [{"description": "Rent", "accountId": rent, "amount": "1000",
                                             "taxRate": "9"}]}})
    bill = r["data"]["billCreate"]["bill"]
    assert (bill["status"], bill["total"]) == ("OPEN", {"amount": "1090.00"})
    assert await books.balance("ap") == "-1090.00" and await books.balance("tax_paid") == "90.00"
    pay = """mutation($in: BillPayInput!) { billPay(input: $in) { bill { status balanceDue { amount } }
        userErrors { field code } } }"""
    r = await books(pay, {"in": {"billId": bill["id"], "amount": "2000"}})
    assert "data" in r, r
    assert r["data"]["billPay"]["userErrors"][0]["code"] == "OVERPAYMENT"
    r = await books(pay, {"in": {"billId": bill["id"], "amount": "590"}})
    assert r["data"]["billPay"]["bill"] == {"status": "PARTIALLY_PAID", "balanceDue": {"amount": "500.00"}}
    r = await books("{ apAging { supplier daysOver: days31To60 { amount } total { amount } } }")
    assert r["data"]["apAging"] == [{"supplier": "Landlord Ltd", "daysOver": {"amount": "500.00"},
                                     "total": {"amount": "500.00"}}]
    # An invoice with 13 % tax: collected 26 against 90 paid.
    customer = await books.customer()
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "Tea",
        quantity: "2", unitPrice: "100", taxRate: "13"}]}) { invoice { id } } }""", {"c": customer})
    invoice = r["data"]["invoiceCreate"]["invoice"]["id"]
    r = await books("mutation($i: ID!) { invoiceIssue(input: {id: $i}) { invoice { number status } } }", {"i": invoice})
    assert r["data"]["invoiceIssue"]["invoice"]["status"] == "ISSUED"
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    r = await books("""query($from: Date!, $to: Date!) { taxReport(from: $from, to: $to) { collected { amount }
        paid { amount } due { amount } } }""", period)
    assert r["data"]["taxReport"] == {"collected": {"amount": "26.00"}, "paid": {"amount": "90.00"},
                                      "due": {"amount": "-64.00"}}
    r = await books("""mutation($a: ID!, $y: Int!) { budgetSet(input: {accountId: $a, year: $y, amount: "1000"}) {
        months userErrors { code } } }""", {"a": revenue, "y": today.year})
    assert r["data"]["budgetSet"]["months"] == 12
    r = await books("""query($p: String) { budgetVsActual(period: $p) { account { role } budget { amount }
        actual { amount } variance { amount } percent } }""", {"p": f"{today:%Y-%m}"})
    revenue_line = next(x for x in r["data"]["budgetVsActual"] if x["account"]["role"] == "revenue")
    expected_budget = "83.37" if today.month == 12 else "83.33"  # 1000 / 12, December takes the rounding
    assert revenue_line["budget"]["amount"] == expected_budget and revenue_line["actual"]["amount"] == "200.00"
    r = await books("query($y: Int!) { budgets(year: $y) { month amount { amount } } }", {"y": today.year})
    assert len(r["data"]["budgets"]) == 12
    r = await books("{ cashPosition { account { role } balance { amount } } }")
    assert {x["account"]["role"]: x["balance"]["amount"] for x in r["data"]["cashPosition"]} == {"bank": "-590.00"}


async def test_general_ledger_and_customer_statement(books: Books):
    customer = await books.customer()
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "Tea",
        quantity: "1", unitPrice: "50"}]}) { invoice { id } } }""", {"c": customer})
    invoice = r["data"]["invoiceCreate"]["invoice"]["id"]
    await books("mutation($i: ID!) { invoiceIssue(input: {id: $i}) { invoice { number } } }", {"i": invoice})
    await books("""mutation($c: ID!) { paymentRecord(input: {customerId: $c, amount: "80"}) { userErrors { code } } }""",
                {"c": customer})
    today = date.today().isoformat()
    r = await books("""query($c: ID!, $d: Date!) { customerStatement(customerId: $c, from: $d, to: $d) {
        openingBalance { amount } rows { debit { amount } credit { amount } balance { amount } }
        closingBalance { amount } } }""", {"c": customer, "d": today})
    statement = r["data"]["customerStatement"]
    assert statement["openingBalance"] == {"amount": "0.00"}
    assert [(x["debit"]["amount"], x["credit"]["amount"]) for x in statement["rows"]] == [
        ("50.00", "0.00"), ("0.00", "50.00"), ("0.00", "30.00")]  # invoice, paid, 30 credit
    assert statement["closingBalance"] == {"amount": "-30.00"}  # the customer is owed 30
    bank = await books.account("bank")
    r = await books("""query($a: ID!, $d: Date!) { generalLedger(accountId: $a, from: $d, to: $d) {
        rows { number debit { amount } balance { amount } } closingBalance { amount } } }""", {"a": bank, "d": today})
    assert r["data"]["generalLedger"]["closingBalance"] == {"amount": "80.00"}


async def test_reports_export_as_csv(books: Books, client):
    import csv
    import io

    from tests.modules.finance.conftest import PERMISSIONS
    from tests.support.auth import PERMISSIONS_HEADER, TENANT_HEADER

    bank, rent = await books.account("bank"), await books.account("6000")
    await books("""mutation($in: JournalEntryPostInput!) { journalEntryPost(input: $in) { userErrors { code } } }""",
                {"in": {"date": date.today().isoformat(), "lines": [{"accountId": rent, "debit": "12.5"},
                                                                   {"accountId": bank, "credit": "12.5"}]}})
    headers = {TENANT_HEADER: str(books.tenant), PERMISSIONS_HEADER: ",".join(PERMISSIONS)}
    r = await client.get("/finance/export/trial-balance.csv", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {(x["code"], x["debit"], x["credit"]) for x in rows} == {("1010", "0.0000", "12.5000"),
                                                                   ("6000", "12.5000", "0.0000")}
    r = await client.get("/finance/export/general-ledger.csv", headers=headers,
                         params={"accountId": bank, "from": "2000-01-01", "to": "2100-01-01"})
    assert [x["balance"] for x in csv.DictReader(io.StringIO(r.text))] == ["0", "-12.5000"]
    assert (await client.get("/finance/export/nope.csv", headers=headers)).status_code == 400
    assert (await client.get("/finance/export/trial-balance.csv")).status_code == 401


async def test_more_csv_reports_and_other_tenants_bills(books: Books, client, gql, make_tenant):
    import csv
    import io

    from tests.modules.finance.conftest import PERMISSIONS
    from tests.support.auth import PERMISSIONS_HEADER, TENANT_HEADER

    rent = await books.account("6000")
    r = await books(BILL, {"in": {"supplier": "Landlord Ltd", "lines": [{"description": "Rent", "accountId": rent,
                                                                         "amount": "100"}]}})
    bill = r["data"]["billCreate"]["bill"]["id"]
    headers = {TENANT_HEADER: str(books.tenant), PERMISSIONS_HEADER: ",".join(PERMISSIONS)}
    r = await client.get("/finance/export/ap-aging.csv", headers=headers)
    assert [(x["supplier"], x["total"]) for x in csv.DictReader(io.StringIO(r.text))] == [("Landlord Ltd", "100.0000")]
    r = await client.get("/finance/export/balance-sheet.csv", headers=headers)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sum(float(x["amount"]) for x in rows if x["type"] == "asset") == sum(
        float(x["amount"]) for x in rows if x["type"] != "asset")  # assets = liabilities + equity
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    r = await other("""mutation($b: ID!) { billPay(input: {billId: $b, amount: "1"}) { userErrors { code } } }""",
                    {"b": bill})
    assert r["data"]["billPay"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await other(BILL, {"in": {"supplier": "X", "lines": [{"description": "x", "accountId": rent, "amount": "1"}]}})
    assert r["data"]["billCreate"]["userErrors"][0]["code"] == "NOT_FOUND"  # our account
    r = await other("{ bills(first: 5) { totalCount } }")
    assert r["data"]["bills"]["totalCount"] == 0
