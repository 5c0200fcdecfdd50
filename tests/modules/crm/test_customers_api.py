"""Customers and contacts over HTTP, as signed-in members."""

from __future__ import annotations

import pytest

CREATE = """mutation($in: CustomerCreateInput!) { customerCreate(input: $in) {
  customer { id name email status tags owner { email } kind } userErrors { field code message } } }"""
UPDATE = """mutation($in: CustomerUpdateInput!) { customerUpdate(input: $in) {
  customer { id name email phone status } userErrors { field code } } }"""
CONTACT = """mutation($in: ContactCreateInput!) { contactCreate(input: $in) {
  contact { id name isPrimary } userErrors { field code } } }"""
SEARCH = """query($f: CustomerFilter, $s: CustomerSort) { customers(first: 50, filter: $f, sort: $s) {
  totalCount nodes { name } } }"""


async def create(api, token, **fields) -> dict:
    r = await api.gql(token, CREATE, {"in": fields})
    return r.json()["data"]["customerCreate"]


@pytest.fixture
async def owner(api) -> dict:
    return await api.signup(company="CRM Test Co")  # free plan: the CRM is on


async def test_create_update_and_archive(api, owner):
    t = owner["access_token"]
    made = await create(api, t, name="Jade Tea House", email="Hello@Jade.Example.com", tags=["VIP", "tea"])
    c = made["customer"]
    assert made["userErrors"] == [] and c["kind"] == "COMPANY" and c["status"] == "PROSPECT"
    assert c["email"] == "Hello@jade.example.com" and c["tags"] == ["tea", "vip"]
    assert c["owner"]["email"] == owner["email"]  # the creator owns it
    r = await api.gql(t, UPDATE, {"in": {"id": c["id"], "phone": "+86 21 5555 0000", "status": "CUSTOMER"}})
    assert r.json()["data"]["customerUpdate"]["customer"]["status"] == "CUSTOMER"
    r = await api.gql(t, UPDATE, {"in": {"id": c["id"], "email": None}})  # an explicit null clears
    assert r.json()["data"]["customerUpdate"]["customer"]["email"] is None
    r = await api.gql(t, "mutation($id: ID!) { customerArchive(input: {id: $id}) { customer { archived } } }", {"id": c["id"]})
    assert r.json()["data"]["customerArchive"]["customer"]["archived"] is True
    names = [n["name"] for n in (await api.gql(t, SEARCH, {})).json()["data"]["customers"]["nodes"]]
    assert "Jade Tea House" not in names
    r = await api.gql(t, SEARCH, {"f": {"includeArchived": True}})
    assert "Jade Tea House" in [n["name"] for n in r.json()["data"]["customers"]["nodes"]]


async def test_duplicates_are_suspected_and_can_be_overridden(api, owner):
    t = owner["access_token"]
    await create(api, t, name="Golden Dragon Trading", email="sales@golden.example.com")
    for fields in ({"name": "Golden Dragon Trading Co"}, {"name": "Entirely Different", "email": "SALES@golden.example.com"}):
        made = await create(api, t, **fields)
        assert made["customer"] is None
        assert made["userErrors"][0]["code"] == "DUPLICATE_SUSPECTED" and "Golden Dragon" in made["userErrors"][0]["message"]
    made = await create(api, t, name="Golden Dragon Trading Co", allowDuplicate=True)
    assert made["userErrors"] == [] and made["customer"]["name"] == "Golden Dragon Trading Co"


async def test_bad_input_is_refused_and_nothing_written(api, owner):
    t = owner["access_token"]
    for fields, code in [({"name": "  "}, "REQUIRED"), ({"name": "X", "email": "not-an-email"}, "INVALID_EMAIL"),
                         ({"name": "Y", "ownerId": "bogus"}, "NOT_FOUND"), ({"name": "Z" * 201}, "TOO_LONG")]:
        made = await create(api, t, **fields)
        assert made["customer"] is None and made["userErrors"][0]["code"] == code, fields
    assert (await api.gql(t, SEARCH, {})).json()["data"]["customers"]["totalCount"] == 0


async def test_search_is_typo_tolerant_and_reaches_contacts(api, owner):
    t = owner["access_token"]
    jade = (await create(api, t, name="Jade Tea House", email="hi@jade.example.com"))["customer"]
    await create(api, t, name="Phoenix Hardware", phone="+86 755 1234 5678", tags=["export"])
    await create(api, t, name="Maple Bakery", status="CUSTOMER")
    await api.gql(t, CONTACT, {"in": {"customerId": jade["id"], "name": "Chen Jing", "email": "chen@jade.example.com"}})

    async def names(**flt) -> list[str]:
        r = await api.gql(t, SEARCH, {"f": flt, "s": {"field": "NAME", "direction": "ASC"}})
        return [n["name"] for n in r.json()["data"]["customers"]["nodes"]]

    assert await names(query="jade tea huose") == ["Jade Tea House"]  # a typo
    assert await names(query="Chen Jing") == ["Jade Tea House"]  # a contact's name
    assert await names(query="1234") == ["Phoenix Hardware"]  # phone
    assert await names(query="jade.example") == ["Jade Tea House"]  # email
    assert await names(tag="EXPORT") == ["Phoenix Hardware"]
    assert await names(status="CUSTOMER") == ["Maple Bakery"]
    r = await api.gql(t, SEARCH, {"s": {"field": "NAME", "direction": "DESC"}})
    assert [n["name"] for n in r.json()["data"]["customers"]["nodes"]] == ["Phoenix Hardware", "Maple Bakery",
                                                                           "Jade Tea House"]


