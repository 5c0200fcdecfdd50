"""The ``jishi`` command line (typer)."""

from __future__ import annotations

import asyncio
import difflib
import os
import shutil
import statistics
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from backend.core.migrate import PROJECT_ROOT
from backend.settings import Settings, get_settings

if TYPE_CHECKING:
    from backend.core.db import Database

T = TypeVar("T")

app = typer.Typer(help="Jishi: multi-tenant CRM, OMS and ERP behind one GraphQL API.", no_args_is_help=True)
tenant_app = typer.Typer(help="Create and inspect tenants.", no_args_is_help=True)
admin_app = typer.Typer(help="Platform administration.", no_args_is_help=True)
keys_app = typer.Typer(help="Access-token signing keys (JWKS).", no_args_is_help=True)
events_app = typer.Typer(help="The event catalogue.", no_args_is_help=True)
notifications_app = typer.Typer(help="Notifications sent (the development sink included).", no_args_is_help=True)
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
schema_app = typer.Typer(help="The exported GraphQL schema (schema/schema.graphql).", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(schema_app, name="schema")
app.add_typer(admin_app, name="admin")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(notifications_app, name="notifications")
app.add_typer(import_app, name="import")
bench_app = typer.Typer(help="The benchmark harness (infra/bench).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

SCHEMA_FILE = PROJECT_ROOT / "schema" / "schema.graphql"


def _settings() -> Settings:
    from backend.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json and not sys.stderr.isatty())
    return settings


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


# --- serving ----------------------------------------------------------------------------------------


def _serve(settings: Settings, host: str, port: int, workers: int, migrate: bool) -> None:
    import uvicorn

    from backend.core.bootstrap import prepare_database
    from backend.core.embedded import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()  # uvicorn re-raises SIGTERM after shutdown; the embedded server must stop
    # Resolve the database once here (starting the embedded server if needed) and hand its URL to
    # the workers, so they all connect to the same server and none starts another.
    owner_url = asyncio.run(prepare_database(settings, run_migrations=migrate))
    os.environ["JISHI_DATABASE_URL"] = owner_url
    _ensure_keys(settings)
    if workers > 1:
        prom_dir = settings.data_dir.resolve() / f"prometheus-{os.getpid()}"
        shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)
    typer.echo(f"Jishi serving on http://{host}:{port}/graphql ({workers} worker{'s' if workers > 1 else ''})")
    uvicorn.run(
        "backend.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    migrate: Annotated[
        bool | None, typer.Option("--migrate/--no-migrate", help="Apply migrations first (default: embedded only).")
    ] = None,
) -> None:
    """Serve the API with uvicorn."""
    settings = _settings()
    _serve(settings, host, port, workers, migrate if migrate is not None else settings.database_url is None)


@app.command()
def migrate() -> None:
    """Apply migrations as the owner role and create or update the runtime role."""
    from backend.core.bootstrap import prepare_database

    asyncio.run(prepare_database(_settings(), run_migrations=True))
    typer.echo("Database is at the latest migration; runtime role is up to date.")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after seeding.")] = True,
) -> None:
    """Migrate, create the demo tenant with sample data, print how to use it, and serve."""
    from backend.core.bootstrap import prepare_database
    from tenants.demo import seed_demo

    settings = _settings()
    owner_url = asyncio.run(prepare_database(settings, run_migrations=True))
    summary = asyncio.run(seed_demo(settings, owner_url, f"http://{host}:{port}"))
    typer.echo(summary)
    if serve_after:
        os.environ["JISHI_DATABASE_URL"] = owner_url
        _serve(settings, host, port, 1, migrate=False)


def _ensure_keys(settings: Settings) -> None:
    """Create the signing key file once, here, so that every worker loads the same keys."""
    from backend.modules.platform.keys import load_keys

    load_keys(settings.keys_path, create=settings.env != "production")
    os.environ.setdefault("JISHI_JWT_KEYS_FILE", str(settings.keys_path.resolve()))


# --- tenants ----------------------------------------------------------------------------------------


