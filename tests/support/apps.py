"""Applications with other settings than the session's, for tests that compare or constrain execution."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from backend.api.schema import build_schema
from backend.app import create_app
from tests.conftest import GraphQLClient
from tests.support.auth import header_authenticator


@asynccontextmanager
async def served(settings: Any, registry: Any, db: Any) -> AsyncIterator[Any]:
    """The application with ``settings``, the test registry and database, started (lifespan) and stopped."""
    app = create_app(settings, registry=registry, schema=build_schema(registry), authenticator=header_authenticator,
                     database=db)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield GraphQLClient(c)
