"""CRM settings and sharing: ``crmSettings``, ``crmSettingsUpdate``, ``customerShare``."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import decode_id
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.customers import CustomerPayload, _customer_payload


@strawberry.type(name="CrmSettings")
class CrmSettingsType:
    visibility: str = strawberry.field(
        description="For sales users: ALL records, their TEAM's (theirs and teammates'), or OWN; plus shared.")
    stale_after_days: int
    sla_hours: JSON = strawberry.field(description='{"urgent": [first response, resolution], ...} in hours')

    @classmethod
    def from_model(cls, s) -> CrmSettingsType:  # type: ignore[no-untyped-def]
        return cls(visibility=s.visibility.upper(), stale_after_days=s.stale_after_days, sla_hours=s.sla_hours)


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read")
    async def crm_settings(self, info: Info) -> CrmSettingsType:
        return CrmSettingsType.from_model(await crm.settings_for(info.context.session))


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

    @gated_mutation(module="crm", permission="crm.write")
    async def customer_share(self, info: Info, input: CustomerShareInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            customer = await crm.share_customer(ctx.session, customer_id=decode_id(input.id, "Customer"),  # type: ignore[arg-type]
                                                user_id=decode_id(input.user_id, "User", field="userId"))
            return await _customer_payload(ctx, customer.id)

        return await run_mutation(info, CustomerPayload, operation, input)