def _migrate_first() -> None:
    """Apply migrations (and create the runtime role) before work that needs the schema."""
    from backend.core.bootstrap import prepare_database

    asyncio.run(prepare_database(_settings(), run_migrations=True))


def _with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the runtime role's database; a DomainError exits 1 with its code."""
    from backend.core.bootstrap import resolve_owner_url
    from backend.core.db import Database
    from backend.core.errors import DomainError

    settings = _settings()

    async def run() -> T:
        db = Database.from_settings(settings, await resolve_owner_url(settings))
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.message}")
        raise  # unreachable: _fail exits


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Option(help="Company name.")],
    slug: Annotated[str, typer.Option(help="URL-safe handle, unique.")],
    plan: Annotated[str, typer.Option(help="Plan from tenants/plans.toml.")] = "free",
    modules: Annotated[str | None, typer.Option(help="Comma-separated modules (default: all the plan has).")] = None,
    currency: Annotated[str, typer.Option(help="Base currency (ISO 4217).")] = "USD",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    owner_email: Annotated[str | None, typer.Option(help="The owner's email (an existing user joins).")] = None,
    owner_password: Annotated[
        str | None, typer.Option(help="Password for a new owner account (prompted if omitted).")
    ] = None,
) -> None:
    """Create a tenant, with its first owner when --owner-email is given."""
    from backend.modules.platform import identity
    from backend.modules.platform import service as platform
    from backend.modules.registry import installed_modules

    if owner_email and owner_password is None:
        owner_password = typer.prompt("Owner password (new accounts only)", hide_input=True, default="",
                                      show_default=False) or None

    async def run(db: Database) -> str:
        async with db.transaction() as session:
            tenant = await platform.create_tenant(
                session,
                registry=installed_modules(),
                name=name,
                slug=slug,
                plan=plan,
                modules=[m.strip() for m in modules.split(",") if m.strip()] if modules else None,
                base_currency=currency,
                timezone=timezone,
            )
            enabled = sorted(await platform.enabled_modules(session))
            owner = ""
            if owner_email:
                user = await identity.get_user_by_email(session, email=owner_email)
                if user is None:
                    user = await identity.create_user(session, email=owner_email, name=owner_email.split("@")[0],
                                                      password=owner_password or "")
                await identity.add_member(session, user_id=user.id, role="owner")
                owner = f"; owner {user.email}"
            return f"Created tenant {tenant.slug} ({tenant.id}) on plan {tenant.plan}: {', '.join(enabled)}{owner}"

    typer.echo(_with_database(run))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants with their plan, status and enabled modules."""
    from backend.modules.platform import service as platform

    async def run(db: Database) -> list[str]:
        async with db.transaction() as session:
            tenants = await platform.list_tenants(session)
            overviews = await platform.tenant_overviews(session, tenant_ids=[t.id for t in tenants])
        return [f"{t.slug:<24} {t.plan:<10} {t.status:<10} {','.join(overviews[t.id].enabled_modules)}"
                for t in tenants]

    lines = _with_database(run)
    typer.echo(f"{'SLUG':<24} {'PLAN':<10} {'STATUS':<10} MODULES")
    for line in lines:
        typer.echo(line)


@tenant_app.command("modules")
def tenant_modules(
    slug: Annotated[str, typer.Argument(help="The tenant's slug.")],
    enable: Annotated[list[str] | None, typer.Option("--enable", help="Module to enable (repeatable).")] = None,
    disable: Annotated[list[str] | None, typer.Option("--disable", help="Module to disable (repeatable).")] = None,
) -> None:
    """Show a tenant's modules, enabling or disabling some first."""
    from backend.core.errors import DomainError
    from backend.modules.platform import service as platform
    from backend.modules.registry import installed_modules

    registry = installed_modules()

    async def run(db: Database) -> list[platform.ModuleState]:
        async with db.transaction() as session:
            tenant = await platform.get_tenant_by_slug(session, slug=slug)
        if tenant is None:
            raise DomainError("NOT_FOUND", f"No tenant {slug!r}.", "slug")
        async with db.transaction(tenant.id) as session:
            for module in enable or []:
                await platform.enable_module(session, registry=registry, module=module)
            for module in disable or []:
                await platform.disable_module(session, registry=registry, module=module)
            return await platform.module_states(session, registry=registry)

    for state in _with_database(run):
        mark = "on " if state.enabled else "off"
        note = "" if state.available else "  (not in plan)"
        deps = f"  needs {', '.join(state.depends_on)}" if state.depends_on else ""
        typer.echo(f"{mark} {state.name:<16} {state.title}{deps}{note}")


