"""The OAuth2 token endpoint (RFC 6749) and revocation (RFC 7009) on authlib, plus sign-up,
invitation acceptance and the JWKS document.

authlib's grants are synchronous; our services are async. Each token request runs the grant inside
SQLAlchemy's greenlet bridge (``greenlet_spawn``), where the grant's hooks call async services
through ``await_only``, so there is one code path for the database and argon2 still runs in a
thread. One request is one transaction, committed at the end: also when it answers an error,
because a few failures write on purpose (a reused refresh token revokes its family, a failed login
is audited).

Grants:
* ``password``: ``username``, ``password``, optional ``tenant`` (slug). Clients: the first-party
  public client (``client_id=jishi``, or no client at all).
* ``refresh_token``: rotating. A rotated or revoked token presented again revokes its whole family.
* ``client_credentials``: API clients, with HTTP Basic or ``client_id``/``client_secret`` in the body.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
import structlog
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only, greenlet_spawn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.core.db import Database, set_tenant, utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.request_id import current_request_id
from backend.modules.platform import audit, identity
from backend.modules.platform import secrets as opaque
from backend.modules.platform.auth import PLATFORM_SCOPE, PrincipalCache
from backend.modules.platform.models import ApiClient, RefreshToken
from backend.modules.platform.throttle import LoginThrottle
from backend.modules.platform.tokens import CLIENT_SUBJECT_PREFIX, AccessTokens
from backend.modules.registry import ModuleRegistry
from backend.settings import Settings

log = structlog.get_logger("jishi.auth")

FIRST_PARTY_CLIENT_ID = "jishi"
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


# --- clients and tokens as authlib sees them ----------------------------------------------------------


class FirstPartyClient(ClientMixin):
    """Jishi's own web and mobile apps: a public client (no secret), password and refresh grants."""

    def get_client_id(self) -> str:
        return FIRST_PARTY_CLIENT_ID

    def get_allowed_scope(self, scope: str) -> str:
        return ""

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("none", "first_party")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("password", "refresh_token")


