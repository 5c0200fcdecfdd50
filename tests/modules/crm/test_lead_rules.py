"""Lead assignment rules: the first rule that holds routes a new lead; then the round robin."""

from __future__ import annotations

import pytest

from tests.modules.platform.test_access_api import join

RULES = "{ leadAssignmentRules { id name position source emailDomain campaignId teamId user { email } } }"
CREATE = """mutation($in: LeadAssignmentRuleCreateInput!) { leadAssignmentRuleCreate(input: $in) {
  rule { id name position } userErrors { field code } } }"""
DELETE = """mutation($id: ID!) { leadAssignmentRuleDelete(input: {id: $id}) { deletedId userErrors { field code } } }"""
LEAD = """mutation($in: LeadCreateInput!) { leadCreate(input: $in) { lead { id owner { email } } userErrors { code } } }"""
TEAM = """mutation($n: String!) { teamCreate(input: {name: $n}) { team { id } } }"""
TEAM_ADD = """mutation($t: ID!, $u: ID!) { teamAddMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }"""


@pytest.fixture
async def office(api) -> dict:
    """An owner, three sales users (ann, bob, cyd) and a team of bob and cyd."""
    owner = await api.signup(company="Routing Co")
    t = owner["access_token"]
    people = {name: await join(api, t, "sales") for name in ("ann", "bob", "cyd")}
    me = "{ viewer { user { id email } } }"
    ids = {name: (await api.gql(p["access_token"], me)).json()["data"]["viewer"]["user"] for name, p in people.items()}
    team = (await api.gql(t, TEAM, {"n": "Fair desk"})).json()["data"]["teamCreate"]["team"]["id"]
    for name in ("bob", "cyd"):
        await api.gql(t, TEAM_ADD, {"t": team, "u": ids[name]["id"]})
    return {"token": t, "team": team, "users": ids}


async def owner_of(api, token, **lead) -> str:
    r = (await api.gql(token, LEAD, {"in": {"name": "Someone", **lead}})).json()["data"]["leadCreate"]
    assert r["userErrors"] == []
    return r["lead"]["owner"]["email"]


async def test_rules_route_leads_in_order_then_the_round_robin(api, office):
    t, users = office["token"], office["users"]
    email = {name: u["email"] for name, u in users.items()}
    r = await api.gql(t, CREATE, {"in": {"name": "Fair leads", "source": "Trade Show", "teamId": office["team"]}})
    assert r.json()["data"]["leadAssignmentRuleCreate"]["userErrors"] == []
    r = await api.gql(t, CREATE, {"in": {"name": "Partner", "emailDomain": "@Partner.example", "userId": users["ann"]["id"],
                                         "position": 1}})
    assert r.json()["data"]["leadAssignmentRuleCreate"]["rule"]["position"] == 1
    rules = (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]
    assert [(x["name"], x["position"], x["source"], x["emailDomain"]) for x in rules] == [
        ("Partner", 1, None, "partner.example"), ("Fair leads", 2, "trade show", None)]
    assert rules[0]["user"] == {"email": email["ann"]} and rules[1]["teamId"] == office["team"]

    # The partner rule comes first, and subdomains match; the team takes turns by open leads.
    assert await owner_of(api, t, source="trade show", email="x@sales.partner.example") == email["ann"]
    fair = [await owner_of(api, t, source="TRADE SHOW") for _ in range(4)]
    assert sorted(fair) == sorted([email["bob"], email["cyd"]] * 2)
    # No rule holds: the round robin over all sales members (open leads: ann 1, bob 2, cyd 2).
    assert await owner_of(api, t, source="web", email="x@partner.example.com") == email["ann"]

    # Deleting a rule closes the gap in the positions.
    await api.gql(t, DELETE, {"id": rules[0]["id"]})
    rules = (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]
    assert [(x["name"], x["position"]) for x in rules] == [("Fair leads", 1)]
    assert await owner_of(api, t, email="y@partner.example") in {email["ann"], email["bob"], email["cyd"]}


