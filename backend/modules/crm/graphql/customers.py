"""``customers``, ``customer*`` and ``contact*`` mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.loaders import by_id_loader, rows_by_id
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args, statement_template
from backend.api.rows import Selection
from backend.core.db import BATCH_TENANT
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.types import ContactType, CustomerKind, CustomerStatus, CustomerType
from backend.modules.crm.models import Contact, Customer
from backend.modules.platform import service as platform

_customer = Customer.__table__
_contact = Contact.__table__


def customer_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, CustomerType | None]:
    return by_id_loader(ctx, "CustomerById", load_customers, row_type=CustomerType)


async def load_customers(ctx: RequestContext, ids: list[uuid.UUID],
                         selection: Selection = None) -> dict[uuid.UUID, CustomerType]:
    rows = await rows_by_id(ctx, _customer, ids, CustomerType, selection)
    return {r.id: CustomerType.from_row(r) for r in rows}


async def load_contacts(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, ContactType]:
    rows = await rows_by_id(ctx, _contact, ids)
    return {r.id: ContactType.from_row(r) for r in rows}


@strawberry.enum
class CustomerSortField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class CustomerSort:
    field: CustomerSortField = CustomerSortField.NAME
    direction: SortDirection = SortDirection.ASC


@strawberry.input
class CustomerFilter:
    query: str | None = strawberry.field(default=None, description="Name, email, phone or a contact's name; "
                                                                   "typo-tolerant.")
    status: CustomerStatus | None = None
    owner_id: strawberry.ID | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_archived: bool = False
    custom_fields: JSON | None = strawberry.field(default=None, description='e.g. {"tier": "gold"}: all must match.')


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read", description="Contacts of the customers you may see.")
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: ContactFilter | None = None) -> Connection[ContactType]:
        return await _contacts_page(info, first, after, filter)

    @gated_field(module="crm", permission="crm.read")
    async def customers(self, info: Info, first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None, filter: CustomerFilter | None = None,
                        sort: CustomerSort | None = None) -> Connection[CustomerType]:
        ctx: RequestContext = info.context
        flt = crm.CustomerFilter()
        if filter is not None:
            flt = crm.CustomerFilter(
                query=filter.query, status=filter.status.value if filter.status else None,
                owner_id=decode_id(filter.owner_id, "User", field="ownerId") if filter.owner_id else None,
                tag=filter.tag, created_after=filter.created_after, created_before=filter.created_before,
                include_archived=filter.include_archived,
                custom_fields=await platform.filter_custom_values(ctx.session, entity="crm.customer",  # type: ignore[arg-type]
                                                                  values=filter.custom_fields))
        sort = sort or CustomerSort()
        sort_col = _customer.c[sort.field.value]
        columns = CustomerType.columns(ctx.selection, keep=(sort_col.key, "id"))  # those the query selects
        if filter is None:  # the plain list: its statement is built once per selection
            template = statement_template(("customers", tuple(columns)), lambda: crm.customers_query(
                BATCH_TENANT, crm.CustomerFilter(), columns))
            return await keyset_page(ctx.session, template,  # type: ignore[arg-type]
                                     args=page_args(first, after, last, before), id_col=_customer.c.id,
                                     sort_col=sort_col, descending=sort.direction is SortDirection.DESC,
                                     to_node=CustomerType.from_row,
                                     params={"batch_tenant": ctx.principal.tenant_id},  # type: ignore[union-attr]
                                     tree=ctx.nodes_tree)
        return await keyset_page(ctx.session, crm.customers_query(ctx.principal.tenant_id, flt, columns),  # type: ignore[arg-type]
                                 args=page_args(first, after, last, before), id_col=_customer.c.id,
                                 sort_col=sort_col,
                                 descending=sort.direction is SortDirection.DESC, to_node=CustomerType.from_row)


@strawberry.input
class ContactFilter:
    customer_id: strawberry.ID | None = None
    query: str | None = strawberry.field(default=None, description="Name or email (contains).")
    custom_fields: JSON | None = strawberry.field(default=None, description='e.g. {"wechat": "jade_tea"}')


async def _contacts_page(info: Info, first: int | None, after: str | None,
                         filter: ContactFilter | None) -> Connection[ContactType]:
    from sqlalchemy import func, or_

    ctx: RequestContext = info.context
    session = ctx.require_tenant_session()
    tenant_id = ctx.principal.tenant_id  # type: ignore[union-attr]
    same_customer = (_customer.c.tenant_id == _contact.c.tenant_id) & (_customer.c.id == _contact.c.customer_id)
    # Through their customer: the customer's visibility (OWN, TEAM) and archiving apply to its contacts.
    stmt = (select(_contact).join(_customer, same_customer)
            .where(_contact.c.tenant_id == tenant_id, _customer.c.archived_at.is_(None)))
    flt = filter or ContactFilter()
    if flt.customer_id:
        stmt = stmt.where(_contact.c.customer_id == decode_id(flt.customer_id, "Customer", field="customerId"))
    if flt.query and flt.query.strip():
        like = f"%{flt.query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(_contact.c.name).like(like), func.lower(_contact.c.email).like(like)))
    values = await platform.filter_custom_values(session, entity="crm.contact", values=flt.custom_fields)
    if values:
        stmt = stmt.where(_contact.c.custom_fields.contains(values))
    return await keyset_page(session, stmt, args=page_args(first, after), id_col=_contact.c.id,
                             sort_col=_contact.c.name, to_node=ContactType.from_row)


@strawberry.input
class CustomerCreateInput:
    name: str
    kind: CustomerKind = CustomerKind.COMPANY
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    industry: str | None = None
    tags: list[str] | None = None
    status: CustomerStatus | None = None
    source: str | None = None
    external_reference: str | None = None
    owner_id: strawberry.ID | None = None
    billing_address: JSON | None = None
    shipping_address: JSON | None = None
    custom_fields: JSON | None = None
    allow_duplicate: bool = strawberry.field(default=False, description="Create even if it looks like a duplicate.")


@strawberry.input
class CustomerUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    kind: CustomerKind | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    status: CustomerStatus | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    external_reference: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    billing_address: JSON | None = strawberry.UNSET
    shipping_address: JSON | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(default=strawberry.UNSET, description="Merged; null removes a key.")


def _fields(data: CustomerCreateInput | CustomerUpdateInput) -> crm.CustomerFields:
    """Input -> service fields; a field given as null in an update clears it."""
    out = crm.CustomerFields()
    for name in ("name", "email", "phone", "website", "industry", "tags", "source", "billing_address",
                 "shipping_address"):
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        setattr(out, name, value)
        out.given.add(name)
    for name, enum_value in (("kind", data.kind), ("status", data.status)):
        if enum_value not in (strawberry.UNSET, None):
            setattr(out, name, enum_value.value)
    if data.external_reference is not strawberry.UNSET:
        out.external_ref = data.external_reference
        out.given.add("external_ref")
    if data.owner_id not in (strawberry.UNSET, None):
        out.owner_id = decode_id(data.owner_id, "User", field="ownerId")
    if isinstance(data.custom_fields, dict):
        out.custom_fields = data.custom_fields
    return out


@strawberry.type
class CustomerPayload:
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CustomerArchiveInput:
    id: strawberry.ID


@strawberry.input
class CustomerMergeInput:
    survivor_id: strawberry.ID = strawberry.field(description="The customer that stays.")
    merged_id: strawberry.ID = strawberry.field(description="The duplicate: its records move, then it is archived.")


@strawberry.input
class ContactCreateInput:
    customer_id: strawberry.ID
    name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    is_primary: bool = False
    custom_fields: JSON | None = None


@strawberry.input
class ContactUpdateInput:
    id: strawberry.ID
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    is_primary: bool | None = None
    custom_fields: JSON | None = None


@strawberry.type
class ContactPayload:
    contact: ContactType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _customer_payload(ctx: RequestContext, customer_id: uuid.UUID) -> CustomerPayload:
    return CustomerPayload(customer=(await load_customers(ctx, [customer_id]))[customer_id])


@strawberry.type
class Mutation:
    @gated_mutation(module="crm", permission="crm.write")
    async def customer_create(self, info: Info, input: CustomerCreateInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            customer = await crm.create_customer(ctx.session, values=_fields(input),  # type: ignore[arg-type]
                                                 created_by=ctx.principal.user_id,
                                                 allow_duplicate=input.allow_duplicate)
            return await _customer_payload(ctx, customer.id)

        return await run_mutation(info, CustomerPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def customer_update(self, info: Info, input: CustomerUpdateInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            customer = await crm.update_customer(ctx.session, customer_id=decode_id(input.id, "Customer"),  # type: ignore[arg-type]
                                                 values=_fields(input))
            return await _customer_payload(ctx, customer.id)

        return await run_mutation(info, CustomerPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def customer_archive(self, info: Info, input: CustomerArchiveInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            customer = await crm.archive_customer(ctx.session, customer_id=decode_id(input.id, "Customer"))  # type: ignore[arg-type]
            return await _customer_payload(ctx, customer.id)

        return await run_mutation(info, CustomerPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def customer_merge(self, info: Info, input: CustomerMergeInput) -> CustomerPayload:
        ctx: RequestContext = info.context

        async def operation() -> CustomerPayload:
            survivor = await crm.merge_customers(
                ctx.session, survivor_id=decode_id(input.survivor_id, "Customer", field="survivorId"),  # type: ignore[arg-type]
                merged_id=decode_id(input.merged_id, "Customer", field="mergedId"))
            return await _customer_payload(ctx, survivor.id)

        return await run_mutation(info, CustomerPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def contact_create(self, info: Info, input: ContactCreateInput) -> ContactPayload:
        ctx: RequestContext = info.context

        async def operation() -> ContactPayload:
            contact = await crm.create_contact(
                ctx.session, customer_id=decode_id(input.customer_id, "Customer", field="customerId"),  # type: ignore[arg-type]
                name=input.name, email=input.email, phone=input.phone, title=input.title, is_primary=input.is_primary,
                custom_fields=input.custom_fields if isinstance(input.custom_fields, dict) else None)
            return ContactPayload(contact=(await load_contacts(ctx, [contact.id]))[contact.id])

        return await run_mutation(info, ContactPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def contact_update(self, info: Info, input: ContactUpdateInput) -> ContactPayload:
        ctx: RequestContext = info.context

        async def operation() -> ContactPayload:
            contact = await crm.update_contact(
                ctx.session, contact_id=decode_id(input.id, "Contact"), name=input.name, email=input.email,  # type: ignore[arg-type]
                phone=input.phone, title=input.title, is_primary=input.is_primary,
                custom_fields=input.custom_fields if isinstance(input.custom_fields, dict) else None)
            return ContactPayload(contact=(await load_contacts(ctx, [contact.id]))[contact.id])

        return await run_mutation(info, ContactPayload, operation, input)


node_sources = [
    NodeSource("Customer", "crm", "crm.read", load_customers),
    NodeSource("Contact", "crm", "crm.read", load_contacts),
]
