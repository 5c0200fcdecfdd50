"""Module gating and per-tenant enablement, over HTTP."""

from __future__ import annotations

import pytest

from backend.core.errors import ModuleDisabled
from backend.modules.platform import service as platform
from tests.support.notes import service as notes

MODULES = "{ viewer { tenant { modules { name enabled dependsOn available } } } }"
ENABLE = "mutation($m: String!) { moduleEnable(input: {module: $m}) { module { name enabled } enabledModules userErrors { field message code } } }"
DISABLE = "mutation($m: String!) { moduleDisable(input: {module: $m}) { module { name enabled } userErrors { field message code } } }"
NOTES = "{ notes(first: 5) { totalCount edges { node { title reminders } } } }"
CREATE = 'mutation { noteCreate(input: {title: "kept"}) { note { id } userErrors { code } } }'


async def module_map(gql, tenant) -> dict:
    body = await gql(MODULES, tenant=tenant)
    return {m["name"]: m for m in body["data"]["viewer"]["tenant"]["modules"]}


async def test_viewer_lists_every_module_with_state_and_dependencies(gql, make_tenant):
    a = await make_tenant(plan="business", modules=["notes"])
    mods = await module_map(gql, a)
    assert mods["platform"] == {"name": "platform", "enabled": True, "dependsOn": [], "available": True}
    assert mods["notes"]["enabled"] is True
    assert mods["reminders"] == {"name": "reminders", "enabled": False, "dependsOn": ["notes"], "available": True}


async def test_root_field_of_disabled_module_answers_module_disabled(gql, make_tenant):
    a = await make_tenant(plan="business", modules=["notes"])
    body = await gql("{ reminderPing }", tenant=a)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "MODULE_DISABLED", "module": "reminders"}
    assert gql.last.status_code == 200

    body = await gql(ENABLE, {"m": "reminders"}, tenant=a)
    assert body["data"]["moduleEnable"]["module"] == {"name": "reminders", "enabled": True}
    assert (await gql("{ reminderPing }", tenant=a))["data"] == {"reminderPing": "pong"}


async def test_nested_cross_module_field_is_empty_while_its_module_is_off(gql, make_tenant):
    a = await make_tenant(plan="business", modules=["notes"])
    await gql(CREATE, tenant=a)
    body = await gql(NOTES, tenant=a)
    assert "errors" not in body
    assert body["data"]["notes"]["edges"][0]["node"]["reminders"] == []
    await gql(ENABLE, {"m": "reminders"}, tenant=a)
    body = await gql(NOTES, tenant=a)
    assert body["data"]["notes"]["edges"][0]["node"]["reminders"] == ["remember: kept"]


async def test_enabling_brings_dependencies_and_disabling_a_needed_module_is_refused(gql, make_tenant):
    a = await make_tenant(plan="business", modules=[])
    body = await gql(ENABLE, {"m": "reminders"}, tenant=a)
    assert body["data"]["moduleEnable"]["enabledModules"] == ["notes", "reminders"]
    mods = await module_map(gql, a)
    assert mods["notes"]["enabled"] and mods["reminders"]["enabled"]

    body = await gql(DISABLE, {"m": "notes"}, tenant=a)
    [error] = body["data"]["moduleDisable"]["userErrors"]
    assert error["code"] == "MODULE_IN_USE" and "reminders" in error["message"]
    assert error["field"] == ["input", "module"]
    assert (await module_map(gql, a))["notes"]["enabled"] is True  # nothing written

    assert (await gql(DISABLE, {"m": "reminders"}, tenant=a))["data"]["moduleDisable"]["userErrors"] == []
    assert (await gql(DISABLE, {"m": "notes"}, tenant=a))["data"]["moduleDisable"]["userErrors"] == []
    mods = await module_map(gql, a)
    assert not mods["notes"]["enabled"] and not mods["reminders"]["enabled"]


async def test_disabling_hides_data_and_re_enabling_brings_it_back(gql, make_tenant):
    a = await make_tenant(plan="business", modules=["notes"])
    await gql(CREATE, tenant=a)
    await gql(DISABLE, {"m": "notes"}, tenant=a)
    body = await gql(NOTES, tenant=a)
    assert body["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"
    body = await gql(CREATE, tenant=a)
    assert body["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"
    await gql(ENABLE, {"m": "notes"}, tenant=a)
    body = await gql(NOTES, tenant=a)
    assert body["data"]["notes"]["totalCount"] == 1
    assert body["data"]["notes"]["edges"][0]["node"]["title"] == "kept"


async def test_plan_bounds_modules(gql, make_tenant):
    a = await make_tenant(plan="free")
    mods = await module_map(gql, a)
    assert mods["notes"]["available"] is False and mods["notes"]["enabled"] is False
    body = await gql(ENABLE, {"m": "reminders"}, tenant=a)
    [error] = body["data"]["moduleEnable"]["userErrors"]
    assert error["code"] == "PLAN_LIMIT"
    assert (await module_map(gql, a))["notes"]["enabled"] is False


async def test_bad_module_names_and_platform_are_refused(gql, make_tenant):
    a = await make_tenant()
    body = await gql(ENABLE, {"m": "nope"}, tenant=a)
    assert body["data"]["moduleEnable"]["userErrors"][0]["code"] == "UNKNOWN_MODULE"
    body = await gql(DISABLE, {"m": "platform"}, tenant=a)
    assert body["data"]["moduleDisable"]["userErrors"][0]["code"] == "MODULE_REQUIRED"


async def test_changing_modules_needs_the_permission(gql, make_tenant):
    a = await make_tenant(plan="business", modules=["notes"])
    body = await gql(DISABLE, {"m": "notes"}, tenant=a, permissions=("platform.read", "notes.read"))
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "platform.modules"}
    assert (await module_map(gql, a))["notes"]["enabled"] is True


async def test_one_tenants_module_change_does_not_touch_another(gql, make_tenant):
    a, b = await make_tenant(modules=["notes"]), await make_tenant(modules=["notes"])
    await gql(DISABLE, {"m": "notes"}, tenant=a)
    assert (await module_map(gql, b))["notes"]["enabled"] is True


async def test_services_refuse_a_disabled_module_without_graphql(db, make_tenant):
    a = await make_tenant(plan="business", modules=[])
    async with db.transaction(a) as session:
        with pytest.raises(ModuleDisabled) as refused:
            await platform.ensure_module_enabled(session, "notes")
        assert refused.value.extensions == {"module": "notes"}
        with pytest.raises(ModuleDisabled):
            await notes.create_note(session, title="x")
