"""A short smoke of the benchmark harness (seconds, not judged on numbers): both contestants start,
answer R1, R2 and R3 identically, are loaded by wrk, and the results are written."""

from __future__ import annotations

import shutil

import pytest

from backend.settings import Settings
from infra.bench.run import run
from tests.conftest import APP_PASSWORD, APP_USER, ROOT


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
async def test_the_harness_runs_end_to_end(owner_url, tmp_path):
    import asyncio

    settings = Settings(database_url=owner_url, app_db_user=APP_USER, app_db_password=APP_PASSWORD,
                        jwt_keys_file=ROOT / ".jishi" / "test-jwt-keys.json", log_level="WARNING")
    results = await asyncio.to_thread(run, settings, scale="smoke", seconds=1, rounds=1, connections=4,
                                      out_dir=tmp_path)
    assert {(r.workload, r.contestant) for r in results} == {(w, c) for w in ("r1", "r2", "r3")
                                                             for c in ("jishi", "baseline")}
    assert all(r.requests_per_second > 0 for r in results)
    sql = {(r.workload, r.contestant): r.statements for r in results}
    assert sql[("r3", "baseline")] == 2 and 2 <= sql[("r3", "jishi")] <= 4  # SET LOCAL, (modules,) the order
    assert sql[("r1", "jishi")] <= 7 and sql[("r2", "jishi")] <= 7  # a constant handful, not one per row
    assert (tmp_path / "results.csv").read_text().startswith("workload,contestant")
    assert "| r1 | jishi |" in (tmp_path / "results.md").read_text()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
async def test_the_write_workloads_run_and_nothing_is_oversold(owner_url, tmp_path):
    import asyncio

    from infra.bench.run import run_writes

    settings = Settings(database_url=owner_url, app_db_user=APP_USER, app_db_password=APP_PASSWORD,
                        jwt_keys_file=ROOT / ".jishi" / "test-jwt-keys.json", log_level="WARNING")
    results = await asyncio.to_thread(run_writes, settings, seconds=1, clients=4, scarce=5, rounds=2,
                                      out_dir=tmp_path)
    by = {(r.workload, r.contestant): r for r in results}
    assert set(by) == {(w, c) for w in ("w1", "w2") for c in ("jishi", "baseline")}
    assert by[("w1", "jishi")].placements_per_second > 0 and by[("w1", "baseline")].placements_per_second > 0
    for contestant in ("jishi", "baseline"):  # more clients than units: every unit goes once, none twice
        assert by[("w2", contestant)].allocated == 5 and by[("w2", contestant)].oversold == 0
    assert "| w2 | jishi |" in (tmp_path / "writes.md").read_text()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
async def test_scaling_reports_the_workers_cpu_and_how_busy_the_host_was(owner_url):
    """``jishi bench scaling``: each worker count's requests/s, the workers' CPU per request (the two workers'
    own, below the server's process) and the host's busy share, which bounds what more workers can show."""
    import asyncio

    from infra.bench.run import scaling

    settings = Settings(database_url=owner_url, app_db_user=APP_USER, app_db_password=APP_PASSWORD,
                        jwt_keys_file=ROOT / ".jishi" / "test-jwt-keys.json", log_level="WARNING")
    found = await asyncio.to_thread(scaling, settings, scale="smoke", seconds=1, rounds=1, connections=4)
    assert sorted(found) == [1, 2]
    for workers, measured in found.items():
        assert measured.workers == workers and measured.requests_per_second > 0
        assert 0 < measured.host_busy <= 1 and measured.host_ceiling >= measured.requests_per_second
        # a worker answers a request with some tenths of a millisecond of CPU at least: counted for both
        # worker counts (with two, the CPU is in the server's child processes)
        assert 0.1 < measured.app_cpu_ms < 100, measured
