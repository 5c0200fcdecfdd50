"""Platform operations: tenants and per-tenant module enablement.

Functions take an explicit session and never commit. Module state is read once per transaction
and cached in ``session.info``. Between transactions, a serving process also keeps each tenant's
enabled modules (``MODULES``) while it hears every change: see ``ModulesCache``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import set_tenant, utcnow
from backend.core.errors import DomainError, ModuleDisabled
from backend.core.ids import new_id, to_global_id
from backend.core.lru import LRU
from backend.modules.platform import events as platform_events
from backend.modules.platform.models import Tenant, TenantModule
from backend.modules.platform.plans import Plan, load_plans
from backend.modules.registry import ModuleRegistry

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

_module_table = TenantModule.__table__


class ModulesCache:
    """Each tenant's enabled modules, kept between transactions while this process hears every change.

    Every request needs its tenant's modules (module gates, session scopers): without this, one
    more statement per request. Module switches emit ``module.enabled``/``module.disabled``, which
    every process's LISTEN connection hears when the switch commits (``EventListener.watch``).
    The cache answers only while such a connection is up (``listening``): a process without one
    (``jishi worker``, the CLI, tests without the app's lifespan) or one whose connection dropped
    reads the table, and a reconnect starts from empty (what was missed meanwhile is unknown).

    A read that overlaps a switch must not store the old value after the switch forgot it: every
    forget advances ``generation``, and a value read before it is not stored. The process that
    switches forgets the tenant when its transaction commits too, so its own next request sees the
    change without waiting for the notification; other processes see it when the notification
    arrives (milliseconds after the commit).
    """

    def __init__(self, size: int = 10_000) -> None:
        self._entries = LRU(size)
        self.listening = 0  # connected listeners that feed this cache
        self.generation = 0

    def get(self, tenant_id: uuid.UUID) -> frozenset[str] | None:
        return self._entries.get(tenant_id) if self.listening else None

    def put(self, tenant_id: uuid.UUID, modules: frozenset[str], generation: int) -> None:
        if self.listening and generation == self.generation:
            self._entries.put(tenant_id, modules)

    def forget(self, tenant_id: uuid.UUID | None = None) -> None:
        self.generation += 1
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)

    def heard(self, message: dict[str, Any]) -> None:
        """An ``EventListener`` watcher: forget what a switch changed; trust nothing while deaf."""
        kind = message.get("type")
        if kind in (platform_events.MODULE_ENABLED.name, platform_events.MODULE_DISABLED.name):
            try:
                self.forget(uuid.UUID(str(message.get("tenant"))))
            except ValueError:
                self.forget()
        elif kind == "listener.connected":
            self.forget()
            self.listening += 1
        elif kind == "listener.disconnected":
            self.forget()
            self.listening = max(0, self.listening - 1)


MODULES = ModulesCache()

@dataclass(frozen=True)
class ModuleState:
    name: str
    title: str
    enabled: bool
    depends_on: tuple[str, ...]
    available: bool  # the tenant's plan includes it


# --- tenants ----------------------------------------------------------------------------------------


def get_plan(name: str) -> Plan:
    plans = load_plans()
    if name not in plans:
        raise DomainError("UNKNOWN_PLAN", f"Unknown plan {name!r}; plans: {', '.join(plans)}.", "plan")
    return plans[name]


async def get_tenant(session: AsyncSession, *, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


_BASE_CURRENCIES: dict[uuid.UUID, str] = {}  # fixed when a tenant is created: safe to keep per process


async def base_currency(session: AsyncSession) -> str:
    """The session's tenant's base currency (prices, the ledger, stock values); it never changes, so it is
    read once per process and tenant."""
    tenant_id = session.info["tenant_id"]
    currency = _BASE_CURRENCIES.get(tenant_id)
    if currency is None:
        tenant = await get_tenant(session, tenant_id=tenant_id)
        assert tenant is not None
        if len(_BASE_CURRENCIES) >= 10_000:
            _BASE_CURRENCIES.clear()
        currency = _BASE_CURRENCIES[tenant_id] = tenant.base_currency
    return currency


async def get_tenant_by_slug(session: AsyncSession, *, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    return list((await session.execute(select(Tenant).order_by(Tenant.slug))).scalars())


async def create_tenant(
    session: AsyncSession,
    *,
    registry: ModuleRegistry,
    name: str,
    slug: str,
    plan: str = "free",
    modules: list[str] | None = None,
    base_currency: str = "USD",
    timezone: str = "UTC",
) -> Tenant:
    """Create a tenant and its module rows; leaves the session scoped to the new tenant.

    ``modules`` defaults to everything the plan allows. Each listed module brings its
    dependencies. Refuses (DomainError, nothing written): a malformed or taken slug, an empty
    name, an unknown plan or currency, a module the plan does not include.
    """
    name = name.strip()
    slug = slug.strip().lower()
    if not name:
        raise DomainError("REQUIRED", "Name is required.", "name")
    if len(name) > 200:
        raise DomainError("TOO_LONG", "Name is at most 200 characters.", "name")
    if not SLUG_RE.match(slug):
        raise DomainError(
            "INVALID_SLUG",
            "Slug is 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
            "slug",
        )
    if not CURRENCY_RE.match(base_currency):
        raise DomainError("INVALID_CURRENCY", "Base currency is a three-letter ISO 4217 code.", "baseCurrency")
    plan_obj = get_plan(plan)
    wanted = plan_obj.available(registry) if modules is None else list(modules)
    enabled: set[str] = {spec.name for spec in registry if spec.always_on}
    for module in wanted:
        _check_module_allowed(registry, plan_obj, module)
        enabled.update(registry.with_dependencies(module))
    for module in enabled:
        _check_module_allowed(registry, plan_obj, module)
    if await get_tenant_by_slug(session, slug=slug) is not None:
        raise DomainError("SLUG_TAKEN", f"The slug {slug!r} is taken.", "slug")

    tenant = Tenant(
        name=name, slug=slug, plan=plan, status="active", base_currency=base_currency, timezone=timezone
    )
    session.add(tenant)
    await session.flush()
    await set_tenant(session, tenant.id)
    now = utcnow()
    session.add_all(
        TenantModule(module=spec.name, enabled=spec.name in enabled, changed_at=now)
        for spec in registry
        if spec.name in enabled
    )
    await session.flush()
    # Announce the starting modules, so each can set itself up (the CRM seeds its pipeline).
    await events.emit(session, platform_events.MODULE_ENABLED, aggregate_id=to_global_id("Tenant", tenant.id),
                      payload={"module": "platform", "enabledModules": [n for n in registry.names if n in enabled]})
    return tenant


# --- modules ----------------------------------------------------------------------------------------


def _check_module_allowed(registry: ModuleRegistry, plan: Plan, module: str) -> None:
    if module not in registry:
        raise DomainError("UNKNOWN_MODULE", f"There is no module {module!r}.", "module")
    if not plan.allows(module, registry):
        raise DomainError(
            "PLAN_LIMIT", f"The {plan.title} plan does not include the {module!r} module.", "module"
        )


def _tenant_gid(session: AsyncSession) -> str:
    return to_global_id("Tenant", _tenant_id(session))


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise RuntimeError("no tenant set on this session")
    return tenant_id


async def enabled_modules(session: AsyncSession) -> frozenset[str]:
    """The modules on for the session's tenant (always-on modules included), once per transaction."""
    cached = session.info.get("enabled_modules")
    if cached is not None:
        return cached
    tenant_id = _tenant_id(session)
    switching = session.info.get("modules_switched")  # this transaction's own switches are not for others
    result = None if switching else MODULES.get(tenant_id)
    if result is None:
        generation = MODULES.generation
        rows = await session.execute(
            select(_module_table.c.module).where(
                _module_table.c.tenant_id == tenant_id, _module_table.c.enabled.is_(True)
            )
        )
        result = frozenset(rows.scalars()) | {"platform"}
        if not switching:
            MODULES.put(tenant_id, result, generation)
    session.info["enabled_modules"] = result
    return result


async def is_module_enabled(session: AsyncSession, module: str) -> bool:
    return module in await enabled_modules(session)


async def ensure_module_enabled(session: AsyncSession, module: str) -> None:
    """Raise ModuleDisabled unless ``module`` is on; jobs and webhooks call this too."""
    if module not in await enabled_modules(session):
        raise ModuleDisabled(module)


async def module_states(session: AsyncSession, *, registry: ModuleRegistry) -> list[ModuleState]:
    tenant = await get_tenant(session, tenant_id=_tenant_id(session))
    assert tenant is not None
    plan = get_plan(tenant.plan)
    enabled = await enabled_modules(session)
    return [
        ModuleState(
            name=spec.name,
            title=spec.title,
            enabled=spec.name in enabled,
            depends_on=spec.depends,
            available=plan.allows(spec.name, registry),
        )
        for spec in registry
    ]


async def _set_enabled(session: AsyncSession, modules: list[str], enabled: bool) -> None:
    tenant_id = _tenant_id(session)
    if not session.info.get("modules_switched"):
        session.info["modules_switched"] = True
        MODULES.forget(tenant_id)  # a read that overlaps this transaction stores nothing
        event.listen(session.sync_session, "after_commit", lambda _s: MODULES.forget(tenant_id), once=True)
    now = utcnow()
    for module in modules:
        stmt = pg_insert(_module_table).values(
            tenant_id=tenant_id, id=new_id(), module=module, enabled=enabled, changed_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "module"], set_={"enabled": enabled, "changed_at": now}
        )
        await session.execute(stmt)
    session.info.pop("enabled_modules", None)


