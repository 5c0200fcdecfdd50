from __future__ import annotations

import pytest

from backend.modules.registry import ModuleGraphError, ModuleRegistry, ModuleSpec, installed_modules


def spec(name: str, *depends: str, always_on: bool = False) -> ModuleSpec:
    return ModuleSpec(name=name, title=name.title(), depends=depends, always_on=always_on)


def test_modules_are_ordered_dependencies_first():
    registry = ModuleRegistry([spec("orders", "crm", "inventory"), spec("crm"), spec("inventory"),
                               spec("platform", always_on=True), spec("manufacturing", "inventory", "purchasing"),
                               spec("purchasing", "inventory")])
    order = registry.names
    assert order[0] == "platform"
    for name in order:
        for dep in registry.get(name).depends:
            assert order.index(dep) < order.index(name)
    assert registry.with_dependencies("manufacturing") == ["inventory", "purchasing", "manufacturing"]
    assert set(registry.dependents("inventory")) == {"orders", "purchasing", "manufacturing"}
    assert registry.dependents("orders") == []


def test_cycles_and_unknown_dependencies_are_refused():
    with pytest.raises(ModuleGraphError, match="cycle: a -> b -> c -> a"):
        ModuleRegistry([spec("a", "b"), spec("b", "c"), spec("c", "a")])
    with pytest.raises(ModuleGraphError, match="unknown module 'ghost'"):
        ModuleRegistry([spec("a", "ghost")])
    with pytest.raises(ModuleGraphError, match="twice"):
        ModuleRegistry([spec("a"), spec("a")])


def test_installed_modules_load_and_platform_is_always_on():
    registry = installed_modules()
    assert registry.names[0] == "platform" and registry.get("platform").always_on
    assert "platform.modules" in registry.all_permissions()
