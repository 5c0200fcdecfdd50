"""Members and roles, API clients, the audit log, suspension and other tenants' IDs, over HTTP."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.modules.platform.conftest import PASSWORD

INVITE = """mutation($e: String!, $r: String!) { memberInvite(input: {email: $e, role: $r}) {
  invitation { id email role } invitationToken userErrors { field code message } } }"""
MEMBERS = "{ members(first: 50) { totalCount nodes { id role user { id email } } } }"
UPDATE_ROLE = """mutation($id: ID!, $r: String!) { memberUpdateRole(input: {id: $id, role: $r}) {
  member { role } userErrors { code } } }"""
REMOVE = "mutation($id: ID!) { memberRemove(input: {id: $id}) { removedMemberId userErrors { code } } }"
AUDIT = """query($f: AuditEventFilter) { auditEvents(first: 50, filter: $f) { nodes {
  operation outcome actorUserId targets inputSummary requestId } } }"""


async def join(api, owner_token: str, role: str, email: str | None = None) -> dict:
    """Invite a new person with ``role`` and sign them in; returns their token response."""
    import uuid

    email = email or f"m-{uuid.uuid4().hex[:10]}@example.com"
    r = await api.gql(owner_token, INVITE, {"e": email, "r": role})
    token = r.json()["data"]["memberInvite"]["invitationToken"]
    r = await api.http.post("/auth/invitations/accept", json={"token": token, "password": PASSWORD, "name": role})
    assert r.status_code == 200, r.text
    return {**r.json(), "email": email}


async def member_id(api, token: str, email: str) -> str:
    nodes = (await api.gql(token, MEMBERS)).json()["data"]["members"]["nodes"]
    return next(n["id"] for n in nodes if n["user"]["email"] == email)


async def test_invited_people_join_with_their_role_and_permissions(api):
    owner = await api.signup()
    sales = await join(api, owner["access_token"], "sales")
    viewer = (await api.gql(sales["access_token"], "{ viewer { role permissions user { email } } }")).json()
    assert viewer["data"]["viewer"]["role"] == "sales"
    assert "platform.read" in viewer["data"]["viewer"]["permissions"]
    assert "platform.members" not in viewer["data"]["viewer"]["permissions"]
    members = (await api.gql(owner["access_token"], MEMBERS)).json()["data"]["members"]
    assert members["totalCount"] == 2
    # An invitation works once.
    again = await api.gql(owner["access_token"], INVITE, {"e": sales["email"], "r": "viewer"})
    assert again.json()["data"]["memberInvite"]["userErrors"][0]["code"] == "ALREADY_MEMBER"


async def test_bad_invitations_are_refused(api):
    owner = await api.signup()
    for email, role, code in [("not-an-email", "sales", "INVALID_EMAIL"), ("a@example.com", "emperor", "UNKNOWN_ROLE")]:
        r = await api.gql(owner["access_token"], INVITE, {"e": email, "r": role})
        assert r.json()["data"]["memberInvite"]["userErrors"][0]["code"] == code
    r = await api.http.post("/auth/invitations/accept", json={"token": "inv_garbage"})
    assert r.json()["error_code"] == "INVALID_INVITATION"


async def test_a_viewer_cannot_write_and_nothing_is_written(api):
    owner = await api.signup()
    viewer = await join(api, owner["access_token"], "viewer")
    r = await api.gql(viewer["access_token"], INVITE, {"e": "x@example.com", "r": "viewer"})
    assert r.json()["data"] is None
    assert r.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "platform.members"}
    r = await api.gql(viewer["access_token"], 'mutation { moduleDisable(input: {module: "notes"}) { userErrors { code } } }')
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.gql(owner["access_token"], MEMBERS)).json()["data"]["members"]["totalCount"] == 2


async def test_a_tenant_keeps_an_owner_and_only_owners_touch_owners(api):
    owner = await api.signup()
    admin = await join(api, owner["access_token"], "admin")
    owner_member = await member_id(api, owner["access_token"], owner["email"])
    r = await api.gql(owner["access_token"], UPDATE_ROLE, {"id": owner_member, "r": "admin"})
    assert r.json()["data"]["memberUpdateRole"]["userErrors"] == [{"code": "LAST_OWNER"}]
    r = await api.gql(owner["access_token"], REMOVE, {"id": owner_member})
    assert r.json()["data"]["memberRemove"]["userErrors"] == [{"code": "LAST_OWNER"}]
    admin_member = await member_id(api, owner["access_token"], admin["email"])
    r = await api.gql(admin["access_token"], UPDATE_ROLE, {"id": admin_member, "r": "owner"})
    assert r.json()["data"]["memberUpdateRole"]["userErrors"] == [{"code": "OWNER_REQUIRED"}]
    r = await api.gql(admin["access_token"], REMOVE, {"id": owner_member})
    assert r.json()["data"]["memberRemove"]["userErrors"] == [{"code": "OWNER_REQUIRED"}]
    r = await api.gql(owner["access_token"], UPDATE_ROLE, {"id": admin_member, "r": "owner"})
    assert r.json()["data"]["memberUpdateRole"]["member"]["role"] == "owner"
    r = await api.gql(owner["access_token"], UPDATE_ROLE, {"id": owner_member, "r": "viewer"})
    assert r.json()["data"]["memberUpdateRole"]["member"]["role"] == "viewer"  # another owner remains


async def test_a_removed_member_is_locked_out_at_once(api):
    owner = await api.signup()
    sales = await join(api, owner["access_token"], "sales")
    assert (await api.gql(sales["access_token"], "{ viewer { role } }")).status_code == 200
    r = await api.gql(owner["access_token"], REMOVE, {"id": await member_id(api, owner["access_token"], sales["email"])})
    assert r.json()["data"]["memberRemove"]["userErrors"] == []
    r = await api.gql(sales["access_token"], "{ viewer { role } }")
    assert r.status_code == 401  # the access token has not expired, but it no longer grants access
    r = await api.token(grant_type="refresh_token", refresh_token=sales["refresh_token"])
    assert r.json()["error"] == "invalid_grant"


async def test_a_token_of_tenant_a_cannot_reach_tenant_b_ids(api, api_factory):
    a = await api.signup()
    other = api_factory()
    b = await other.signup()
    b_member = await member_id(other, b["access_token"], b["email"])
    b_tenant = (await other.gql(b["access_token"], "{ viewer { tenant { id } } }")).json()["data"]["viewer"]["tenant"]["id"]
    r = await api.gql(a["access_token"], "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [b_member, b_tenant]})
    assert r.json()["data"]["nodes"] == [None, None]
    r = await api.gql(a["access_token"], UPDATE_ROLE, {"id": b_member, "r": "viewer"})
    assert r.json()["data"]["memberUpdateRole"]["userErrors"] == [{"code": "NOT_FOUND"}]
    r = await api.gql(a["access_token"], REMOVE, {"id": b_member})
    assert r.json()["data"]["memberRemove"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert (await other.gql(b["access_token"], MEMBERS)).json()["data"]["members"]["totalCount"] == 1


async def test_api_clients_are_bound_to_their_tenant_and_scopes(api):
    owner = await api.signup()
    r = await api.gql(owner["access_token"], 'mutation { apiClientCreate(input: {name: "Shop", scopes: ["platform.read"]}) '
                                             "{ apiClient { id clientId scopes } clientSecret userErrors { code } } }")
    created = r.json()["data"]["apiClientCreate"]
    client_id, secret = created["apiClient"]["clientId"], created["clientSecret"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = await api.http.post("/auth/token", data={"grant_type": "client_credentials"},
                            headers={"authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["scope"] == "platform.read" and "refresh_token" not in token
    viewer = (await api.gql(token["access_token"], "{ viewer { user { id } apiClient { clientId lastUsedAt } permissions } }")).json()
    assert viewer["data"]["viewer"]["user"] is None and viewer["data"]["viewer"]["permissions"] == ["platform.read"]
    assert viewer["data"]["viewer"]["apiClient"]["lastUsedAt"] is not None
    assert (await api.gql(token["access_token"], MEMBERS)).json()["data"]["members"]["totalCount"] == 1
    r = await api.gql(token["access_token"], INVITE, {"e": "x@example.com", "r": "viewer"})
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Secret in the body works too; a wrong secret does not.
    r = await api.token(grant_type="client_credentials", client_id=client_id, client_secret=secret)
    assert r.status_code == 200
    r = await api.token(grant_type="client_credentials", client_id=client_id, client_secret=secret + "x")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    # Revoked: its live access token stops working at once, and no new token is issued.
    r = await api.gql(owner["access_token"], "mutation($id: ID!) { apiClientRevoke(input: {id: $id}) { apiClient { revokedAt } } }",
                      {"id": created["apiClient"]["id"]})
    assert r.json()["data"]["apiClientRevoke"]["apiClient"]["revokedAt"]
    assert (await api.gql(token["access_token"], MEMBERS)).status_code == 401
    assert (await api.token(grant_type="client_credentials", client_id=client_id, client_secret=secret)).status_code == 401


async def test_api_client_scopes_are_checked(api):
    owner = await api.signup()
    viewer = await join(api, owner["access_token"], "admin")
    for scopes, code in [([], "REQUIRED"), (["nope.read"], "UNKNOWN_SCOPE"), (["platform.owner"], "SCOPE_NOT_GRANTABLE")]:
        r = await api.gql(viewer["access_token"], "mutation($s: [String!]!) { apiClientCreate(input: {name: \"x\", scopes: $s}) "
                                                  "{ clientSecret userErrors { code } } }", {"s": scopes})
        assert r.json()["data"]["apiClientCreate"] == {"clientSecret": None, "userErrors": [{"code": code}]}


async def test_every_mutation_is_audited_in_its_own_transaction(api):
    owner = await api.signup()
    await api.gql(owner["access_token"], INVITE, {"e": "audited@example.com", "r": "sales"})
    await api.gql(owner["access_token"], INVITE, {"e": "bad", "r": "sales"})
    events = (await api.gql(owner["access_token"], AUDIT, {"f": {"operation": "memberInvite"}})).json()
    nodes = events["data"]["auditEvents"]["nodes"]
    assert [n["outcome"] for n in nodes] == ["refused:INVALID_EMAIL", "success"]  # newest first
    ok = nodes[1]
    assert ok["inputSummary"] == {"email": "audited@example.com", "role": "sales"} and ok["targets"]
    assert ok["actorUserId"] and ok["requestId"]
    # Tokens and passwords never reach the log.
    everything = (await api.gql(owner["access_token"], AUDIT)).text
    assert owner["refresh_token"] not in everything and PASSWORD not in everything
    # Filters: by actor and by target.
    r = await api.gql(owner["access_token"], AUDIT, {"f": {"actorId": ok["actorUserId"], "operation": "auth.signup"}})
    assert len(r.json()["data"]["auditEvents"]["nodes"]) == 1
    r = await api.gql(owner["access_token"], AUDIT, {"f": {"targetId": ok["targets"][0]}})
    assert {n["operation"] for n in r.json()["data"]["auditEvents"]["nodes"]} == {"memberInvite"}


async def test_the_runtime_role_cannot_rewrite_the_audit_log(db):
    async with db.app_engine.connect() as conn:
        for statement in ("UPDATE audit_event SET outcome = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text(statement))
            await conn.rollback()


async def test_a_suspended_tenant_is_locked_out_until_resumed(api, db):
    owner = await api.signup()
    async with db.transaction() as session:
        await session.execute(text("UPDATE tenant SET status = 'suspended' WHERE slug = :s"),
                              {"s": owner["tenant"]["slug"]})
    r = await api.gql(owner["access_token"], "{ viewer { role } }")
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    r = await api.token(grant_type="password", username=owner["email"], password=PASSWORD)
    assert r.json()["error"] == "invalid_grant"
    async with db.transaction() as session:
        await session.execute(text("UPDATE tenant SET status = 'active' WHERE slug = :s"), {"s": owner["tenant"]["slug"]})
    assert (await api.gql(owner["access_token"], "{ viewer { role } }")).status_code == 200


async def test_teams_take_only_this_tenants_members_and_stay_in_their_tenant(api, api_factory):
    owner = await api.signup(company="Teams Co")
    t = owner["access_token"]
    sales = await join(api, t, "sales")
    other = api_factory()
    theirs = await other.signup(company="Other Teams Co")
    their_user = (await other.gql(theirs["access_token"], "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    team = (await api.gql(t, 'mutation { teamCreate(input: {name: "South"}) { team { id } userErrors { code } } }')).json()
    team_id = team["data"]["teamCreate"]["team"]["id"]
    dup = (await api.gql(t, 'mutation { teamCreate(input: {name: "South"}) { userErrors { field code } } }')).json()
    assert dup["data"]["teamCreate"]["userErrors"] == [{"field": ["input", "name"], "code": "DUPLICATE_NAME"}]
    add = "mutation($t: ID!, $u: ID!) { teamAddMember(input: {teamId: $t, userId: $u}) { team { members { email } } userErrors { field code } } }"
    r = (await api.gql(t, add, {"t": team_id, "u": their_user})).json()["data"]["teamAddMember"]
    assert r["userErrors"] == [{"field": ["input", "userId"], "code": "NOT_FOUND"}]  # not a member here
    sales_id = (await api.gql(sales["access_token"], "{ viewer { user { id } } }")).json()["data"]["viewer"]["user"]["id"]
    r = (await other.gql(theirs["access_token"], add, {"t": team_id, "u": sales_id})).json()["data"]["teamAddMember"]
    assert r["userErrors"] == [{"field": ["input", "teamId"], "code": "NOT_FOUND"}]  # another tenant's team
    assert (await other.gql(theirs["access_token"], "{ teams { name } }")).json()["data"]["teams"] == []
    r = (await api.gql(sales["access_token"], 'mutation { teamCreate(input: {name: "Mine"}) { userErrors { code } } }')).json()
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"