async def enable_module(session: AsyncSession, *, registry: ModuleRegistry, module: str) -> list[str]:
    """Enable ``module`` and whatever it depends on; returns the modules that were switched on.

    Refuses UNKNOWN_MODULE and PLAN_LIMIT (for the module or any dependency). Data kept while the
    module was off is visible again at once: disabling never deleted it.
    """
    tenant = await get_tenant(session, tenant_id=_tenant_id(session))
    assert tenant is not None
    plan = get_plan(tenant.plan)
    if module not in registry:
        raise DomainError("UNKNOWN_MODULE", f"There is no module {module!r}.", "module")
    needed = registry.with_dependencies(module)
    for name in needed:
        _check_module_allowed(registry, plan, name)
    already = await enabled_modules(session)
    switched = [name for name in needed if name not in already]
    await _set_enabled(session, switched, True)
    if switched:
        await events.emit(session, platform_events.MODULE_ENABLED, aggregate_id=_tenant_gid(session),
                          payload={"module": module, "enabledModules": switched})
    return switched


async def disable_module(session: AsyncSession, *, registry: ModuleRegistry, module: str) -> None:
    """Disable ``module``; its data stays and comes back on re-enable.

    Refuses UNKNOWN_MODULE, MODULE_REQUIRED (always-on modules) and MODULE_IN_USE (an enabled
    module depends on it; the message names them).
    """
    if module not in registry:
        raise DomainError("UNKNOWN_MODULE", f"There is no module {module!r}.", "module")
    if registry.get(module).always_on:
        raise DomainError("MODULE_REQUIRED", f"The {module!r} module is always on.", "module")
    enabled = await enabled_modules(session)
    users = [name for name in registry.dependents(module) if name in enabled]
    if users:
        raise DomainError(
            "MODULE_IN_USE",
            f"Disable {', '.join(users)} first: {'it depends' if len(users) == 1 else 'they depend'} "
            f"on {module!r}.",
            "module",
        )
    if module in enabled:
        await _set_enabled(session, [module], False)
        await events.emit(session, platform_events.MODULE_DISABLED, aggregate_id=_tenant_gid(session),
                          payload={"module": module})



