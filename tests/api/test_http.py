"""The /graphql transport (GraphQL over HTTP), health, readiness, metrics, CORS and request ids."""

from __future__ import annotations

import orjson

from tests.support.auth import PERMISSIONS_HEADER, TENANT_HEADER

GQL_RESPONSE = "application/graphql-response+json"


def as_tenant(tenant, permissions="platform.read,notes.read,notes.write") -> dict[str, str]:
    return {TENANT_HEADER: str(tenant), PERMISSIONS_HEADER: permissions}


async def test_malformed_requests_answer_400_with_a_clear_message(client, make_tenant):
    a = await make_tenant()
    h = as_tenant(a)
    cases = [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (b'{"variables": {}}', "application/json", 400, "no 'query'"),
        (b'{"query": "{ viewer { role } }", "variables": [1]}', "application/json", 400, "'variables' must be"),
        (b"query { viewer { role } }", "text/plain", 415, "Content-Type: application/json"),
    ]
    for body, content_type, status, fragment in cases:
        r = await client.post("/graphql", content=body, headers={**h, "content-type": content_type})
        assert r.status_code == status, body
        assert fragment in r.json()["errors"][0]["message"]


async def test_oversized_body_answers_413_before_reading_it(client):
    big = b'{"query": "' + b" " * 1_100_000 + b'{ __typename }"}'
    r = await client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_syntax_errors_follow_the_media_type_rules(client, make_tenant):
    h = as_tenant(await make_tenant())
    r = await client.post("/graphql", json={"query": "{ viewer { "}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "data" not in r.json()
    r = await client.post("/graphql", json={"query": "{ viewer { "}, headers={**h, "accept": GQL_RESPONSE})
    assert r.status_code == 400 and r.headers["content-type"].startswith(GQL_RESPONSE)
    r = await client.post("/graphql", json={"query": "{ nope }"}, headers={**h, "accept": GQL_RESPONSE})
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    r = await client.post("/graphql", json={"query": "query($n: Int!) { notes(first: $n) { totalCount } }",
                                            "variables": {"n": "ten"}}, headers={**h, "accept": GQL_RESPONSE})
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_serves_queries_and_refuses_mutations(client, make_tenant):
    h = as_tenant(await make_tenant())
    r = await client.get("/graphql", params={"query": "{ viewer { role } }"}, headers=h)
    assert r.status_code == 200 and r.json()["data"] == {"viewer": {"role": "test"}}
    r = await client.get("/graphql", params={"query": 'mutation { noteCreate(input: {title: "x"}) { note { id } } }'},
                         headers=h)
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    r = await client.post("/graphql", json={"query": "{ notes { totalCount } }"}, headers=h)
    assert r.json()["data"]["notes"]["totalCount"] == 0  # the GET mutation wrote nothing


async def test_unauthenticated_requests_get_401_but_introspection_is_open_in_dev(client):
    r = await client.post("/graphql", json={"query": "{ viewer { role } }"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert r.status_code == 200 and r.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    r = await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers={TENANT_HEADER: "not-a-uuid"})
    assert r.status_code == 401


async def test_graphiql_page_in_dev_only(client, app):
    r = await client.get("/graphql", headers={"accept": "text/html"})
    # The test app runs with env=test: no IDE page, so the GET without a query is a bad request.
    assert r.status_code == 400
    from backend.api.http import GraphQLEndpoint
    from backend.settings import Settings

    dev = GraphQLEndpoint(schema=app.state.schema, settings=Settings(env="dev"), registry=app.state.registry,
                          authenticator=None)  # type: ignore[arg-type]
    prod = GraphQLEndpoint(schema=app.state.schema, settings=Settings(env="production"),
                           registry=app.state.registry, authenticator=None)  # type: ignore[arg-type]
    assert dev._ide_html and "graphiql" in dev._ide_html.lower()
    assert prod._ide_html is None


async def test_introspection_can_be_turned_off(app, db, settings):
    import httpx

    from backend.api.schema import build_schema
    from backend.app import create_app
    from backend.settings import Settings

    prod = create_app(Settings(env="production", log_level="WARNING", jwt_keys_file=settings.jwt_keys_file),
                      registry=app.state.registry,
                      schema=build_schema(app.state.registry), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=prod), base_url="http://t") as c:
        r = await c.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert "introspection" in r.json()["errors"][0]["message"].lower()
    assert "data" not in r.json()


async def test_unexpected_errors_are_masked_with_the_request_id_and_write_nothing(client, make_tenant):
    a = await make_tenant()
    h = {**as_tenant(a), "x-request-id": "req-abc-123"}
    r = await client.post("/graphql", json={"query": "mutation { noteExplode }"}, headers=h)
    assert r.headers["x-request-id"] == "req-abc-123"
    [error] = r.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-abc-123"}
    assert "secret" not in r.text and "42" not in error["message"]
    r = await client.post("/graphql", json={"query": "{ node(id: \"x\") { id } }"}, headers=h)
    assert r.json()["data"] == {"node": None}
    # The folder that noteExplode flushed before failing is gone.
    r = await client.post("/graphql", json={"query": 'mutation { noteCreate(input: {title: "t", folderName: "doomed"}) '
                                            "{ note { folder { name } } } }"}, headers=h)
    assert r.json()["data"]["noteCreate"]["note"]["folder"]["name"] == "doomed"


async def test_request_id_is_generated_when_missing_or_unsafe(client):
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    r = await client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"


async def test_health_readiness_and_metrics(client, make_tenant):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["migrations"]["current"] == r.json()["migrations"]["head"]
    h = as_tenant(await make_tenant())
    await client.post("/graphql", json={"query": "query MetricsProbe { viewer { role } }"}, headers=h)
    text = (await client.get("/metrics")).text
    assert 'jishi_graphql_requests_total{operation="MetricsProbe",outcome="ok"}' in text
    assert 'jishi_graphql_request_duration_seconds_count{operation="MetricsProbe"}' in text


async def test_readyz_reports_unapplied_migrations(client, app):
    saved = app.state.head_revision
    app.state.head_revision = "9999_not_applied"
    try:
        r = await client.get("/readyz")
    finally:
        app.state.head_revision = saved
    assert r.status_code == 503 and r.json()["migrations"]["head"] == "9999_not_applied"


async def test_cors_allows_listed_origins_only(client):
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type"}
    r = await client.options("/graphql", headers={"origin": "https://app.example", **preflight})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
    r = await client.options("/graphql", headers={"origin": "https://evil.example", **preflight})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers


async def test_logs_are_json_with_request_context_and_no_secrets(client, make_tenant, capsys):
    from backend.core.logging import configure_logging

    configure_logging("INFO", json=True)
    try:
        h = {**as_tenant(await make_tenant()), "x-request-id": "log-probe-1", "authorization": "Bearer sekrit-token"}
        await client.post("/graphql", json={"query": "query LogProbe { viewer { role } }"}, headers=h)
    finally:
        configure_logging("WARNING", json=True)
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [entry] = [e for e in lines if e.get("event") == "graphql.request" and e.get("request_id") == "log-probe-1"]
    assert entry["operation"] == "LogProbe" and entry["outcome"] == "ok" and "duration_ms" in entry
    assert entry["tenant_id"]
    assert "sekrit" not in capsys.readouterr().err


def test_log_redaction_covers_nested_secrets():
    from backend.core.logging import REDACTED, redact

    event = {"input": {"email": "a@b.c", "password": "hunter22", "nested": [{"clientSecret": "s"}]},
             "Authorization": "Bearer x", "refresh_token": "r"}
    out = redact(event)
    assert out["input"]["password"] == REDACTED and out["input"]["nested"][0]["clientSecret"] == REDACTED
    assert out["Authorization"] == REDACTED and out["refresh_token"] == REDACTED
    assert out["input"]["email"] == "a@b.c"
