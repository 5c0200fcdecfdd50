"""Built-in roles (``tenants/roles.toml``) expanded against the installed modules' permissions.

Only owners hold ``platform.owner``: making or unmaking an owner needs it, and a tenant always keeps
at least one owner.
"""

from __future__ import annotations

import fnmatch
import tomllib
from functools import lru_cache
from pathlib import Path

from backend.modules.registry import ModuleRegistry

ROLES_FILE = Path(__file__).resolve().parents[3] / "tenants" / "roles.toml"
OWNER_ONLY = "platform.owner"


@lru_cache(maxsize=4)
def _role_patterns(path: Path = ROLES_FILE) -> dict[str, tuple[str, ...]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: tuple(body.get("permissions", ())) for name, body in data.get("roles", {}).items()}


def role_names() -> list[str]:
    return list(_role_patterns())


def is_role(name: str) -> bool:
    return name in _role_patterns()


_EXPANDED: dict[tuple[int, str], frozenset[str]] = {}


def permissions_for(role: str, registry: ModuleRegistry) -> frozenset[str]:
    key = (id(registry), role)
    found = _EXPANDED.get(key)
    if found is None:
        everything = registry.all_permissions()
        granted = {perm for pattern in _role_patterns().get(role, ()) for perm in everything
                   if fnmatch.fnmatchcase(perm, pattern)}
        if role != "owner":
            granted.discard(OWNER_ONLY)
        found = _EXPANDED[key] = frozenset(granted)
    return found
