"""Customers and contacts: create with a duplicate check, update, archive, search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.validation import normalize_email, optional_text, required_text
from backend.modules.crm import events as crm_events
from backend.modules.crm.models import Contact, Customer
from backend.modules.platform import service as platform

KINDS = ("company", "person")
STATUSES = ("lead", "prospect", "customer", "churned")
SIMILAR_NAME = 0.6  # pg_trgm similarity at which a new customer's name suggests a duplicate

_customer = Customer.__table__
_contact = Contact.__table__


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


@dataclass
class CustomerFields:
    """What a caller may set on a customer; None means "not given"."""

    name: str | None = None
    kind: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    industry: str | None = None
    tags: list[str] | None = None
    status: str | None = None
    source: str | None = None
    external_ref: str | None = None
    owner_id: uuid.UUID | None = None
    billing_address: dict[str, Any] | None = None
    shipping_address: dict[str, Any] | None = None
    custom_fields: dict[str, Any] | None = None  # tenant-defined fields (null values remove)
    given: set[str] = field(default_factory=set)  # fields explicitly set (to clear with null)


async def _checked(session: AsyncSession, values: CustomerFields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values.name is not None:
        out["name"] = required_text(values.name, field="name", max_length=200)
    if values.kind is not None:
        if values.kind not in KINDS:
            raise DomainError("INVALID_KIND", "Kind is COMPANY or PERSON.", "kind")
        out["kind"] = values.kind
    if values.status is not None:
        if values.status not in STATUSES:
            raise DomainError("INVALID_STATUS", f"Status is one of {', '.join(STATUSES)}.", "status")
        out["status"] = values.status
    if values.email is not None or "email" in values.given:
        out["email"] = normalize_email(values.email) if values.email else None
    for name, limit in (("phone", 50), ("website", 300), ("industry", 100), ("source", 100), ("external_ref", 100)):
        value = getattr(values, name)
        if value is not None or name in values.given:
            out[name] = optional_text(value, field=name, max_length=limit)
    if values.tags is not None:
        tags = sorted({t.strip().lower() for t in values.tags if t.strip()})
        if any(len(t) > 50 for t in tags) or len(tags) > 30:
            raise DomainError("INVALID_TAGS", "Up to 30 tags of at most 50 characters.", "tags")
        out["tags"] = tags
    if values.owner_id is not None:
        if not await platform.is_member(session, user_id=values.owner_id):
            raise DomainError("NOT_FOUND", "The owner must be a member of this tenant.", "ownerId")
        out["owner_id"] = values.owner_id
    for name in ("billing_address", "shipping_address"):
        value = getattr(values, name)
        if value is not None or name in values.given:
            out[name] = value
    return out


async def find_duplicate(session: AsyncSession, *, name: str, email: str | None,
                         exclude: uuid.UUID | None = None) -> Customer | None:
    """A live customer with the same email, or a very similar name (trigram similarity)."""
    tenant_id = _tenant_id(session)
    match = func.similarity(_customer.c.name, name) >= SIMILAR_NAME
    if email:
        match = or_(func.lower(_customer.c.email) == email.lower(), match)
    stmt = (select(Customer).where(Customer.tenant_id == tenant_id, Customer.archived_at.is_(None), match)
            .order_by(func.similarity(_customer.c.name, name).desc()).limit(1))
    if exclude is not None:
        stmt = stmt.where(Customer.id != exclude)
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_customer(session: AsyncSession, *, values: CustomerFields, created_by: uuid.UUID | None = None,
                          allow_duplicate: bool = False) -> Customer:
    """Create a customer; emits ``customer.created``.

    Refuses DUPLICATE_SUSPECTED (same email or a very similar name) unless ``allow_duplicate``.
    The creator owns the customer unless another owner is given.
    """
    await platform.ensure_module_enabled(session, "crm")
    if values.name is None:
        raise DomainError("REQUIRED", "Name is required.", "name")
    data = await _checked(session, values)
    if not allow_duplicate:
        twin = await find_duplicate(session, name=data["name"], email=data.get("email"))
        if twin is not None:
            raise DomainError("DUPLICATE_SUSPECTED",
                              f"This looks like {twin.name} ({to_global_id('Customer', twin.id)}); "
                              "pass allowDuplicate: true to create it anyway.", "name")
    if "owner_id" not in data and created_by is not None and await platform.is_member(session, user_id=created_by):
        data["owner_id"] = created_by
    data["custom_fields"] = await platform.validate_values(session, entity="crm.customer", values=values.custom_fields)
    customer = Customer(**data)
    session.add(customer)
    await session.flush()
    gid = to_global_id("Customer", customer.id)
    await events.emit(session, crm_events.CUSTOMER_CREATED, aggregate_id=gid,
                      payload={"customerId": gid, "name": customer.name, "kind": customer.kind.upper(),
                               "email": customer.email, "status": customer.status})
    return customer


async def get_customer(session: AsyncSession, *, customer_id: uuid.UUID, field_name: str | list[str] = "id"
                       ) -> Customer:
    found = (await session.execute(select(Customer).where(
        Customer.tenant_id == _tenant_id(session), Customer.id == customer_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No customer with this ID.", field_name)
    return found


async def update_customer(session: AsyncSession, *, customer_id: uuid.UUID, values: CustomerFields) -> Customer:
    """Change the given fields; emits ``customer.updated`` with the names of what changed."""
    await platform.ensure_module_enabled(session, "crm")
    customer = await get_customer(session, customer_id=customer_id)
    changed = []
    data = await _checked(session, values)
    if values.custom_fields is not None:
        data["custom_fields"] = await platform.validate_values(
            session, entity="crm.customer", values=values.custom_fields, current=customer.custom_fields)
    for name, value in data.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    if changed:
        customer.updated_at = utcnow()
        await session.flush()
        gid = to_global_id("Customer", customer.id)
        await events.emit(session, crm_events.CUSTOMER_UPDATED, aggregate_id=gid,
                          payload={"customerId": gid, "changed": sorted(changed)})
    return customer


async def archive_customer(session: AsyncSession, *, customer_id: uuid.UUID) -> Customer:
    """Hide a customer from lists; its history stays. Emits ``customer.archived`` once."""
    await platform.ensure_module_enabled(session, "crm")
    customer = await get_customer(session, customer_id=customer_id)
    if customer.archived_at is None:
        customer.archived_at = customer.updated_at = utcnow()
        await session.flush()
        gid = to_global_id("Customer", customer.id)
        await events.emit(session, crm_events.CUSTOMER_ARCHIVED, aggregate_id=gid, payload={"customerId": gid})
    return customer


# --- contacts -------------------------------------------------------------------------------------


async def create_contact(session: AsyncSession, *, customer_id: uuid.UUID, name: str, email: str | None = None,
                         phone: str | None = None, title: str | None = None, is_primary: bool = False,
                         custom_fields: dict[str, Any] | None = None) -> Contact:
    """Add a person to a customer; the first contact (or one marked primary) becomes the primary."""
    await platform.ensure_module_enabled(session, "crm")
    customer = await get_customer(session, customer_id=customer_id, field_name="customerId")
    contact = Contact(customer_id=customer.id, name=required_text(name, field="name", max_length=200),
                      email=normalize_email(email) if email else None,
                      phone=optional_text(phone, field="phone", max_length=50),
                      title=optional_text(title, field="title", max_length=100),
                   custom_fields=await platform.validate_values(session, entity="crm.contact", values=custom_fields))
    has_primary = await session.scalar(select(func.count()).select_from(_contact).where(
        _contact.c.tenant_id == customer.tenant_id, _contact.c.customer_id == customer.id, _contact.c.is_primary))
    if is_primary or not has_primary:
        await _clear_primary(session, customer.id)
        contact.is_primary = True
    session.add(contact)
    await session.flush()
    gid = to_global_id("Contact", contact.id)
    await events.emit(session, crm_events.CONTACT_CREATED, aggregate_id=gid,
                      payload={"contactId": gid, "customerId": to_global_id("Customer", customer.id),
                               "name": contact.name, "email": contact.email})
    return contact


async def get_contact(session: AsyncSession, *, contact_id: uuid.UUID, field_name: str | list[str] = "contactId"
                      ) -> Contact:
    found = (await session.execute(select(Contact).where(
        Contact.tenant_id == _tenant_id(session), Contact.id == contact_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No contact with this ID.", field_name)
    return found


async def primary_contact(session: AsyncSession, *, customer_id: uuid.UUID) -> Contact | None:
    return (await session.execute(select(Contact).where(
        Contact.tenant_id == _tenant_id(session), Contact.customer_id == customer_id, Contact.is_primary)
        .limit(1))).scalar_one_or_none()


async def _clear_primary(session: AsyncSession, customer_id: uuid.UUID) -> None:
    from sqlalchemy import update

    await session.execute(update(_contact).where(_contact.c.tenant_id == _tenant_id(session),
                                                 _contact.c.customer_id == customer_id).values(is_primary=False))


async def update_contact(session: AsyncSession, *, contact_id: uuid.UUID, name: str | None = None,
                         email: str | None = None, phone: str | None = None, title: str | None = None,
                         is_primary: bool | None = None, custom_fields: dict[str, Any] | None = None) -> Contact:
    await platform.ensure_module_enabled(session, "crm")
    contact = (await session.execute(select(Contact).where(
        Contact.tenant_id == _tenant_id(session), Contact.id == contact_id))).scalar_one_or_none()
    if contact is None:
        raise DomainError("NOT_FOUND", "No contact with this ID.", "id")
    if name is not None:
        contact.name = required_text(name, field="name", max_length=200)
    if email is not None:
        contact.email = normalize_email(email) if email else None
    if phone is not None:
        contact.phone = optional_text(phone, field="phone", max_length=50)
    if title is not None:
        contact.title = optional_text(title, field="title", max_length=100)
    if is_primary:
        await _clear_primary(session, contact.customer_id)
        contact.is_primary = True
    if custom_fields is not None:
        contact.custom_fields = await platform.validate_values(session, entity="crm.contact", values=custom_fields,
                                                               current=contact.custom_fields)
    await session.flush()
    return contact


# --- reading --------------------------------------------------------------------------------------


@dataclass
class CustomerFilter:
    query: str | None = None
    status: str | None = None
    owner_id: uuid.UUID | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_archived: bool = False
    custom_fields: dict[str, Any] | None = None  # all must match (JSONB containment)


def customers_query(tenant_id: uuid.UUID, flt: CustomerFilter | None, columns: Sequence[Any] = ()) -> Select[Any]:
    """The customers matching ``flt`` (a Core select of ``columns``, all by default; the caller pages it).

    ``query`` matches name, email, phone and contact names, typo-tolerant through trigrams.
    """
    stmt = select(*(columns or [_customer])).where(_customer.c.tenant_id == tenant_id)
    flt = flt or CustomerFilter()
    if not flt.include_archived:
        stmt = stmt.where(_customer.c.archived_at.is_(None))
    if flt.query and flt.query.strip():
        q = flt.query.strip()
        like = f"%{q.lower()}%"
        contact_match = select(literal(1)).where(
            _contact.c.tenant_id == tenant_id, _contact.c.customer_id == _customer.c.id,
            or_(_contact.c.name.op("%")(q), func.lower(_contact.c.name).like(like),
                func.lower(_contact.c.email).like(like))).exists()
        stmt = stmt.where(or_(_customer.c.name.op("%")(q), func.lower(_customer.c.name).like(like),
                              func.lower(_customer.c.email).like(like), _customer.c.phone.like(f"%{q}%"),
                              contact_match))
    if flt.status:
        stmt = stmt.where(_customer.c.status == flt.status)
    if flt.owner_id:
        stmt = stmt.where(_customer.c.owner_id == flt.owner_id)
    if flt.tag:
        stmt = stmt.where(_customer.c.tags.contains([flt.tag.lower()]))
    if flt.created_after:
        stmt = stmt.where(_customer.c.created_at >= flt.created_after)
    if flt.created_before:
        stmt = stmt.where(_customer.c.created_at < flt.created_before)
    if flt.custom_fields:
        stmt = stmt.where(_customer.c.custom_fields.contains(flt.custom_fields))
    return stmt


async def share_customer(session: AsyncSession, *, customer_id: uuid.UUID, user_id: uuid.UUID) -> Customer:
    """Let another member see and work on this customer when visibility is ``own``."""
    await platform.ensure_module_enabled(session, "crm")
    customer = await get_customer(session, customer_id=customer_id)
    if not await platform.is_member(session, user_id=user_id):
        raise DomainError("NOT_FOUND", "The user must be a member of this tenant.", "userId")
    if user_id not in customer.shared_with:
        customer.shared_with = [*customer.shared_with, user_id]
        await session.flush()
    return customer


async def merge_customers(session: AsyncSession, *, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> Customer:
    """Merge a duplicate into ``survivor_id`` in one transaction.

    Moves contacts, opportunities, activities, cases, leads and campaign memberships; fills the
    survivor's empty fields and unites tags; archives the duplicate with ``merged_into_id`` (its
    timeline stays and shows under the survivor). Emits ``customer.merged`` so other modules move
    their references. Refuses MERGE_INTO_ITSELF and customers already merged.
    """
    from sqlalchemy import delete, update

    from backend.modules.crm.models import Activity, CampaignMember, Case, Lead, Opportunity

    await platform.ensure_module_enabled(session, "crm")
    if survivor_id == merged_id:
        raise DomainError("MERGE_INTO_ITSELF", "Choose two different customers.", "mergedId")
    survivor = await get_customer(session, customer_id=survivor_id, field_name="survivorId")
    merged = await get_customer(session, customer_id=merged_id, field_name="mergedId")
    for customer, name in ((survivor, "survivorId"), (merged, "mergedId")):
        if customer.merged_into_id is not None:
            raise DomainError("ALREADY_MERGED", f"{customer.name} was merged into another customer.", name)
    tenant_id = _tenant_id(session)
    for model in (Contact, Opportunity, Activity, Case, Lead):
        table = model.__table__
        await session.execute(update(table).where(table.c.tenant_id == tenant_id, table.c.customer_id == merged.id)
                              .values(customer_id=survivor.id))
    member = CampaignMember.__table__
    already = select(member.c.campaign_id).where(member.c.tenant_id == tenant_id, member.c.customer_id == survivor.id)
    await session.execute(delete(member).where(member.c.tenant_id == tenant_id, member.c.customer_id == merged.id,
                                               member.c.campaign_id.in_(already)))
    await session.execute(update(member).where(member.c.tenant_id == tenant_id, member.c.customer_id == merged.id)
                          .values(customer_id=survivor.id))
    await session.execute(update(_customer).where(_customer.c.tenant_id == tenant_id,
                                                  _customer.c.merged_into_id == merged.id)
                          .values(merged_into_id=survivor.id))  # earlier merges into the duplicate follow it
    for name in ("email", "phone", "website", "industry", "source", "external_ref", "owner_id", "billing_address",
                 "shipping_address"):
        if getattr(survivor, name) in (None, "") and getattr(merged, name) not in (None, ""):
            setattr(survivor, name, getattr(merged, name))
    survivor.tags = sorted(set(survivor.tags or []) | set(merged.tags or []))
    survivor.shared_with = list(dict.fromkeys([*(survivor.shared_with or []), *(merged.shared_with or [])]))
    merged.merged_into_id, merged.archived_at = survivor.id, utcnow()
    survivor.updated_at = merged.updated_at = utcnow()
    await session.flush()
    gid = to_global_id("Customer", survivor.id)
    await events.emit(session, crm_events.CUSTOMER_MERGED, aggregate_id=gid, payload={
        "customerId": gid, "mergedCustomerId": to_global_id("Customer", merged.id), "name": merged.name})
    return survivor