# --- platform admins and keys ------------------------------------------------------------------------


@admin_app.command("create-platform-admin")
def create_platform_admin(
    email: Annotated[str, typer.Option(help="The administrator's email (an existing user is promoted).")],
    name: Annotated[str, typer.Option(help="Display name for a new account.")] = "Platform admin",
    password: Annotated[str | None, typer.Option(help="Password for a new account (prompted if omitted).")] = None,
) -> None:
    """Create (or promote) a platform administrator: tokens with scope 'platform', no tenant."""
    from backend.modules.platform import identity

    async def run(db: Database) -> str:
        async with db.transaction() as session:
            user = await identity.get_user_by_email(session, email=email)
            if user is not None:
                user.is_platform_admin = True
                return f"{user.email} is now a platform admin"
            secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            user = await identity.create_user(session, email=email, name=name, password=secret,
                                              is_platform_admin=True)
            return f"Created platform admin {user.email}"

    typer.echo(_with_database(run))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; older keys keep verifying until pruned."""
    from backend.modules.platform.keys import rotate_keys

    settings = _settings()
    kid = rotate_keys(settings.keys_path)
    typer.echo(f"New signing key {kid} in {settings.keys_path}. Restart the workers to sign with it; prune the "
               f"old keys once the access-token lifetime ({settings.access_token_seconds}s) has passed.")


@keys_app.command("prune")
def keys_prune(keep: Annotated[int, typer.Option(help="How many of the newest keys to keep.", min=1)] = 1) -> None:
    """Drop all but the newest --keep keys (tokens they signed stop verifying)."""
    from backend.modules.platform.keys import prune_keys

    settings = _settings()
    dropped = prune_keys(settings.keys_path, keep)
    typer.echo(f"Dropped {len(dropped)} key(s): {', '.join(dropped) or 'none'}")


# --- events, worker, notifications ---------------------------------------------------------------------

EVENTS_DOC = PROJECT_ROOT / "docs" / "events.md"


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Do one round of due work and exit.")] = False,
) -> None:
    """Deliver webhooks and notifications (run any number of these; `serve` runs one too)."""
    from backend.core.bootstrap import resolve_owner_url
    from backend.core.db import Database
    from backend.core.embedded import exit_cleanly_on_sigterm
    from backend.core.listener import EventListener
    from backend.modules.platform.worker import DeliveryWorker
    from backend.modules.registry import import_module_parts, installed_modules

    settings = _settings()
    import_module_parts(installed_modules())
    exit_cleanly_on_sigterm()

    async def run() -> int:
        db = Database.from_settings(settings, await resolve_owner_url(settings))
        delivery = DeliveryWorker(db, settings)
        try:
            if once:
                return await delivery.run_once()
            listener = EventListener(settings.listen_database_url or db.app_engine.url)
            await listener.start()
            stop = asyncio.Event()
            try:
                await delivery.run(stop, listener.subscribe())
            finally:
                await listener.stop()
            return 0
        finally:
            await db.dispose()

    try:
        done = asyncio.run(run())
    except KeyboardInterrupt:
        return
    if once:
        typer.echo(f"Done: {done} item(s) of work.")


def _events_markdown() -> str:
    from backend.core.events import CATALOGUE
    from backend.modules.registry import import_module_parts, installed_modules

    registry = installed_modules()
    import_module_parts(registry)
    lines = ["# Event catalogue", "",
             "Generated from the code by `jishi events catalogue`; a test fails when it is out of date.", "",
             "Every event is delivered (webhooks, `eventPublished`, the `events` connection) in this envelope:", "",
             "```json",
             '{"id": "<uuid, for de-duplication>", "sequence": 42, "type": "member.joined", "version": 1,',
             ' "aggregateId": "<global ID>", "occurredAt": "2026-11-29T10:00:00+00:00", "tenantId": "<uuid>",',
             ' "payload": {"...": "..."}}',
             "```", "",
             "| type | module | version | what happened | payload |", "|---|---|---|---|---|"]
    for t in (t for t in CATALOGUE.types() if t.module in registry):
        payload = "<br>".join(f"`{name}`: {what}" for name, what in t.payload.items()) or "—"
        lines.append(f"| `{t.name}` | {t.module} | {t.version} | {t.description} | {payload} |")
    return "\n".join(lines) + "\n"


@events_app.command("catalogue")
def events_catalogue(
    check: Annotated[bool, typer.Option("--check", help="Fail when docs/events.md is out of date.")] = False,
) -> None:
    """Write docs/events.md: every event type with its module, version and payload."""
    text = _events_markdown()
    if check:
        if not EVENTS_DOC.exists() or EVENTS_DOC.read_text(encoding="utf-8") != text:
            _fail("docs/events.md is out of date: run `jishi events catalogue`.")
        typer.echo("docs/events.md is up to date.")
        return
    EVENTS_DOC.write_text(text, encoding="utf-8")
    typer.echo(f"Wrote {EVENTS_DOC}")


@notifications_app.command("list")
def notifications_list(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """Show a tenant's notifications (with the development sink, this is where mail goes)."""
    from sqlalchemy import select

    from backend.core.errors import DomainError
    from backend.modules.platform import service as platform
    from backend.modules.platform.models import Notification

    async def run(db: Database) -> list[Notification]:
        async with db.transaction() as session:
            found = await platform.get_tenant_by_slug(session, slug=tenant)
        if found is None:
            raise DomainError("NOT_FOUND", f"No tenant {tenant!r}.", "tenant")
        async with db.transaction(found.id) as session:
            rows = await session.execute(select(Notification).where(Notification.tenant_id == found.id)
                                         .order_by(Notification.created_at.desc()).limit(limit))
            return list(rows.scalars())

    for n in _with_database(run):
        typer.echo(f"{n.created_at:%Y-%m-%d %H:%M} {n.status:<8} {n.transport or '-':<5} {n.recipient:<36} {n.subject}")
        if n.transport == "dev":
            for line in n.body.splitlines():
                typer.echo(f"    {line}")


