"""Sign-up, the OAuth2 token endpoint, refresh rotation, revocation, JWKS and bearer authentication."""

from __future__ import annotations

import base64
import time
import uuid

import orjson
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.modules.platform.conftest import PASSWORD

VIEWER = "{ viewer { user { email name } tenant { slug plan } role permissions } }"


async def test_signup_creates_an_owner_of_a_new_free_tenant_and_signs_in(api):
    body = await api.signup(company="Blue Lotus Tea")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["refresh_token"].startswith("rt_")
    assert body["tenant"]["slug"].startswith("blue-lotus-tea")
    r = await api.gql(body["access_token"], VIEWER)
    viewer = r.json()["data"]["viewer"]
    assert viewer["user"]["email"] == body["email"] and viewer["role"] == "owner"
    assert viewer["tenant"]["plan"] == "free"
    assert "platform.members" in viewer["permissions"] and "platform.owner" in viewer["permissions"]


async def test_signup_refuses_bad_input_and_writes_nothing(api):
    r = await api.http.post("/auth/signup", json={"email": "x@example.com", "password": "short", "name": "X",
                                                  "company": "X"})
    assert r.status_code == 400 and r.json()["error_code"] == "PASSWORD_TOO_SHORT"
    r = await api.http.post("/auth/signup", json={"email": "x@example.com", "password": "x@example.com",
                                                  "name": "X", "company": "X"})
    assert r.json()["error_code"] == "PASSWORD_IS_EMAIL"
    r = await api.http.post("/auth/signup", json={"email": "not-an-email", "password": PASSWORD, "name": "X",
                                                  "company": "X"})
    assert r.json()["error_code"] == "INVALID_EMAIL"
    r = await api.token(grant_type="password", username="x@example.com", password=PASSWORD)
    assert r.status_code == 400  # no such user was created
    first = await api.signup()
    r = await api.http.post("/auth/signup", json={"email": first["email"].upper(), "password": PASSWORD,
                                                  "name": "Again", "company": "Other"})
    assert r.json()["error_code"] == "EMAIL_TAKEN"  # emails are unique case-insensitively


async def test_wrong_password_and_unknown_user_answer_alike(api_factory):
    api = api_factory()
    user = await api.signup()
    wrong = await api.token(grant_type="password", username=user["email"], password="wrong password!!")
    unknown = await api.token(grant_type="password", username="nobody@example.com", password="wrong password!!")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() == {"error": "invalid_grant", "error_description": "Invalid username or password."}
    assert wrong.headers["cache-control"] == "no-store"


