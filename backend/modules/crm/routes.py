"""CRM file endpoints: CSV import and export of customers, contacts and leads.

    POST /crm/import/customers?mode=all_or_nothing|skip_invalid&dryRun=true   (body: text/csv, UTF-8)
         optional mapping: ?map=Company%20Name:name&map=E-mail:email
    POST /crm/import/leads (same parameters; columns name, company, email, phone, source, status)
    POST /crm/import/contacts (same parameters; columns customer_id | customer_external_reference |
        customer, id, name, title, email, phone, primary)
    GET  /crm/export/customers.csv?query=...&includeArchived=true
    GET  /crm/export/contacts.csv
    GET  /crm/export/leads.csv?status=new
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from backend.api.rest import RestError, csv_upload, tenant_call
from backend.modules.crm.imports import (
    export_contacts,
    export_customers,
    export_leads,
    import_contacts,
    import_customers,
    import_leads,
)


async def import_customers_endpoint(request: Request) -> Response:
    return await csv_upload(request, import_customers, module="crm", permission="crm.write")


async def import_leads_endpoint(request: Request) -> Response:
    return await csv_upload(request, import_leads, module="crm", permission="crm.write")


async def import_contacts_endpoint(request: Request) -> Response:
    return await csv_upload(request, import_contacts, module="crm", permission="crm.write")


def _csv_download(filename: str, chunks_for):  # type: ignore[no-untyped-def]
    """An endpoint streaming ``chunks_for(session, request)``; the transaction stays open until the
    download ends."""

    async def endpoint(request: Request) -> Response:
        manager = tenant_call(request, module="crm", permission="crm.read")
        try:
            call = await manager.__aenter__()
        except RestError as exc:
            return exc.response()

        async def body():  # type: ignore[no-untyped-def]
            try:
                async for chunk in chunks_for(call.session, request):
                    yield chunk.encode()
            finally:
                await manager.__aexit__(None, None, None)

        return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": f'attachment; filename="{filename}"'})

    return endpoint


routes = [
    Route("/crm/import/customers", import_customers_endpoint, methods=["POST"]),
    Route("/crm/import/leads", import_leads_endpoint, methods=["POST"]),
    Route("/crm/import/contacts", import_contacts_endpoint, methods=["POST"]),
    Route("/crm/export/customers.csv", _csv_download("customers.csv", lambda session, request: export_customers(
        session, query=request.query_params.get("query"),
        include_archived=request.query_params.get("includeArchived") == "true")), methods=["GET"]),
    Route("/crm/export/contacts.csv", _csv_download("contacts.csv", lambda session, _r: export_contacts(session)),
          methods=["GET"]),
    Route("/crm/export/leads.csv", _csv_download("leads.csv", lambda session, request: export_leads(
        session, status=request.query_params.get("status"))), methods=["GET"]),
]
