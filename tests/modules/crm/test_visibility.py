"""Visibility OWN: sales users see and change only their own (or shared) CRM records, enforced by
PostgreSQL, so it holds for every query path."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.modules.crm.test_customers_api import SEARCH, UPDATE, create
from tests.modules.platform.test_access_api import join

SETTINGS = """mutation($v: String!) { crmSettingsUpdate(input: {visibility: $v}) { settings { visibility } userErrors { field code } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Customer { name } } }"


@pytest.fixture
async def team(api):
    owner = await api.signup(company="Visibility Co")
    ann = await join(api, owner["access_token"], "sales")
    bob = await join(api, owner["access_token"], "sales")
    r = await api.gql(owner["access_token"], SETTINGS, {"v": "OWN"})
    assert r.json()["data"]["crmSettingsUpdate"]["settings"]["visibility"] == "OWN"
    return owner, ann, bob


async def names(api, token) -> list[str]:
    r = await api.gql(token, SEARCH, {})
    return sorted(n["name"] for n in r.json()["data"]["customers"]["nodes"])


async def test_sales_users_see_only_their_own_customers(api, team):
    owner, ann, bob = team
    mine = (await create(api, ann["access_token"], name="Ann's Account"))["customer"]
    await create(api, bob["access_token"], name="Bob's Account")
    assert await names(api, ann["access_token"]) == ["Ann's Account"]
    assert await names(api, bob["access_token"]) == ["Bob's Account"]
    assert await names(api, owner["access_token"]) == ["Ann's Account", "Bob's Account"]  # owners see all
    # Bob cannot reach Ann's customer any other way either.
    assert (await api.gql(bob["access_token"], NODE, {"id": mine["id"]})).json()["data"]["node"] is None
    r = await api.gql(bob["access_token"], UPDATE, {"in": {"id": mine["id"], "name": "Taken"}})
    assert r.json()["data"]["customerUpdate"]["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    r = await api.gql(bob["access_token"], 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "x", '
                                           'amount: "1"}) { userErrors { code } } }', {"c": mine["id"]})
    assert r.json()["data"]["opportunityCreate"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_sharing_lets_a_colleague_in(api, team):
    _owner, ann, bob = team
    mine = (await create(api, ann["access_token"], name="Shared Account"))["customer"]
    bob_id = (await api.gql(bob["access_token"], "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    r = await api.gql(ann["access_token"], "mutation($id: ID!, $u: ID!) { customerShare(input: {id: $id, userId: $u}) "
                                           "{ customer { name } userErrors { code } } }", {"id": mine["id"], "u": bob_id})
    assert r.json()["data"]["customerShare"]["userErrors"] == []
    assert await names(api, bob["access_token"]) == ["Shared Account"]
    assert (await api.gql(bob["access_token"], NODE, {"id": mine["id"]})).json()["data"]["node"]["name"] == "Shared Account"


async def test_visibility_all_shows_everything_and_only_admins_change_it(api, team):
    owner, ann, bob = team
    await create(api, ann["access_token"], name="Open Account")
    r = await api.gql(ann["access_token"], SETTINGS, {"v": "ALL"})
    assert r.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "crm.admin"}
    r = await api.gql(owner["access_token"], SETTINGS, {"v": "SOME"})
    assert r.json()["data"]["crmSettingsUpdate"]["userErrors"] == [{"field": ["input", "visibility"],
                                                                    "code": "INVALID_VISIBILITY"}]
    await api.gql(owner["access_token"], SETTINGS, {"v": "ALL"})
    assert await names(api, bob["access_token"]) == ["Open Account"]


async def test_the_database_enforces_it_for_raw_sql_too(api, db, team):
    _owner, ann, bob = team
    await create(api, ann["access_token"], name="Raw SQL Account")
    ids = {}
    for who in (ann, bob):
        ids[who["email"]] = (await api.gql(who["access_token"], "{ viewer { user { id } tenant { id } } }")).json()["data"]["viewer"]
    from backend.core.ids import from_global_id

    tenant = from_global_id(ids[ann["email"]]["tenant"]["id"])[1]
    ann_id = from_global_id(ids[ann["email"]]["user"]["id"])[1]
    bob_id = from_global_id(ids[bob["email"]]["user"]["id"])[1]
    async with db.app_engine.connect() as conn:
        for who, expected in ((bob_id, 0), (ann_id, 1), ("", 1)):
            async with conn.begin():
                await conn.execute(text(f"SET LOCAL app.tenant_id = '{tenant}'"))
                await conn.execute(text(f"SET LOCAL app.record_owner = '{who}'"))
                count = await conn.scalar(text("SELECT count(*) FROM crm_customer WHERE name = 'Raw SQL Account'"))
                assert count == expected, who
        async with conn.begin():  # Bob cannot write a row owned by Ann either
            await conn.execute(text(f"SET LOCAL app.tenant_id = '{tenant}'"))
            await conn.execute(text(f"SET LOCAL app.record_owner = '{bob_id}'"))
            with pytest.raises(DBAPIError, match="row-level security"):
                await conn.execute(text(
                    "INSERT INTO crm_customer (tenant_id, id, kind, name, tags, status, owner_id, shared_with, "
                    "created_at, updated_at) VALUES (:t, gen_random_uuid(), 'company', 'Forged', '{}', 'prospect', "
                    ":o, '{}', now(), now())"), {"t": tenant, "o": ann_id})


async def test_team_visibility_admits_teammates_records_only(api, team):
    owner, ann, bob = team
    from tests.modules.platform.test_access_api import join

    carl = await join(api, owner["access_token"], "sales")
    ids = {}
    for who in (ann, bob, carl):
        ids[who["email"]] = (await api.gql(who["access_token"], "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    t = owner["access_token"]
    made = (await api.gql(t, 'mutation { teamCreate(input: {name: "North"}) { team { id } userErrors { code } } }')).json()
    team_id = made["data"]["teamCreate"]["team"]["id"]
    add = "mutation($t: ID!, $u: ID!) { teamAddMember(input: {teamId: $t, userId: $u}) { team { name members { email } } userErrors { code } } }"
    for who in (ann, bob):
        r = await api.gql(t, add, {"t": team_id, "u": ids[who["email"]]})
        assert r.json()["data"]["teamAddMember"]["userErrors"] == []
    assert sorted(m["email"] for m in r.json()["data"]["teamAddMember"]["team"]["members"]) == sorted([ann["email"], bob["email"]])
    await create(api, ann["access_token"], name="Ann Team Account")
    await create(api, carl["access_token"], name="Carl Solo Account")
    r = await api.gql(t, SETTINGS, {"v": "TEAM"})
    assert r.json()["data"]["crmSettingsUpdate"]["settings"]["visibility"] == "TEAM"
    assert await names(api, bob["access_token"]) == ["Ann Team Account"]  # a teammate's
    assert await names(api, carl["access_token"]) == ["Carl Solo Account"]  # in no team: own only
    assert await names(api, ann["access_token"]) == ["Ann Team Account"]
    r = await api.gql(t, "mutation($t: ID!, $u: ID!) { teamRemoveMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
                      {"t": team_id, "u": ids[bob["email"]]})
    assert await names(api, bob["access_token"]) == []


async def test_after_a_refused_first_mutation_the_rest_of_the_request_is_still_scoped(api, team):
    """A request's first mutation runs without a savepoint: refused, its whole transaction is rolled back and
    begun again. The new one must be scoped as the first was (tenant and record owner), and commit."""
    _owner, ann, bob = team
    hers = (await create(api, ann["access_token"], name="Ann's Account"))["customer"]
    his = (await create(api, bob["access_token"], name="Bob's Account"))["customer"]
    def edit(alias: str, var: str, name: str) -> str:
        return f'{alias}: customerUpdate(input: {{id: ${var}, name: "{name}"}}) {{ customer {{ name }} userErrors {{ code }} }}'

    r = await api.gql(bob["access_token"], "mutation($his: ID!, $hers: ID!) { " + edit("refused", "his", "")
                      + edit("steal", "hers", "Taken") + edit("kept", "his", "Bob Renamed") + " }",
                      {"his": his["id"], "hers": hers["id"]})
    data = r.json()["data"]
    assert data["refused"]["userErrors"] and data["refused"]["customer"] is None
    assert data["steal"] == {"customer": None, "userErrors": [{"code": "NOT_FOUND"}]}
    assert data["kept"] == {"customer": {"name": "Bob Renamed"}, "userErrors": []}
    assert await names(api, ann["access_token"]) == ["Ann's Account"]
    assert await names(api, bob["access_token"]) == ["Bob Renamed"]
