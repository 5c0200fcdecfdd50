"""Card payments through Stripe Connect, and refunds.

* ``create_payment_intent``: a PaymentIntent for an invoice's balance on the tenant's connected
  account (``Stripe-Account`` header), with an idempotency key made from our IDs and the amount, so
  a retried request never creates a second one.
* ``handle_webhook``: ``POST /webhooks/stripe`` verifies the signature on the raw body with the
  SDK, routes the event by its ``account`` to the tenant (``stripe_account``), ignores an event id
  it has seen (``fin_stripe_event``), and records ``payment_intent.succeeded`` as a payment and
  ``charge.refunded`` as a refund.
* ``record_refund``: money given back on a payment, first from its unapplied credit, then reopening
  the invoices it paid (Dr customer credit / Dr receivables / Cr bank).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import stripe
import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import Database, set_tenant, utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.money import minor_units, parse_amount, round_money
from backend.core.validation import optional_text
from backend.modules.finance import events as fin_events
from backend.modules.finance.invoices import OPEN, get_invoice, record_payment, settings_of, settle
from backend.modules.finance.ledger import Line, account_for, base_currency, begin_posting, post
from backend.modules.finance.models import Invoice, Payment, PaymentAllocation, Refund, StripeAccount, StripeEvent
from backend.modules.platform import service as platform
from backend.settings import Settings, get_settings

log = structlog.get_logger("jishi.stripe")
_account = StripeAccount.__table__
_event = StripeEvent.__table__
_refund = Refund.__table__
_allocation = PaymentAllocation.__table__


def client(settings: Settings | None = None) -> stripe.StripeClient:
    settings = settings or get_settings()
    if not settings.stripe_secret_key:
        raise DomainError("STRIPE_NOT_CONFIGURED", "This service has no Stripe key (JISHI_STRIPE_SECRET_KEY).",
                          "invoiceId")
    bases: dict[str, str] = {"api": settings.stripe_api_base} if settings.stripe_api_base else {}
    return stripe.StripeClient(settings.stripe_secret_key, base_addresses=bases,  # type: ignore[arg-type]
                               max_network_retries=2)


async def link_account(session: AsyncSession, account_id: str | None) -> None:
    """Route webhooks of ``account_id`` to this tenant (called when the settings change)."""
    tenant_id = session.info["tenant_id"]
    await session.execute(delete(_account).where(_account.c.tenant_id == tenant_id))
    if account_id:
        taken = await session.scalar(select(_account.c.tenant_id).where(_account.c.account_id == account_id))
        if taken is not None:
            raise DomainError("ACCOUNT_TAKEN", "This Stripe account is connected to another tenant.",
                              "stripeAccountId")
        await session.execute(insert(_account).values(account_id=account_id, tenant_id=tenant_id))


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str
    amount: Decimal
    currency: str


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_units(currency)).to_integral_value())


async def create_payment_intent(session: AsyncSession, *, invoice_id: uuid.UUID,
                                settings: Settings | None = None) -> Intent:
    await platform.ensure_module_enabled(session, "finance")
    books = await settings_of(session)
    if not books.stripe_account_id:
        raise DomainError("STRIPE_NOT_CONNECTED", "Connect your Stripe account first (financeSettingsUpdate).",
                          "invoiceId")
    invoice = await get_invoice(session, invoice_id=invoice_id, field_name="invoiceId")
    if invoice.status not in OPEN:
        raise DomainError("INVOICE_NOT_OPEN", f"The invoice is {invoice.status.upper()}.", "invoiceId")
    balance = invoice.total - invoice.amount_paid
    amount = _minor(balance, invoice.currency)
    key = f"jishi-pi-{invoice.tenant_id}-{invoice.id}-{amount}"
    try:
        intent = await client(settings).v1.payment_intents.create_async(
            params={"amount": amount, "currency": invoice.currency.lower(),
                    "automatic_payment_methods": {"enabled": True},
                    "description": f"Invoice {invoice.number}",
                    "metadata": {"jishi_tenant": str(invoice.tenant_id), "jishi_invoice": str(invoice.id),
                                 "invoice_number": invoice.number or ""}},
            options={"stripe_account": books.stripe_account_id, "idempotency_key": key})
    except stripe.StripeError as exc:
        log.warning("stripe.payment_intent_failed", invoice=str(invoice.id), error=type(exc).__name__)
        raise DomainError("STRIPE_ERROR", f"Stripe refused: {exc.user_message or 'try again later'}.",
                          "invoiceId") from None
    return Intent(id=intent.id, client_secret=intent.client_secret or "", amount=balance, currency=invoice.currency)


# --- refunds ----------------------------------------------------------------------------------------------


async def record_refund(session: AsyncSession, *, payment_id: uuid.UUID, amount: Any, reason: str | None = None,
                        external_id: str | None = None, refunded_on: date | None = None,
                        actor: uuid.UUID | None = None) -> Refund:
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    tenant_id = session.info["tenant_id"]
    base = await base_currency(session)
    payment = (await session.execute(select(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
                                      .with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()
    if payment is None:
        raise DomainError("NOT_FOUND", "No payment with this ID.", "paymentId")
    currency = payment.currency
    value = parse_amount(amount, currency=currency, field="amount")
    if value <= 0:
        raise DomainError("INVALID_AMOUNT", "A refund is a positive amount.", "amount")
    refunded = await session.scalar(select(func.coalesce(func.sum(_refund.c.amount), 0)).where(
        _refund.c.tenant_id == tenant_id, _refund.c.payment_id == payment.id))
    if value > payment.amount - refunded:
        raise DomainError("REFUND_TOO_LARGE", f"Only {payment.amount - refunded} of this payment is left to refund.",
                          "amount")
    from_credit = min(value, payment.unapplied)
    payment.unapplied -= from_credit
    rest = value - from_credit
    reopened_base = Decimal(0)
    allocations = list(await session.execute(select(_allocation).where(
        _allocation.c.tenant_id == tenant_id, _allocation.c.payment_id == payment.id)
        .order_by(_allocation.c.created_at.desc(), _allocation.c.id.desc())))
    invoices = {i.id: i for i in (await session.execute(select(Invoice).where(
        Invoice.tenant_id == tenant_id, Invoice.id.in_([a.invoice_id for a in allocations])).order_by(Invoice.id)
        .with_for_update().execution_options(populate_existing=True))).scalars()}
    for a in allocations:
        if rest <= 0:
            break
        take = min(rest, a.amount)
        invoice = invoices[a.invoice_id]
        invoice.amount_paid -= take
        settle(invoice)
        if take == a.amount:
            take_base = a.amount_base
            await session.execute(delete(_allocation).where(_allocation.c.tenant_id == tenant_id,
                                                            _allocation.c.id == a.id))
        else:
            take_base = round_money(take * invoice.exchange_rate, base)
            await session.execute(_allocation.update().where(_allocation.c.tenant_id == tenant_id,
                                                             _allocation.c.id == a.id)
                                  .values(amount=_allocation.c.amount - take,
                                          amount_base=_allocation.c.amount_base - take_base))
        rest -= take
        reopened_base += take_base
    refund = Refund(id=new_id(), payment_id=payment.id, amount=value,
                    reason=optional_text(reason, field="reason", max_length=300), external_id=external_id,
                    refunded_on=refunded_on or date.today(), created_at=utcnow())
    refund.tenant_id = tenant_id
    session.add(refund)
    await session.flush()
    gid = to_global_id("Refund", refund.id)
    cash = await account_for(session, "cash" if payment.method == "cash" else "bank")
    cash_base = round_money(value * payment.exchange_rate, base)
    credit_base = round_money(from_credit * payment.exchange_rate, base)
    fx = cash_base - credit_base - reopened_base  # more paid out than taken back: an exchange loss
    await post(session, entry_date=refund.refunded_on, memo=f"Refund on {payment.number}", source_id=gid,
               reference=external_id, posted_by=actor, lines=[
                   Line(await account_for(session, "customer_credit"), debit=credit_base,
                        customer_id=payment.customer_id),
                   Line(await account_for(session, "ar"), debit=reopened_base, customer_id=payment.customer_id),
                   Line(await account_for(session, "fx"), debit=fx if fx > 0 else Decimal(0),
                        credit=-fx if fx < 0 else Decimal(0), customer_id=payment.customer_id),
                   Line(cash, credit=cash_base, customer_id=payment.customer_id)])
    await events.emit(session, fin_events.PAYMENT_REFUNDED, aggregate_id=gid, payload={
        "refundId": gid, "paymentId": to_global_id("Payment", payment.id),
        "customerId": to_global_id("Customer", payment.customer_id), "amount": str(value), "currencyCode": currency,
        "reopenedInvoices": [{"invoiceId": to_global_id("Invoice", i.id), "number": i.number,
                              "status": i.status.upper()} for i in invoices.values()]})
    return refund


# --- webhooks ---------------------------------------------------------------------------------------------


class WebhookRefused(Exception):
    """Not from Stripe (bad signature or payload): answered 400."""


async def handle_webhook(db: Database, payload: bytes, signature: str | None, settings: Settings) -> str:
    """Verify, route and record one Stripe event; returns what was done (for the log and the reply)."""
    if not settings.stripe_webhook_secret:
        raise WebhookRefused("no webhook secret is configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", settings.stripe_webhook_secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookRefused(type(exc).__name__) from None
    account = getattr(event, "account", None)
    async with db.transaction() as session:
        tenant_id = await session.scalar(select(_account.c.tenant_id).where(_account.c.account_id == account)) \
            if account else None
    if tenant_id is None:
        return "ignored: unknown account"
    async with db.sessionmaker() as session, session.begin():
        await set_tenant(session, tenant_id)
        if not await platform.is_module_enabled(session, "finance"):
            return "ignored: finance is off"
        return await process_event(session, event)


async def process_event(session: AsyncSession, event: Any) -> str:
    """Record one verified Stripe event for the session's tenant, once per event id."""
    await begin_posting(session)
    first = (await session.execute(insert(_event).values(
        tenant_id=session.info["tenant_id"], id=new_id(), event_id=event.id, type=event.type, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id", "event_id"]).returning(_event.c.id))).scalar()
    if first is None:
        return "duplicate"
    data = event.data.object
    obj = data.to_dict() if hasattr(data, "to_dict") else dict(data)  # StripeObjects are not dicts
    if event.type == "payment_intent.succeeded":
        return await _succeeded(session, obj)
    if event.type == "charge.refunded":
        return await _refunded(session, obj, event.id)
    return "ignored: event type"


async def _succeeded(session: AsyncSession, intent: dict[str, Any]) -> str:
    if await session.scalar(select(func.count()).select_from(Payment).where(
            Payment.tenant_id == session.info["tenant_id"], Payment.stripe_payment_intent == intent["id"])):
        return "duplicate payment"
    metadata = intent.get("metadata") or {}
    try:
        invoice_id = uuid.UUID(metadata.get("jishi_invoice", ""))
    except ValueError:
        return "ignored: no invoice"
    invoice = await get_invoice(session, invoice_id=invoice_id)
    amount = Decimal(int(intent.get("amount_received") or intent.get("amount") or 0)).scaleb(
        -minor_units(invoice.currency))
    payment = await record_payment(session, customer_id=invoice.customer_id, amount=amount, method="stripe",
                                   allocations=[(invoice.id, amount)] if invoice.status in OPEN else [],
                                   stripe_payment_intent=intent["id"], reference=intent["id"],
                                   currency=invoice.currency, exchange_rate=invoice.exchange_rate)
    return f"payment {payment.number}"


async def _refunded(session: AsyncSession, charge: dict[str, Any], event_id: str) -> str:
    intent = charge.get("payment_intent")
    payment = (await session.execute(select(Payment).where(
        Payment.tenant_id == session.info["tenant_id"], Payment.stripe_payment_intent == intent))).scalar_one_or_none()
    if payment is None:
        return "ignored: unknown payment"
    currency = payment.currency
    total = Decimal(int(charge.get("amount_refunded") or 0)).scaleb(-minor_units(currency))
    done = await session.scalar(select(func.coalesce(func.sum(_refund.c.amount), 0)).where(
        _refund.c.tenant_id == payment.tenant_id, _refund.c.payment_id == payment.id))
    if total <= done:
        return "nothing new refunded"
    refund = await record_refund(session, payment_id=payment.id, amount=total - done, reason="Stripe refund",
                                 external_id=event_id)
    return f"refund {refund.amount}"
