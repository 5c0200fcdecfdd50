"""The pipeline, activities, the customer timeline and crmReport, over HTTP."""

from __future__ import annotations

import pytest

from tests.modules.crm.test_customers_api import create

STAGES = "{ pipelineStages { id name position probability } }"
OPP = """mutation($in: OpportunityCreateInput!) { opportunityCreate(input: $in) {
  opportunity { id status probability amount { amount currencyCode } stage { name } owner { email } } userErrors { field code message } } }"""
MOVE = """mutation($id: ID!, $s: ID!) { opportunityMoveStage(input: {id: $id, stageId: $s}) {
  opportunity { stage { name } probability } userErrors { field code message } } }"""
WIN = "mutation($id: ID!) { opportunityWin(input: {id: $id}) { opportunity { status probability closedAt } userErrors { code message } } }"
LOSE = """mutation($id: ID!, $r: String!) { opportunityLose(input: {id: $id, reason: $r}) {
  opportunity { status lostReason } userErrors { field code message } } }"""


@pytest.fixture
async def crm_user(api) -> dict:
    owner = await api.signup(company="Pipeline Co")
    stages = (await api.gql(owner["access_token"], STAGES)).json()["data"]["pipelineStages"]
    return {**owner, "stages": {s["name"]: s["id"] for s in stages}}


async def opportunity(api, token, customer_id, amount="1000", **extra) -> dict:
    r = await api.gql(token, OPP, {"in": {"customerId": customer_id, "name": "Deal", "amount": amount, **extra}})
    return r.json()["data"]["opportunityCreate"]


async def test_a_new_crm_tenant_has_the_default_pipeline(api, crm_user):
    stages = (await api.gql(crm_user["access_token"], STAGES)).json()["data"]["pipelineStages"]
    assert [(s["name"], s["probability"]) for s in stages] == [
        ("Qualification", "10.00"), ("Needs analysis", "25.00"), ("Proposal", "50.00"), ("Negotiation", "75.00")]


async def test_opportunities_move_win_and_lose_with_history_and_follow_ups(api, crm_user):
    t = crm_user["access_token"]
    c = (await create(api, t, name="Crane Logistics"))["customer"]
    made = await opportunity(api, t, c["id"], amount="12500.505")
    o = made["opportunity"]
    assert made["userErrors"] == [] and o["stage"]["name"] == "Qualification" and o["status"] == "OPEN"
    assert o["amount"] == {"amount": "12500.50", "currencyCode": "USD"}  # half-even to cents
    assert o["owner"]["email"] == crm_user["email"]
    r = await api.gql(t, MOVE, {"id": o["id"], "s": crm_user["stages"]["Proposal"]})
    assert r.json()["data"]["opportunityMoveStage"]["opportunity"] == {"stage": {"name": "Proposal"}, "probability": "50.00"}
    r = await api.gql(t, WIN, {"id": o["id"]})
    won = r.json()["data"]["opportunityWin"]["opportunity"]
    assert won["status"] == "WON" and won["probability"] == "100.00" and won["closedAt"]
    for mutation, variables in [(WIN, {"id": o["id"]}), (LOSE, {"id": o["id"], "r": "late"}),
                                (MOVE, {"id": o["id"], "s": crm_user["stages"]["Negotiation"]})]:
        body = (await api.gql(t, mutation, variables)).json()["data"]
        [errors] = [v["userErrors"] for v in body.values()]
        assert errors[0]["code"] == "INVALID_TRANSITION" and "WON" in errors[0]["message"]
    # Entering a stage with a follow-up creates a task for the owner.
    tasks = (await api.gql(t, '{ activities(filter: {mine: true, open: true, kind: TASK}) { nodes { subject } } }')).json()
    subjects = [n["subject"] for n in tasks["data"]["activities"]["nodes"]]
    assert any(s.startswith("Qualify") for s in subjects) and any(s.startswith("Send the proposal") for s in subjects)
    lost = await opportunity(api, t, c["id"])
    r = await api.gql(t, LOSE, {"id": lost["opportunity"]["id"], "r": "  "})
    assert [(e["field"], e["code"]) for e in r.json()["data"]["opportunityLose"]["userErrors"]] == [
        (["input", "reason"], "REQUIRED")]
    r = await api.gql(t, LOSE, {"id": lost["opportunity"]["id"], "r": "price"})
    assert r.json()["data"]["opportunityLose"]["opportunity"] == {"status": "LOST", "lostReason": "price"}