async def test_a_rule_whose_team_is_empty_is_passed_over(api, office):
    t = office["token"]
    empty = (await api.gql(t, TEAM, {"n": "Nobody here"})).json()["data"]["teamCreate"]["team"]["id"]
    await api.gql(t, CREATE, {"in": {"name": "Empty", "source": "web", "teamId": empty}})
    await api.gql(t, CREATE, {"in": {"name": "Ann takes web", "source": "web", "userId": office["users"]["ann"]["id"]}})
    assert await owner_of(api, t, source="web") == office["users"]["ann"]["email"]


async def test_bad_rules_are_refused_and_write_nothing(api, api_factory, office):
    t, users = office["token"], office["users"]

    async def errors(**rule):
        r = await api.gql(t, CREATE, {"in": {"name": "Bad", **rule}})
        return [(e["field"][-1], e["code"]) for e in r.json()["data"]["leadAssignmentRuleCreate"]["userErrors"]]

    assert await errors(teamId=office["team"]) == [("source", "NO_CONDITION")]
    assert await errors(source="web") == [("userId", "ONE_ASSIGNEE")]
    assert await errors(source="web", teamId=office["team"], userId=users["ann"]["id"]) == [("userId", "ONE_ASSIGNEE")]
    assert await errors(emailDomain="not a domain", userId=users["ann"]["id"]) == [("emailDomain", "INVALID_DOMAIN")]
    assert await errors(source="web", userId=users["ann"]["id"], position=0) == [("position", "INVALID_POSITION")]
    # Another tenant's team, user and campaign are not found.
    other = api_factory()
    theirs = await other.signup(company="Other Routing Co")
    their_team = (await other.gql(theirs["access_token"], TEAM, {"n": "Theirs"})).json()["data"]["teamCreate"]["team"]["id"]
    their_user = (await other.gql(theirs["access_token"], "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    camp = """mutation { campaignCreate(input: {name: "Theirs", channel: "email"}) { campaign { id } } }"""
    their_campaign = (await other.gql(theirs["access_token"], camp)).json()["data"]["campaignCreate"]["campaign"]["id"]
    assert await errors(source="web", teamId=their_team) == [("teamId", "NOT_FOUND")]
    assert await errors(source="web", userId=their_user) == [("userId", "NOT_FOUND")]
    assert await errors(campaignId=their_campaign, userId=users["ann"]["id"]) == [("campaignId", "NOT_FOUND")]
    assert (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"] == []
    # Their rules are theirs: not listed here, not deletable from here.
    r = await other.gql(theirs["access_token"], CREATE, {"in": {"name": "Theirs", "source": "web", "teamId": their_team}})
    their_rule = r.json()["data"]["leadAssignmentRuleCreate"]["rule"]["id"]
    r = await api.gql(t, DELETE, {"id": their_rule})
    assert r.json()["data"]["leadAssignmentRuleDelete"]["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    assert len((await other.gql(theirs["access_token"], RULES)).json()["data"]["leadAssignmentRules"]) == 1
    # Sales users may read the rules but not change them.
    sales = await join(api, t, "sales")
    r = await api.gql(sales["access_token"], CREATE, {"in": {"name": "Mine", "source": "web",
                                                             "userId": users["ann"]["id"]}})
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rules_created_at_once_keep_distinct_positions(api, office):
    import asyncio

    t, ann = office["token"], office["users"]["ann"]["id"]
    await asyncio.gather(*(api.gql(t, CREATE, {"in": {"name": f"Rule {i}", "source": f"s{i}", "userId": ann,
                                                      "position": 1}}) for i in range(6)))
    rules = (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]
    assert sorted(x["position"] for x in rules) == [1, 2, 3, 4, 5, 6]


UPDATE = """mutation($in: LeadAssignmentRuleUpdateInput!) { leadAssignmentRuleUpdate(input: $in) {
  rule { name position source emailDomain teamId user { email } } userErrors { field code } } }"""


async def test_a_rule_is_edited_in_place(api, api_factory, office):
    t, users = office["token"], office["users"]
    made = []
    for i in range(3):
        r = await api.gql(t, CREATE, {"in": {"name": f"R{i + 1}", "source": f"s{i + 1}", "userId": users["ann"]["id"]}})
        made.append(r.json()["data"]["leadAssignmentRuleCreate"]["rule"]["id"])
    # Move R3 first, switch it to the team, and swap its source for a domain.
    r = await api.gql(t, UPDATE, {"in": {"id": made[2], "position": 1, "teamId": office["team"], "source": None,
                                         "emailDomain": "fair.example"}})
    rule = r.json()["data"]["leadAssignmentRuleUpdate"]
    assert rule["userErrors"] == [] and rule["rule"] == {
        "name": "R3", "position": 1, "source": None, "emailDomain": "fair.example", "teamId": office["team"],
        "user": None}
    names = [(x["name"], x["position"]) for x in (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]]
    assert names == [("R3", 1), ("R1", 2), ("R2", 3)]
    assert await owner_of(api, t, email="z@fair.example") in {users["bob"]["email"], users["cyd"]["email"]}
    # Moving down, past the end, lands last; the others close up.
    await api.gql(t, UPDATE, {"in": {"id": made[2], "position": 9}})
    names = [(x["name"], x["position"]) for x in (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]]
    assert names == [("R1", 1), ("R2", 2), ("R3", 3)]
    # An edit that leaves no condition, or a bad domain, is refused and changes nothing.
    r = await api.gql(t, UPDATE, {"in": {"id": made[2], "emailDomain": None, "name": "Renamed"}})
    assert r.json()["data"]["leadAssignmentRuleUpdate"]["userErrors"] == [{"field": ["input", "source"],
                                                                          "code": "NO_CONDITION"}]
    r = await api.gql(t, UPDATE, {"in": {"id": made[0], "userId": None}})
    assert r.json()["data"]["leadAssignmentRuleUpdate"]["userErrors"][0]["code"] == "ONE_ASSIGNEE"
    rules = (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"]
    assert rules[2]["name"] == "R3" and rules[2]["emailDomain"] == "fair.example"
    assert rules[0]["user"] == {"email": users["ann"]["email"]}
    # Another tenant can neither edit the rule nor point it at its own team.
    other = api_factory()
    theirs = await other.signup(company="Rule Editor Co")
    r = await other.gql(theirs["access_token"], UPDATE, {"in": {"id": made[0], "name": "Taken"}})
    assert r.json()["data"]["leadAssignmentRuleUpdate"]["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    their_team = (await other.gql(theirs["access_token"], TEAM, {"n": "Theirs"})).json()["data"]["teamCreate"]["team"]["id"]
    r = await api.gql(t, UPDATE, {"in": {"id": made[0], "teamId": their_team}})
    assert r.json()["data"]["leadAssignmentRuleUpdate"]["userErrors"] == [{"field": ["input", "teamId"], "code": "NOT_FOUND"}]
    assert (await api.gql(t, RULES)).json()["data"]["leadAssignmentRules"][0]["name"] == "R1"


async def test_imported_leads_can_go_through_the_rules(api, office):
    t, users = office["token"], office["users"]
    email = {name: u["email"] for name, u in users.items()}
    await api.gql(t, CREATE, {"in": {"name": "Fair leads", "source": "trade show", "teamId": office["team"]}})
    await api.gql(t, CREATE, {"in": {"name": "Partner", "emailDomain": "partner.example", "userId": users["ann"]["id"]}})
    body = ("name,email,source\nA,a@partner.example,web\nB,b@x.example,Trade Show\nC,c@x.example,trade show\n"
            "D,d@x.example,trade show\nE,e@x.example,trade show\nF,f@x.example,web\n")
    r = await api.http.post("/crm/import/leads", params={"assign": "rules"}, content=body.encode(),
                            headers={"authorization": f"Bearer {t}", "content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["created"] == 6, r.text
    leads = (await api.gql(t, "{ leads(first: 10) { nodes { name owner { email } } } }")).json()["data"]["leads"]
    owners = {n["name"]: n["owner"]["email"] for n in leads["nodes"]}
    assert owners["A"] == email["ann"]  # the partner rule
    assert sorted(owners[x] for x in "BCDE") == sorted([email["bob"], email["cyd"]] * 2)  # the team takes turns
    assert owners["F"] == email["ann"]  # the round robin: ann has the fewest open leads
    r = await api.http.post("/crm/import/leads", params={"assign": "nobody"}, content=body.encode(),
                            headers={"authorization": f"Bearer {t}", "content-type": "text/csv"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "INVALID_ASSIGN"
