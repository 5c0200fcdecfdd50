"""Events the platform emits (declared as data; the catalogue in docs/events.md is generated)."""

from backend.core.events import event_type

MODULE_ENABLED = event_type(
    "module.enabled", module="platform", description="A module was switched on for the tenant.",
    payload={"module": "module name", "enabledModules": "every module switched on by the change"})
MODULE_DISABLED = event_type(
    "module.disabled", module="platform", description="A module was switched off (its data is kept).",
    payload={"module": "module name"})
MEMBER_INVITED = event_type(
    "member.invited", module="platform", description="Someone was invited to join the tenant.",
    payload={"invitationId": "Invitation ID", "email": "invitee's email", "role": "role offered",
             "expiresAt": "ISO 8601 time the invitation lapses"})
MEMBER_JOINED = event_type(
    "member.joined", module="platform", description="A person became a member (invitation accepted, sign-up).",
    payload={"memberId": "Member ID", "userId": "User ID", "email": "member's email", "role": "role"})
MEMBER_ROLE_CHANGED = event_type(
    "member.role_changed", module="platform", description="A member's role changed.",
    payload={"memberId": "Member ID", "userId": "User ID", "from": "previous role", "to": "new role"})
MEMBER_REMOVED = event_type(
    "member.removed", module="platform", description="A member was removed; their sessions ended.",
    payload={"memberId": "Member ID", "userId": "User ID", "role": "role they had"})
API_CLIENT_CREATED = event_type(
    "api_client.created", module="platform", description="An API client was created.",
    payload={"apiClientId": "ApiClient ID", "name": "client name", "scopes": "granted permissions"})
API_CLIENT_REVOKED = event_type(
    "api_client.revoked", module="platform", description="An API client was revoked.",
    payload={"apiClientId": "ApiClient ID", "name": "client name"})
WEBHOOK_DISABLED = event_type(
    "webhook.disabled", module="platform",
    description="A webhook endpoint kept failing for the whole retry window and was switched off.",
    payload={"webhookId": "Webhook ID", "url": "endpoint URL", "reason": "why"})
