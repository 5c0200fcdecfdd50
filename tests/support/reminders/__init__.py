"""Test-only module that depends on ``notes``: proves dependency handling and cross-module fields."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="reminders",
    title="Reminders",
    depends=("notes",),
    permissions=("reminders.read",),
    package="tests.support.reminders",
)