async def test_token_endpoint_speaks_rfc6749_errors(api):
    r = await api.http.post("/auth/token", json={"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await api.token(grant_type="magic")
    assert r.json()["error"] == "unsupported_grant_type"
    r = await api.token(grant_type="password", username="a@example.com")
    assert r.json()["error"] == "invalid_request"
    r = await api.token(grant_type="client_credentials", client_id="jc_bogus", client_secret="nope")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_access_tokens_are_es256_jwts_verifiable_with_the_published_keys(api):
    body = await api.signup()
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    token = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    claims = token.claims
    assert token.header["alg"] == "ES256" and token.header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert {"sub", "tid", "iss", "aud", "exp", "iat", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900 and claims["iss"] == "jishi" and claims["aud"] == "jishi-api"


async def test_tampered_expired_and_foreign_tokens_are_refused(api, real_app):
    body = await api.signup()
    header, payload, signature = body["access_token"].split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tid"] = "00000000-0000-0000-0000-000000000000"
    forged = ".".join([header, base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode(), signature])
    real_tid = orjson.loads(base64.urlsafe_b64decode(payload + "=="))["tid"]
    tokens = real_app.state.auth.tokens
    saved = tokens.lifetime
    tokens.lifetime = -120  # issued already expired (beyond the 30 s leeway)
    try:
        expired, _ = tokens.issue(subject=claims["sub"], tenant_id=uuid.UUID(real_tid))
    finally:
        tokens.lifetime = saved
    for bad in [forged, expired, "not.a.jwt", body["refresh_token"]]:
        r = await api.gql(bad, VIEWER)
        assert r.status_code == 401, bad
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = await api.http.post("/graphql", json={"query": VIEWER}, headers={"authorization": "Basic abc"})
    assert r.status_code == 401


async def test_refresh_tokens_rotate_and_reuse_revokes_the_family(api):
    body = await api.signup()
    first = body["refresh_token"]
    r = await api.token(grant_type="refresh_token", refresh_token=first)
    assert r.status_code == 200, r.text
    second = r.json()["refresh_token"]
    assert second != first and (await api.gql(r.json()["access_token"], VIEWER)).status_code == 200
    # The first token, presented again: someone copied it. The whole family ends.
    r = await api.token(grant_type="refresh_token", refresh_token=first)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await api.token(grant_type="refresh_token", refresh_token=second)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # A fresh sign-in starts a new family.
    fresh = await api.login(body["email"])
    assert (await api.token(grant_type="refresh_token", refresh_token=fresh["refresh_token"])).status_code == 200


async def test_revocation_rfc7009(api):
    body = await api.signup()
    r = await api.http.post("/auth/revoke", data={"token": body["refresh_token"], "token_type_hint": "refresh_token"})
    assert r.status_code == 200
    r = await api.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert r.json()["error"] == "invalid_grant"
    # Unknown tokens are "revoked" too: the answer does not say whether a token existed.
    assert (await api.http.post("/auth/revoke", data={"token": "rt_nothing"})).status_code == 200


async def test_a_user_in_several_tenants_names_the_tenant(api, api_factory):
    a = await api.signup(company="First Co")
    other = api_factory()
    b = await other.signup(company="Second Co")
    # b's owner invites a's user.
    r = await other.gql(b["access_token"], 'mutation($e: String!) { memberInvite(input: {email: $e, role: "viewer"}) '
                                           "{ invitationToken userErrors { code } } }", {"e": a["email"]})
    invitation = r.json()["data"]["memberInvite"]["invitationToken"]
    r = await api.http.post("/auth/invitations/accept", json={"token": invitation})
    assert r.status_code == 200, r.text
    r = await api.token(grant_type="password", username=a["email"], password=PASSWORD)
    assert r.status_code == 400 and "several tenants" in r.json()["error_description"]
    assert "first-co" not in r.text and "second-co" not in r.text  # the tenants are not listed
    second = await api.login(a["email"], tenant=b["tenant"]["slug"])
    viewer = (await api.gql(second["access_token"], VIEWER)).json()["data"]["viewer"]
    assert viewer["tenant"]["slug"] == b["tenant"]["slug"] and viewer["role"] == "viewer"
    r = await api.token(grant_type="password", username=a["email"], password=PASSWORD, tenant="not-mine")
    assert r.json()["error"] == "invalid_grant"


async def test_repeated_failures_slow_down_then_lock_with_retry_after(api_factory, real_app):
    api = api_factory()
    user = await api.signup()
    limit = real_app.state.settings.login_max_failures
    started = time.monotonic()
    for _ in range(limit):
        r = await api.token(grant_type="password", username=user["email"], password="not the password")
        assert r.status_code == 400
    assert time.monotonic() - started > 0.5  # later attempts were slowed down
    r = await api.token(grant_type="password", username=user["email"], password=PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # The same answer for an account that does not exist, from a locked address.
    r = await api.token(grant_type="password", username="ghost@example.com", password=PASSWORD)
    assert r.status_code == 429
    # Another address may still sign in to other accounts, but this account stays locked.
    other = api_factory()
    other_user = await other.signup()
    assert (await other.token(grant_type="password", username=other_user["email"], password=PASSWORD)).status_code == 200
    assert (await other.token(grant_type="password", username=user["email"], password=PASSWORD)).status_code == 429


async def test_changing_the_password_needs_the_old_one_and_ends_other_sessions(api):
    body = await api.signup()
    change = "mutation($c: String!, $n: String!) { viewerPasswordChange(input: {currentPassword: $c, newPassword: $n}) { changed userErrors { field code } } }"
    r = await api.gql(body["access_token"], change, {"c": "not my password", "n": "a brand new password"})
    assert r.json()["data"]["viewerPasswordChange"]["userErrors"] == [{"field": ["input", "currentPassword"],
                                                                        "code": "INVALID_PASSWORD"}]
    r = await api.gql(body["access_token"], change, {"c": PASSWORD, "n": "short"})
    assert r.json()["data"]["viewerPasswordChange"]["userErrors"][0]["code"] == "PASSWORD_TOO_SHORT"
    r = await api.gql(body["access_token"], change, {"c": PASSWORD, "n": "a brand new password"})
    assert r.json()["data"]["viewerPasswordChange"] == {"changed": True, "userErrors": []}
    assert (await api.token(grant_type="refresh_token", refresh_token=body["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await api.token(grant_type="password", username=body["email"], password=PASSWORD)).status_code == 400
    await api.login(body["email"], "a brand new password")
