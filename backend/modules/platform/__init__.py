"""Platform: tenants, module enablement (and, with the identity work, users, roles, audit)."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="platform",
    title="Platform",
    always_on=True,
    permissions=(
        "platform.read",  # the tenant, its modules, the member list
        "platform.modules",  # switch modules on and off
        "platform.members",  # invite, change roles, remove members
        "platform.api_clients",  # create and revoke API clients
        "platform.audit",  # read the audit log
        "platform.webhooks",  # manage webhooks, see their deliveries, redeliver and replay
        "platform.notifications",  # edit notification templates
        "platform.customize",  # define custom fields
        "platform.owner",  # make or unmake owners (owners only)
    ),
    description="Tenants, members, roles, API clients and the audit log. Always on.",
)
