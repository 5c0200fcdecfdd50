"""The ASGI application: ``create_app(settings) -> Starlette``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from backend.api.http import GraphQLEndpoint
from backend.api.schema import ApiSchema, build_schema
from backend.api.ws import SubscriptionEndpoint
from backend.core.body_limit import BodySizeLimitMiddleware
from backend.core.bootstrap import resolve_owner_url
from backend.core.db import Database
from backend.core.listener import EventListener
from backend.core.logging import configure_logging
from backend.core.metrics import render_metrics
from backend.core.migrate import head_revision
from backend.core.principal import Authenticator
from backend.core.request_id import RequestIdMiddleware
from backend.modules.platform.oauth import build_auth
from backend.modules.platform.service import MODULES
from backend.modules.platform.worker import DeliveryWorker
from backend.modules.registry import ModuleRegistry, import_module_parts, installed_modules
from backend.settings import Settings, get_settings


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def healthz(_request: Request) -> Response:
    return _json({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers as the runtime role and its migrations are at the code's head."""
    head = request.app.state.head_revision
    try:
        async with request.app.state.db.app_engine.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any failure to reach the database means not ready
        return _json({"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}, 503)
    if current != head:
        return _json({"status": "unavailable", "database": "ok", "migrations": {"current": current, "head": head}},
                     503)
    return _json({"status": "ready", "database": "ok", "migrations": {"current": current, "head": head}})


async def metrics(_request: Request) -> Response:
    return Response(render_metrics(), media_type="text/plain; version=0.0.4")


def _module_routes(registry: ModuleRegistry) -> list[Route]:
    """HTTP routes that modules contribute in their ``routes.py`` (uploads, downloads)."""
    import importlib
    import importlib.util

    found: list[Route] = []
    for spec in registry:
        name = f"{spec.import_path}.routes"
        if importlib.util.find_spec(name) is not None:
            found.extend(importlib.import_module(name).routes)
    return found


def create_app(
    settings: Settings | None = None,
    *,
    registry: ModuleRegistry | None = None,
    schema: ApiSchema | None = None,
    authenticator: Authenticator | None = None,
    database: Database | None = None,
) -> Starlette:
    settings = settings or get_settings()
    registry = registry or installed_modules()
    import_module_parts(registry)
    schema = schema or build_schema(registry)
    configure_logging(settings.log_level, settings.log_json)
    auth = build_auth(settings, registry)
    endpoint = GraphQLEndpoint(
        schema=schema, settings=settings, registry=registry, authenticator=authenticator or auth.authenticator
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = database is None
        db = database or Database.from_settings(settings, await resolve_owner_url(settings))
        app.state.db = db
        app.state.listener = EventListener(settings.listen_database_url or db.app_engine.url)
        app.state.listener.watch(MODULES.heard)  # tenants' modules are kept while module switches are heard
        await app.state.listener.start()
        stop = asyncio.Event()
        worker_task = None
        if settings.run_worker_in_serve:
            worker = DeliveryWorker(db, settings)
            worker_task = asyncio.create_task(worker.run(stop, app.state.listener.subscribe()), name="jishi-worker")
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            await app.state.listener.stop()
            if owned:
                await db.dispose()

    middleware = [Middleware(RequestIdMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id"],
                allow_credentials=False,
                max_age=600,
            )
        )
    middleware.append(Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                                 overrides={"/crm/import/": settings.max_import_bytes}))

    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", SubscriptionEndpoint(schema, settings, auth.authenticator.authenticate_token)),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *auth.endpoints.routes(),
            *_module_routes(registry),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.schema = schema
    app.state.head_revision = head_revision()
    app.state.auth = auth
    app.state.authenticator = authenticator or auth.authenticator
    return app


# The collector's defaults (a young-generation pass every 700 allocations) were made for small
# heaps. A worker holds a schema of a few hundred thousand long-lived objects, and a GraphQL request
# allocates tens of thousands of short-lived ones, so the default thresholds cost about 40% of a
# large query's time (docs/performance.md). Serving freezes what exists at start-up (never garbage)
# and collects young objects every 50,000 allocations: the garbage that waits is bounded by that
# count, and cycles are still collected.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serving_app() -> Starlette:
    """The application as ``jishi serve`` runs it in each worker process."""
    app = create_app()
    tune_garbage_collector()
    return app
