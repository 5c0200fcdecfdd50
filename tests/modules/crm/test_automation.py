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