async def test_bad_opportunity_input(api, api_factory, crm_user):
    t = crm_user["access_token"]
    c = (await create(api, t, name="Orchid Optics"))["customer"]
    for extra, code in [({"amount": "-5"}, "NEGATIVE_AMOUNT"), ({"amount": "1e30"}, "INVALID_AMOUNT"),
                        ({"currencyCode": "dollars"}, "INVALID_CURRENCY"), ({"stageId": "bogus"}, "NOT_FOUND")]:
        made = await opportunity(api, t, c["id"], **{"amount": "10", **extra})
        assert made["opportunity"] is None and made["userErrors"][0]["code"] == code, extra
    other = api_factory()
    theirs = await other.signup(company="Their Pipeline")
    their_stage = (await other.gql(theirs["access_token"], STAGES)).json()["data"]["pipelineStages"][0]["id"]
    made = await opportunity(api, t, c["id"], stageId=their_stage)
    assert made["userErrors"][0]["code"] == "UNKNOWN_STAGE"  # another tenant's stage does not exist here
    mine = await opportunity(api, t, c["id"])
    r = await other.gql(theirs["access_token"], WIN, {"id": mine["opportunity"]["id"]})
    assert r.json()["data"]["opportunityWin"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_activities_my_open_overdue_and_completion(api, crm_user):
    t = crm_user["access_token"]
    c = (await create(api, t, name="Cedar Books"))["customer"]
    create_activity = """mutation($in: ActivityCreateInput!) { activityCreate(input: $in) {
      activity { id kind overdue completedAt assignee { email } } userErrors { field code } } }"""
    late = (await api.gql(t, create_activity, {"in": {"kind": "TASK", "subject": "Chase payment", "customerId": c["id"],
                                                      "dueAt": "2020-01-01T09:00:00Z"}})).json()["data"]["activityCreate"]
    assert late["activity"]["overdue"] is True and late["activity"]["assignee"]["email"] == crm_user["email"]
    call = (await api.gql(t, create_activity, {"in": {"kind": "CALL", "subject": "Intro call", "customerId": c["id"]}})).json()
    assert call["data"]["activityCreate"]["activity"]["completedAt"] is not None  # a logged call is done
    overdue = (await api.gql(t, "{ activities(filter: {overdue: true}) { nodes { id } } }")).json()["data"]["activities"]["nodes"]
    assert [n["id"] for n in overdue] == [late["activity"]["id"]]
    done = "mutation($id: ID!) { activityComplete(input: {id: $id}) { activity { completedAt } userErrors { code } } }"
    assert (await api.gql(t, done, {"id": late["activity"]["id"]})).json()["data"]["activityComplete"]["activity"]["completedAt"]
    again = (await api.gql(t, done, {"id": late["activity"]["id"]})).json()["data"]["activityComplete"]
    assert again["userErrors"] == [{"code": "ALREADY_COMPLETED"}]
    bad = (await api.gql(t, create_activity, {"in": {"kind": "TASK", "subject": "", "customerId": c["id"]}})).json()
    assert bad["data"]["activityCreate"]["userErrors"][0]["code"] == "REQUIRED"


async def test_the_timeline_tells_the_customers_story_newest_first(api, crm_user):
    t = crm_user["access_token"]
    c = (await create(api, t, name="Summit Foods"))["customer"]
    await api.gql(t, "mutation($c: ID!) { contactCreate(input: {customerId: $c, name: \"Zhou Xin\"}) { userErrors { code } } }",
                  {"c": c["id"]})
    o = (await opportunity(api, t, c["id"], amount="800"))["opportunity"]
    await api.gql(t, MOVE, {"id": o["id"], "s": crm_user["stages"]["Negotiation"]})
    await api.gql(t, WIN, {"id": o["id"]})
    r = await api.gql(t, "query($id: ID!) { node(id: $id) { ... on Customer { timeline(first: 20) { nodes { title eventType } } } } }",
                      {"id": c["id"]})
    titles = [n["title"] for n in r.json()["data"]["node"]["timeline"]["nodes"]]
    assert titles[0] == "Opportunity won (800.00 USD)"
    assert "Opportunity moved: Qualification → Negotiation" in titles
    assert titles[-1] == "Customer created: Summit Foods"
    assert "Contact added: Zhou Xin" in titles


async def test_crm_report_matches_a_hand_computed_pipeline(api, crm_user):
    t, s = crm_user["access_token"], crm_user["stages"]
    c = (await create(api, t, name="Report Fixture Ltd"))["customer"]
    a = (await opportunity(api, t, c["id"], amount="1000"))["opportunity"]  # stays in Qualification
    b = (await opportunity(api, t, c["id"], amount="2000"))["opportunity"]
    for stage in ("Needs analysis", "Proposal"):
        await api.gql(t, MOVE, {"id": b["id"], "s": s[stage]})
    await api.gql(t, WIN, {"id": b["id"]})
    cc = (await opportunity(api, t, c["id"], amount="3000"))["opportunity"]
    await api.gql(t, MOVE, {"id": cc["id"], "s": s["Needs analysis"]})
    await api.gql(t, LOSE, {"id": cc["id"], "r": "price"})
    d = (await opportunity(api, t, c["id"], amount="4000"))["opportunity"]
    for stage in ("Needs analysis", "Proposal", "Negotiation"):
        await api.gql(t, MOVE, {"id": d["id"], "s": s[stage]})
    assert a and d
    r = await api.gql(t, """{ crmReport { funnel { stage { name } count value { amount } conversionRate }
      winRate wonCount lostCount pipelineValue { amount currencyCode } weightedPipelineValue { amount } } }""")
    report = r.json()["data"]["crmReport"]
    assert [(f["stage"]["name"], f["count"], f["value"]["amount"], f["conversionRate"]) for f in report["funnel"]] == [
        ("Qualification", 4, "10000.00", "0.7500"), ("Needs analysis", 3, "9000.00", "0.6667"),
        ("Proposal", 2, "6000.00", "0.5000"), ("Negotiation", 1, "4000.00", "1.0000")]
    assert (report["winRate"], report["wonCount"], report["lostCount"]) == ("0.5000", 1, 1)
    assert report["pipelineValue"] == {"amount": "5000.00", "currencyCode": "USD"}
    assert report["weightedPipelineValue"]["amount"] == "3100.00"  # 1000 x 10 % + 4000 x 75 %
    r = await api.gql(t, '{ crmReport(from: "2100-01-01T00:00:00Z") { funnel { count } winRate pipelineValue { amount } } }')
    later = r.json()["data"]["crmReport"]
    assert {f["count"] for f in later["funnel"]} == {0} and later["winRate"] is None
    assert later["pipelineValue"]["amount"] == "5000.00"  # open pipeline ignores the date range
