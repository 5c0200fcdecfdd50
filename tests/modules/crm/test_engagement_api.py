"""Leads and their conversion, campaigns and their results, service cases and their SLAs."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.modules.crm.test_customers_api import SEARCH, create

LEAD = """mutation($in: LeadCreateInput!) { leadCreate(input: $in) { lead { id status campaignId } userErrors { field code } } }"""
CONVERT = """mutation($in: LeadConvertInput!) { leadConvert(input: $in) {
  lead { status convertedAt customer { name } } customer { id name kind } contact { name email }
  opportunity { name amount { amount } } userErrors { field code message } } }"""
CAMPAIGN = """mutation($in: CampaignCreateInput!) { campaignCreate(input: $in) {
  campaign { id name budget { amount currencyCode } } userErrors { field code } } }"""
RESULTS = """query($id: ID!) { node(id: $id) { ... on Campaign { results { membersReached leadsCreated opportunitiesWon
  revenueWon { amount } costPerLead { amount } returnOnInvestment } } } }"""
CASE = """mutation($in: CaseCreateInput!) { caseCreate(input: $in) {
  case { id status priority firstResponseDueAt resolutionDueAt createdAt slaBreached } userErrors { field code } } }"""


@pytest.fixture
async def user(api) -> dict:
    return await api.signup(company="Engagement Co")


async def test_converting_a_lead_creates_customer_contact_and_opportunity_at_once(api, user):
    t = user["access_token"]
    lead = (await api.gql(t, LEAD, {"in": {"name": "Xu Li", "company": "Evergreen Garden Supply",
                                            "email": "xu@evergreen.example", "source": "website"}})).json()
    lead_id = lead["data"]["leadCreate"]["lead"]["id"]
    done = (await api.gql(t, CONVERT, {"in": {"leadId": lead_id, "createOpportunity": True, "amount": "9000"}})).json()
    d = done["data"]["leadConvert"]
    assert d["userErrors"] == []
    assert d["customer"]["name"] == "Evergreen Garden Supply" and d["customer"]["kind"] == "COMPANY"
    assert d["contact"] == {"name": "Xu Li", "email": "xu@evergreen.example"}
    assert d["opportunity"]["amount"]["amount"] == "9000.00"
    assert d["lead"]["status"] == "CONVERTED" and d["lead"]["customer"]["name"] == "Evergreen Garden Supply"
    again = (await api.gql(t, CONVERT, {"in": {"leadId": lead_id}})).json()["data"]["leadConvert"]
    assert again["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_a_failed_conversion_writes_nothing(api, user):
    t = user["access_token"]
    lead_id = (await api.gql(t, LEAD, {"in": {"name": "Guo Tao", "company": "Atomic Co"}})).json()["data"]["leadCreate"]["lead"]["id"]
    bad = (await api.gql(t, CONVERT, {"in": {"leadId": lead_id, "createOpportunity": True, "amount": "-1"}})).json()
    assert bad["data"]["leadConvert"]["userErrors"][0]["code"] == "NEGATIVE_AMOUNT"
    assert (await api.gql(t, SEARCH, {"f": {"query": "Atomic"}})).json()["data"]["customers"]["totalCount"] == 0
    r = await api.gql(t, "query($id: ID!) { node(id: $id) { ... on Lead { status } } }", {"id": lead_id})
    assert r.json()["data"]["node"]["status"] == "NEW"


async def test_a_lead_can_join_an_existing_customer(api, user):
    t = user["access_token"]
    c = (await create(api, t, name="Existing Buyer"))["customer"]
    lead_id = (await api.gql(t, LEAD, {"in": {"name": "Ma Jun", "email": "ma@buyer.example"}})).json()["data"]["leadCreate"]["lead"]["id"]
    d = (await api.gql(t, CONVERT, {"in": {"leadId": lead_id, "customerId": c["id"]}})).json()["data"]["leadConvert"]
    assert d["customer"]["id"] == c["id"] and d["opportunity"] is None
    assert (await api.gql(t, SEARCH, {})).json()["data"]["customers"]["totalCount"] == 1


async def test_campaign_members_and_results(api, api_factory, user):
    t = user["access_token"]
    camp = (await api.gql(t, CAMPAIGN, {"in": {"name": "Autumn Fair", "channel": "trade show", "budget": "1000"}})).json()
    campaign_id = camp["data"]["campaignCreate"]["campaign"]["id"]
    assert camp["data"]["campaignCreate"]["campaign"]["budget"] == {"amount": "1000.00", "currencyCode": "USD"}
    leads = []
    for i in range(4):
        r = await api.gql(t, LEAD, {"in": {"name": f"Visitor {i}", "company": f"Visitor Co {i}", "campaignId": campaign_id}})
        leads.append(r.json()["data"]["leadCreate"]["lead"]["id"])
    # Two leads convert with opportunities; one is won (3000), one lost.
    won = (await api.gql(t, CONVERT, {"in": {"leadId": leads[0], "createOpportunity": True, "amount": "3000",
                                              "opportunityName": "Won at the fair"}})).json()
    lost = (await api.gql(t, CONVERT, {"in": {"leadId": leads[1], "createOpportunity": True, "amount": "500",
                                               "opportunityName": "Lost at the fair"}})).json()
    assert won["data"]["leadConvert"]["userErrors"] == lost["data"]["leadConvert"]["userErrors"] == []
    await api.gql(t, "mutation($id: ID!) { opportunityWin(input: {id: $id}) { userErrors { code } } }",
                  {"id": await opportunity_named(api, t, "Won at the fair")})
    await api.gql(t, 'mutation($id: ID!) { opportunityLose(input: {id: $id, reason: "price"}) { userErrors { code } } }',
                  {"id": await opportunity_named(api, t, "Lost at the fair")})
    c = (await create(api, t, name="Fair Visitor Customer"))["customer"]
    add = """mutation($in: CampaignAddMembersInput!) { campaignAddMembers(input: $in) { added userErrors { field code } } }"""
    r = await api.gql(t, add, {"in": {"campaignId": campaign_id, "customerIds": [c["id"]], "leadIds": [leads[2]]}})
    assert r.json()["data"]["campaignAddMembers"] == {"added": 1, "userErrors": []}  # the lead was a member already
    results = (await api.gql(t, RESULTS, {"id": campaign_id})).json()["data"]["node"]["results"]
    assert results == {"membersReached": 5, "leadsCreated": 4, "opportunitiesWon": 1, "revenueWon": {"amount": "3000.00"},
                       "costPerLead": {"amount": "250.00"}, "returnOnInvestment": "2.0000"}
    # The customer's timeline shows the campaign touch.
    r = await api.gql(t, "query($id: ID!) { node(id: $id) { ... on Customer { timeline { nodes { title } } } } }", {"id": c["id"]})
    assert "Added to campaign: Autumn Fair" in [n["title"] for n in r.json()["data"]["node"]["timeline"]["nodes"]]
    # Another tenant's IDs are refused.
    other = api_factory()
    theirs = await other.signup(company="Outsider")
    their_customer = (await create(other, theirs["access_token"], name="Outsider Customer"))["customer"]
    r = await api.gql(t, add, {"in": {"campaignId": campaign_id, "customerIds": [their_customer["id"]]}})
    assert r.json()["data"]["campaignAddMembers"]["userErrors"] == [{"field": ["input", "customerIds"], "code": "NOT_FOUND"}]


CAMPAIGN_ROI = """query($from: DateTime, $to: DateTime) { crmReport(from: $from, to: $to) { campaigns {
  campaigns { name results { leadsCreated } } budget { amount } leadsCreated revenueWon { amount } costPerLead { amount }
  returnOnInvestment otherCurrencyCount } } }"""


async def test_crm_report_campaign_return_on_investment(api, api_factory, user):
    t = user["access_token"]

    async def campaign(name, budget, starts, ends=None, currency=None):
        r = await api.gql(t, CAMPAIGN, {"in": {"name": name, "channel": "email", "budget": budget, "startsOn": starts,
                                               "endsOn": ends, "currencyCode": currency}})
        return r.json()["data"]["campaignCreate"]["campaign"]["id"]

    spring = await campaign("Spring Mailing", "1000", "2026-01-01", "2026-03-31")
    summer = await campaign("Summer Fair", "500", "2026-06-01")
    await campaign("Euro Fair", "200", "2026-02-01", "2026-02-28", "EUR")
    for i, campaign_id in enumerate([spring, spring, summer, summer, summer]):
        await api.gql(t, LEAD, {"in": {"name": f"Prospect {i}", "company": f"Prospect Co {i}", "campaignId": campaign_id}})
    leads = (await api.gql(t, "{ leads(first: 10) { nodes { id name } } }")).json()["data"]["leads"]["nodes"]
    first = next(n["id"] for n in leads if n["name"] == "Prospect 0")
    await api.gql(t, CONVERT, {"in": {"leadId": first, "createOpportunity": True, "amount": "3000",
                                      "opportunityName": "Spring deal"}})
    await api.gql(t, "mutation($id: ID!) { opportunityWin(input: {id: $id}) { userErrors { code } } }",
                  {"id": await opportunity_named(api, t, "Spring deal")})

    async def report(since=None, until=None):
        r = await api.gql(t, CAMPAIGN_ROI, {"from": since, "to": until})
        return r.json()["data"]["crmReport"]["campaigns"]

    year = await report("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert [(c["name"], c["results"]["leadsCreated"]) for c in year["campaigns"]] == [
        ("Summer Fair", 3), ("Euro Fair", 0), ("Spring Mailing", 2)]
    # Spring: 1000 spent, 3000 won; Summer: 500 spent, nothing won; Euro Fair is listed, not summed.
    assert {k: v for k, v in year.items() if k != "campaigns"} == {
        "budget": {"amount": "1500.00"}, "leadsCreated": 5, "revenueWon": {"amount": "3000.00"},
        "costPerLead": {"amount": "300.00"}, "returnOnInvestment": "1.0000", "otherCurrencyCount": 1}
    later = await report("2026-05-01T00:00:00Z")
    assert [c["name"] for c in later["campaigns"]] == ["Summer Fair"]
    assert (later["budget"], later["costPerLead"], later["returnOnInvestment"]) == (
        {"amount": "500.00"}, {"amount": "166.67"}, "-1.0000")
    before_summer = await report(None, "2026-06-01T00:00:00Z")  # `to` is exclusive: Summer starts that day
    assert [c["name"] for c in before_summer["campaigns"]] == ["Euro Fair", "Spring Mailing"]
    assert (await report("2027-01-01T00:00:00Z"))["campaigns"] == [{"name": "Summer Fair", "results": {"leadsCreated": 3}}]
    # Another tenant's report has none of these campaigns.
    other = api_factory()
    theirs = await other.signup(company="Report Outsider")
    r = await other.gql(theirs["access_token"], CAMPAIGN_ROI, {"from": None, "to": None})
    assert r.json()["data"]["crmReport"]["campaigns"]["campaigns"] == []
    assert r.json()["data"]["crmReport"]["campaigns"]["budget"] == {"amount": "0.00"}


async def opportunity_named(api, token, name: str) -> str:
    r = await api.gql(token, '{ opportunities(first: 50) { nodes { id name } } }')
    return next(n["id"] for n in r.json()["data"]["opportunities"]["nodes"] if n["name"] == name)


async def test_cases_follow_their_sla_and_lifecycle(api, db, user):
    t = user["access_token"]
    c = (await create(api, t, name="Service Customer"))["customer"]
    made = (await api.gql(t, CASE, {"in": {"customerId": c["id"], "subject": "Broken teapot", "priority": "URGENT",
                                           "channel": "PHONE"}})).json()["data"]["caseCreate"]["case"]
    from datetime import datetime

    created = datetime.fromisoformat(made["createdAt"])
    assert round((datetime.fromisoformat(made["firstResponseDueAt"]) - created).total_seconds() / 3600) == 1
    assert round((datetime.fromisoformat(made["resolutionDueAt"]) - created).total_seconds() / 3600) == 4
    assert made["status"] == "NEW" and made["slaBreached"] is False
    comment = "mutation($id: ID!, $b: String!, $p: Boolean!) { caseComment(input: {id: $id, body: $b, public: $p}) { case { status firstResponseAt comments { body public author { email } } } userErrors { code } } }"
    r = (await api.gql(t, comment, {"id": made["id"], "b": "internal note", "p": False})).json()["data"]["caseComment"]
    assert r["case"]["firstResponseAt"] is None and r["case"]["status"] == "OPEN"
    r = (await api.gql(t, comment, {"id": made["id"], "b": "We will replace it.", "p": True})).json()["data"]["caseComment"]
    assert r["case"]["firstResponseAt"] is not None and r["case"]["comments"][1]["author"]["email"] == user["email"]
    lifecycle = "mutation($id: ID!) { %s(input: {id: $id}) { case { status resolvedAt closedAt } userErrors { code } } }"
    assert (await api.gql(t, lifecycle % "caseResolve", {"id": made["id"]})).json()["data"]["caseResolve"]["case"]["status"] == "RESOLVED"
    r = (await api.gql(t, comment, {"id": made["id"], "b": "Still broken!", "p": True})).json()["data"]["caseComment"]
    assert r["case"]["status"] == "OPEN"  # a reply reopens a resolved case
    closed = (await api.gql(t, lifecycle % "caseClose", {"id": made["id"]})).json()["data"]["caseClose"]["case"]
    assert closed["status"] == "CLOSED" and closed["resolvedAt"] and closed["closedAt"]
    for mutation in ("caseClose", "caseResolve"):
        r = (await api.gql(t, lifecycle % mutation, {"id": made["id"]})).json()["data"][mutation]
        assert r["userErrors"] == [{"code": "INVALID_TRANSITION"}]
    # A case whose first response is overdue shows as breached, and the filter finds it.
    late = (await api.gql(t, CASE, {"in": {"customerId": c["id"], "subject": "Nobody answered"}})).json()["data"]["caseCreate"]["case"]
    async with db.owner_engine.begin() as conn:
        await conn.execute(text("UPDATE crm_case SET first_response_due_at = now() - interval '1 hour' WHERE subject = 'Nobody answered'"))
    r = (await api.gql(t, "{ cases(filter: {slaBreached: true}) { nodes { id slaBreached } } }")).json()["data"]["cases"]["nodes"]
    assert [n["id"] for n in r] == [late["id"]] and r[0]["slaBreached"] is True
    bad = (await api.gql(t, CASE, {"in": {"customerId": c["id"], "subject": " "}})).json()["data"]["caseCreate"]
    assert bad["userErrors"] == [{"field": ["input", "subject"], "code": "REQUIRED"}]
    r = await api.gql(t, "query($id: ID!) { node(id: $id) { ... on Customer { timeline { nodes { title } } } } }", {"id": c["id"]})
    titles = [n["title"] for n in r.json()["data"]["node"]["timeline"]["nodes"]]
    assert "Case opened (urgent): Broken teapot" in titles and "Case closed: Broken teapot" in titles


async def test_lead_status_moves_but_conversion_is_its_own_step(api, user):
    t = user["access_token"]
    lead_id = (await api.gql(t, LEAD, {"in": {"name": "Status Lead"}})).json()["data"]["leadCreate"]["lead"]["id"]
    status = "mutation($id: ID!, $s: LeadStatus!) { leadSetStatus(input: {id: $id, status: $s}) { lead { status } userErrors { field code } } }"
    r = (await api.gql(t, status, {"id": lead_id, "s": "QUALIFIED"})).json()["data"]["leadSetStatus"]
    assert r == {"lead": {"status": "QUALIFIED"}, "userErrors": []}
    r = (await api.gql(t, status, {"id": lead_id, "s": "CONVERTED"})).json()["data"]["leadSetStatus"]
    assert r["userErrors"] == [{"field": ["input", "status"], "code": "INVALID_STATUS"}]
    await api.gql(t, CONVERT, {"in": {"leadId": lead_id}})
    r = (await api.gql(t, status, {"id": lead_id, "s": "NEW"})).json()["data"]["leadSetStatus"]
    assert r["userErrors"] == [{"field": ["input", "id"], "code": "INVALID_TRANSITION"}]