_CSV_FILE = Annotated[Path, typer.Argument(help="CSV file (UTF-8) with a header row.", exists=True, dir_okay=False)]
_TENANT = Annotated[str, typer.Option(help="The tenant's slug.")]
_DRY_RUN = Annotated[bool, typer.Option("--dry-run", help="Check every row, write nothing.")]
_SKIP_INVALID = Annotated[bool, typer.Option("--skip-invalid", help="Write the valid rows (default: all or nothing).")]
_MAPPING = Annotated[list[str] | None, typer.Option("--map", help="CSV column:field (repeatable).")]


@import_app.command("customers")
def import_customers_command(file: _CSV_FILE, tenant: _TENANT, dry_run: _DRY_RUN = False,
                             skip_invalid: _SKIP_INVALID = False, mapping: _MAPPING = None) -> None:
    """Import customers (and a primary contact per row): de-duplicates by email or external reference."""
    _import_csv("import_customers", file, tenant, dry_run, skip_invalid, mapping)


@import_app.command("contacts")
def import_contacts_command(file: _CSV_FILE, tenant: _TENANT, dry_run: _DRY_RUN = False,
                            skip_invalid: _SKIP_INVALID = False, mapping: _MAPPING = None) -> None:
    """Import contacts of existing customers (named by customer_id, customer_external_reference or customer)."""
    _import_csv("import_contacts", file, tenant, dry_run, skip_invalid, mapping)


