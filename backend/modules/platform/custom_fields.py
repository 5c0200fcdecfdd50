"""Custom fields: tenants add their own typed fields to modules' entities.

A module declares which of its entities take custom fields (``ENTITIES`` below, by module) and
stores the values in a ``custom_fields`` JSONB column; this service defines fields and validates
values against the definitions (types: text, number, date, boolean, choice; required fields).
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.validation import required_text
from backend.modules.platform.models import CustomField

TYPES = ("text", "number", "date", "boolean", "choice")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# entity -> module that owns it; modules add theirs as they wire the column in.
ENTITIES = {"crm.customer": "crm", "crm.contact": "crm", "crm.lead": "crm", "crm.opportunity": "crm",
            "inventory.product": "inventory"}


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def define_field(session: AsyncSession, *, entity: str, key: str, label: str, type: str,
                       choices: list[str] | None = None, required: bool = False) -> CustomField:
    """Add a field to ``entity``. Refuses UNKNOWN_ENTITY, INVALID_KEY, DUPLICATE_KEY, INVALID_TYPE and a
    choice field without choices."""
    from backend.modules.platform import service as platform

    if entity not in ENTITIES:
        raise DomainError("UNKNOWN_ENTITY", f"Custom fields exist for: {', '.join(sorted(ENTITIES))}.", "entity")
    await platform.ensure_module_enabled(session, ENTITIES[entity])
    if not KEY_RE.match(key or ""):
        raise DomainError("INVALID_KEY", "Keys are lowercase letters, digits and _, starting with a letter.", "key")
    if type not in TYPES:
        raise DomainError("INVALID_TYPE", f"Type is one of {', '.join(t.upper() for t in TYPES)}.", "type")
    options = [c.strip() for c in (choices or []) if c.strip()]
    if type == "choice" and not options:
        raise DomainError("REQUIRED", "A choice field needs its choices.", "choices")
    if any(f.key == key for f in await list_fields(session, entity=entity)):
        raise DomainError("DUPLICATE_KEY", f"{entity} already has a field {key!r}.", "key")
    definition = CustomField(entity=entity, key=key, label=required_text(label, field="label", max_length=100),
                             type=type, choices=options if type == "choice" else [], required=required)
    session.add(definition)
    await session.flush()
    return definition


async def list_fields(session: AsyncSession, *, entity: str) -> list[CustomField]:
    rows = await session.execute(select(CustomField).where(
        CustomField.tenant_id == _tenant_id(session), CustomField.entity == entity).order_by(CustomField.created_at))
    return list(rows.scalars())


def _coerce(definition: CustomField, value: Any) -> Any:
    field = ["customFields", definition.key]
    if definition.type == "text":
        if not isinstance(value, str) or len(value) > 1000:
            raise DomainError("INVALID_VALUE", f"{definition.label} is text (up to 1000 characters).", field)
        return value
    if definition.type == "number":
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise DomainError("INVALID_VALUE", f"{definition.label} is a number.", field) from None
        if isinstance(value, bool) or not number.is_finite():
            raise DomainError("INVALID_VALUE", f"{definition.label} is a number.", field)
        return str(number)
    if definition.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise DomainError("INVALID_VALUE", f"{definition.label} is a date (YYYY-MM-DD).", field) from None
    if definition.type == "boolean":
        if not isinstance(value, bool):
            raise DomainError("INVALID_VALUE", f"{definition.label} is true or false.", field)
        return value
    if value not in definition.choices:
        raise DomainError("INVALID_CHOICE", f"{definition.label} is one of {', '.join(definition.choices)}.", field)
    return value


async def filter_custom_values(session: AsyncSession, *, entity: str, values: Any) -> dict[str, Any] | None:
    """``values`` of a filter (all must match) in the form they are stored in, so that
    ``{"score": 7}`` finds a stored ``"7"``; an unknown key is an error, a null value is ignored."""
    if values is None:
        return None
    if not isinstance(values, dict):
        raise DomainError("INVALID_VALUE", 'Filter custom fields with an object such as {"tier": "gold"}.',
                          "customFields")
    definitions = {d.key: d for d in await list_fields(session, entity=entity)}
    out = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise DomainError("UNKNOWN_CUSTOM_FIELD", f"There is no custom field {key!r}.", ["customFields", key])
        if value is not None:
            out[key] = _coerce(definition, value)
    return out or None


async def validate_values(session: AsyncSession, *, entity: str, values: dict[str, Any] | None,
                          current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The entity's new custom field values: ``current`` updated with ``values`` (null removes one),
    every value checked against its definition, required fields present."""
    definitions = {d.key: d for d in await list_fields(session, entity=entity)}
    result = dict(current or {})
    for key, value in (values or {}).items():
        definition = definitions.get(key)
        if definition is None:
            raise DomainError("UNKNOWN_CUSTOM_FIELD", f"There is no custom field {key!r}.", ["customFields", key])
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _coerce(definition, value)
    for definition in definitions.values():
        if definition.required and definition.key not in result:
            raise DomainError("REQUIRED", f"{definition.label} is required.", ["customFields", definition.key])
    return result
