"""The administrative mutations: accounts, refunds by hand, stock count cancelling, reorder and
routing rule deletion; each with bad input and another tenant's IDs."""

from __future__ import annotations

from tests.modules.finance.conftest import PERMISSIONS, Books

ACCOUNT = """mutation($in: AccountCreateInput!) { accountCreate(input: $in) { account { id code name type active }
  userErrors { field code } } }"""
ACCOUNT_UPDATE = """mutation($in: AccountUpdateInput!) { accountUpdate(input: $in) { account { name active }
  userErrors { field code } } }"""


async def test_accounts_are_created_renamed_and_deactivated(books: Books, gql, make_tenant):
    r = await books(ACCOUNT, {"in": {"code": "6300", "name": "Marketing", "type": "EXPENSE"}})
    account = r["data"]["accountCreate"]["account"]
    assert (account["code"], account["type"], account["active"]) == ("6300", "EXPENSE", True)
    income = await books.account("revenue")
    for fields, code in [({"code": "6300", "name": "Again", "type": "EXPENSE"}, "DUPLICATE_CODE"),
                         ({"code": "63 00", "name": "Bad", "type": "EXPENSE"}, "INVALID_CODE"),
                         ({"code": "6301", "name": "Sub", "type": "EXPENSE", "parentId": income}, "PARENT_TYPE")]:
        r = await books(ACCOUNT, {"in": fields})
        assert r["data"]["accountCreate"]["userErrors"][0]["code"] == code, fields
    r = await books(ACCOUNT_UPDATE, {"in": {"id": account["id"], "name": "Marketing and ads", "active": False}})
    assert r["data"]["accountUpdate"]["account"] == {"name": "Marketing and ads", "active": False}
    r = await books(ACCOUNT_UPDATE, {"in": {"id": income, "active": False}})
    assert r["data"]["accountUpdate"]["userErrors"][0]["code"] == "SYSTEM_ACCOUNT"
    bank = await books.account("bank")
    r = await books("""mutation($in: JournalEntryPostInput!) { journalEntryPost(input: $in) { userErrors { code } } }""",
                    {"in": {"date": "2026-11-02", "lines": [{"accountId": account["id"], "debit": "5"},
                                                           {"accountId": bank, "credit": "5"}]}})
    assert r["data"]["journalEntryPost"]["userErrors"][0]["code"] == "ACCOUNT_INACTIVE"
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    r = await other(ACCOUNT_UPDATE, {"in": {"id": account["id"], "name": "Stolen"}})
    assert r["data"]["accountUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await other(ACCOUNT, {"in": {"code": "6302", "name": "Sub", "type": "EXPENSE", "parentId": account["id"]}})
    assert r["data"]["accountCreate"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_refund_by_hand_takes_credit_first_then_reopens(books: Books, gql, make_tenant):
    customer = await books.customer()
    r = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, idempotencyKey: "inv-1",
        lines: [{description: "Tea", quantity: "1", unitPrice: "100"}]}) { invoice { id } } }""", {"c": customer})
    invoice = r["data"]["invoiceCreate"]["invoice"]["id"]
    again = await books("""mutation($c: ID!) { invoiceCreate(input: {customerId: $c, idempotencyKey: "inv-1",
        lines: [{description: "Tea", quantity: "1", unitPrice: "100"}]}) { invoice { id } } }""", {"c": customer})
    assert again["data"]["invoiceCreate"]["invoice"]["id"] == invoice
    await books("mutation($i: ID!) { invoiceIssue(input: {id: $i}) { invoice { number } } }", {"i": invoice})
    r = await books("""mutation($c: ID!) { paymentRecord(input: {customerId: $c, amount: "130"}) {
        payment { id } } }""", {"c": customer})
    payment = r["data"]["paymentRecord"]["payment"]["id"]
    refund = """mutation($in: PaymentRefundInput!) { paymentRefund(input: $in) { payment { unapplied { amount } }
        refunded { amount } userErrors { field code } } }"""
    r = await books(refund, {"in": {"paymentId": payment, "amount": "200"}})
    assert r["data"]["paymentRefund"]["userErrors"] == [{"field": ["input", "amount"], "code": "REFUND_TOO_LARGE"}]
    r = await books(refund, {"in": {"paymentId": payment, "amount": "50", "reason": "Goodwill"}})
    assert r["data"]["paymentRefund"]["payment"]["unapplied"] == {"amount": "0.00"}  # the 30 credit, then 20
    r = await books("query($i: ID!) { node(id: $i) { ... on Invoice { status balanceDue { amount } } } }",
                    {"i": invoice})
    assert r["data"]["node"] == {"status": "PARTIALLY_PAID", "balanceDue": {"amount": "20.00"}}
    assert await books.balance("ar") == "20.00" and await books.balance("bank") == "80.00"
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    r = await other(refund, {"in": {"paymentId": payment, "amount": "1"}})
    assert r["data"]["paymentRefund"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_counts_are_cancelled_and_rules_deleted(books: Books, gql, make_tenant):
    main = await books.main()
    tea = await books.stocked("TEA", "5")
    r = await books("""mutation($w: ID!) { stockCountCreate(input: {warehouseId: $w}) { stockCount { id } } }""",
                    {"w": main})
    count = r["data"]["stockCountCreate"]["stockCount"]["id"]
    cancel = """mutation($id: ID!) { stockCountCancel(input: {id: $id}) { stockCount { status }
        userErrors { code } } }"""
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    assert (await other(cancel, {"id": count}))["data"]["stockCountCancel"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await books(cancel, {"id": count}))["data"]["stockCountCancel"]["stockCount"]["status"] == "CANCELLED"
    r = await books("""mutation($id: ID!) { stockCountPost(input: {id: $id}) { userErrors { code } } }""",
                    {"id": count})
    assert r["data"]["stockCountPost"]["userErrors"][0]["code"] == "COUNT_CLOSED"
    r = await books("""mutation($p: ID!, $w: ID!) { reorderRuleSet(input: {productId: $p, warehouseId: $w,
        minimum: "1", maximum: "2"}) { reorderRule { id } } }""", {"p": tea, "w": main})
    rule = r["data"]["reorderRuleSet"]["reorderRule"]["id"]
    delete = "mutation($id: ID!) { reorderRuleDelete(input: {id: $id}) { deletedId userErrors { code } } }"
    assert (await other(delete, {"id": rule}))["data"]["reorderRuleDelete"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await books(delete, {"id": rule}))["data"]["reorderRuleDelete"]["deletedId"] == rule
    assert (await books("{ reorderRules(first: 5) { totalCount } }"))["data"]["reorderRules"]["totalCount"] == 0
    r = await books("""mutation { orderRoutingRuleCreate(input: {name: "A"}) { routingRules { id } } }""")
    first = r["data"]["orderRoutingRuleCreate"]["routingRules"][0]["id"]
    await books("""mutation { orderRoutingRuleCreate(input: {name: "B"}) { routingRules { id } } }""")
    route_delete = """mutation($id: ID!) { orderRoutingRuleDelete(input: {id: $id}) {
        routingRules { name position } userErrors { code } } }"""
    r = await other(route_delete, {"id": first})
    assert r["data"]["orderRoutingRuleDelete"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await books(route_delete, {"id": first})
    assert r["data"]["orderRoutingRuleDelete"]["routingRules"] == [{"name": "B", "position": 1}]