@import_app.command("leads")
def import_leads_command(file: _CSV_FILE, tenant: _TENANT, dry_run: _DRY_RUN = False,
                         skip_invalid: _SKIP_INVALID = False, mapping: _MAPPING = None,
                         assign_by_rules: Annotated[bool, typer.Option(
                             "--assign-by-rules", help="Give new leads out by the assignment rules.")] = False
                         ) -> None:
    """Import leads: an open lead with the same email is updated."""
    _import_csv("import_leads", file, tenant, dry_run, skip_invalid, mapping,
                extra={"assign": "rules"} if assign_by_rules else None)


@import_app.command("products")
def import_products_command(file: _CSV_FILE, tenant: _TENANT, dry_run: _DRY_RUN = False,
                            skip_invalid: _SKIP_INVALID = False, mapping: _MAPPING = None) -> None:
    """Import products (columns sku, name, type, unit, unit_price, cost, category, ...): an existing SKU is updated."""
    _import_csv("import_products", file, tenant, dry_run, skip_invalid, mapping, module="inventory")


@import_app.command("stock")
def import_stock_command(file: _CSV_FILE, tenant: _TENANT, dry_run: _DRY_RUN = False,
                         skip_invalid: _SKIP_INVALID = False, mapping: _MAPPING = None) -> None:
    """Receive opening stock (columns sku, warehouse, quantity, unit_cost) in one receipt."""
    _import_csv("import_stock", file, tenant, dry_run, skip_invalid, mapping, module="inventory")


def _import_csv(importer_name: str, file: Path, tenant: str, dry_run: bool, skip_invalid: bool,
                mapping: list[str] | None, module: str = "crm", extra: dict | None = None) -> None:
    import importlib

    from backend.core.errors import DomainError
    from backend.modules.platform import service as platform
    from backend.modules.registry import import_module_parts, installed_modules

    importer = getattr(importlib.import_module(f"backend.modules.{module}.imports"), importer_name)
    import_module_parts(installed_modules())
    lines: list[str] = []
    with file.open(encoding="utf-8-sig", newline="") as fh, typer.progressbar(
            length=file.stat().st_size, label="Reading") as progress:
        for line in fh:
            lines.append(line)
            progress.update(len(line.encode()))

    async def run(db: Database):  # type: ignore[no-untyped-def]
        async with db.transaction() as session:
            found = await platform.get_tenant_by_slug(session, slug=tenant)
        if found is None:
            raise DomainError("NOT_FOUND", f"No tenant {tenant!r}.", "tenant")
        async with db.transaction(found.id) as session:
            return await importer(
                session, lines=lines, dry_run=dry_run, mode="skip_invalid" if skip_invalid else "all_or_nothing",
                mapping=dict(item.rsplit(":", 1) for item in mapping or []) or None, **(extra or {}))

    report = _with_database(run)
    for error in report.errors[:50]:
        typer.echo(f"row {error.row}: {error.field}: {error.reason}")
    if len(report.errors) > 50:
        typer.echo(f"... and {len(report.errors) - 50} more invalid rows")
    verb = "Would import" if dry_run else ("Imported" if report.written else "Imported nothing:")
    typer.echo(f"{verb} {report.rows} rows: {report.created} created, {report.updated} updated, "
               f"{report.skipped} invalid.")
    if report.errors and not report.written:
        raise typer.Exit(1)


# --- schema -----------------------------------------------------------------------------------------


def _current_sdl() -> str:
    from backend.api.schema import build_schema
    from backend.modules.registry import installed_modules

    return build_schema(installed_modules()).sdl()


@schema_app.command("export")
def schema_export(
    path: Annotated[Path, typer.Option(help="Where to write the SDL.")] = SCHEMA_FILE,
) -> None:
    """Write the schema's SDL (the public contract) to schema/schema.graphql."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_current_sdl(), encoding="utf-8")
    typer.echo(f"Wrote {path}")


@schema_app.command("check")
def schema_check(
    path: Annotated[Path, typer.Option(help="The committed SDL to compare with.")] = SCHEMA_FILE,
) -> None:
    """Exit non-zero with a diff when the code's schema differs from the committed SDL."""
    current = _current_sdl()
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == committed:
        typer.echo("schema/schema.graphql is up to date.")
        return
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True), current.splitlines(keepends=True), str(path), "code"
    )
    sys.stdout.writelines(diff)
    _fail("\nThe schema drifted: run `jishi schema export` and commit schema/schema.graphql.")


