"""The module registry: which modules exist, what each depends on, and their order.

Manifests are data (``ModuleSpec`` in each module's ``__init__``); this file is the code that
orders them. A dependency on an unknown module or a cycle is refused when the registry is built,
which for the installed modules is at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    title: str
    depends: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    always_on: bool = False
    # Dotted path of the package holding graphql.py / handlers.py (defaults to backend.modules.<name>).
    package: str | None = None
    description: str = field(default="", compare=False)

    @property
    def import_path(self) -> str:
        return self.package or f"backend.modules.{self.name}"


class ModuleGraphError(ValueError):
    pass


class ModuleRegistry:
    def __init__(self, specs: Iterable[ModuleSpec]) -> None:
        self._specs: dict[str, ModuleSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ModuleGraphError(f"module {spec.name!r} registered twice")
            self._specs[spec.name] = spec
        for spec in self._specs.values():
            for dep in spec.depends:
                if dep not in self._specs:
                    raise ModuleGraphError(f"module {spec.name!r} depends on unknown module {dep!r}")
        self._order = self._topological_order()

    def _topological_order(self) -> list[str]:
        # Depth-first with colouring: the first back edge found is reported as the cycle.
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            mark = state.get(name)
            if mark == 2:
                return
            if mark == 1:
                cycle = [*path[path.index(name) :], name]
                raise ModuleGraphError("module dependency cycle: " + " -> ".join(cycle))
            state[name] = 1
            for dep in sorted(self._specs[name].depends):
                visit(dep, [*path, name])
            state[name] = 2
            order.append(name)

        for name in sorted(self._specs, key=lambda n: (not self._specs[n].always_on, n)):
            visit(name, [])
        return order

    def __iter__(self) -> Iterator[ModuleSpec]:
        return (self._specs[name] for name in self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> ModuleSpec:
        return self._specs[name]

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def with_dependencies(self, name: str) -> list[str]:
        """``name`` and everything it needs, dependencies first."""
        needed: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in needed:
                continue
            needed.add(current)
            stack.extend(self._specs[current].depends)
        return [n for n in self._order if n in needed]

    def dependents(self, name: str) -> list[str]:
        """Modules that need ``name``, directly or through others."""
        return [n for n in self._order if n != name and name in self.with_dependencies(n)]

    def all_permissions(self) -> list[str]:
        return [perm for spec in self for perm in spec.permissions]

    def extended(self, *specs: ModuleSpec) -> ModuleRegistry:
        return ModuleRegistry([*self._specs.values(), *specs])


# The modules this build ships, by package. Business modules add themselves here.
INSTALLED_PACKAGES = ("backend.modules.platform", "backend.modules.crm", "backend.modules.inventory",
                      "backend.modules.orders", "backend.modules.finance")


@lru_cache(maxsize=1)
def installed_modules() -> ModuleRegistry:
    """The registry of shipped modules (built once; a bad graph raises here, at app import)."""
    return ModuleRegistry(importlib.import_module(pkg).MODULE for pkg in INSTALLED_PACKAGES)


def import_module_parts(
    registry: ModuleRegistry, parts: tuple[str, ...] = ("models", "events", "handlers", "access")
) -> None:
    """Import each module's optional parts, so its tables, event types and handlers are registered."""
    import importlib.util

    for spec in registry:
        for part in parts:
            name = f"{spec.import_path}.{part}"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
