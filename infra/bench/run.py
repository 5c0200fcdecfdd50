"""The benchmark run: contestants as real server processes, a real load generator, medians.

    jishi bench run --scale default --seconds 10 --rounds 3 --connections 16

1. The reference data set is generated (or reused), with a member to sign in as.
2. Each contestant starts alone as its own server process, one worker: Jishi (``jishi serve``:
   authentication, row-level security, limits and logging on, as deployed; only the cost bucket is
   sized for the load) and the raw baseline (``infra.bench.baseline``).
3. Both answer the workload once, and the answers must be identical before anything is measured.
4. ``wrk`` (Debian's package) loads each in turn: a warm-up, then ``rounds`` interleaved rounds;
   the medians of requests/s and of the p50 and p99 latencies are reported, with the ratio of Jishi
   to the baseline measured in the same run, to a CSV and a Markdown table.

Workloads: R1 (50 orders with customer and lines), R2 (50 customers with contacts and open
opportunities) and R3 (one ``node(id:)`` lookup of an order). Reported per request: the CPU time of
the server process and of PostgreSQL, and the SQL statements sent (Jishi's
``jishi_sql_statements_total`` counter, the baseline's own count).
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from backend.core.bootstrap import prepare_database
from backend.core.db import Database, runtime_url
from backend.core.ids import to_global_id
from backend.modules.registry import import_module_parts, installed_modules
from backend.settings import Settings
from infra.bench.dataset import BENCH_PASSWORD, SCALES, bench_email, generate
from infra.bench.writes import (
    WriteResult,
    baseline_placer,
    catalog,
    drive,
    gids,
    jishi_placer,
    make_scarce,
    scarce_outcome,
    summarize,
    write_tenant,
)

R1 = ("{ orders(first: 50) { edges { node { number status total { amount } customer { name } "
      "lines { quantity product { sku } } } } } }")
R2 = ("{ customers(first: 50) { edges { node { name email contacts { name email } "
      "opportunities { name amount { amount } } } } } }")
R3 = "query($id: ID!) { node(id: $id) { ... on Order { number status total { amount } } } }"
WORKLOADS = {"r1": R1, "r2": R2, "r3": R3}


@dataclass
class Result:
    workload: str
    contestant: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    ratio: float | None = None  # Jishi / baseline, same run
    app_cpu_ms: float | None = None  # CPU of the server process per request
    db_cpu_ms: float | None = None  # CPU of PostgreSQL's processes per request
    statements: float | None = None  # SQL statements per request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not up after {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


_LATENCY = re.compile(r"^\s*(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, body: bytes, headers: dict[str, str], *, seconds: int,
        connections: int) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 (ms), and the number of requests, of POSTing ``body`` to ``url``."""
    lines = ['wrk.method = "POST"', f"wrk.body = {orjson.dumps(body.decode()).decode()}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                              "-s", script.name, url], capture_output=True, text=True, check=True,
                             timeout=seconds + 30).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: some answers were not 2xx:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {p: _ms(v, u) for p, v, u in _LATENCY.findall(out)}
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, latency["50"], latency["99"], count


def _cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc; 0 for one that is gone). With
    ``reaped``, also their children's that have exited: PostgreSQL's postmaster reaps the backends, so
    a connection closed during a round keeps its CPU in the total instead of taking it out."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / ticks


def _statements(base_url: str) -> int:
    """SQL statements a contestant has sent so far: Jishi's Prometheus counter, the baseline's /stats."""
    answer = httpx.get(f"{base_url}/stats", timeout=10)
    if answer.status_code == 200 and answer.headers.get("content-type", "").startswith("application/json"):
        return int(answer.json()["statements"])
    metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(r"^jishi_sql_statements_total\s+([\d.e+]+)$", metrics, re.M)
    return int(float(found.group(1))) if found else 0


def _processes() -> list[tuple[int, str, int]]:
    """Every process on this host as ``(pid, command name, parent pid)``, from ``/proc``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:].rsplit(")", 1)
            found.append((int(entry.name), name, int(rest.split()[1])))
    return found


def _postgres_pids() -> list[int]:
    """PostgreSQL's processes on this host (the bench assumes nothing else runs on it)."""
    return [pid for pid, name, _ in _processes() if name in ("postgres", "postmaster")]


