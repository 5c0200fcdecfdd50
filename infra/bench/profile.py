"""Profile one workload in process: where a request's time goes, without the network.

    jishi bench profile --workload r1 --requests 300
    jishi bench profile --workload w1 --requests 200   # placements: create, submit, approve, allocate

Builds the real application (authentication, row-level security, limits and logging as served),
signs in as the bench member, warms up, then sends ``requests`` requests one after another through
the ASGI interface and reports the mean wall and CPU time per request, the SQL statements per request, and
(with pyinstrument installed: ``pip install -e '.[bench]'``) a profile of the measured requests.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import event

from backend.core.db import Database
from backend.core.ids import to_global_id
from backend.settings import Settings
from infra.bench.dataset import BENCH_PASSWORD, bench_email


@dataclass
class Profile:
    workload: str
    requests: int
    ms_per_request: float
    cpu_ms_per_request: float  # of this process only: PostgreSQL's work is in its own processes
    statements_per_request: float
    text: str | None


async def profile(settings: Settings, owner_url: str, *, workload: str, requests: int, order_id: Any,
                  with_profiler: bool = True) -> Profile:
    from backend.app import create_app, tune_garbage_collector
    from infra.bench.run import WORKLOADS

    db = Database.from_settings(settings, owner_url)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.app_engine.sync_engine, "before_cursor_execute", count)
    slug, placement = "bench-1", None
    if workload == "w1":  # a placement (four mutations) on a new small tenant, as `jishi bench writes` makes
        from backend.modules.registry import import_module_parts, installed_modules
        from infra.bench.writes import catalog, gids, jishi_placer, write_tenant

        registry = installed_modules()
        import_module_parts(registry)
        tenant, slug = await write_tenant(settings, owner_url, registry)
        customer, products = await catalog(owner_url, tenant)
        placement = gids(customer, products)
    app = create_app(settings, database=db)
    tune_garbage_collector()  # as `jishi serve` does
    body = orjson.dumps({"query": WORKLOADS.get(workload, ""),
                         "variables": {"id": to_global_id("Order", order_id)} if workload == "r3" else {}})
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                token = (await client.post("/auth/token", data={
                    "grant_type": "password", "username": bench_email(slug),
                    "password": BENCH_PASSWORD})).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                place = jishi_placer("/graphql", headers, placement[0], placement[1][:-2]) if placement else None
                rng = random.Random(1)

                async def once() -> None:
                    if place is not None:
                        await place(client, rng)  # raises on any error or userError
                        return
                    answer = await client.post("/graphql", content=body, headers=headers)
                    if answer.status_code != 200 or b'"errors"' in answer.content:
                        raise RuntimeError(f"{workload}: {answer.status_code} {answer.text[:500]}")

                for _ in range(max(20, requests // 10)):
                    await once()
                profiler = _profiler() if with_profiler else None
                statements = 0
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.start()
                for _ in range(requests):
                    await once()
                if profiler is not None:
                    profiler.stop()
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                text = profiler.output_text(unicode=False, color=False, show_all=False) if profiler else None
    finally:
        await db.dispose()
    return Profile(workload, requests, elapsed * 1000 / requests, cpu * 1000 / requests, statements / requests, text)


def _profiler() -> Any:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    return Profiler(interval=0.0005, async_mode="disabled")
