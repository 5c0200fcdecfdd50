"""The demo company that ``jishi demo`` creates: a tenant on the business plan, every module on.

Each business module adds its sample data here as it lands (customers, products, orders, ...);
``tests/core/test_isolation.py`` seeds two demo tenants and fails for any tenant table that the
demo leaves empty, so every new table gets demo rows.
"""

from __future__ import annotations

import importlib
import importlib.util
import uuid

from backend.core.db import Database
from backend.modules.platform import service as platform
from backend.modules.platform.demo import DEMO_PASSWORD, STAFF, demo_email
from backend.modules.registry import ModuleRegistry, import_module_parts, installed_modules
from backend.settings import Settings

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Trading Co."


async def create_demo_tenant(
    db: Database, *, registry: ModuleRegistry, slug: str = DEMO_SLUG, name: str = DEMO_NAME, scale: int | None = None
) -> uuid.UUID:
    """Create (or find) a demo tenant with every module of the business plan on and each module's
    sample data (``<module package>.demo.seed(session)``, in dependency order); returns its id."""
    import_module_parts(registry)  # every module's event types and handlers, before anything is emitted
    async with db.transaction() as session:
        existing = await platform.get_tenant_by_slug(session, slug=slug)
        if existing is not None:
            return existing.id
        tenant = await platform.create_tenant(
            session, registry=registry, name=name, slug=slug, plan="business", base_currency="CNY",
            timezone="Asia/Shanghai",
        )
        tenant.language = "zh-CN"
        if scale is not None:
            session.info["demo_scale"] = scale  # how many customers, orders, ... (tests keep it small)
        enabled = await platform.enabled_modules(session)
        for spec in registry:
            demo_module = f"{spec.import_path}.demo"
            if spec.name in enabled and importlib.util.find_spec(demo_module) is not None:
                await importlib.import_module(demo_module).seed(session)
        return tenant.id


async def seed_demo(settings: Settings, owner_url: str, base_url: str = "http://127.0.0.1:8000") -> str:
    db = Database.from_settings(settings, owner_url)
    registry = installed_modules()
    try:
        tenant_id = await create_demo_tenant(db, registry=registry)
        async with db.transaction(tenant_id) as session:
            enabled = sorted(await platform.enabled_modules(session))
    finally:
        await db.dispose()
    owner = demo_email("owner", DEMO_SLUG)
    return "\n".join(
        [
            f"Demo tenant: {DEMO_NAME} (slug {DEMO_SLUG!r}, id {tenant_id}), modules: {', '.join(enabled)}.",
            f"Sign in as any of {', '.join(demo_email(role, DEMO_SLUG) for role, _ in STAFF)}",
            f"  (one per built-in role), password {DEMO_PASSWORD!r}. For example:",
            f"  curl -s {base_url}/auth/token -d grant_type=password -d username={owner} "
            f"-d password={DEMO_PASSWORD}",
            f"GraphiQL: open {base_url}/graphql and add the header "
            '{"Authorization": "Bearer <access_token>"}; the schema browses without signing in.',
        ]
    )