def _environment(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database migrated: its owner URL, and the environment the servers run with."""
    owner_url = asyncio.run(prepare_database(settings, run_migrations=True))
    app_url = runtime_url(owner_url, settings.app_db_user, settings.app_db_password.get_secret_value())
    env = {**os.environ, "JISHI_DATABASE_URL": owner_url, "JISHI_LOG_LEVEL": "WARNING",
           "JISHI_APP_DB_USER": settings.app_db_user,
           "JISHI_APP_DB_PASSWORD": settings.app_db_password.get_secret_value(),
           "JISHI_COST_BUCKET_SIZE": "1000000000", "JISHI_COST_RESTORE_RATE": "1000000000",
           # Event delivery (webhooks, notifications) runs as its own process in a deployment (`jishi worker`);
           # the measured server only serves the API.
           "JISHI_RUN_WORKER_IN_SERVE": "false",
           "BENCH_DSN": app_url.set(drivername="postgresql").render_as_string(hide_password=False)}
    return owner_url, env


def _prepare(settings: Settings, scale: str) -> tuple[str, uuid.UUID, dict[str, str]]:
    """The database migrated, the data set ready: the owner URL, the first bench tenant, the servers' env."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    owner_url, env = _environment(settings)
    registry = installed_modules()
    import_module_parts(registry)

    async def data() -> list:
        db = Database.from_settings(settings, owner_url)
        try:
            return await generate(db, registry, scale=SCALES[scale])
        finally:
            await db.dispose()

    tenant = asyncio.run(data())[0]
    return owner_url, tenant, env


def _start_jishi(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "jishi"), "serve", "--port", str(port),
                                "--workers", str(workers), "--no-migrate"], env=env, stdout=subprocess.DEVNULL)
    _wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


