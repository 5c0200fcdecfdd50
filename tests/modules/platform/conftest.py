"""An app with the real authentication (bearer tokens), and helpers to sign up and sign in."""

from __future__ import annotations

import itertools
import uuid

import httpx
import pytest

from backend.api.schema import build_schema
from backend.app import create_app

_ip = itertools.count(1)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
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