if __name__ == "__main__":
    app()


@bench_app.command("data")
def bench_data(
    scale: Annotated[str, typer.Option(
        help="smoke, small or default (2 tenants, 10k customers, 50k orders).")] = "default",
) -> None:
    """Generate the reference data set (bench-1, bench-2, ... tenants), or reuse it when complete."""
    import time

    from backend.modules.registry import import_module_parts, installed_modules
    from infra.bench.dataset import SCALES, generate

    if scale not in SCALES:
        _fail(f"Scales: {', '.join(SCALES)}.")
    registry = installed_modules()
    import_module_parts(registry)
    started = time.monotonic()
    _migrate_first()
    tenants = _with_database(lambda db: generate(db, registry, scale=SCALES[scale]))
    typer.echo(f"{len(tenants)} bench tenant(s) ready at scale {scale!r} in {time.monotonic() - started:.1f} s: "
               + ", ".join(str(t) for t in tenants))


def _measured(measure: Callable[..., T], **options: object) -> T:
    """Run a measurement of infra/bench; what it cannot do (no wrk, a server that does not start) exits 1."""
    try:
        return measure(_settings(), **options)
    except RuntimeError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@bench_app.command("run")
def bench_run(
    scale: Annotated[str, typer.Option(help="smoke, small or default.")] = "default",
    seconds: Annotated[int, typer.Option(help="Length of each measured round.", min=1)] = 10,
    rounds: Annotated[int, typer.Option(help="Interleaved rounds (medians are reported).", min=1)] = 3,
    connections: Annotated[int, typer.Option(help="Concurrent connections.", min=1)] = 16,
    out: Annotated[Path, typer.Option(help="Where results.csv and results.md go.")] = Path("infra/bench/results"),
) -> None:
    """Measure Jishi against the raw baseline in the same run (needs wrk)."""
    from infra.bench.run import run

    _measured(run, scale=scale, seconds=seconds, rounds=rounds, connections=connections, out_dir=out)
    typer.echo((out / "results.md").read_text(encoding="utf-8"))


@bench_app.command("profile")
def bench_profile(
    workload: Annotated[str, typer.Option(help="r1, r2, r3 or w1 (a placement: four mutations).")] = "r1",
    requests: Annotated[int, typer.Option(help="Measured requests (placements for w1), one after another.",
                                          min=1)] = 300,
    scale: Annotated[str, typer.Option(help="smoke, small or default.")] = "default",
    profiler: Annotated[bool, typer.Option(help="Print a pyinstrument profile (pip install -e '.[bench]').")] = True,
) -> None:
    """Time one workload in process (no network) and show where the time goes."""
    from backend.core.bootstrap import prepare_database
    from backend.modules.registry import import_module_parts, installed_modules
    from infra.bench.dataset import SCALES, generate
    from infra.bench.profile import profile
    from infra.bench.run import WORKLOADS, _an_order

    if workload not in WORKLOADS and workload != "w1":
        _fail(f"Workloads: {', '.join(WORKLOADS)}, w1.")
    # The cost bucket is opened as for the measured server (`jishi bench run`): the profile measures execution.
    settings = _settings().model_copy(update={"cost_bucket_size": 10**9, "cost_restore_rate": 10**9,
                                              "run_worker_in_serve": False})
    owner_url = asyncio.run(prepare_database(settings, run_migrations=True))
    registry = installed_modules()
    import_module_parts(registry)
    tenant = _with_database(lambda db: generate(db, registry, scale=SCALES[scale]))[0]
    result = asyncio.run(profile(settings, owner_url, workload=workload, requests=requests,
                                 order_id=_an_order(owner_url, tenant), with_profiler=profiler))
    if result.text:
        typer.echo(result.text)
    unit = "placement" if workload == "w1" else "request"
    typer.echo(f"{workload}: {result.ms_per_request:.2f} ms per {unit} ({result.cpu_ms_per_request:.2f} ms CPU), "
               f"{result.statements_per_request:.1f} SQL statements per {unit} ({requests} {unit}s, in process; "
               "CPU and time include the in-process client's)")


