"""customerMerge: everything moves to the survivor, in one transaction."""

from __future__ import annotations

from tests.modules.crm.test_customers_api import CONTACT, SEARCH, create

MERGE = """mutation($s: ID!, $m: ID!) { customerMerge(input: {survivorId: $s, mergedId: $m}) {
  customer { name email phone tags contacts { name } opportunities { name }
             timeline(first: 20) { nodes { title } } } userErrors { field code } } }"""


async def test_merging_moves_everything_to_the_survivor(api):
    owner = await api.signup(company="Merge Co")
    t = owner["access_token"]
    keep = (await create(api, t, name="Jade Tea House", tags=["vip"]))["customer"]
    dup = (await create(api, t, name="Jade Tea", email="jade@tea.example", phone="+86 1", tags=["tea"],
                        allowDuplicate=True))["customer"]
    await api.gql(t, CONTACT, {"in": {"customerId": dup["id"], "name": "Chen Jing"}})
    await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Dup deal", amount: "10"}) '
                     "{ userErrors { code } } }", {"c": dup["id"]})
    await api.gql(t, 'mutation($c: ID!) { caseCreate(input: {customerId: $c, subject: "Dup case"}) { userErrors { code } } }',
                  {"c": dup["id"]})
    r = (await api.gql(t, MERGE, {"s": keep["id"], "m": dup["id"]})).json()["data"]["customerMerge"]
    c = r["customer"]
    assert r["userErrors"] == []
    assert (c["name"], c["email"], c["phone"], c["tags"]) == ("Jade Tea House", "jade@tea.example", "+86 1", ["tea", "vip"])
    assert c["contacts"] == [{"name": "Chen Jing"}] and c["opportunities"] == [{"name": "Dup deal"}]
    titles = [n["title"] for n in c["timeline"]["nodes"]]
    assert titles[0] == "Merged with Jade Tea" and "Customer created: Jade Tea" in titles  # the duplicate's history
    r = await api.gql(t, '{ cases { nodes { subject customer { name } } } }')
    assert r.json()["data"]["cases"]["nodes"] == [{"subject": "Dup case", "customer": {"name": "Jade Tea House"}}]
    names = [n["name"] for n in (await api.gql(t, SEARCH, {})).json()["data"]["customers"]["nodes"]]
    assert names == ["Jade Tea House"]  # the duplicate is archived
    for variables, code in [({"s": keep["id"], "m": keep["id"]}, "MERGE_INTO_ITSELF"),
                            ({"s": keep["id"], "m": dup["id"]}, "ALREADY_MERGED"),
                            ({"s": keep["id"], "m": "bogus"}, "NOT_FOUND")]:
        r = (await api.gql(t, MERGE, variables)).json()["data"]["customerMerge"]
        assert r["userErrors"][0]["code"] == code, variables
