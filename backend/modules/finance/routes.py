"""Finance HTTP endpoints.

``POST /webhooks/stripe``: Stripe's events for connected accounts (see ``stripe_payments``). Answers
400 when the signature (checked on the raw body) is wrong, 200 otherwise, including for events it
ignores or has seen before, so that Stripe stops retrying them.

CSV exports (permission finance.read; amounts as plain decimals in the base currency):

    GET /finance/export/trial-balance.csv?asOf=2026-12-31
    GET /finance/export/profit-and-loss.csv?from=2026-01-01&to=2026-12-31
    GET /finance/export/ar-aging.csv?asOf=2026-12-31
    GET /finance/export/general-ledger.csv?accountId=<Account ID>&from=...&to=...
    GET /finance/export/balance-sheet.csv?asOf=...    GET /finance/export/ap-aging.csv?asOf=...
    GET /finance/export/customer-statement.csv?customerId=<Customer ID>&from=...&to=...
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.api.rest import RestError, tenant_call
from backend.core.errors import BadUserInput, DomainError
from backend.modules.finance.stripe_payments import WebhookRefused, handle_webhook

log = structlog.get_logger("jishi.stripe")


async def stripe_webhook(request: Request) -> Response:
    payload = await request.body()
    try:
        outcome = await handle_webhook(request.app.state.db, payload, request.headers.get("stripe-signature"),
                                       request.app.state.settings)
    except WebhookRefused as exc:
        log.warning("stripe.webhook_refused", reason=str(exc))
        return Response(orjson.dumps({"error": "invalid signature or payload"}), status_code=400,
                        media_type="application/json")
    log.info("stripe.webhook", outcome=outcome)
    return Response(orjson.dumps({"received": True, "outcome": outcome}), media_type="application/json")


def _day(request: Request, name: str, default: date | None = None) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise BadUserInput(f"Give ?{name}=YYYY-MM-DD.")
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadUserInput(f"{name} is a date, YYYY-MM-DD.") from None


async def _rows(session, request: Request, report: str) -> tuple[list[str], list[list]]:  # type: ignore[no-untyped-def]
    from backend.api.relay import decode_id
    from backend.modules.finance import service as finance
    from backend.modules.finance.reports import BUCKETS

    if report == "trial-balance":
        found, _ = await finance.trial_balance(session, as_of=_day(request, "asOf", date.today()))
        return ["code", "account", "type", "debit", "credit", "balance"], [
            [b.code, b.name, b.type, b.debit, b.credit, b.balance] for b in found]
    if report == "profit-and-loss":
        income, expenses, _ = await finance.profit_and_loss(session, since=_day(request, "from"),
                                                            until=_day(request, "to"))
        return ["code", "account", "type", "amount"], [
            [b.code, b.name, b.type, -b.balance if b.type == "income" else b.balance] for b in [*income, *expenses]]
    if report == "ar-aging":
        rows, _ = await finance.ar_aging(session, as_of=_day(request, "asOf", date.today()))
        return ["customer_id", *BUCKETS, "total"], [
            [str(r.customer_id), *[r.buckets[b] for b in BUCKETS], r.total] for r in rows]
    if report == "general-ledger":
        try:
            account = decode_id(request.query_params.get("accountId", ""), "Account", field="accountId")
        except DomainError:
            raise BadUserInput("Give ?accountId= (an Account ID).") from None
        opening, lines, _ = await finance.account_detail(session, account_ids=[account], since=_day(request, "from"),
                                                         until=_day(request, "to"))
        return ["date", "entry", "memo", "debit", "credit", "balance"], [
            ["", "opening balance", "", "", "", opening],
            *[[r.entry_date.isoformat(), r.number, r.memo or "", r.debit, r.credit, r.balance] for r in lines]]
    if report == "balance-sheet":
        found, earnings, _ = await finance.balance_sheet(session, as_of=_day(request, "asOf", date.today()))
        return ["code", "account", "type", "amount"], [
            *[[b.code, b.name, b.type, b.balance if b.type == "asset" else -b.balance] for b in found],
            ["", "current earnings", "equity", earnings]]
    if report == "ap-aging":
        from backend.modules.finance.reports import BUCKETS as AP_BUCKETS

        rows = await finance.ap_aging(session, as_of=_day(request, "asOf", date.today()))
        return ["supplier", *AP_BUCKETS, "total"], [
            [supplier, *[b[k] for k in AP_BUCKETS], sum(b.values(), Decimal(0))] for supplier, b in rows]
    if report == "customer-statement":
        try:
            customer = decode_id(request.query_params.get("customerId", ""), "Customer", field="customerId")
        except DomainError:
            raise BadUserInput("Give ?customerId= (a Customer ID).") from None
        accounts = [await finance.account_for(session, "ar"), await finance.account_for(session, "customer_credit")]
        opening, lines, _ = await finance.account_detail(session, account_ids=accounts, customer_id=customer,
                                                         since=_day(request, "from"), until=_day(request, "to"))
        return ["date", "entry", "memo", "debit", "credit", "balance"], [
            ["", "opening balance", "", "", "", opening],
            *[[r.entry_date.isoformat(), r.number, r.memo or "", r.debit, r.credit, r.balance] for r in lines]]
    raise BadUserInput("Reports: trial-balance, profit-and-loss, balance-sheet, ar-aging, ap-aging, general-ledger, "
                       "customer-statement.")


async def export(request: Request) -> Response:
    report = request.path_params["report"]
    try:
        async with tenant_call(request, module="finance", permission="finance.read") as call:
            header, rows = await _rows(call.session, request, report)
    except RestError as exc:
        return exc.response()
    except (BadUserInput, DomainError) as exc:
        code = getattr(exc, "code", "BAD_USER_INPUT")
        return Response(orjson.dumps({"errors": [{"message": exc.message, "extensions": {"code": code}}]}),
                        status_code=400, media_type="application/json")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[f"{v:f}" if isinstance(v, Decimal) else v for v in row] for row in rows])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{report}.csv"'})


routes = [
    Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
    Route("/finance/export/{report}.csv", export, methods=["GET"]),
]
