"""Hostile queries are refused with QUERY_TOO_COMPLEX before any SQL runs.

The schema has no recursive types yet, so these tests run an app with tight limits to reach them.
"""

from __future__ import annotations

import pytest

from backend.settings import Settings
from tests.support.apps import client_of, served


@pytest.fixture(scope="module")
async def strict_app(registry, db):
    settings = Settings(env="test", log_level="WARNING", max_query_depth=4, max_query_cost=120,
                        max_query_aliases=3, max_query_tokens=60)
    async with served(settings, registry, db) as app:
        yield app


@pytest.fixture
async def strict(strict_app):
    async with client_of(strict_app) as client:
        yield client


async def refused(gql, count_sql, tenant, query, variables=None) -> dict:
    count_sql.statements.clear()
    body = await gql(query, variables, tenant=tenant)
    assert "data" not in body, body
    assert count_sql.statements == []  # refused before the transaction even began
    return body["errors"][0]


async def test_depth_limit_follows_fragments(strict, count_sql, make_tenant):
    a = await make_tenant()
    assert "errors" not in await strict("{ viewer { tenant { modules { name } } } }", tenant=a)  # depth 4
    err = await refused(strict, count_sql, a, "{ notes { edges { node { folder { name } } } } }")  # depth 5
    assert err["extensions"]["code"] == "QUERY_TOO_COMPLEX" and "5 levels deep" in err["message"]
    hidden = "fragment F on Note { folder { name } } { notes { edges { node { ...F } } } }"
    err = await refused(strict, count_sql, a, hidden)
    assert "levels deep" in err["message"]


async def test_alias_limit(strict, count_sql, make_tenant):
    a = await make_tenant()
    assert "errors" not in await strict("{ a: viewer { role } b: viewer { role } }", tenant=a)
    err = await refused(strict, count_sql, a, "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(4)) + " }")
    assert err["extensions"]["code"] == "QUERY_TOO_COMPLEX" and "aliases" in err["message"]


async def test_token_limit(strict, count_sql, make_tenant):
    a = await make_tenant()
    err = await refused(strict, count_sql, a, "{ " + "__typename " * 80 + "}")
    assert err["extensions"]["code"] == "GRAPHQL_PARSE_FAILED" and "token" in err["message"].lower()


async def test_cost_limit_counts_page_sizes_and_reports_cost(strict, count_sql, make_tenant):
    a = await make_tenant()
    body = await strict("{ notes(first: 10) { edges { node { title } } } }", tenant=a)
    # connection: 2 + 10 * (edges 1 + node 1) = 22
    assert body["extensions"]["cost"]["requestedQueryCost"] == 22
    body = await strict("{ notes(first: 10) { totalCount pageInfo { hasNextPage } nodes { title } } }", tenant=a)
    # pageInfo is paid once, not per node: 2 + 10 * 1 + 1
    assert body["extensions"]["cost"]["requestedQueryCost"] == 13
    err = await refused(strict, count_sql, a, "{ notes(first: 100) { edges { node { title } } } }")
    assert err["extensions"]["code"] == "QUERY_TOO_COMPLEX" and err["extensions"]["cost"] == 202
    # Variables count too.
    err = await refused(strict, count_sql, a, "query($n: Int) { notes(first: $n) { nodes { title } } }", {"n": 200})
    assert err["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # The same document with other variables is costed again (analyses are cached per variables).
    for n, cost in ((5, 7), (10, 12), (5, 7)):
        body = await strict("query($n: Int) { notes(first: $n) { nodes { title } } }", {"n": n}, tenant=a)
        assert body["extensions"]["cost"]["requestedQueryCost"] == cost


async def test_default_limits_accept_a_realistic_page(gql, make_tenant):
    a = await make_tenant()
    body = await gql("{ notes(first: 250) { totalCount edges { cursor node { id title createdAt folder { name } } } "
                     "pageInfo { hasNextPage endCursor } } viewer { tenant { modules { name enabled } } } }", tenant=a)
    assert "errors" not in body and body["extensions"]["cost"]["requestedQueryCost"] <= 2000
