"""Lead round robin, stale opportunities, lead-source performance."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from tests.modules.crm.test_customers_api import create
from tests.modules.crm.test_engagement_api import CONVERT, LEAD
from tests.modules.platform.test_access_api import join


async def test_new_leads_go_round_robin_to_sales_members(api):
    owner = await api.signup(company="Round Robin Co")
    t = owner["access_token"]
    ann = await join(api, t, "sales")
    bob = await join(api, t, "sales")
    await join(api, t, "viewer")  # not in the rotation
    for i in range(4):
        r = await api.gql(t, LEAD, {"in": {"name": f"Lead {i}"}})
        assert r.json()["data"]["leadCreate"]["userErrors"] == []
    owners = (await api.gql(t, "{ leads(first: 10) { nodes { owner { email } } } }")).json()["data"]["leads"]["nodes"]
    assert Counter(n["owner"]["email"] for n in owners) == {ann["email"]: 2, bob["email"]: 2}
    bad = (await api.gql(t, LEAD, {"in": {"name": "X", "ownerId": "bogus"}})).json()["data"]["leadCreate"]
    assert bad["userErrors"] == [{"field": ["input", "ownerId"], "code": "NOT_FOUND"}]


async def test_opportunities_without_recent_activity_are_stale(api, db):
    owner = await api.signup(company="Stale Co")
    t = owner["access_token"]
    c = (await create(api, t, name="Quiet Customer"))["customer"]
    r = await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Quiet deal", amount: "5"}) '
                         "{ opportunity { id stale } } }", {"c": c["id"]})
    opp = r.json()["data"]["opportunityCreate"]["opportunity"]
    assert opp["stale"] is False
    async with db.owner_engine.begin() as conn:  # a month passes without anything happening
        await conn.execute(text("UPDATE crm_opportunity SET updated_at = now() - interval '30 days' WHERE name = 'Quiet deal'"))
        await conn.execute(text("UPDATE crm_activity SET created_at = now() - interval '30 days' "
                                "WHERE subject LIKE '%Quiet deal%'"))
    stale = (await api.gql(t, "{ opportunities(filter: {stale: true}) { nodes { id stale } } }")).json()
    assert stale["data"]["opportunities"]["nodes"] == [{"id": opp["id"], "stale": True}]
    await api.gql(t, 'mutation($o: ID!) { activityCreate(input: {kind: CALL, subject: "Checked in", opportunityId: $o}) '
                     "{ userErrors { code } } }", {"o": opp["id"]})
    assert (await api.gql(t, "{ opportunities(filter: {stale: true}) { nodes { id } } }")).json()["data"]["opportunities"]["nodes"] == []


async def test_lead_sources_in_the_report(api):
    owner = await api.signup(company="Sources Co")
    t = owner["access_token"]
    ids = []
    for name, source in [("A", "website"), ("B", "website"), ("C", "referral")]:
        r = await api.gql(t, LEAD, {"in": {"name": name, "company": f"{name} Co", "source": source}})
        ids.append(r.json()["data"]["leadCreate"]["lead"]["id"])
    done = (await api.gql(t, CONVERT, {"in": {"leadId": ids[0], "createOpportunity": True, "amount": "1000",
                                              "opportunityName": "From the website"}})).json()
    assert done["data"]["leadConvert"]["userErrors"] == []
    opp = (await api.gql(t, "{ opportunities { nodes { id name } } }")).json()["data"]["opportunities"]["nodes"]
    await api.gql(t, "mutation($id: ID!) { opportunityWin(input: {id: $id}) { userErrors { code } } }",
                  {"id": next(o["id"] for o in opp if o["name"] == "From the website")})
    r = await api.gql(t, "{ crmReport { leadSources { source leads converted conversionRate wonRevenue { amount } } } }")
    assert r.json()["data"]["crmReport"]["leadSources"] == [
        {"source": "website", "leads": 2, "converted": 1, "conversionRate": "0.5000", "wonRevenue": {"amount": "1000.00"}},
        {"source": "referral", "leads": 1, "converted": 0, "conversionRate": "0.0000", "wonRevenue": {"amount": "0.00"}}]


async def test_pipeline_slices_and_case_statistics_match_hand_computed_values(api, db):
    owner = await api.signup(company="Numbers Co")
    t = owner["access_token"]
    c = (await create(api, t, name="Numbers Customer"))["customer"]
    make = 'mutation($in: OpportunityCreateInput!) { opportunityCreate(input: $in) { userErrors { code } } }'
    for amount, close in (("1000", "2026-12-15"), ("3000", "2027-01-10"), ("500", None)):
        body = {"customerId": c["id"], "name": f"Deal {amount}", "amount": amount}
        if close:
            body["expectedCloseDate"] = close
        assert (await api.gql(t, make, {"in": body})).json()["data"]["opportunityCreate"]["userErrors"] == []
    case = ("mutation($c: ID!, $s: String!, $p: CasePriority!) { caseCreate(input: {customerId: $c, subject: $s, "
            "priority: $p}) { case { id } } }")
    ids = {}
    for subject, priority in (("A", "URGENT"), ("B", "NORMAL"), ("C", "NORMAL")):
        r = await api.gql(t, case, {"c": c["id"], "s": subject, "p": priority})
        ids[subject] = r.json()["data"]["caseCreate"]["case"]["id"]
    await api.gql(t, 'mutation($id: ID!) { caseComment(input: {id: $id, body: "On it", public: true}) { userErrors { code } } }',
                  {"id": ids["A"]})
    await api.gql(t, "mutation($id: ID!) { caseResolve(input: {id: $id}) { userErrors { code } } }", {"id": ids["A"]})
    async with db.owner_engine.begin() as conn:
        # B: opened 10 h ago, answered after 2 h, resolved after 6 h (within its 8 h / 72 h SLA).
        await conn.execute(text(
            "UPDATE crm_case SET created_at = now() - interval '10 hours', "
            "first_response_at = now() - interval '8 hours', resolved_at = now() - interval '4 hours', "
            "first_response_due_at = now() - interval '2 hours', resolution_due_at = now() + interval '62 hours', "
            "status = 'resolved' WHERE subject = 'B' AND customer_id IN (SELECT id FROM crm_customer WHERE name = 'Numbers Customer')"))
        # C: nobody answered and the first response is overdue: a breach.
        await conn.execute(text(
            "UPDATE crm_case SET first_response_due_at = now() - interval '1 hour' "
            "WHERE subject = 'C' AND customer_id IN (SELECT id FROM crm_customer WHERE name = 'Numbers Customer')"))
    r = await api.gql(t, """{ crmReport { pipelineByMonth { key count value { amount } weightedValue { amount } }
      pipelineByOwner { key count value { amount } }
      cases { byStatus { key count } byPriority { key count } averageFirstResponseHours averageResolutionHours breachRate } } }""")
    report = r.json()["data"]["crmReport"]
    assert report["pipelineByMonth"] == [
        {"key": "2026-12", "count": 1, "value": {"amount": "1000.00"}, "weightedValue": {"amount": "100.00"}},
        {"key": "2027-01", "count": 1, "value": {"amount": "3000.00"}, "weightedValue": {"amount": "300.00"}},
        {"key": "none", "count": 1, "value": {"amount": "500.00"}, "weightedValue": {"amount": "50.00"}}]
    me = (await api.gql(t, "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    assert report["pipelineByOwner"] == [{"key": me, "count": 3, "value": {"amount": "4500.00"}}]
    stats = report["cases"]
    assert stats["byStatus"] == [{"key": "NEW", "count": 1}, {"key": "RESOLVED", "count": 2}]
    assert stats["byPriority"] == [{"key": "NORMAL", "count": 2}, {"key": "URGENT", "count": 1}]
    assert (stats["averageFirstResponseHours"], stats["averageResolutionHours"]) == ("1.00", "3.00")
    assert stats["breachRate"] == "0.3333"
