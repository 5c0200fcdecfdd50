"""A small module that exists only in tests: it proves the platform's mechanisms (RLS, composite
foreign keys, node resolution, connections, gating, mutations) before the business modules exist."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="notes",
    title="Notes",
    permissions=("notes.read", "notes.write"),
    package="tests.support.notes",
)
