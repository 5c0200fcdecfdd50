"""Prometheus metrics. With several uvicorn workers, ``jishi serve`` sets PROMETHEUS_MULTIPROC_DIR
so that ``/metrics`` on any worker reports the sum over all of them."""

from __future__ import annotations

import os
import re

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

GRAPHQL_REQUESTS = Counter(
    "jishi_graphql_requests_total", "GraphQL requests by operation name and outcome", ["operation", "outcome"]
)
GRAPHQL_LATENCY = Histogram(
    "jishi_graphql_request_duration_seconds",
    "GraphQL request latency by operation name",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

SQL_STATEMENTS = Counter("jishi_sql_statements_total", "SQL statements sent by the API's runtime role")

# Operation names come from clients: keep the label set bounded.
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_OPERATIONS = 500
_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.match(name):
        return "invalid"
    if name not in _seen_operations:
        if len(_seen_operations) >= _MAX_OPERATIONS:
            return "other"
        _seen_operations.add(name)
    return name


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
