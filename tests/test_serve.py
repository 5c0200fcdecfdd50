"""`jishi serve` as a real server process with several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.conftest import APP_PASSWORD, APP_USER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_two_workers(owner_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JISHI_")}
    env.update(JISHI_DATABASE_URL=owner_url, JISHI_APP_DB_USER=APP_USER, JISHI_APP_DB_PASSWORD=APP_PASSWORD,
               JISHI_DATA_DIR=str(tmp_path), JISHI_ENV="dev")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError("server did not become ready")
        for _ in range(20):
            r = httpx.post(f"{base}/graphql", json={"query": "query Probe { viewer { role } }"}, timeout=5)
            assert r.status_code == 401  # no authentication in the served app until identity lands
            r = httpx.post(f"{base}/graphql", json={"query": "query Intro { __schema { queryType { name } } }"}, timeout=5)
            assert r.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        assert "graphiql" in httpx.get(f"{base}/graphql", headers={"accept": "text/html"}).text.lower()
        metrics = httpx.get(f"{base}/metrics").text
        # Both workers' counts are summed in the multiprocess registry.
        line = next(row for row in metrics.splitlines()
                    if row.startswith('jishi_graphql_requests_total{operation="Intro",outcome="ok"}'))
        assert float(line.split()[-1]) == 20.0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