class ApiClientAdapter(ClientMixin):
    def __init__(self, model: ApiClient) -> None:
        self.model = model

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_allowed_scope(self, scope: str) -> str:
        granted = self.model.scopes
        if not scope:
            return " ".join(granted)
        return " ".join(s for s in scope.split() if s in granted)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.model.revoked_at is None and opaque.same(self.model.secret_hash, opaque.digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class RefreshTokenAdapter(TokenMixin):
    def __init__(self, model: RefreshToken) -> None:
        self.model = model

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.model.client_id

    def get_scope(self) -> str:
        return self.model.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.model.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.model.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.model.revoked_at is not None or self.model.rotated_at is not None


@dataclass
class SignedIn:
    """The resource owner of a grant: a member of one tenant, or a platform admin (no tenant)."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    family_id: uuid.UUID | None = None


@dataclass
class TokenCall:
    """What the grant hooks need from the HTTP request."""

    session: AsyncSession
    ip: str | None
    user_agent: str | None


class StarletteTokenRequest(OAuth2Request):
    def __init__(self, request: Request, form: dict[str, str], call: TokenCall) -> None:
        # TLS terminates in front of the app; authlib refuses plain-http URIs, which we never act on.
        super().__init__(request.method, str(request.url.replace(scheme="https")), headers=request.headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form
        self.call = call

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


def _call(request: Any) -> TokenCall:
    return request.call


# --- grants ---------------------------------------------------------------------------------------


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["first_party", "none"]

    def authenticate_user(self, username: str, password: str) -> SignedIn:
        server: JishiAuthorizationServer = self.server  # type: ignore[assignment]
        return await_only(server.password_sign_in(_call(self.request), username, password,
                                                  self.request.form.get("tenant"), self.request.form.get("scope")))


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["first_party", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenAdapter | None:
        server: JishiAuthorizationServer = self.server  # type: ignore[assignment]
        return await_only(server.refresh_token_for_grant(_call(self.request), refresh_token))

    def authenticate_user(self, refresh_token: RefreshTokenAdapter) -> SignedIn | None:
        server: JishiAuthorizationServer = self.server  # type: ignore[assignment]
        return await_only(server.member_for_refresh(_call(self.request), refresh_token.model))

    def revoke_old_credential(self, refresh_token: RefreshTokenAdapter) -> None:
        refresh_token.model.rotated_at = utcnow()
        await_only(_call(self.request).session.flush())


class ClientGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["first_party", "none", "client_secret_basic", "client_secret_post"]
    SUPPORTED_TOKEN_TYPES = ("refresh_token",)

    def query_token(self, token_string: str, token_type_hint: str | None) -> RefreshTokenAdapter | None:
        call = _call(self.server.current)  # type: ignore[attr-defined]
        found = await_only(identity.find_refresh_token(call.session, token=token_string))
        return RefreshTokenAdapter(found) if found else None

    def revoke_token(self, token: RefreshTokenAdapter, request: Any) -> None:
        call = _call(request)
        await_only(identity.revoke_family(call.session, family_id=token.model.family_id))
        await_only(audit.record(call.session, operation="auth.revoke", outcome="success",
                                actor_user_id=token.model.user_id, ip=call.ip, user_agent=call.user_agent,
                                request_id=current_request_id()))


# --- the server -----------------------------------------------------------------------------------


class JishiAuthorizationServer(AuthorizationServer):
    def __init__(self, *, tokens: AccessTokens, settings: Settings, throttle: LoginThrottle,
                 cache: PrincipalCache) -> None:
        super().__init__()
        self.tokens = tokens
        self.settings = settings
        self.throttle = throttle
        self.cache = cache
        self.current: StarletteTokenRequest | None = None
        self.register_client_auth_method("first_party", self._first_party)
        self.register_grant(PasswordGrant)
        self.register_grant(RefreshGrant)
        self.register_grant(ClientGrant)
        self.register_endpoint(Revocation)

    # framework glue
    def create_oauth2_request(self, request: StarletteTokenRequest) -> StarletteTokenRequest:
        self.current = request
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> tuple[int, Any, list]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def save_token(self, token: dict, request: Any) -> None:
        return None  # refresh tokens are stored as they are generated

    @staticmethod
    def _first_party(query_client: Any, request: Any) -> FirstPartyClient | None:
        form = request.form
        if form.get("client_secret") or request.headers.get("authorization"):
            return None
        if form.get("client_id") in (None, "", FIRST_PARTY_CLIENT_ID):
            return FirstPartyClient()
        return None

    def query_client(self, client_id: str) -> ClientMixin | None:
        if client_id == FIRST_PARTY_CLIENT_ID:
            return FirstPartyClient()
        assert self.current is not None
        found = await_only(identity.find_api_client(self.current.call.session, client_id=client_id))
        return ApiClientAdapter(found) if found is not None else None

    def generate_token(self, grant_type: str, client: ClientMixin, user: SignedIn | None = None,
                       scope: str | None = None, expires_in: int | None = None,
                       include_refresh_token: bool = True) -> dict[str, Any]:
        call = self.current.call  # type: ignore[union-attr]
        if isinstance(client, ApiClientAdapter):
            scopes = (scope or client.get_allowed_scope("")).split()
            access, lifetime = self.tokens.issue(subject=f"{CLIENT_SUBJECT_PREFIX}{client.model.id}",
                                                 tenant_id=client.model.tenant_id, scope=scopes,
                                                 client_id=client.model.client_id)
            client.model.last_used_at = utcnow()
            await_only(audit.record(call.session, operation="auth.token.client_credentials", outcome="success",
                                    actor_api_client_id=client.model.id, ip=call.ip, user_agent=call.user_agent,
                                    request_id=current_request_id()))
            return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(scopes)}
        assert user is not None
        if user.tenant_id is None:  # platform administration: short-lived, no refresh token
            access, lifetime = self.tokens.issue(subject=str(user.user_id), tenant_id=None, scope=[PLATFORM_SCOPE],
                                                 client_id=client.get_client_id())
            return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": PLATFORM_SCOPE}
        access, lifetime = self.tokens.issue(subject=str(user.user_id), tenant_id=user.tenant_id,
                                             client_id=client.get_client_id())
        token: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": ""}
        if include_refresh_token:
            token["refresh_token"] = await_only(identity.issue_refresh_token(
                call.session, user_id=user.user_id, client_id=client.get_client_id(), scope="",
                days=self.settings.refresh_token_days, family_id=user.family_id))
        await_only(audit.record(call.session, operation=f"auth.token.{grant_type}", outcome="success",
                                actor_user_id=user.user_id, ip=call.ip, user_agent=call.user_agent,
                                request_id=current_request_id()))
        return token

    # async hooks the grants call through await_only
    async def password_sign_in(
        self, call: TokenCall, username: str, password: str, tenant: str | None, scope: str | None
    ) -> SignedIn:
        session = call.session
        user = await identity.verify_user_password(session, email=username, password=password)
        if user is None:
            await self._login_failed(call, username)
            raise InvalidGrantError("Invalid username or password.")
        if scope == PLATFORM_SCOPE:
            if not user.is_platform_admin:
                raise InvalidGrantError("This account cannot administer the platform.")
            await self.throttle.succeeded(username)
            log.info("auth.platform_sign_in", user_id=str(user.id))
            return SignedIn(user_id=user.id, tenant_id=None)
        try:
            chosen = identity.choose_tenant(await identity.memberships_of_user(session, user_id=user.id), tenant)
        except DomainError as exc:
            raise (InvalidGrantError if exc.code == "invalid_grant" else InvalidRequestError)(exc.message) from None
        await self.throttle.succeeded(username)
        await set_tenant(session, chosen.tenant_id)
        if chosen.tenant_status == "suspended":
            raise InvalidGrantError("This tenant is suspended.")
        return SignedIn(user_id=user.id, tenant_id=chosen.tenant_id)

    async def _login_failed(self, call: TokenCall, username: str) -> None:
        await self.throttle.failed(LoginThrottle.keys(username, call.ip))
        log.info("auth.login_failed", ip=call.ip)  # never the username's password; the email is enough
        user = await identity.get_user_by_email(call.session, email=username)
        if user is None:
            return
        for m in await identity.memberships_of_user(call.session, user_id=user.id):
            await set_tenant(call.session, m.tenant_id)
            await audit.record(call.session, operation="auth.login", outcome="failure", actor_user_id=user.id,
                               ip=call.ip, user_agent=call.user_agent, request_id=current_request_id())

    async def refresh_token_for_grant(self, call: TokenCall, presented: str) -> RefreshTokenAdapter | None:
        token = await identity.find_refresh_token(call.session, token=presented)
        if token is None:
            return None
        if token.rotated_at is not None or token.revoked_at is not None:
            # Reuse of a rotated token: someone else holds this family. End it for everyone.
            await identity.revoke_family(call.session, family_id=token.family_id)
            await audit.record(call.session, operation="auth.refresh_reuse", outcome="family_revoked",
                               actor_user_id=token.user_id, ip=call.ip, user_agent=call.user_agent,
                               request_id=current_request_id())
            log.warning("auth.refresh_token_reuse", tenant_id=str(token.tenant_id), user_id=str(token.user_id))
            return None
        if token.expires_at <= utcnow():
            return None
        return RefreshTokenAdapter(token)

    async def member_for_refresh(self, call: TokenCall, token: RefreshToken) -> SignedIn | None:
        membership = await identity.get_membership(call.session, user_id=token.user_id)
        tenant = await identity.platform.get_tenant(call.session, tenant_id=token.tenant_id)
        if membership is None or membership.status != "active" or tenant is None or tenant.status != "active":
            return None
        return SignedIn(user_id=token.user_id, tenant_id=token.tenant_id, family_id=token.family_id)


# --- HTTP -----------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    response = Response(orjson.dumps(body), status_code=status, media_type="application/json")
    for k, v in headers or []:
        response.headers[k] = v
    return response


def _oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    response = _json({"error": error, "error_description": description}, status, NO_STORE)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


class AuthEndpoints:
    def __init__(self, *, server: JishiAuthorizationServer, registry: ModuleRegistry, settings: Settings) -> None:
        self.server = server
        self.registry = registry
        self.settings = settings

    def routes(self) -> list[Route]:
        return [
            Route("/auth/token", self.token, methods=["POST"]),
            Route("/auth/revoke", self.revoke, methods=["POST"]),
            Route("/auth/signup", self.signup, methods=["POST"]),
            Route("/auth/invitations/accept", self.accept_invitation, methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    async def _form(self, request: Request) -> dict[str, str] | Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return _oauth_error("invalid_request", "Send application/x-www-form-urlencoded (RFC 6749).")
        try:
            return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            return _oauth_error("invalid_request", "The body is not valid UTF-8.")

    async def _run(self, request: Request, form: dict[str, str], endpoint: str | None) -> Response:
        db: Database = request.app.state.db
        async with db.sessionmaker() as session, session.begin():
            call = TokenCall(session=session, ip=request.client.host if request.client else None,
                             user_agent=request.headers.get("user-agent"))
            oauth_request = StarletteTokenRequest(request, form, call)
            if endpoint is None:
                status, body, headers = await greenlet_spawn(self.server.create_token_response, oauth_request)
            else:
                status, body, headers = await greenlet_spawn(self.server.create_endpoint_response, endpoint,
                                                             oauth_request)
        if isinstance(body, dict) and status >= 400 and status != 401:
            status = 400 if body.get("error") != "invalid_client" else 401
        return _json(body, status, [*(headers or []), *NO_STORE])

    async def token(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        if form.get("grant_type") == "password":
            keys = LoginThrottle.keys(form.get("username", ""), request.client.host if request.client else None)
            wait = await self.server.throttle.retry_after(keys)
            if wait > 0:
                return _oauth_error("slow_down", "Too many failed sign-ins: try again later.", 429,
                                    {"Retry-After": str(int(wait) + 1)})
            delay = await self.server.throttle.delay_for(keys)
            if delay:
                import asyncio

                await asyncio.sleep(delay)
        return await self._run(request, form, None)

    async def revoke(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        return await self._run(request, form, Revocation.ENDPOINT_NAME)

    async def jwks(self, request: Request) -> Response:
        return _json(self.server.tokens.keys.public_jwks(), headers=[("Cache-Control", "public, max-age=300")])

    async def _json_body(self, request: Request) -> dict[str, Any] | Response:
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _oauth_error("invalid_request", "The body is not valid JSON.")
        if not isinstance(data, dict):
            return _oauth_error("invalid_request", "The body must be a JSON object.")
        return data

    def _token_response(self, user_id: uuid.UUID, tenant_id: uuid.UUID, refresh: str, extra: dict) -> dict:
        access, lifetime = self.server.tokens.issue(subject=str(user_id), tenant_id=tenant_id,
                                                    client_id=FIRST_PARTY_CLIENT_ID)
        return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime,
                "refresh_token": refresh, "scope": "", **extra}

    async def signup(self, request: Request) -> Response:
        """``{email, password, name, company}`` -> a new user owning a new tenant, signed in."""
        data = await self._json_body(request)
        if isinstance(data, Response):
            return data
        fields = {k: data.get(k) for k in ("email", "password", "name", "company")}
        for key, value in fields.items():
            if not isinstance(value, str):
                return _oauth_error("invalid_request", f"'{key}' is required.")
        db: Database = request.app.state.db
        try:
            async with db.sessionmaker() as session, session.begin():
                user, tenant = await identity.signup(session, registry=self.registry, **fields)  # type: ignore[arg-type]
                refresh = await identity.issue_refresh_token(
                    session, user_id=user.id, client_id=FIRST_PARTY_CLIENT_ID, scope="",
                    days=self.settings.refresh_token_days)
                await audit.record(session, operation="auth.signup", outcome="success", actor_user_id=user.id,
                                   targets=[str(tenant.id)], input_summary=audit.summarize(fields),
                                   ip=request.client.host if request.client else None,
                                   user_agent=request.headers.get("user-agent"), request_id=current_request_id())
                body = self._token_response(user.id, tenant.id, refresh,
                                            {"tenant": {"id": to_global_id("Tenant", tenant.id), "slug": tenant.slug}})
        except DomainError as exc:
            return _json({"error": "invalid_request", "error_description": exc.message,
                          "error_code": exc.code, "field": exc.field}, 400, NO_STORE)
        return _json(body, 201, NO_STORE)

    async def accept_invitation(self, request: Request) -> Response:
        """``{token, password?, name?}`` -> join the inviting tenant, signed in."""
        data = await self._json_body(request)
        if isinstance(data, Response):
            return data
        token = data.get("token")
        if not isinstance(token, str):
            return _oauth_error("invalid_request", "'token' is required.")
        db: Database = request.app.state.db
        try:
            async with db.sessionmaker() as session, session.begin():
                user, membership = await identity.accept_invitation(
                    session, token=token, password=data.get("password"), name=data.get("name"))
                refresh = await identity.issue_refresh_token(
                    session, user_id=user.id, client_id=FIRST_PARTY_CLIENT_ID, scope="",
                    days=self.settings.refresh_token_days)
                await audit.record(session, operation="auth.invitation_accept", outcome="success",
                                   actor_user_id=user.id, targets=[str(membership.id)],
                                   ip=request.client.host if request.client else None,
                                   user_agent=request.headers.get("user-agent"), request_id=current_request_id())
                body = self._token_response(user.id, membership.tenant_id, refresh, {})
        except DomainError as exc:
            return _json({"error": "invalid_request", "error_description": exc.message,
                          "error_code": exc.code, "field": exc.field}, 400, NO_STORE)
        return _json(body, 200, NO_STORE)


def _tenant_gid(tenant_id: uuid.UUID) -> str:
    from backend.core.ids import to_global_id

    return to_global_id("Tenant", tenant_id)


__all__ = ["PLATFORM_SCOPE", "AuthEndpoints", "JishiAuthorizationServer", "OAuth2Error"]


@dataclass
class AuthComponents:
    tokens: AccessTokens
    cache: PrincipalCache
    server: JishiAuthorizationServer
    endpoints: AuthEndpoints
    authenticator: Any


def build_auth(settings: Settings, registry: ModuleRegistry) -> AuthComponents:
    """Keys, token service, throttle, OAuth2 server, endpoints and the bearer authenticator."""
    from backend.modules.platform.auth import BearerAuthenticator
    from backend.modules.platform.keys import load_keys
    from backend.modules.platform.throttle import MemoryThrottleStore, RedisThrottleStore

    keys = load_keys(settings.keys_path, create=settings.env != "production")
    tokens = AccessTokens(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          lifetime=settings.access_token_seconds)
    cache = PrincipalCache(settings.auth_cache_seconds)
    store = (RedisThrottleStore(settings.redis_url, settings.login_window_seconds) if settings.redis_url
             else MemoryThrottleStore(settings.login_window_seconds))
    throttle = LoginThrottle(store, max_failures=settings.login_max_failures, lockout=settings.login_lockout_seconds)
    server = JishiAuthorizationServer(tokens=tokens, settings=settings, throttle=throttle, cache=cache)
    endpoints = AuthEndpoints(server=server, registry=registry, settings=settings)
    oidc = None
    if settings.oidc_issuer:
        from backend.modules.platform.oidc import ExternalIssuer

        oidc = ExternalIssuer(issuer=settings.oidc_issuer, audience=settings.oidc_audience,
                              jwks_url=settings.oidc_jwks_url)
    authenticator = BearerAuthenticator(tokens=tokens, registry=registry, cache=cache, oidc=oidc)
    return AuthComponents(tokens=tokens, cache=cache, server=server, endpoints=endpoints, authenticator=authenticator)
