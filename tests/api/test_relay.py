"""Node resolution, global IDs and keyset connections, over HTTP."""

from __future__ import annotations

import uuid

from backend.core.ids import from_global_id, to_global_id

CREATE = """mutation($t: String!, $f: String!) { noteCreate(input: {title: $t, folderName: $f}) {
  note { id title folder { id name } } userErrors { field message code } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Note { title } ... on Tenant { slug } } }"
PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  notes(first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def create_notes(gql, tenant, n: int, folder: str = "F") -> list[str]:
    ids = []
    for i in range(n):
        body = await gql(CREATE, {"t": f"note {i:03d}", "f": folder}, tenant=tenant)
        assert body["data"]["noteCreate"]["userErrors"] == [], body
        ids.append(body["data"]["noteCreate"]["note"]["id"])
    return ids


def test_global_ids_round_trip_and_reject_garbage():
    pk = uuid.uuid4()
    gid = to_global_id("Note", pk)
    assert from_global_id(gid) == ("Note", pk)
    assert str(pk) not in gid  # opaque, not the raw pk
    for bad in ["", "not-base64!", to_global_id("Note", pk)[:-3], "Tm90ZTo", "x" * 500]:
        assert from_global_id(bad) is None


async def test_node_resolves_own_objects_and_nulls_everything_else(gql, make_tenant):
    a, b = await make_tenant(), await make_tenant()
    [note_id] = await create_notes(gql, a, 1)

    body = await gql(NODE, {"id": note_id}, tenant=a)
    assert body["data"]["node"] == {"id": note_id, "title": "note 000"}

    # Tenant B asks for tenant A's note: null, not an error that would reveal it exists.
    body = await gql(NODE, {"id": note_id}, tenant=b)
    assert body == {"data": {"node": None}, "extensions": body["extensions"]}

    for bad in ["garbage", to_global_id("Note", uuid.uuid4()), to_global_id("Nope", uuid.uuid4())]:
        assert (await gql(NODE, {"id": bad}, tenant=a))["data"]["node"] is None

    # nodes keeps order and nulls what is not visible.
    body = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                     {"ids": [note_id, "garbage", note_id]}, tenant=a)
    assert body["data"]["nodes"] == [{"id": note_id}, None, {"id": note_id}]
    body = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [note_id]}, tenant=b)
    assert body["data"]["nodes"] == [None]


async def test_node_of_a_disabled_module_or_without_permission_is_null(gql, make_tenant):
    a = await make_tenant()
    [note_id] = await create_notes(gql, a, 1)
    body = await gql(NODE, {"id": note_id}, tenant=a, permissions=("platform.read",))
    assert body["data"]["node"] is None
    await gql('mutation { moduleDisable(input: {module: "reminders"}) { userErrors { code } } }', tenant=a)
    body = await gql('mutation { moduleDisable(input: {module: "notes"}) { userErrors { code } } }', tenant=a)
    assert body["data"]["moduleDisable"]["userErrors"] == []
    assert (await gql(NODE, {"id": note_id}, tenant=a))["data"]["node"] is None


async def test_tenant_node_is_only_the_callers_own(gql, make_tenant):
    a, b = await make_tenant(), await make_tenant()
    own = (await gql("{ viewer { tenant { id slug } } }", tenant=a))["data"]["viewer"]["tenant"]
    assert (await gql(NODE, {"id": own["id"]}, tenant=a))["data"]["node"]["slug"] == own["slug"]
    assert (await gql(NODE, {"id": own["id"]}, tenant=b))["data"]["node"] is None


async def test_keyset_pagination_forward_and_backward(gql, make_tenant):
    a = await make_tenant()
    await create_notes(gql, a, 7)
    titles = [f"note {i:03d}" for i in range(7)]

    seen, after, pages = [], None, 0
    while True:
        body = await gql(PAGE, {"first": 3, "after": after}, tenant=a)
        conn = body["data"]["notes"]
        assert conn["totalCount"] == 7
        seen += [e["node"]["title"] for e in conn["edges"]]
        pages += 1
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == titles and pages == 3

    body = await gql(PAGE, {"last": 3}, tenant=a)
    conn = body["data"]["notes"]
    assert [e["node"]["title"] for e in conn["edges"]] == titles[-3:]
    assert conn["pageInfo"]["hasPreviousPage"] is True
    body = await gql(PAGE, {"last": 3, "before": conn["pageInfo"]["startCursor"]}, tenant=a)
    assert [e["node"]["title"] for e in body["data"]["notes"]["edges"]] == titles[1:4]
    body = await gql(PAGE, {"last": 10, "before": body["data"]["notes"]["pageInfo"]["startCursor"]}, tenant=a)
    assert [e["node"]["title"] for e in body["data"]["notes"]["edges"]] == titles[:1]
    assert body["data"]["notes"]["pageInfo"]["hasPreviousPage"] is False


async def test_connection_arguments_are_validated(gql, make_tenant):
    a = await make_tenant()
    for variables, fragment in [
        ({"first": 251}, "first must be between 0 and 250"),
        ({"first": -1}, "first must be between 0 and 250"),
        ({"first": 1, "last": 1}, "either first or last"),
        ({"after": "bogus-cursor"}, "Invalid cursor"),
    ]:
        body = await gql(PAGE, variables, tenant=a)
        assert body["data"] is None, variables
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert fragment in body["errors"][0]["message"]
    body = await gql(PAGE, {"first": 250}, tenant=a)
    assert body["data"]["notes"]["totalCount"] == 0


async def test_a_page_of_50_with_nested_objects_runs_constant_sql(gql, make_tenant, count_sql):
    a = await make_tenant()
    for folder in ("A", "B", "C"):
        await create_notes(gql, a, 20, folder=folder)
    query = "{ notes(first: 50) { edges { node { title folder { name } reminders } } } }"
    count_sql.statements.clear()
    body = await gql(query, tenant=a)
    assert len(body["data"]["notes"]["edges"]) == 50
    small = list(count_sql.queries)
    count_sql.statements.clear()
    body = await gql(query.replace("50", "5"), tenant=a)
    assert len(body["data"]["notes"]["edges"]) == 5
    # One page query and one batched folder query, the same for 5 or 50 rows (the tenant's modules are
    # kept by the process: backend.modules.platform.service.ModulesCache).
    assert len(small) == len(count_sql.queries) == 2, small
