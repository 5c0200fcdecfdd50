"""CRM settings and sharing: ``crmSettings``, ``crmSettingsUpdate``, ``customerShare``, and lead
assignment rules (``leadAssignmentRules``, ``leadAssignmentRuleCreate``, ``leadAssignmentRuleUpdate``,
``leadAssignmentRuleDelete``)."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import decode_id
from backend.core.ids import to_global_id
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.customers import CustomerPayload, _customer_payload
from backend.modules.crm.graphql.types import user_loader
from backend.modules.platform.graphql.types import UserType


@strawberry.type(name="CrmSettings")
class CrmSettingsType:
    visibility: str = strawberry.field(
        description="For sales users: ALL records, their TEAM's (theirs and teammates'), or OWN; plus shared.")
    stale_after_days: int
    sla_hours: JSON = strawberry.field(description='{"urgent": [first response, resolution], ...} in hours')

    @classmethod
    def from_model(cls, s) -> CrmSettingsType:  # type: ignore[no-untyped-def]
        return cls(visibility=s.visibility.upper(), stale_after_days=s.stale_after_days, sla_hours=s.sla_hours)


@strawberry.type(name="LeadAssignmentRule")
class LeadAssignmentRuleType:
    id: strawberry.ID
    name: str
    position: int = strawberry.field(description="1 = tried first.")
    source: str | None = strawberry.field(description="Holds when the lead's source is this (ignoring case).")
    email_domain: str | None = strawberry.field(description="Holds for emails at this domain or its subdomains.")
    campaign_id: strawberry.ID | None = strawberry.field(description="Holds for leads of this campaign.")
    team_id: strawberry.ID | None = strawberry.field(
        description="Assign to the member of this team with the fewest open leads.")
    user_pk: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="Assign to this user.")
    async def user(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.user_pk) if self.user_pk else None

    @classmethod
    def from_model(cls, r) -> LeadAssignmentRuleType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("LeadAssignmentRule", r.id), name=r.name, position=r.position, source=r.source,
                   email_domain=r.email_domain,
                   campaign_id=to_global_id("Campaign", r.campaign_id) if r.campaign_id else None,
                   team_id=to_global_id("Team", r.team_id) if r.team_id else None, user_pk=r.user_id)


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read")
    async def crm_settings(self, info: Info) -> CrmSettingsType:
        return CrmSettingsType.from_model(await crm.settings_for(info.context.session))

    @gated_field(module="crm", permission="crm.read",
                 description="The rules that route new leads without an owner, in the order they are tried.")
    async def lead_assignment_rules(self, info: Info) -> list[LeadAssignmentRuleType]:
        return [LeadAssignmentRuleType.from_model(r) for r in await crm.list_lead_rules(info.context.session)]


@strawberry.input
class LeadAssignmentRuleCreateInput:
    name: str
    position: int | None = strawberry.field(default=None, description="1 = first; default: last.")
    source: str | None = None
    email_domain: str | None = None
    campaign_id: strawberry.ID | None = None
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Exactly one of userId and teamId.")
    team_id: strawberry.ID | None = None


@strawberry.type
class LeadAssignmentRulePayload:
    rule: LeadAssignmentRuleType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class LeadAssignmentRuleUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    position: int | None = strawberry.field(default=strawberry.UNSET, description="Moves the rules in between.")
    source: str | None = strawberry.field(default=strawberry.UNSET, description="null removes the condition.")
    email_domain: str | None = strawberry.UNSET
    campaign_id: strawberry.ID | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="Replaces the team.")
    team_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="Replaces the user.")


@strawberry.input
class LeadAssignmentRuleDeleteInput:
    id: strawberry.ID


@strawberry.type
class LeadAssignmentRuleDeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CrmSettingsUpdateInput:
    visibility: str | None = None
    stale_after_days: int | None = None
    sla_hours: JSON | None = None


@strawberry.type
class CrmSettingsUpdatePayload:
    settings: CrmSettingsType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CustomerShareInput:
    id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class Mutation:
    @gated_mutation(module="crm", permission="crm.admin")
    async def crm_settings_update(self, info: Info, input: CrmSettingsUpdateInput) -> CrmSettingsUpdatePayload:
        ctx: RequestContext = info.context

        async def operation() -> CrmSettingsUpdatePayload:
            settings = await crm.update_settings(
                ctx.session, visibility=input.visibility.lower() if input.visibility else None,  # type: ignore[arg-type]
                stale_after_days=input.stale_after_days,
                sla_hours=input.sla_hours if isinstance(input.sla_hours, dict) else None)
            return CrmSettingsUpdatePayload(settings=CrmSettingsType.from_model(settings))

        return await run_mutation(info, CrmSettingsUpdatePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.admin")
    async def lead_assignment_rule_create(self, info: Info,
                                          input: LeadAssignmentRuleCreateInput) -> LeadAssignmentRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadAssignmentRulePayload:
            rule = await crm.create_lead_rule(
                ctx.session, name=input.name, position=input.position, source=input.source,  # type: ignore[arg-type]
                email_domain=input.email_domain,
                campaign_id=decode_id(input.campaign_id, "Campaign", field="campaignId") if input.campaign_id else None,
                user_id=decode_id(input.user_id, "User", field="userId") if input.user_id else None,
                team_id=decode_id(input.team_id, "Team", field="teamId") if input.team_id else None)
            return LeadAssignmentRulePayload(rule=LeadAssignmentRuleType.from_model(rule))

        return await run_mutation(info, LeadAssignmentRulePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.admin")
    async def lead_assignment_rule_update(self, info: Info,
                                          input: LeadAssignmentRuleUpdateInput) -> LeadAssignmentRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadAssignmentRulePayload:
            changes = {key: getattr(input, key) for key in ("name", "position", "source", "email_domain")
                       if getattr(input, key) is not strawberry.UNSET}
            for key, type_name, field in (("campaign_id", "Campaign", "campaignId"), ("user_id", "User", "userId"),
                                          ("team_id", "Team", "teamId")):
                value = getattr(input, key)
                if value is not strawberry.UNSET:
                    changes[key] = decode_id(value, type_name, field=field) if value is not None else None
            rule = await crm.update_lead_rule(ctx.session, rule_id=decode_id(input.id, "LeadAssignmentRule"),  # type: ignore[arg-type]
                                              **changes)
            return LeadAssignmentRulePayload(rule=LeadAssignmentRuleType.from_model(rule))

        return await run_mutation(info, LeadAssignmentRulePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.admin")
    async def lead_assignment_rule_delete(self, info: Info,
                                          input: LeadAssignmentRuleDeleteInput) -> LeadAssignmentRuleDeletePayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadAssignmentRuleDeletePayload:
            await crm.delete_lead_rule(ctx.session, rule_id=decode_id(input.id, "LeadAssignmentRule"))  # type: ignore[arg-type]
            return LeadAssignmentRuleDeletePayload(deleted_id=input.id)

        return await run_mutation(info, LeadAssignmentRuleDeletePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def customer_share(self, info: Info, input: CustomerShareInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            customer = await crm.share_customer(ctx.session, customer_id=decode_id(input.id, "Customer"),  # type: ignore[arg-type]
                                                user_id=decode_id(input.user_id, "User", field="userId"))
            return await _customer_payload(ctx, customer.id)

        return await run_mutation(info, CustomerPayload, operation, input)
