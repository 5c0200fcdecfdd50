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

import io
from dataclasses import asdict

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from backend.api.rest import RestError, tenant_call
from backend.core.errors import BadUserInput, DomainError
from backend.modules.crm.imports import (
    export_contacts,
    export_customers,
    export_leads,
    import_contacts,
    import_customers,
    import_leads,
)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def import_customers_endpoint(request: Request) -> Response:
    return await _import(request, import_customers)


async def import_leads_endpoint(request: Request) -> Response:
    return await _import(request, import_leads)


async def import_contacts_endpoint(request: Request) -> Response:
    return await _import(request, import_contacts)


async def _import(request: Request, importer) -> Response:  # type: ignore[no-untyped-def]
    if request.headers.get("content-type", "").split(";")[0].strip() not in ("text/csv", "application/csv"):
        return RestError(BadUserInput("Send the file as text/csv."), 415).response()
    mapping = {}
    for item in request.query_params.getlist("map"):
        column, _, target = item.rpartition(":")
        mapping[column] = target
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        return RestError(BadUserInput("The file is not UTF-8."), 400).response()
    try:
        async with tenant_call(request, module="crm", permission="crm.write") as call:
            report = await importer(
                call.session, lines=io.StringIO(text, newline=""), mapping=mapping or None,
                mode=request.query_params.get("mode", "all_or_nothing").lower(),
                dry_run=request.query_params.get("dryRun", "false").lower() == "true",
                owner_id=call.principal.user_id)
    except RestError as exc:
        return exc.response()
    except DomainError as exc:
        return _json({"errors": [{"message": exc.message, "field": exc.field, "code": exc.code}]}, 400)
    return _json({"rows": report.rows, "created": report.created, "updated": report.updated,
                  "skipped": report.skipped, "dryRun": report.dry_run, "written": report.written,
                  "errors": [asdict(e) for e in report.errors]}, 200 if not report.errors or report.written else 422)


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
