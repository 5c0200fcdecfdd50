"""The ledger over HTTP: the chart, manual entries, reversals, periods; append-only and balanced."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.modules.finance.conftest import PERMISSIONS, Books

POST = """mutation($in: JournalEntryPostInput!) { journalEntryPost(input: $in) {
  journalEntry { id number kind lines { account { code } debit credit } } userErrors { field code message } } }"""
REVERSE = """mutation($in: JournalEntryReverseInput!) { journalEntryReverse(input: $in) {
  journalEntry { number kind reversalOfId lines { account { code } debit credit } } userErrors { field code } } }"""


async def test_the_chart_follows_the_currency(books: Books, gql, db, registry):
    import uuid

    from backend.modules.platform import service as platform

    r = await books("{ accounts(first: 100) { nodes { code role } } financeSettings { chart invoiceOn } }")
    assert r["data"]["financeSettings"] == {"chart": "generic", "invoiceOn": "APPROVAL"}
    roles = {a["role"] for a in r["data"]["accounts"]["nodes"]}
    assert {"ar", "revenue", "tax_payable", "inventory", "cogs", "bank", "customer_credit", "grni"} <= roles
    async with db.transaction() as session:
        tenant = await platform.create_tenant(session, registry=registry, name="Hangzhou Tea", plan="business",
                                              slug=f"cny-{uuid.uuid4().hex[:8]}", base_currency="CNY")
    chinese = Books(gql, tenant.id, permissions=PERMISSIONS)
    r = await chinese("{ accounts(first: 100) { nodes { code name role } } financeSettings { chart } }")
    assert r["data"]["financeSettings"]["chart"] == "cn_small_enterprise"
    assert {"code": "1122", "name": "应收账款", "role": "ar"} in r["data"]["accounts"]["nodes"]


async def test_manual_entries_balance_and_reverse_once(books: Books):
    bank, rent = await books.account("bank"), await books.account("6000")
    entry = {"date": "2026-11-02", "memo": "November rent", "lines": [
        {"accountId": rent, "debit": "8000"}, {"accountId": bank, "credit": "8000"}]}
    r = await books(POST, {"in": entry})
    posted = r["data"]["journalEntryPost"]["journalEntry"]
    assert posted["kind"] == "MANUAL" and posted["number"].startswith("JE-")
    assert posted["lines"] == [{"account": {"code": "6000"}, "debit": "8000.00", "credit": "0.00"},
                               {"account": {"code": "1010"}, "debit": "0.00", "credit": "8000.00"}]
    r = await books(REVERSE, {"in": {"id": posted["id"], "date": "2026-11-03"}})
    reversal = r["data"]["journalEntryReverse"]["journalEntry"]
    assert reversal["kind"] == "REVERSAL" and reversal["reversalOfId"] == posted["id"]
    assert {(x["account"]["code"], x["debit"], x["credit"]) for x in reversal["lines"]} == {
        ("6000", "0.00", "8000.00"), ("1010", "8000.00", "0.00")}
    r = await books(REVERSE, {"in": {"id": posted["id"]}})
    assert r["data"]["journalEntryReverse"]["userErrors"][0]["code"] == "ALREADY_REVERSED"
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]


async def test_bad_entries_are_refused(books: Books, gql, make_tenant):
    bank, rent = await books.account("bank"), await books.account("6000")
    other = Books(gql, await make_tenant(), permissions=PERMISSIONS)
    foreign = await other.account("bank")
    r = await books("""mutation { periodClose(input: {year: 2026, month: 10}) { status userErrors { code } } }""")
    assert r["data"]["periodClose"]["status"] == "CLOSED"
    for lines, day, code in [
        ([{"accountId": rent, "debit": "100"}, {"accountId": bank, "credit": "99.99"}], "2026-11-01", "UNBALANCED"),
        ([{"accountId": rent, "debit": "100"}, {"accountId": foreign, "credit": "100"}], "2026-11-01", "NOT_FOUND"),
        ([{"accountId": rent, "debit": "100"}, {"accountId": bank, "credit": "100"}], "2026-10-15", "PERIOD_CLOSED"),
        ([{"accountId": rent, "debit": "100"}], "2026-11-01", "NOTHING_TO_POST"),
        ([{"accountId": rent, "debit": "-5"}, {"accountId": bank, "debit": "5"}], "2026-11-01", "INVALID_AMOUNT"),
        ([{"accountId": rent, "debit": "5", "credit": "5"}, {"accountId": bank, "credit": "0"}], "2026-11-01",
         "INVALID_AMOUNT"),
    ]:
        r = await books(POST, {"in": {"date": day, "lines": lines}})
        assert r["data"]["journalEntryPost"]["userErrors"][0]["code"] == code, (code, r)
    r = await books("""mutation { periodReopen(input: {year: 2026, month: 10}) { status } }""")
    r = await books(POST, {"in": {"date": "2026-10-15", "lines": [{"accountId": rent, "debit": "1"},
                                                                  {"accountId": bank, "credit": "1"}]}})
    assert r["data"]["journalEntryPost"]["userErrors"] == []
    r = await books("{ journalEntries(first: 10) { totalCount } }")
    assert r["data"]["journalEntries"]["totalCount"] == 1


async def test_the_ledger_is_append_only_and_balanced_for_the_runtime_role(books: Books, db):
    bank, rent = await books.account("bank"), await books.account("6000")
    await books(POST, {"in": {"date": "2026-11-02", "lines": [{"accountId": rent, "debit": "10"},
                                                             {"accountId": bank, "credit": "10"}]}})
    async with db.app_engine.connect() as conn:
        for statement in ("UPDATE fin_journal_line SET debit = debit + 1", "DELETE FROM fin_journal_line",
                          "UPDATE fin_journal_entry SET memo = 'edited'", "DELETE FROM fin_journal_entry"):
            async with conn.begin():
                await conn.execute(text(f"SET LOCAL app.tenant_id = '{books.tenant}'"))
                with pytest.raises(DBAPIError, match="permission denied"):
                    await conn.execute(text(statement))
        # An unbalanced entry written straight into the tables cannot commit.
        with pytest.raises(DBAPIError, match="not balanced"):
            async with conn.begin():
                await conn.execute(text(f"SET LOCAL app.tenant_id = '{books.tenant}'"))
                entry = await conn.scalar(text(
                    "INSERT INTO fin_journal_entry (tenant_id, id, number, entry_date, kind, created_at) "
                    "VALUES (:t, gen_random_uuid(), 'JE-X', current_date, 'manual', now()) RETURNING id"),
                    {"t": books.tenant})
                account = await conn.scalar(text("SELECT id FROM fin_account WHERE code = '1010'"))
                await conn.execute(text(
                    "INSERT INTO fin_journal_line (tenant_id, id, entry_id, entry_date, account_id, debit, credit) "
                    "VALUES (:t, gen_random_uuid(), :e, current_date, :a, 5, 0)"),
                    {"t": books.tenant, "e": entry, "a": account})
