"""Custom field definitions: ``customFieldDefinitions``, ``customFieldDefine``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.modules.platform import service as platform


@strawberry.enum
class CustomFieldType(Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


@strawberry.type(name="CustomFieldDefinition")
class CustomFieldDefinitionType:
    entity: str
    key: str
    label: str
    type: CustomFieldType
    choices: list[str]
    required: bool
    created_at: datetime

    @classmethod
    def from_model(cls, d) -> CustomFieldDefinitionType:  # type: ignore[no-untyped-def]
        return cls(entity=d.entity, key=d.key, label=d.label, type=CustomFieldType(d.type), choices=list(d.choices),
                   required=d.required, created_at=d.created_at)


@strawberry.type
class Query:
    @gated_field(module="platform", permission="platform.read", description='Fields of an entity, e.g. "crm.customer".')
    async def custom_field_definitions(self, info: Info, entity: str) -> list[CustomFieldDefinitionType]:
        fields = await platform.list_fields(info.context.session, entity=entity)
        return [CustomFieldDefinitionType.from_model(d) for d in fields]


@strawberry.input
class CustomFieldDefineInput:
    entity: str
    key: str
    label: str
    type: CustomFieldType
    choices: list[str] | None = None
    required: bool = False


@strawberry.type
class CustomFieldDefinePayload:
    definition: CustomFieldDefinitionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.customize")
    async def custom_field_define(self, info: Info, input: CustomFieldDefineInput) -> CustomFieldDefinePayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomFieldDefinePayload:
            definition = await platform.define_field(
                ctx.session, entity=input.entity, key=input.key, label=input.label, type=input.type.value,  # type: ignore[arg-type]
                choices=input.choices, required=input.required)
            return CustomFieldDefinePayload(definition=CustomFieldDefinitionType.from_model(definition))

        return await run_mutation(info, CustomFieldDefinePayload, operation, input)
