"""Platform GraphQL, one file per concern, merged here for the schema builder."""

from strawberry.tools import merge_types

from backend.modules.platform.graphql import (
    admin,
    audit_log,
    clients,
    customization,
    integration,
    members,
    teams,
    tenant,
)
from backend.modules.platform.graphql.types import (
    ApiClientType,
    AuditEventType,
    InvitationType,
    MemberType,
    UserType,
)

_parts = (tenant, members, teams, clients, audit_log, integration, customization, admin)
Query = merge_types("PlatformQuery", tuple(p.Query for p in _parts if hasattr(p, "Query")))
Mutation = merge_types("PlatformMutation", (*(p.Mutation for p in _parts if hasattr(p, "Mutation")),
                                            tenant.PasswordMutation))
Subscription = integration.Subscription
types = [tenant.TenantType, UserType, MemberType, InvitationType, ApiClientType, AuditEventType,
         integration.EventNode, integration.WebhookType, integration.WebhookDeliveryType]
node_sources = [*tenant.node_sources, *members.node_sources, *clients.node_sources]
