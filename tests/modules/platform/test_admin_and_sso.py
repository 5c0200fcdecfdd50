"""Platform administrators, and single sign-on with an external OIDC issuer's tokens."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from backend.api.schema import build_schema
from backend.app import create_app
from backend.modules.platform import identity
from tests.modules.platform.conftest import PASSWORD, Api

TENANTS = "{ platformTenants(last: 20) { nodes { id slug status memberCount enabledModules } } }"
SUSPEND = 'mutation($id: ID!) { platformTenantSuspend(input: {id: $id, reason: "unpaid"}) { tenant { status } userErrors { code } } }'
RESUME = "mutation($id: ID!) { platformTenantResume(input: {id: $id}) { tenant { status } userErrors { code } } }"


@pytest.fixture
async def platform_admin(db) -> str:
    email = f"root-{uuid.uuid4().hex[:8]}@jishi.example"
    async with db.transaction() as session:
        await identity.create_user(session, email=email, name="Root", password=PASSWORD, is_platform_admin=True)
    return email


async def test_platform_admins_list_suspend_and_resume_tenants(api, platform_admin):
    owner = await api.signup(company="Admin Target")
    token = (await api.login(platform_admin, scope="platform"))
    assert token["scope"] == "platform" and "refresh_token" not in token
    admin = token["access_token"]
    nodes = (await api.gql(admin, TENANTS)).json()["data"]["platformTenants"]["nodes"]
    target = next(n for n in nodes if n["slug"] == owner["tenant"]["slug"])
    assert target["memberCount"] == 1 and target["status"] == "ACTIVE" and "platform" in target["enabledModules"]

    r = await api.gql(admin, SUSPEND, {"id": target["id"]})
    assert r.json()["data"]["platformTenantSuspend"]["tenant"]["status"] == "SUSPENDED"
    r = await api.gql(owner["access_token"], "{ viewer { role } }")
    assert r.json()["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    assert (await api.gql(admin, RESUME, {"id": target["id"]})).json()["data"]["platformTenantResume"]["tenant"]["status"] == "ACTIVE"
    events = (await api.gql(owner["access_token"], '{ auditEvents(first: 5, filter: {operation: "platformTenantSuspend"}) '
                                                   "{ nodes { inputSummary actorUserId } } }")).json()
    assert events["data"]["auditEvents"]["nodes"][0]["inputSummary"] == {"reason": "unpaid"}


async def test_platform_fields_need_a_platform_token_and_platform_tokens_see_no_tenant(api, platform_admin):
    owner = await api.signup()
    r = await api.gql(owner["access_token"], TENANTS)
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    r = await api.gql(owner["access_token"], SUSPEND, {"id": "x"})
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = (await api.login(platform_admin, scope="platform"))["access_token"]
    assert (await api.gql(admin, "{ viewer { role } }")).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    r = await api.gql(admin, SUSPEND, {"id": "garbage"})
    assert r.json()["data"]["platformTenantSuspend"]["userErrors"] == [{"code": "NOT_FOUND"}]
    # An ordinary user cannot ask for a platform token.
    r = await api.token(grant_type="password", username=owner["email"], password=PASSWORD, scope="platform")
    assert r.json()["error"] == "invalid_grant"


class _JwksServer:
    def __init__(self, jwks: dict) -> None:
        body = json.dumps(jwks).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def idp():
    key = ECKey.generate_key("P-256", parameters={"kid": "idp-1", "alg": "ES256"}, private=True)
    server = _JwksServer(KeySet([key]).as_dict(private=False))
    yield key, server.url
    server.close()


def idp_token(key: ECKey, email: str, **overrides: object) -> str:
    now = int(time.time())
    claims = {"iss": "https://idp.example", "aud": "jishi-sso", "sub": "ext-1", "email": email,
              "email_verified": True, "iat": now, "exp": now + 300, **overrides}
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, KeySet([key]))


async def test_tokens_of_the_configured_oidc_issuer_sign_members_in(settings, registry, db, idp, api):
    key, jwks_url = idp
    owner = await api.signup()
    sso_settings = settings.model_copy(update={"oidc_issuer": "https://idp.example", "oidc_audience": "jishi-sso",
                                               "oidc_jwks_url": jwks_url})
    app = create_app(sso_settings, registry=registry, schema=build_schema(registry), database=db)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        sso = Api(http)
        r = await sso.gql(idp_token(key, owner["email"]), "{ viewer { role user { email } } }")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["viewer"] == {"role": "owner", "user": {"email": owner["email"]}}
        other_key = ECKey.generate_key("P-256", parameters={"kid": "idp-1"}, private=True)
        for bad in [idp_token(key, "stranger@example.com"), idp_token(key, owner["email"], aud="someone-else"),
                    idp_token(key, owner["email"], exp=int(time.time()) - 600), idp_token(other_key, owner["email"]),
                    idp_token(key, owner["email"], email_verified=False)]:
            assert (await sso.gql(bad, "{ viewer { role } }")).status_code == 401
        # Our own tokens keep working beside the external issuer's.
        assert (await sso.gql(owner["access_token"], "{ viewer { role } }")).status_code == 200
