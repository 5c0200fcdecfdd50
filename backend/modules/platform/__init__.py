"""Platform: tenants, module enablement (and, with the identity work, users, roles, audit)."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="platform",
    title="Platform",
    always_on=True,
    permissions=("platform.read", "platform.modules"),
    description="Tenants, members, roles, API clients and the audit log. Always on.",
)
