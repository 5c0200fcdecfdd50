"""Custom fields on customers: definitions, validation, updates and filtering."""

from __future__ import annotations

from tests.modules.crm.test_customers_api import UPDATE, create

DEFINE = """mutation($in: CustomFieldDefineInput!) { customFieldDefine(input: $in) {
  definition { key label type choices required } userErrors { field code } } }"""


async def define(api, token, **fields) -> dict:
    r = await api.gql(token, DEFINE, {"in": {"entity": "crm.customer", **fields}})
    return r.json()["data"]["customFieldDefine"]


async def test_custom_fields_are_defined_validated_merged_and_filterable(api, api_factory):
    owner = await api.signup(company="Custom Co")
    t = owner["access_token"]
    assert (await define(api, t, key="tier", label="Tier", type="CHOICE", choices=["bronze", "gold"]))["userErrors"] == []
    await define(api, t, key="since", label="Customer since", type="DATE")
    await define(api, t, key="score", label="Score", type="NUMBER")
    for fields, code in [({"key": "Bad Key", "label": "x", "type": "TEXT"}, "INVALID_KEY"),
                         ({"key": "tier", "label": "x", "type": "TEXT"}, "DUPLICATE_KEY"),
                         ({"key": "level", "label": "x", "type": "CHOICE"}, "REQUIRED")]:
        assert (await define(api, t, **fields))["userErrors"][0]["code"] == code
    r = await api.gql(t, DEFINE, {"in": {"entity": "hr.employee", "key": "x", "label": "x", "type": "TEXT"}})
    assert r.json()["data"]["customFieldDefine"]["userErrors"][0]["code"] == "UNKNOWN_ENTITY"

    gold = (await create(api, t, name="Gold Co", customFields={"tier": "gold", "since": "2024-05-01", "score": 7.5}))
    assert gold["userErrors"] == []
    await create(api, t, name="Bronze Co", customFields={"tier": "bronze"})
    for values, code, key in [({"tier": "platinum"}, "INVALID_CHOICE", "tier"), ({"since": "yesterday"}, "INVALID_VALUE", "since"),
                              ({"score": "lots"}, "INVALID_VALUE", "score"), ({"color": "red"}, "UNKNOWN_CUSTOM_FIELD", "color")]:
        made = await create(api, t, name=f"Bad {key}", customFields=values, allowDuplicate=True)
        assert made["userErrors"] == [{"field": ["input", "customFields", key], "code": code,
                                       "message": made["userErrors"][0]["message"]}]
    query = "query($f: CustomerFilter) { customers(filter: $f) { nodes { name customFields } } }"
    r = await api.gql(t, query, {"f": {"customFields": {"tier": "gold"}}})
    assert r.json()["data"]["customers"]["nodes"] == [
        {"name": "Gold Co", "customFields": {"tier": "gold", "since": "2024-05-01", "score": "7.5"}}]
    # Updates merge; null removes a value.
    r = await api.gql(t, UPDATE.replace("phone status", "phone status customFields"),
                      {"in": {"id": gold["customer"]["id"], "customFields": {"score": None, "tier": "bronze"}}})
    assert r.json()["data"]["customerUpdate"]["customer"]["customFields"] == {"tier": "bronze", "since": "2024-05-01"}
    # A required field applies to new customers.
    await define(api, t, key="region", label="Region", type="TEXT", required=True)
    made = await create(api, t, name="No Region Co")
    assert made["userErrors"][0]["code"] == "REQUIRED" and made["userErrors"][0]["field"] == ["input", "customFields", "region"]
    # Definitions belong to the tenant.
    other = api_factory()
    theirs = await other.signup(company="No Fields Co")
    r = await other.gql(theirs["access_token"], '{ customFieldDefinitions(entity: "crm.customer") { key } }')
    assert r.json()["data"]["customFieldDefinitions"] == []
    mine = await api.gql(t, '{ customFieldDefinitions(entity: "crm.customer") { key type required } }')
    assert [d["key"] for d in mine.json()["data"]["customFieldDefinitions"]] == ["tier", "since", "score", "region"]


