"""Plans as data (``tenants/plans.toml``): which modules a tenant on each plan may enable."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backend.modules.registry import ModuleRegistry

PLANS_FILE = Path(__file__).resolve().parents[3] / "tenants" / "plans.toml"


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    modules: tuple[str, ...]  # as written; "*" means every module

    def allows(self, module: str, registry: ModuleRegistry) -> bool:
        if module not in registry:
            return False
        return registry.get(module).always_on or "*" in self.modules or module in self.modules

    def available(self, registry: ModuleRegistry) -> list[str]:
        return [spec.name for spec in registry if self.allows(spec.name, registry)]


@lru_cache(maxsize=4)
def load_plans(path: Path = PLANS_FILE) -> dict[str, Plan]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        name: Plan(name=name, title=body.get("title", name.title()), modules=tuple(body.get("modules", ())))
        for name, body in data.get("plans", {}).items()
    }
