"""``/graphql`` over HTTP, following the GraphQL-over-HTTP specification.

Per request: read the parameters (POST JSON, or GET for queries), parse (cached, token-limited),
count aliases, validate (cached), pick the operation, compute depth and cost (refused before any
SQL), authenticate, then run the operation in one database transaction scoped to the caller's
tenant, committed once at the end. Mutations run each in a savepoint (``run_mutation``), so a
refused or failed mutation writes nothing.

Status codes: a malformed HTTP request answers 400 (or 405/413/415). For a well-formed request the
``application/json`` media type answers 200 with ``errors``; ``application/graphql-response+json``
answers 4xx when the request failed before execution. Missing or bad credentials answer 401 in
both, since authentication is HTTP's concern, not GraphQL's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import graphql
import orjson
import structlog
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from backend.api.context import RequestContext
from backend.api.errors import format_error
from backend.api.executor import CompiledExecutor
from backend.api.limits import actual_cost, analyze, count_aliases
from backend.api.ratelimit import bucket_key, build_buckets
from backend.api.schema import ApiSchema
from backend.api.sqltree import compile_tree
from backend.core.access import scope_session
from backend.core.db import Database, set_tenant
from backend.core.errors import ApiError, QueryTooComplex, Unauthenticated
from backend.core.lru import LRU
from backend.core.metrics import GRAPHQL_LATENCY, GRAPHQL_REQUESTS, operation_label
from backend.core.principal import Authenticator
from backend.core.request_id import current_request_id
from backend.modules.registry import ModuleRegistry
from backend.settings import Settings

log = structlog.get_logger("jishi.graphql")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_CACHEABLE_QUERY_CHARS = 20_000
_CACHEABLE_VARIABLES_BYTES = 2_000


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


@dataclass
class _Params:
    query: str
    variables: dict[str, Any]
    operation_name: str | None


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        schema: ApiSchema,
        settings: Settings,
        registry: ModuleRegistry,
        authenticator: Authenticator,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.registry = registry
        self.authenticator = authenticator
        self.rules = list(specified_rules)
        if not settings.introspection_enabled:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self._documents = LRU(1024)
        self._validations = LRU(1024)
        self._analyses = LRU(1024)
        self.executor = (CompiledExecutor(schema.graphql, strawberry_schema=schema.strawberry,
                                          trees=compile_tree if settings.sql_subtrees else None)
                         if settings.compiled_execution else None)
        self._ide_html = get_graphql_ide_html("graphiql") if settings.graphiql_enabled else None
        self.buckets = build_buckets(size=settings.cost_bucket_size, rate=settings.cost_restore_rate,
                                     redis_url=settings.redis_url)

    # --- HTTP ---------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        media = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON
        try:
            if request.method == "GET":
                if self._wants_ide(request):
                    return HTMLResponse(self._ide_html)
                params = self._params_from_query(request)
            elif request.method == "POST":
                params = await self._params_from_body(request)
            else:
                raise BadRequest("Use GET or POST.", 405, {"Allow": "GET, POST"})
            return await self._run(request, params, media, is_get=request.method == "GET")
        except BadRequest as exc:
            body = {"errors": [{"message": exc.message, "extensions": {"code": "BAD_REQUEST"}}]}
            return self._response(body, exc.status, media, exc.headers)

    def _wants_ide(self, request: Request) -> bool:
        return (
            self._ide_html is not None
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    def _params_from_query(self, request: Request) -> _Params:
        qp = request.query_params
        variables: Any = {}
        if qp.get("variables"):
            try:
                variables = orjson.loads(qp["variables"])
            except orjson.JSONDecodeError:
                raise BadRequest("The variables parameter is not valid JSON.")
        return self._check_params({"query": qp.get("query"), "variables": variables,
                                   "operationName": qp.get("operationName")})

    async def _params_from_body(self, request: Request) -> _Params:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise BadRequest("POST a JSON body with Content-Type: application/json.", 415)
        body = await request.body()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("The request body is not valid JSON.")
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object with a 'query' string.")
        return self._check_params(data)

    @staticmethod
    def _check_params(data: dict[str, Any]) -> _Params:
        query = data.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("The request has no 'query' string.")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            raise BadRequest("'variables' must be a JSON object.")
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("'operationName' must be a string.")
        return _Params(query=query, variables=variables, operation_name=operation_name)

    @staticmethod
    def _response(body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type=media, headers=headers)

    # --- GraphQL ------------------------------------------------------------------------------------

    def _parse(self, query: str) -> tuple[DocumentNode, int]:
        """The document and its number of aliases (both cached per query text)."""
        cacheable = len(query) <= _CACHEABLE_QUERY_CHARS
        found = self._documents.get(query) if cacheable else None
        if found is None:
            document = graphql.parse(query, max_tokens=self.settings.max_query_tokens)
            found = (document, count_aliases(document))
            if cacheable:
                self._documents.put(query, found)
        return found

    def _validate(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        cacheable = len(query) <= _CACHEABLE_QUERY_CHARS
        errors = self._validations.get(query) if cacheable else None
        if errors is None:
            errors = graphql.validate(self.schema.graphql, document, self.rules)
            if cacheable:
                self._validations.put(query, errors)
        return errors

    def _analyze(self, params: _Params, document: DocumentNode, operation: OperationDefinitionNode) -> Any:
        """Depth and cost of the operation, cached per query, operation and variables (page sizes are variables)."""
        key = None
        if len(params.query) <= _CACHEABLE_QUERY_CHARS:
            variables = orjson.dumps(params.variables, option=orjson.OPT_SORT_KEYS) if params.variables else b""
            if len(variables) <= _CACHEABLE_VARIABLES_BYTES:
                key = (params.query, params.operation_name, variables)
        found = self._analyses.get(key) if key is not None else None
        if found is None:
            found = analyze(self.schema.graphql, document, operation, params.variables,
                            default_list_size=self.settings.default_list_size)
            if key is not None:
                self._analyses.put(key, found)
        return found

    def _request_error(self, errors: list[dict[str, Any]], media: str, status: int = 400) -> Response:
        return self._response({"errors": errors}, status if media == GRAPHQL_RESPONSE else 200, media)

    async def _run(self, request: Request, params: _Params, media: str, *, is_get: bool) -> Response:
        started = time.perf_counter()
        request_id = current_request_id()
        trace = {"operation": params.operation_name, "outcome": "error"}
        try:
            response, trace["outcome"] = await self._execute(request, params, media, is_get, request_id, trace)
            return response
        finally:
            elapsed = time.perf_counter() - started
            label = operation_label(trace["operation"])
            outcome = trace["outcome"]
            GRAPHQL_REQUESTS.labels(label, outcome).inc()
            GRAPHQL_LATENCY.labels(label).observe(elapsed)
            log.info("graphql.request", operation=label, outcome=outcome, duration_ms=round(elapsed * 1000, 2))

    async def _execute(
        self, request: Request, params: _Params, media: str, is_get: bool, request_id: str, trace: dict[str, Any]
    ) -> tuple[Response, str]:
        try:
            document, aliases = self._parse(params.query)
        except GraphQLError as exc:
            error = exc.formatted
            error["extensions"] = {"code": "GRAPHQL_PARSE_FAILED"}
            return self._request_error([error], media), "parse_error"

        if aliases > self.settings.max_query_aliases:
            return self._too_complex(f"The query uses {aliases} aliases; the limit is "
                                     f"{self.settings.max_query_aliases}.", media), "too_complex"

        errors = self._validate(params.query, document)
        if errors:
            return self._request_error([format_error(e, request_id) for e in errors], media), "invalid"

        operation = get_operation_ast(document, params.operation_name)
        if operation is None:
            message = ("Unknown operationName." if params.operation_name else
                       "The document has several operations: pass operationName.")
            return self._request_error([{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
                                       media), "invalid"
        if operation.name is not None:
            trace["operation"] = operation.name.value
        if operation.operation is OperationType.SUBSCRIPTION:
            raise BadRequest("Subscriptions are served over the graphql-transport-ws websocket.")
        if is_get and operation.operation is not OperationType.QUERY:
            raise BadRequest("GET serves queries only; POST mutations.", 405, {"Allow": "POST"})

        analysis = self._analyze(params, document, operation)
        if analysis.depth > self.settings.max_query_depth:
            return self._too_complex(f"The query is {analysis.depth} levels deep; the limit is "
                                     f"{self.settings.max_query_depth}.", media), "too_complex"
        if analysis.cost > self.settings.max_query_cost:
            return self._too_complex(f"The query's estimated cost is {analysis.cost}; the limit is "
                                     f"{self.settings.max_query_cost}.", media, cost=analysis.cost), "too_complex"
        extensions = {"cost": {"requestedQueryCost": analysis.cost}}

        try:
            principal = await self.authenticator(request)
        except Unauthenticated as exc:
            return self._unauthenticated(exc.message, media), "unauthenticated"
        except ApiError as exc:  # e.g. TENANT_SUSPENDED
            body = {"errors": [{"message": exc.message, "extensions": {"code": exc.code, **exc.extensions}}]}
            return self._response(body, exc.http_status, media), exc.code.lower()
        if principal is None and not _introspection_only(operation):
            return self._unauthenticated("Authentication required: send Authorization: Bearer <token>.",
                                         media), "unauthenticated"
        key = None
        if principal is not None:
            if principal.tenant_id is not None:
                structlog.contextvars.bind_contextvars(tenant_id=str(principal.tenant_id))
            key = bucket_key(principal)
        if key is not None:
            bucket = await self.buckets.take(key, analysis.cost)
            extensions["cost"]["throttleStatus"] = bucket.as_extension()
            if not bucket.allowed:
                wait = bucket.retry_after(analysis.cost)
                body = {"errors": [{"message": f"Throttled: the query costs {analysis.cost} points and "
                                               f"{int(bucket.available)} are available; retry in {wait} s.",
                                    "extensions": {"code": "THROTTLED"}}], "extensions": extensions}
                return self._response(body, 429, media, {"Retry-After": str(wait)}), "throttled"

        db: Database = request.app.state.db
        ctx = RequestContext(request=request, settings=self.settings, registry=self.registry,
                             nodes=self.schema.nodes, principal=principal, session=None, request_id=request_id)
        try:
            if principal is None:
                result = await self._execute_operation(document, operation, params, ctx)
            else:
                # One transaction per request, committed at its end (the one open then: a failed first mutation
                # rolls back and begins another, see ``run_mutation``); any exception leaves it uncommitted.
                query = operation.operation is OperationType.QUERY
                async with db.reading() if query else db.sessionmaker() as session:
                    if principal.tenant_id is not None:
                        await set_tenant(session, principal.tenant_id, generic_plans=query)
                        await scope_session(session, principal)
                    ctx.session = session
                    result = await self._execute_operation(document, operation, params, ctx)
                    if not query:
                        await session.commit()
        except Exception as exc:  # commit failures and the like: nothing was written
            error = GraphQLError("commit failed", original_error=exc)
            return self._response({"errors": [format_error(error, request_id)], "data": None,
                                   "extensions": extensions}, 500, media), "internal"
        finally:
            # A DataLoader's batch function refers to the context that holds the loader: without this,
            # everything the request loaded would wait for the cyclic garbage collector.
            ctx.loaders.clear()

        actual = getattr(result, "cost", None)
        if actual is None or result.errors:  # the executor counts what it built; errors may have nulled some
            data = result.data
            if result.errors and data is not None:  # subtrees PostgreSQL answered are JSON text (orjson.Fragment)
                data = orjson.loads(orjson.dumps(data))
            actual = actual_cost(self.schema.graphql, document, operation, data,
                                 default_list_size=self.settings.default_list_size)
        extensions["cost"]["actualQueryCost"] = actual
        if key is not None and actual < analysis.cost:
            bucket = await self.buckets.refund(key, analysis.cost - actual)
            extensions["cost"]["throttleStatus"] = bucket.as_extension()
        body: dict[str, Any] = {}
        status = 200
        if result.errors:
            body["errors"] = [format_error(e, request_id) for e in result.errors]
            if result.data is None and all(e.path is None for e in result.errors):
                # Failed before execution (variable coercion): a request error.
                status = 400 if media == GRAPHQL_RESPONSE else 200
        body["data"] = result.data
        body["extensions"] = extensions
        outcome = "ok" if not result.errors else "partial" if result.data else "error"
        return self._response(body, status, media), outcome

    async def _execute_operation(self, document: DocumentNode, operation: OperationDefinitionNode, params: _Params,
                                 ctx: RequestContext) -> Any:
        if self.executor is not None and self.executor.handles(document, operation):
            cache_key = (params.query, params.operation_name) if len(params.query) <= _CACHEABLE_QUERY_CHARS else None
            return await self.executor.execute(document, operation, params.variables, ctx, cache_key=cache_key)
        result = graphql.execute(
            self.schema.graphql,
            document,
            context_value=ctx,
            variable_values=params.variables,
            operation_name=params.operation_name,
        )
        if hasattr(result, "__await__"):
            result = await result
        return result

    def _too_complex(self, message: str, media: str, **extra: Any) -> Response:
        error = QueryTooComplex(message, **extra)
        return self._request_error([{"message": error.message,
                                     "extensions": {"code": error.code, **error.extensions}}], media)

    def _unauthenticated(self, message: str, media: str) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": Unauthenticated.code}}]}
        return self._response(body, 401, media, {"WWW-Authenticate": "Bearer"})


def _introspection_only(operation: OperationDefinitionNode) -> bool:
    return operation.operation is OperationType.QUERY and all(
        getattr(sel, "name", None) is not None and sel.name.value.startswith("__")  # type: ignore[union-attr]
        for sel in operation.selection_set.selections
    )