async def test_the_first_contact_is_primary_and_primary_moves(api, owner):
    t = owner["access_token"]
    c = (await create(api, t, name="Lotus Textiles"))["customer"]
    first = (await api.gql(t, CONTACT, {"in": {"customerId": c["id"], "name": "Li Na"}})).json()["data"]["contactCreate"]
    second = (await api.gql(t, CONTACT, {"in": {"customerId": c["id"], "name": "Wu Hao", "isPrimary": True}})).json()
    assert first["contact"]["isPrimary"] is True and second["data"]["contactCreate"]["contact"]["isPrimary"] is True
    r = await api.gql(t, "query($id: ID!) { node(id: $id) { ... on Customer { contacts { name isPrimary } } } }",
                      {"id": c["id"]})
    assert r.json()["data"]["node"]["contacts"] == [{"name": "Wu Hao", "isPrimary": True},
                                                    {"name": "Li Na", "isPrimary": False}]
    bad = await api.gql(t, CONTACT, {"in": {"customerId": c["id"], "name": "X", "email": "nope"}})
    assert bad.json()["data"]["contactCreate"]["userErrors"] == [{"field": ["input", "email"], "code": "INVALID_EMAIL"}]


async def test_another_tenant_cannot_reach_customers(api, api_factory, owner):
    c = (await create(api, owner["access_token"], name="Private Co"))["customer"]
    other = api_factory()
    intruder = await other.signup(company="Intruder")
    t = intruder["access_token"]
    assert (await other.gql(t, "query($id: ID!) { node(id: $id) { id } }", {"id": c["id"]})).json()["data"]["node"] is None
    r = await other.gql(t, UPDATE, {"in": {"id": c["id"], "name": "Hijacked"}})
    assert r.json()["data"]["customerUpdate"]["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    r = await other.gql(t, CONTACT, {"in": {"customerId": c["id"], "name": "Spy"}})
    assert r.json()["data"]["contactCreate"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await other.gql(t, SEARCH, {"f": {"query": "Private"}})).json()["data"]["customers"]["totalCount"] == 0


async def test_viewers_read_but_do_not_write(api, owner):
    from tests.modules.platform.test_access_api import join

    viewer = await join(api, owner["access_token"], "viewer")
    await create(api, owner["access_token"], name="Readable Co")
    r = await api.gql(viewer["access_token"], SEARCH, {})
    assert r.json()["data"]["customers"]["totalCount"] == 1
    r = await api.gql(viewer["access_token"], CREATE, {"in": {"name": "Nope"}})
    assert r.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "crm.write"}


async def test_a_disabled_crm_answers_module_disabled_and_keeps_data(api, owner):
    t = owner["access_token"]
    await create(api, t, name="Kept Co")
    r = await api.gql(t, 'mutation { moduleDisable(input: {module: "crm"}) { userErrors { code } } }')
    assert r.json()["data"]["moduleDisable"]["userErrors"] == []
    r = await api.gql(t, SEARCH, {})
    assert r.json()["errors"][0]["extensions"] == {"code": "MODULE_DISABLED", "module": "crm"}
    await api.gql(t, 'mutation { moduleEnable(input: {module: "crm"}) { userErrors { code } } }')
    assert (await api.gql(t, SEARCH, {})).json()["data"]["customers"]["totalCount"] == 1


async def test_a_page_of_50_customers_with_contacts_owner_and_opportunities_is_constant_sql(api, owner, count_sql):
    t = owner["access_token"]
    for i in range(60):
        c = (await create(api, t, name=f"Bulk Customer {i:03d}", allowDuplicate=True))["customer"]
        await api.gql(t, CONTACT, {"in": {"customerId": c["id"], "name": f"Person {i}"}})
        await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Deal", amount: "100"}) '
                         "{ userErrors { code } } }", {"c": c["id"]})
    query = ("{ customers(first: %d) { nodes { name owner { email } contacts { name email } "
             "opportunities { name amount { amount currencyCode } stage { name } } } } }")
    counts = []
    for size in (5, 50):
        count_sql.statements.clear()
        r = await api.gql(t, query % size)
        assert len(r.json()["data"]["customers"]["nodes"]) == size, r.text
        counts.append(len(count_sql.queries))
    assert counts[0] == counts[1], count_sql.queries
    assert counts[1] <= 8
