"""Test session: a real PostgreSQL (``JISHI_TEST_DATABASE_URL``, else the embedded server), a fresh
database per session migrated as the owner, and the app running as the runtime role.

Tests isolate from each other by tenant: each creates its own tenants (unique slugs), so nothing is
rolled back or truncated between tests and HTTP tests see committed data exactly as clients do.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from backend.api.schema import build_schema
from backend.app import create_app
from backend.core.db import Database, runtime_url, to_async_url
from backend.core.embedded import drop_database, ensure_database, start_embedded
from backend.core.migrate import migrate
from backend.modules.platform import service as platform
from backend.modules.registry import ModuleRegistry, import_module_parts, installed_modules
from backend.settings import Settings
from tests.support import notes, reminders
from tests.support.auth import PERMISSIONS_HEADER, TENANT_HEADER, header_authenticator
from tests.support.notes.models import create_tables_sql

ROOT = Path(__file__).resolve().parents[1]
APP_USER = "jishi_app_test"
APP_PASSWORD = "jishi-test-password"


def _server_url() -> str:
    url = os.environ.get("JISHI_TEST_DATABASE_URL")
    if url:
        return str(to_async_url(url))
    server = start_embedded(ROOT / ".jishi" / "test-pg")
    return server.url("postgres")


@pytest.fixture(scope="session")
async def owner_url() -> AsyncIterator[str]:
    admin = _server_url()
    name = f"jishi_test_{uuid.uuid4().hex[:10]}"
    await ensure_database(admin, name)
    url = str(make_url(admin).set(database=name).render_as_string(hide_password=False))
    await migrate(url, APP_USER, APP_PASSWORD)
    db = Database(app_url=url)  # owner connection for test-only DDL
    async with db.app_engine.begin() as conn:
        for statement in create_tables_sql():
            await conn.execute(text(statement))
    await db.dispose()
    yield url
    await drop_database(admin, name)


@pytest.fixture(scope="session")
def registry() -> ModuleRegistry:
    extended = installed_modules().extended(notes.MODULE, reminders.MODULE)
    import_module_parts(extended)
    return extended


@pytest.fixture(scope="session")
async def db(owner_url: str) -> AsyncIterator[Database]:
    database = Database(app_url=runtime_url(owner_url, APP_USER, APP_PASSWORD), owner_url=owner_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(env="test", log_json=True, log_level="WARNING", cors_origins=["https://app.example"],
                    jwt_keys_file=ROOT / ".jishi" / "test-jwt-keys.json", auth_cache_seconds=0,
                    run_worker_in_serve=False)


@pytest.fixture(scope="session")
async def app(settings: Settings, registry: ModuleRegistry, db: Database):  # type: ignore[no-untyped-def]
    application = create_app(
        settings, registry=registry, schema=build_schema(registry), authenticator=header_authenticator, database=db
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


# --- factories ------------------------------------------------------------------------------------


class TenantFactory:
    def __init__(self, db: Database, registry: ModuleRegistry) -> None:
        self.db = db
        self.registry = registry

    async def __call__(self, *, plan: str = "business", modules: list[str] | None = None, name: str = "Acme") -> uuid.UUID:
        slug = f"t-{uuid.uuid4().hex[:12]}"
        async with self.db.transaction() as session:
            tenant = await platform.create_tenant(
                session, registry=self.registry, name=name, slug=slug, plan=plan, modules=modules
            )
            return tenant.id


@pytest.fixture
def make_tenant(db: Database, registry: ModuleRegistry) -> TenantFactory:
    return TenantFactory(db, registry)


ALL_PERMISSIONS = ("platform.read", "platform.modules", "platform.webhooks", "platform.notifications",
                   "platform.customize",
                   "crm.read", "crm.write", "crm.admin",
                   "notes.read", "notes.write", "reminders.read")


class GraphQLClient:
    """Posts GraphQL as a tenant with given permissions; returns the decoded body (status on .last)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.last: httpx.Response | None = None

    async def __call__(
        self,
        query: str,
        variables: dict | None = None,
        *,
        tenant: uuid.UUID | None,
        permissions: tuple[str, ...] = ALL_PERMISSIONS,
        headers: dict[str, str] | None = None,
    ) -> dict:
        h = dict(headers or {})
        if tenant is not None:
            h[TENANT_HEADER] = str(tenant)
            h[PERMISSIONS_HEADER] = ",".join(permissions)
        self.last = await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)
        return self.last.json()


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)

    @property
    def queries(self) -> list[str]:
        """Statements other than the transaction's SET LOCAL and savepoint bookkeeping."""
        return [s for s in self.statements if not s.startswith(("SET LOCAL", "SAVEPOINT", "RELEASE"))]


@pytest.fixture
def count_sql(db: Database):  # type: ignore[no-untyped-def]
    counter = StatementCounter()
    event.listen(db.app_engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.app_engine.sync_engine, "before_cursor_execute", counter)


# --- the real app (bearer tokens), for tests that sign up and sign in -------------------------------

_ip = itertools.count(1)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
async def real_app(settings, registry, db):
    app = create_app(settings, registry=registry, schema=build_schema(registry), database=db)
    async with app.router.lifespan_context(app):
        yield app


class Api:
    """A client of the real app, from its own IP address (login throttling is per IP)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def signup(self, *, company: str = "Acme", email: str | None = None, password: str = PASSWORD) -> dict:
        email = email or f"u-{uuid.uuid4().hex[:10]}@example.com"
        r = await self.http.post("/auth/signup", json={"email": email, "password": password, "name": "Ann Owner",
                                                       "company": company})
        assert r.status_code == 201, r.text
        return {**r.json(), "email": email}

    async def token(self, **form: str) -> httpx.Response:
        return await self.http.post("/auth/token", data=form)

    async def login(self, email: str, password: str = PASSWORD, **extra: str) -> dict:
        r = await self.token(grant_type="password", username=email, password=password, **extra)
        assert r.status_code == 200, r.text
        return r.json()

    async def gql(self, token: str | None, query: str, variables: dict | None = None,
                  headers: dict | None = None) -> httpx.Response:
        h = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers={**h, **(headers or {})})


@pytest.fixture
async def api(real_app):
    transport = httpx.ASGITransport(app=real_app, client=(f"10.9.{next(_ip) // 250}.{next(_ip) % 250}", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http)


@pytest.fixture
def api_factory(real_app):
    """More clients, each from a new IP address."""
    clients: list[httpx.AsyncClient] = []

    def make() -> Api:
        transport = httpx.ASGITransport(app=real_app, client=(f"10.8.{next(_ip) // 250}.{next(_ip) % 250}", 5000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        return Api(http)

    yield make