# --- platform administration (cross-tenant, explicit) ---------------------------------------------------


@dataclass(frozen=True)
class TenantOverview:
    member_count: int
    enabled_modules: tuple[str, ...]


async def tenant_overviews(session: AsyncSession, *, tenant_ids: list[uuid.UUID]) -> dict[uuid.UUID, TenantOverview]:
    """Member counts and enabled modules of several tenants, for platform admins.

    Isolation stays on: each tenant is read inside its own ``SET LOCAL app.tenant_id``, one small
    query each, and the session ends unscoped again.
    """
    from backend.modules.platform.models import Membership

    result = {}
    for tenant_id in tenant_ids:
        await set_tenant(session, tenant_id)
        members = await session.scalar(select(func.count()).select_from(Membership).where(
            Membership.tenant_id == tenant_id, Membership.status == "active"))
        modules = await enabled_modules(session)
        result[tenant_id] = TenantOverview(member_count=int(members or 0), enabled_modules=tuple(sorted(modules)))
    await clear_tenant(session)
    return result


async def clear_tenant(session: AsyncSession) -> None:
    await session.execute(text("SET LOCAL app.tenant_id = ''"))
    session.info.pop("tenant_id", None)
    session.info.pop("enabled_modules", None)


async def set_tenant_status(session: AsyncSession, *, tenant_id: uuid.UUID, status: str) -> Tenant:
    """Suspend or resume a tenant (platform admins). Refuses NOT_FOUND."""
    tenant = await get_tenant(session, tenant_id=tenant_id)
    if tenant is None:
        raise DomainError("NOT_FOUND", "No tenant with this ID.", "id")
    tenant.status = status
    await session.flush()
    return tenant


async def is_member(session: AsyncSession, *, user_id: uuid.UUID) -> bool:
    """Whether ``user_id`` is an active member of the session's tenant (for owners, assignees)."""
    from backend.modules.platform.models import Membership

    found = await session.scalar(select(Membership.id).where(
        Membership.tenant_id == _tenant_id(session), Membership.user_id == user_id, Membership.status == "active"))
    return found is not None


async def users_by_ids(session: AsyncSession, *, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Members of the session's tenant among ``user_ids`` (others are not visible), one query."""
    from backend.modules.platform.models import AppUser, Membership

    rows = await session.execute(select(AppUser).join(Membership, Membership.user_id == AppUser.id).where(
        Membership.tenant_id == _tenant_id(session), AppUser.id.in_(user_ids)))
    return {user.id: user for user in rows.scalars()}


# Custom fields are a platform service that modules reach through this namespace.
from backend.modules.platform.custom_fields import define_field as define_field  # noqa: E402
from backend.modules.platform.custom_fields import filter_custom_values as filter_custom_values  # noqa: E402
from backend.modules.platform.custom_fields import list_fields as list_fields  # noqa: E402
from backend.modules.platform.custom_fields import validate_values as validate_values  # noqa: E402
from backend.modules.platform.teams import add_team_member as add_team_member  # noqa: E402
from backend.modules.platform.teams import create_team as create_team  # noqa: E402
from backend.modules.platform.teams import get_team as get_team  # noqa: E402
from backend.modules.platform.teams import remove_team_member as remove_team_member  # noqa: E402
from backend.modules.platform.teams import team_members as team_members  # noqa: E402
from backend.modules.platform.teams import teammates_of as teammates_of  # noqa: E402