@bench_app.command("scaling")
def bench_scaling(
    scale: Annotated[str, typer.Option(help="smoke, small or default.")] = "default",
    seconds: Annotated[int, typer.Option(help="Length of each measured round.", min=1)] = 10,
    rounds: Annotated[int, typer.Option(help="Rounds per worker count (the median is reported).", min=1)] = 3,
    connections: Annotated[int, typer.Option(help="Concurrent connections.", min=1)] = 16,
) -> None:
    """R1 with one Jishi worker, then with two: requests/s and the ratio (needs wrk)."""
    from infra.bench.run import scaling

    found = _measured(scaling, scale=scale, seconds=seconds, rounds=rounds, connections=connections)
    for run in found.values():
        typer.echo(f"r1, {run.workers} worker(s): {run.requests_per_second:.1f} req/s, the host's CPUs "
                   f"{run.host_busy:.0%} busy, {run.app_cpu_ms:.2f} ms of the workers' CPU per request")
    one, two = found[1], found[2]
    typer.echo(f"ratio {two.requests_per_second / one.requests_per_second:.2f}x ({os.cpu_count()} CPUs, PostgreSQL "
               f"and wrk on the same host). With one worker the host's CPUs were {one.host_busy:.0%} busy: at its "
               f"CPU per request the whole host would serve about {one.host_ceiling:.1f} req/s, "
               f"{one.host_ceiling / one.requests_per_second:.2f}x, whatever the workers")


@bench_app.command("soak")
def bench_soak(
    minutes: Annotated[float, typer.Option(help="How long to keep the worker under load.", min=0.1)] = 10,
    scale: Annotated[str, typer.Option(help="smoke, small or default.")] = "default",
    connections: Annotated[int, typer.Option(help="Concurrent connections.", min=1)] = 16,
    sample: Annotated[float, typer.Option(help="Seconds of load between memory samples.", min=1)] = 10,
) -> None:
    """One worker under R1, R2 and R3 in turn: its resident memory over time (needs wrk)."""
    from infra.bench.run import soak

    samples = _measured(soak, scale=scale, minutes=minutes, connections=connections, sample_seconds=sample)
    for elapsed, workload, rss in samples:
        typer.echo(f"{elapsed:8.1f} s  {workload}  {rss:7.1f} MB")
    first = samples[: max(1, len(samples) // 10)]
    last = samples[-max(1, len(samples) // 10):]
    typer.echo(f"max {max(s[2] for s in samples):.1f} MB; first tenth {statistics.mean(s[2] for s in first):.1f} MB, "
               f"last tenth {statistics.mean(s[2] for s in last):.1f} MB")


@bench_app.command("writes")
def bench_writes(
    seconds: Annotated[int, typer.Option(help="Length of each measured run.", min=1)] = 10,
    clients: Annotated[int, typer.Option(help="Concurrent clients placing orders.", min=1)] = 16,
    scarce: Annotated[int, typer.Option(help="W2: units of the scarce product.", min=1)] = 200,
    rounds: Annotated[int, typer.Option(help="W1: interleaved rounds (the median is reported).", min=1)] = 3,
    out: Annotated[Path, typer.Option(help="Where writes.csv and writes.md go.")] = Path("infra/bench/results"),
) -> None:
    """W1 (order placement) and W2 (one scarce product) against the raw SQL baseline, on a new tenant."""
    from infra.bench.run import run_writes

    _measured(run_writes, seconds=seconds, clients=clients, scarce=scarce, rounds=rounds, out_dir=out)
    typer.echo((out / "writes.md").read_text(encoding="utf-8"))
