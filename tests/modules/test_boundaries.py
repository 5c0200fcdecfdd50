"""Modules stay apart: one module reaches another only through its ``service`` (operations), its
``events`` (what happened) or, to compose the one GraphQL schema, its ``graphql`` types. Never its
tables, models or internals. The platform is the core every module builds on and is exempt."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.modules.registry import installed_modules

MODULES_DIR = Path(__file__).resolve().parents[2] / "backend" / "modules"
ALLOWED_PARTS = {"service", "events", "graphql"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.extend((node.lineno, n) for n in names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
    return found


def test_a_module_reaches_another_only_through_its_service_events_or_graphql():
    names = [spec.name for spec in installed_modules() if spec.name != "platform"]
    problems = []
    for module in names:
        for path in (MODULES_DIR / module).rglob("*.py"):
            for line, imported in _imports(path):
                parts = imported.split(".")
                if parts[:2] != ["backend", "modules"] or len(parts) < 3:
                    continue
                other = parts[2]
                if other in (module, "platform", "registry") or other not in names:
                    continue
                if len(parts) < 4 or parts[3] not in ALLOWED_PARTS:
                    if len(parts) == 3:
                        continue  # "from backend.modules.crm import service": the names are checked next
                    problems.append(f"{path.relative_to(MODULES_DIR)}:{line} imports {imported}")
    assert problems == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from backend.modules.crm.models import Contact\nfrom backend.modules.crm import service\n")
    assert [i for _, i in _imports(bad)] == ["backend.modules.crm.models", "backend.modules.crm.models.Contact",
                                             "backend.modules.crm", "backend.modules.crm.service"]