def _jishi_headers(port: int, slug: str = "bench-1") -> dict[str, str]:
    token = httpx.post(f"http://127.0.0.1:{port}/auth/token", data={
        "grant_type": "password", "username": bench_email(slug), "password": BENCH_PASSWORD},
        timeout=30).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def run(settings: Settings, *, scale: str, seconds: int, rounds: int, connections: int, out_dir: Path,
        workloads: tuple[str, ...] = ("r1", "r2", "r3")) -> list[Result]:
    owner_url, tenant, env = _prepare(settings, scale)
    base_port = _free_port()
    jishi, jishi_port = _start_jishi(env)
    baseline = subprocess.Popen([sys.executable, "-m", "uvicorn", "infra.bench.baseline:app", "--port",
                                 str(base_port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
                                env=env, stdout=subprocess.DEVNULL)
    results: list[Result] = []
    try:
        _wait_until_up(f"http://127.0.0.1:{base_port}/healthz", baseline)
        contestants = {
            "jishi": (f"http://127.0.0.1:{jishi_port}/graphql", _jishi_headers(jishi_port)),
            "baseline": (f"http://127.0.0.1:{base_port}/graphql", {"X-Bench-Tenant": str(tenant),
                                                                   "Content-Type": "application/json"}),
        }
        order = _an_order(owner_url, tenant)
        for workload in workloads:
            body = orjson.dumps({"query": WORKLOADS[workload],
                                 "variables": {"id": to_global_id("Order", order)} if workload == "r3" else {}})
            contestants["baseline"][1].update({"X-Bench-Workload": workload, "X-Bench-Order": str(order)})
            answers = {name: httpx.post(url, content=body, headers=headers, timeout=30).json()
                       for name, (url, headers) in contestants.items()}
            if answers["jishi"].get("data") != answers["baseline"]["data"] or "errors" in answers["jishi"]:
                shown = {name: orjson.dumps(a)[:600].decode() for name, a in answers.items()}
                raise RuntimeError(f"{workload}: Jishi and the baseline answer differently: {shown}")
            for url, headers in contestants.values():  # warm-up
                wrk(url, body, headers, seconds=1, connections=connections)
            samples: dict[str, list[tuple[float, ...]]] = {name: [] for name in contestants}
            pids = {"jishi": jishi.pid, "baseline": baseline.pid}
            for _ in range(rounds):  # interleaved
                for name, (url, headers) in contestants.items():
                    base_url = url.removesuffix("/graphql")
                    app_before, db_before = _cpu_seconds([pids[name]]), _cpu_seconds(_postgres_pids(), reaped=True)
                    sql_before = _statements(base_url)
                    rps, p50, p99, count = wrk(url, body, headers, seconds=seconds, connections=connections)
                    app_cpu = (_cpu_seconds([pids[name]]) - app_before) * 1000 / max(count, 1)
                    db_cpu = (_cpu_seconds(_postgres_pids(), reaped=True) - db_before) * 1000 / max(count, 1)
                    sql = (_statements(base_url) - sql_before) / max(count, 1)
                    samples[name].append((rps, p50, p99, app_cpu, db_cpu, sql))
            medians = {name: tuple(statistics.median(s[i] for s in runs) for i in range(6))
                       for name, runs in samples.items()}
            base_rps = medians["baseline"][0]
            for name, (rps, p50, p99, app_cpu, db_cpu, sql) in medians.items():
                results.append(Result(workload, name, round(rps, 1), round(p50, 2), round(p99, 2),
                                      round(rps / base_rps, 3) if name == "jishi" and base_rps else None,
                                      round(app_cpu, 2), round(db_cpu, 2), round(sql, 1)))
    finally:
        _stop(jishi)
        _stop(baseline)
    _report(results, out_dir, scale=scale, seconds=seconds, rounds=rounds, connections=connections)
    return results


def _an_order(owner_url: str, tenant) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """The newest order of the bench tenant (R3 looks it up)."""

    async def find() -> uuid.UUID:
        from backend.core.db import asyncpg_connect

        conn = await asyncpg_connect(owner_url)
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL app.tenant_id = '{tenant}'")
                return await conn.fetchval("SELECT id FROM ord_order WHERE tenant_id = $1 "
                                           "ORDER BY created_at DESC LIMIT 1", tenant)
        finally:
            await conn.close()

    return asyncio.run(find())


def _report(results: list[Result], out_dir: Path, **conditions: object) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["workload", "contestant", "requests_per_second", "p50_ms", "p99_ms",
                         "ratio_to_baseline", "app_cpu_ms_per_request", "db_cpu_ms_per_request",
                         "sql_statements_per_request"])
        for r in results:
            writer.writerow([r.workload, r.contestant, r.requests_per_second, r.p50_ms, r.p99_ms,
                             "" if r.ratio is None else r.ratio, r.app_cpu_ms, r.db_cpu_ms, r.statements])
    lines = ["| workload | contestant | requests/s | p50 ms | p99 ms | ratio to baseline | app CPU ms/req | "
             "PostgreSQL CPU ms/req | SQL statements/req |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.workload} | {r.contestant} | {r.requests_per_second} | {r.p50_ms} | {r.p99_ms} | "
              f"{'' if r.ratio is None else r.ratio} | {r.app_cpu_ms} | {r.db_cpu_ms} | {r.statements} |"
              for r in results]
    header = ", ".join(f"{k} {v}" for k, v in conditions.items())
    (out_dir / "results.md").write_text(f"Conditions: {header}.\n\n" + "\n".join(lines) + "\n",
                                        encoding="utf-8")


def _body(workload: str) -> bytes:
    return orjson.dumps({"query": WORKLOADS[workload], "variables": {}})


@dataclass
class Scaling:
    """One worker count's run of ``scaling``."""

    workers: int
    requests_per_second: float
    host_busy: float  # the share of all the host's CPUs in use while measured (every process: app, PostgreSQL, wrk)
    app_cpu_ms: float  # CPU of the workers per request

    @property
    def host_ceiling(self) -> float:
        """Requests/s with every CPU of the host busy at this run's CPU per request: about what more workers
        than this run had can reach, whatever they scale like, while PostgreSQL and wrk share the host (an
        estimate, not a bound: under heavier load each process does a little more per wake-up)."""
        return self.requests_per_second / self.host_busy if self.host_busy > 0 else float("inf")


def scaling(settings: Settings, *, scale: str, seconds: int, rounds: int, connections: int,
            workload: str = "r1") -> dict[int, Scaling]:
    """Requests/s of Jishi with one worker and with two (one run each, same load): the median of
    ``rounds`` rounds per worker count, with how busy the host's CPUs were and the workers' CPU per
    request. With PostgreSQL and the load generator on the same host, ``host_ceiling`` of the one-worker
    run estimates what two can show."""
    _, _, env = _prepare(settings, scale)
    found: dict[int, Scaling] = {}
    for workers in (1, 2):
        process, port = _start_jishi(env, workers)
        try:
            url, headers = f"http://127.0.0.1:{port}/graphql", _jishi_headers(port)
            wrk(url, _body(workload), headers, seconds=2, connections=connections)  # warm-up, every worker
            runs = []
            for _ in range(rounds):
                pids = [process.pid, *_descendants(process.pid)]
                host_before, app_before = _host_cpu(), _cpu_seconds(pids)
                rps, _, _, count = wrk(url, _body(workload), headers, seconds=seconds, connections=connections)
                busy, total = (after - before for after, before in zip(_host_cpu(), host_before, strict=True))
                runs.append(Scaling(workers, rps, busy / total if total else 0.0,
                                    (_cpu_seconds(pids) - app_before) * 1000 / max(count, 1)))
            runs.sort(key=lambda r: r.requests_per_second)
            found[workers] = runs[len(runs) // 2]
        finally:
            _stop(process)
    return found


def _host_cpu() -> tuple[float, float]:
    """(busy, total) CPU time of the whole host so far, all CPUs together (Linux ``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    total = sum(fields[:8])  # user..steal (guest time is counted in user already)
    return float(total - idle), float(total)


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (a server's workers), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for child, _, parent in _processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(settings: Settings, *, scale: str, minutes: float, connections: int, sample_seconds: float = 10,
         workloads: tuple[str, ...] = ("r1", "r2", "r3")) -> list[tuple[float, str, float]]:
    """One worker under load for ``minutes`` (the workloads in turn, ``sample_seconds`` each): its
    resident memory after each stint, as (elapsed seconds, workload, RSS MB)."""
    _, tenant, env = _prepare(settings, scale)
    process, port = _start_jishi(env)
    samples: list[tuple[float, str, float]] = []
    try:
        url, headers = f"http://127.0.0.1:{port}/graphql", _jishi_headers(port)
        order = to_global_id("Order", _an_order(env["JISHI_DATABASE_URL"], tenant))
        bodies = {w: orjson.dumps({"query": WORKLOADS[w], "variables": {"id": order} if w == "r3" else {}})
                  for w in workloads}
        started = signed_in = time.monotonic()
        turn = 0
        while time.monotonic() - started < minutes * 60:
            if time.monotonic() - signed_in > settings.access_token_seconds / 2:  # as a client would, before expiry
                headers, signed_in = _jishi_headers(port), time.monotonic()
            workload = workloads[turn % len(workloads)]
            wrk(url, bodies[workload], headers, seconds=max(1, int(sample_seconds)), connections=connections)
            samples.append((round(time.monotonic() - started, 1), workload, round(_rss_mb(process.pid), 1)))
            turn += 1
    finally:
        _stop(process)
    return samples



def _start_baseline(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "infra.bench.baseline:app", "--port", str(port),
                                "--workers", "1", "--log-level", "warning", "--no-access-log"],
                               env=env, stdout=subprocess.DEVNULL)
    _wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


def run_writes(settings: Settings, *, seconds: int, clients: int, scarce: int, out_dir: Path,
               rounds: int = 3) -> list[WriteResult]:
    """W1 and W2 against Jishi and the baseline on a new write tenant: W1 in ``rounds`` interleaved rounds
    (medians reported), W2 once each (it ends when the scarce product is gone)."""
    owner_url, env = _environment(settings)
    registry = installed_modules()
    import_module_parts(registry)
    tenant, slug = asyncio.run(write_tenant(settings, owner_url, registry))
    customer, products = asyncio.run(catalog(owner_url, tenant))
    jishi, jishi_port = _start_jishi(env)
    baseline, base_port = _start_baseline(env)
    results: list[WriteResult] = []
    try:
        url, headers = f"http://127.0.0.1:{jishi_port}/graphql", _jishi_headers(jishi_port, slug)
        customer_gid, product_gids = gids(customer, products)
        base_url = f"http://127.0.0.1:{base_port}"
        w1 = {"jishi": (jishi.pid, jishi_placer(url, headers, customer_gid, product_gids[:-2])),
              "baseline": (baseline.pid, baseline_placer(base_url, tenant, customer, products[:-2]))}
        scarce_products = {"jishi": products[-1], "baseline": products[-2]}
        for product in scarce_products.values():
            asyncio.run(make_scarce(owner_url, tenant, product, scarce))
        w2 = {"jishi": (jishi.pid, jishi_placer(url, headers, customer_gid, [product_gids[-1]], lines=1,
                                                shortage_ok=True)),
              "baseline": (baseline.pid, baseline_placer(base_url, tenant, customer, [products[-2]], lines=1))}
        for workload, placers in (("w1", w1), ("w2", w2)):
            found: dict[str, WriteResult] = {}
            if workload == "w1":
                for _, place in placers.values():
                    asyncio.run(drive(place, clients=clients, seconds=1))  # warm-up
            samples: dict[str, list[WriteResult]] = {name: [] for name in placers}
            for _ in range(rounds if workload == "w1" else 1):  # interleaved
                for name, (pid, place) in placers.items():
                    cpu_before = _cpu_seconds([pid])
                    done, latencies = asyncio.run(drive(place, clients=clients, seconds=seconds))
                    samples[name].append(summarize(workload, name, done, latencies, seconds,
                                                   _cpu_seconds([pid]) - cpu_before))
            for name, runs in samples.items():
                found[name] = WriteResult(workload, name, *(
                    round(statistics.median(getattr(r, f) for r in runs), 2)
                    for f in ("placements_per_second", "p50_ms", "p99_ms")),
                    app_cpu_ms=round(statistics.median(r.app_cpu_ms or 0 for r in runs), 2))
                if workload == "w2":
                    found[name].allocated, found[name].oversold = asyncio.run(
                        scarce_outcome(owner_url, tenant, scarce_products[name]))
            base = found["baseline"].placements_per_second
            found["jishi"].ratio = round(found["jishi"].placements_per_second / base, 3) if base else None
            results += [found["jishi"], found["baseline"]]
    finally:
        _stop(jishi)
        _stop(baseline)
    _report_writes(results, out_dir, seconds=seconds, rounds=rounds, clients=clients, scarce=scarce)
    return results


def _report_writes(results: list[WriteResult], out_dir: Path, **conditions: object) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "writes.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["workload", "contestant", "placements_per_second", "p50_ms", "p99_ms", "ratio_to_baseline",
                         "app_cpu_ms_per_placement", "scarce_units_allocated", "units_oversold"])
        for r in results:
            writer.writerow([r.workload, r.contestant, r.placements_per_second, r.p50_ms, r.p99_ms,
                             "" if r.ratio is None else r.ratio, r.app_cpu_ms,
                             "" if r.allocated is None else r.allocated, "" if r.oversold is None else r.oversold])
    lines = ["| workload | contestant | placements/s | p50 ms | p99 ms | ratio to baseline | app CPU ms/placement | "
             "scarce units allocated | oversold |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.workload} | {r.contestant} | {r.placements_per_second} | {r.p50_ms} | {r.p99_ms} | "
              f"{'' if r.ratio is None else r.ratio} | {r.app_cpu_ms} | {'' if r.allocated is None else r.allocated} | "
              f"{'' if r.oversold is None else r.oversold} |" for r in results]
    header = ", ".join(f"{k} {v}" for k, v in conditions.items())
    (out_dir / "writes.md").write_text(f"Conditions: {header}.\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