async def test_contacts_leads_and_opportunities_take_custom_fields_too(api, api_factory):
    owner = await api.signup(company="More Fields Co")
    t = owner["access_token"]
    for entity, key, kind in (("crm.contact", "birthday", "DATE"), ("crm.lead", "budget", "NUMBER"),
                              ("crm.opportunity", "rush", "BOOLEAN")):
        r = await api.gql(t, DEFINE, {"in": {"entity": entity, "key": key, "label": key.title(), "type": kind}})
        assert r.json()["data"]["customFieldDefine"]["userErrors"] == []
    c = (await create(api, t, name="Fields Customer"))["customer"]
    r = await api.gql(t, 'mutation($c: ID!) { contactCreate(input: {customerId: $c, name: "Li Na", customFields: '
                         '{birthday: "1990-02-03"}}) { contact { customFields } userErrors { code } } }', {"c": c["id"]})
    assert r.json()["data"]["contactCreate"]["contact"]["customFields"] == {"birthday": "1990-02-03"}
    r = await api.gql(t, 'mutation { leadCreate(input: {name: "Wu Hao", customFields: {budget: "12000"}}) '
                         "{ lead { customFields } userErrors { code } } }")
    assert r.json()["data"]["leadCreate"]["lead"]["customFields"] == {"budget": "12000"}
    r = await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Rush", amount: "1", '
                         "customFields: {rush: \"yes\"}}) { userErrors { field code } } }", {"c": c["id"]})
    assert r.json()["data"]["opportunityCreate"]["userErrors"] == [{"field": ["input", "customFields", "rush"],
                                                                    "code": "INVALID_VALUE"}]
    r = await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Rush", amount: "1", '
                         "customFields: {rush: true}}) { opportunity { customFields } } }", {"c": c["id"]})
    assert r.json()["data"]["opportunityCreate"]["opportunity"]["customFields"] == {"rush": True}
    # Lists filter by custom fields in the stored form: the number 12000 finds "12000".
    await api.gql(t, 'mutation { leadCreate(input: {name: "Small Budget", customFields: {budget: "500"}}) '
                     "{ userErrors { code } } }")
    r = await api.gql(t, "query($f: JSON) { leads(customFields: $f) { nodes { name } } }", {"f": {"budget": 12000}})
    assert r.json()["data"]["leads"]["nodes"] == [{"name": "Wu Hao"}]
    await api.gql(t, 'mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Calm", amount: "1", '
                     "customFields: {rush: false}}) { userErrors { code } } }", {"c": c["id"]})
    opps = "query($f: OpportunityFilter) { opportunities(filter: $f) { nodes { name } } }"
    r = await api.gql(t, opps, {"f": {"customFields": {"rush": True}}})
    assert r.json()["data"]["opportunities"]["nodes"] == [{"name": "Rush"}]
    r = await api.gql(t, opps, {"f": {"customFields": {"colour": "red"}}})
    assert r.json()["errors"][0]["extensions"] == {"code": "UNKNOWN_CUSTOM_FIELD", "field": ["customFields", "colour"]}
    r = await api.gql(t, opps, {"f": {"stageId": "not-an-id"}})
    assert r.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": ["stageId"]}
    r = await api.gql(t, "query($f: JSON) { leads(customFields: $f) { nodes { name } } }", {"f": {"budget": "lots"}})
    assert r.json()["errors"][0]["extensions"]["code"] == "INVALID_VALUE"
    # Another tenant with the same field finds only its own leads.
    other = api_factory()
    theirs = (await other.signup(company="Same Field Co"))["access_token"]
    await other.gql(theirs, DEFINE, {"in": {"entity": "crm.lead", "key": "budget", "label": "Budget", "type": "NUMBER"}})
    r = await other.gql(theirs, "query($f: JSON) { leads(customFields: $f) { nodes { name } } }", {"f": {"budget": 12000}})
    assert r.json()["data"]["leads"]["nodes"] == []


async def test_the_contacts_list_filters_by_custom_fields_and_follows_customer_visibility(api):
    from tests.modules.crm.test_customers_api import CONTACT
    from tests.modules.platform.test_access_api import join

    owner = await api.signup(company="Contacts Co")
    t = owner["access_token"]
    await define(api, t, entity="crm.contact", key="wechat", label="WeChat", type="TEXT")
    jade = (await create(api, t, name="Jade Tea"))["customer"]["id"]
    lotus = (await create(api, t, name="Lotus Bakery"))["customer"]["id"]
    for customer, name, wechat in ((jade, "Chen Jing", "chenj"), (jade, "Li Na", "lina"), (lotus, "Wu Hao", None)):
        made = (await api.gql(t, CONTACT, {"in": {"customerId": customer, "name": name,
                                                 **({"customFields": {"wechat": wechat}} if wechat else {})}}))
        assert made.json()["data"]["contactCreate"]["userErrors"] == []
    query = "query($f: ContactFilter) { contacts(first: 10, filter: $f) { totalCount nodes { name } } }"

    async def names(token, **flt):  # type: ignore[no-untyped-def]
        r = await api.gql(token, query, {"f": flt})
        return [n["name"] for n in r.json()["data"]["contacts"]["nodes"]]

    assert await names(t) == ["Chen Jing", "Li Na", "Wu Hao"]
    assert await names(t, customFields={"wechat": "lina"}) == ["Li Na"]
    assert await names(t, customerId=lotus) == ["Wu Hao"]
    assert await names(t, query="chen") == ["Chen Jing"]
    r = await api.gql(t, query, {"f": {"customFields": {"nope": 1}}})
    assert r.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_CUSTOM_FIELD"
    # With visibility OWN, a sales user sees the contacts of the customers they own only.
    r = await api.gql(t, 'mutation { crmSettingsUpdate(input: {visibility: "OWN"}) { userErrors { code } } }')
    assert r.json()["data"]["crmSettingsUpdate"]["userErrors"] == []
    seller = await join(api, t, "sales")
    assert await names(seller["access_token"]) == []
    mine = (await create(api, seller["access_token"], name="Seller's Shop"))["customer"]["id"]
    await api.gql(seller["access_token"], CONTACT, {"in": {"customerId": mine, "name": "Zhou Xin"}})
    assert await names(seller["access_token"]) == ["Zhou Xin"]
