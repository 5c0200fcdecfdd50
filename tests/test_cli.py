"""The jishi CLI against a real database, and the embedded server from a clean data directory."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psutil
import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.settings import get_settings
from tests.conftest import APP_PASSWORD, APP_USER


@pytest.fixture
def cli_env(owner_url, monkeypatch):
    monkeypatch.setenv("JISHI_DATABASE_URL", owner_url)
    monkeypatch.setenv("JISHI_APP_DB_USER", APP_USER)
    monkeypatch.setenv("JISHI_APP_DB_PASSWORD", APP_PASSWORD)
    monkeypatch.setenv("JISHI_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_every_command_has_help():
    for command in (["serve"], ["migrate"], ["demo"], ["tenant", "create"], ["tenant", "list"],
                    ["tenant", "modules"], ["schema", "export"], ["schema", "check"]):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_tenant_create_list_and_modules(cli_env):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    result = run("tenant", "create", "--name", "CLI Co", "--slug", slug, "--plan", "business")
    assert result.exit_code == 0, result.output
    assert f"Created tenant {slug}" in result.output
    result = run("tenant", "list")
    assert result.exit_code == 0 and slug in result.output
    result = run("tenant", "modules", slug)
    assert result.exit_code == 0 and "on  platform" in result.output


def test_tenant_commands_explain_refusals(cli_env):
    result = run("tenant", "create", "--name", "X", "--slug", "Not A Slug")
    assert result.exit_code == 1 and "INVALID_SLUG" in result.output
    result = run("tenant", "modules", f"missing-{uuid.uuid4().hex[:6]}")
    assert result.exit_code == 1 and "NOT_FOUND" in result.output
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    run("tenant", "create", "--name", "Y", "--slug", slug)
    result = run("tenant", "modules", slug, "--disable", "platform")
    assert result.exit_code == 1 and "MODULE_REQUIRED" in result.output


def postgres_processes_for(pgdata) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_demo_from_an_empty_data_dir_uses_the_embedded_server_and_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JISHI_")}
    env.update(JISHI_DATA_DIR=str(tmp_path / "data"), JISHI_LOG_JSON="false")
    jishi = [sys.executable, "-m", "backend.cli"]
    done = subprocess.run([*jishi, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Demo tenant: Demo Trading Co." in done.stdout
    if os.geteuid() == 0:
        assert "embedded_postgres" in done.stderr  # it says what it did about running as root
    listed = subprocess.run([*jishi, "tenant", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "demo" in listed.stdout and "business" in listed.stdout
    assert postgres_processes_for(tmp_path / "data" / "pgdata") == []  # stopped when the command ended


def test_tenant_create_with_an_owner_who_can_sign_in(cli_env):
    import asyncio

    from backend.core.db import Database
    from backend.modules.platform import identity
    from tests.conftest import APP_PASSWORD, APP_USER

    slug = f"own-{uuid.uuid4().hex[:8]}"
    email = f"boss-{uuid.uuid4().hex[:6]}@example.com"
    result = run("tenant", "create", "--name", "Owned", "--slug", slug, "--owner-email", email,
                 "--owner-password", "a long enough password")
    assert result.exit_code == 0, result.output
    assert f"owner {email}" in result.output
    result = run("tenant", "create", "--name", "Weak", "--slug", f"w-{slug}", "--owner-email", f"x{email}",
                 "--owner-password", "short")
    assert result.exit_code == 1 and "PASSWORD_TOO_SHORT" in result.output

    async def check() -> bool:
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["JISHI_DATABASE_URL"])
        db = Database(app_url=url.set(username=APP_USER, password=APP_PASSWORD), owner_url=url)
        try:
            async with db.transaction() as session:
                return await identity.verify_user_password(session, email=email,
                                                           password="a long enough password") is not None
        finally:
            await db.dispose()

    assert asyncio.run(check())


def test_create_platform_admin(cli_env):
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    result = run("admin", "create-platform-admin", "--email", email, "--password", "platform admin password")
    assert result.exit_code == 0 and f"Created platform admin {email}" in result.output
    result = run("admin", "create-platform-admin", "--email", email)
    assert result.exit_code == 0 and "is now a platform admin" in result.output


def test_key_rotation_keeps_old_tokens_valid_until_pruned(tmp_path, monkeypatch):
    from backend.modules.platform.keys import load_keys
    from backend.modules.platform.tokens import AccessTokens

    keys_file = tmp_path / "keys.json"
    monkeypatch.setenv("JISHI_JWT_KEYS_FILE", str(keys_file))
    get_settings.cache_clear()
    try:
        old = AccessTokens(load_keys(keys_file, create=True), issuer="jishi", audience="jishi-api", lifetime=900)
        token, _ = old.issue(subject=str(uuid.uuid4()), tenant_id=uuid.uuid4())
        assert (keys_file.stat().st_mode & 0o777) == 0o600
        result = run("keys", "rotate")
        assert result.exit_code == 0, result.output
        new = AccessTokens(load_keys(keys_file, create=False), issuer="jishi", audience="jishi-api", lifetime=900)
        assert new.keys.signing_kid != old.keys.signing_kid
        new.verify(token)  # signed with the old key: still valid
        fresh, _ = new.issue(subject=str(uuid.uuid4()), tenant_id=uuid.uuid4())
        assert fresh.split(".")[0] != token.split(".")[0]  # another kid in the header
        assert run("keys", "prune", "--keep", "1").exit_code == 0
        pruned = AccessTokens(load_keys(keys_file, create=False), issuer="jishi", audience="jishi-api", lifetime=900)
        pruned.verify(fresh)
        with pytest.raises(Exception, match="invalid"):
            pruned.verify(token)
    finally:
        get_settings.cache_clear()


def test_production_refuses_to_invent_signing_keys(tmp_path):
    from backend.modules.platform.keys import load_keys

    with pytest.raises(RuntimeError, match="jishi keys rotate"):
        load_keys(tmp_path / "missing.json", create=False)
