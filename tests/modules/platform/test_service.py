"""Tenant creation and module rules at the service level (no GraphQL)."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import DomainError
from backend.modules.platform import service as platform
from backend.modules.platform.models import Tenant


def slug() -> str:
    return f"svc-{uuid.uuid4().hex[:10]}"


async def create(db, registry, **kwargs):
    async with db.transaction() as session:
        tenant = await platform.create_tenant(session, registry=registry, **{"name": "Acme", "slug": slug(), **kwargs})
        return tenant, await platform.enabled_modules(session)


async def test_create_tenant_enables_what_the_plan_has(db, registry):
    tenant, enabled = await create(db, registry, plan="business")
    assert enabled == {"platform", "crm", "finance", "inventory", "orders", "notes", "reminders"}
    assert tenant.status == "active" and tenant.base_currency == "USD"
    _, enabled = await create(db, registry, plan="free")
    assert enabled == {"platform", "crm"}  # the free plan is the CRM; notes is not in it
    _, enabled = await create(db, registry, plan="business", modules=["reminders"])
    assert enabled == {"platform", "notes", "reminders"}  # dependencies come along


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"slug": "Bad Slug"}, "INVALID_SLUG", "slug"),
    ({"slug": "-edge"}, "INVALID_SLUG", "slug"),
    ({"name": "   "}, "REQUIRED", "name"),
    ({"plan": "platinum"}, "UNKNOWN_PLAN", "plan"),
    ({"plan": "free", "modules": ["notes"]}, "PLAN_LIMIT", "module"),
    ({"modules": ["ghost"]}, "UNKNOWN_MODULE", "module"),
    ({"base_currency": "usd"}, "INVALID_CURRENCY", "baseCurrency"),
])
async def test_create_tenant_refuses_bad_input_and_writes_nothing(db, registry, kwargs, code, field):
    wanted = kwargs.get("slug", slug())
    with pytest.raises(DomainError) as refused:
        async with db.transaction() as session:
            await platform.create_tenant(session, registry=registry, **{"name": "Acme", "slug": wanted, **kwargs})
    assert (refused.value.code, refused.value.field) == (code, [field])
    async with db.transaction() as session:
        assert await platform.get_tenant_by_slug(session, slug=wanted.strip().lower()) is None


async def test_slugs_are_unique(db, registry):
    tenant, _ = await create(db, registry)
    with pytest.raises(DomainError) as refused:
        await create(db, registry, slug=tenant.slug)
    assert refused.value.code == "SLUG_TAKEN"


async def test_disable_then_enable_reports_what_changed(db, registry):
    tenant, _ = await create(db, registry, plan="business", modules=[])
    async with db.transaction(tenant.id) as session:
        assert await platform.enable_module(session, registry=registry, module="reminders") == ["notes", "reminders"]
        assert await platform.enable_module(session, registry=registry, module="reminders") == []
        await platform.disable_module(session, registry=registry, module="reminders")
        assert await platform.enabled_modules(session) == {"platform", "notes"}


async def test_module_state_is_read_fresh_by_each_transaction(db, registry):
    """What one worker changes, the next request on any worker sees (no cross-request cache)."""
    tenant, _ = await create(db, registry, plan="business", modules=["notes"])
    async with db.transaction(tenant.id) as reader:
        assert "notes" in await platform.enabled_modules(reader)
    async with db.transaction(tenant.id) as writer:
        await platform.disable_module(writer, registry=registry, module="notes")
    async with db.transaction(tenant.id) as reader:
        assert "notes" not in await platform.enabled_modules(reader)


async def test_tenants_are_global_rows(db, registry):
    tenant, _ = await create(db, registry)
    async with db.transaction() as session:
        assert (await session.get(Tenant, tenant.id)).slug == tenant.slug
