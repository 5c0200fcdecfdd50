"""Customer invoices and payments.

* An invoice is a DRAFT until issued; issuing gives it the next gapless number (INV-000001) and posts
  Dr receivables (total) / Cr revenue (each line's net amount, to the line's account) / Cr tax payable.
* Voiding an unpaid invoice posts the reversal of its issue entry.
* A payment (bank transfer, cash, card, Stripe) is allocated to invoices (oldest due first unless
  given); what is left over is customer credit. It posts Dr bank or cash / Cr receivables (allocated)
  / Cr customer credit (the rest). Invoices are locked in id order while allocating, so two payments
  at once never pay an invoice beyond its total: the later one finds the smaller balance.
* Orders (when that module is on) are invoiced automatically on approval or on shipment (the
  ``invoice_on`` setting), through ``invoice_order``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.money import parse_amount, round_money
from backend.core.outbox import next_sequence
from backend.core.validation import optional_text, required_text
from backend.modules.finance import events as fin_events
from backend.modules.finance.ledger import Line, account_for, base_currency, begin_posting, get_account, post, reverse
from backend.modules.finance.models import (
    FinanceSettings,
    Invoice,
    InvoiceLine,
    JournalEntry,
    Payment,
    PaymentAllocation,
)
from backend.modules.platform import service as platform

_invoice = Invoice.__table__
_iline = InvoiceLine.__table__
_payment = Payment.__table__
_allocation = PaymentAllocation.__table__
_entry = JournalEntry.__table__
_settings = FinanceSettings.__table__
METHODS = ("bank_transfer", "cash", "card", "stripe", "other")
OPEN = ("issued", "partially_paid")


def tenant_of(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def settings_of(session: AsyncSession) -> Any:
    found = (await session.execute(select(_settings).where(_settings.c.tenant_id == tenant_of(session)))).one_or_none()
    if found is None:
        raise DomainError("FINANCE_NOT_SET_UP", "Finance has no chart of accounts yet.", "chart")
    return found


async def update_settings(session: AsyncSession, *, invoice_on: str | None = None,
                          payment_terms_days: int | None = None, stripe_account_id: str | None = None) -> Any:
    await platform.ensure_module_enabled(session, "finance")
    values: dict[str, Any] = {}
    if invoice_on is not None:
        if invoice_on not in ("approval", "shipment", "manual"):
            raise DomainError("INVALID_SETTING", "Invoice on APPROVAL, SHIPMENT or MANUAL.", "invoiceOn")
        values["invoice_on"] = invoice_on
    if payment_terms_days is not None:
        if not 0 <= payment_terms_days <= 365:
            raise DomainError("INVALID_SETTING", "Payment terms are 0 to 365 days.", "paymentTermsDays")
        values["payment_terms_days"] = payment_terms_days
    if stripe_account_id is not None:
        account = stripe_account_id.strip()
        if account and not account.startswith("acct_"):
            raise DomainError("INVALID_SETTING", "A Stripe account id starts with acct_.", "stripeAccountId")
        values["stripe_account_id"] = account or None
    await settings_of(session)
    if values:
        await session.execute(_settings.update().where(_settings.c.tenant_id == tenant_of(session)).values(**values))
    if "stripe_account_id" in values:
        from backend.modules.finance.stripe_payments import link_account

        await link_account(session, values["stripe_account_id"])
    return await settings_of(session)


async def _once(session: AsyncSession, scope: str, key: str, request: dict, model: Any, run: Any) -> Any:
    """``run()`` once per key (core.idempotency); a repeat loads the row it made."""
    from backend.core import idempotency

    async def load(stored: dict) -> Any:
        return (await session.execute(select(model).where(model.tenant_id == tenant_of(session),
                                                          model.id == uuid.UUID(stored["id"])))).scalar_one()

    return await idempotency.once(session, scope=scope, key=key, request=request, run=run,
                                  dump=lambda row: {"id": str(row.id)}, load=load)


# --- invoices ---------------------------------------------------------------------------------------------


def balance_of(invoice: Invoice) -> Decimal:
    """What is still owed: the total less payments and credit notes applied."""
    return invoice.total - invoice.amount_paid - invoice.amount_credited


def settle(invoice: Invoice) -> None:
    """The status that follows from the amounts of an issued invoice."""
    if balance_of(invoice) == 0:
        invoice.status = "paid"
    elif invoice.amount_paid or invoice.amount_credited:
        invoice.status = "partially_paid"
    else:
        invoice.status = "issued"


@dataclass
class InvoiceLineInput:
    description: str
    quantity: Any
    unit_price: Any
    tax_rate: Any = None  # percent
    product_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None  # default: the revenue account
    order_line_id: uuid.UUID | None = None
    subtotal: Decimal | None = None  # given by order invoicing (net of discounts); else quantity x price
    tax: Decimal | None = None


async def get_invoice(session: AsyncSession, *, invoice_id: uuid.UUID, lock: bool = False,
                      field_name: str | list[str] = "id") -> Invoice:
    stmt = select(Invoice).where(Invoice.tenant_id == tenant_of(session), Invoice.id == invoice_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No invoice with this ID.", field_name)
    return found


async def _currency_and_rate(session: AsyncSession, currency: str | None, rate: Any) -> tuple[str, Decimal]:
    """The document currency and its rate to the base currency (1 for the base currency itself)."""
    from backend.core.money import check_currency

    base = await base_currency(session)
    code = base if currency is None else check_currency(currency)
    if code == base:
        return code, Decimal(1)
    try:
        value = Decimal(str(rate)) if rate is not None else Decimal(0)
    except ArithmeticError:
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or value >= Decimal("1e9"):
        raise DomainError("EXCHANGE_RATE_REQUIRED", f"Give the rate of {code} in {base} (base per unit, > 0).",
                          "exchangeRate")
    return code, value.quantize(Decimal("0.00000001"))


async def create_invoice(session: AsyncSession, *, customer_id: uuid.UUID, lines: list[InvoiceLineInput],
                         order_id: uuid.UUID | None = None, notes: str | None = None,
                         due_date: date | None = None, currency: str | None = None,
                         exchange_rate: Any = None, idempotency_key: str | None = None) -> Invoice:
    """A DRAFT invoice for a CRM customer (the CRM must be on), in the base currency or another one
    with its exchange rate (kept on the invoice; the ledger is in the base currency). A repeated
    ``idempotency_key`` answers the first invoice."""
    if idempotency_key is not None:
        request = {"customer": str(customer_id), "order": str(order_id), "currency": currency,
                   "rate": str(exchange_rate), "due": str(due_date), "notes": notes,
                   "lines": [[x.description, str(x.quantity), str(x.unit_price), str(x.tax_rate), str(x.product_id),
                              str(x.account_id)] for x in lines]}
        return await _once(session, "finance.invoice_create", idempotency_key, request, Invoice, lambda: create_invoice(
            session, customer_id=customer_id, lines=lines, order_id=order_id, notes=notes, due_date=due_date,
            currency=currency, exchange_rate=exchange_rate))
    from backend.modules.crm import service as crm

    await platform.ensure_module_enabled(session, "finance")
    await platform.ensure_module_enabled(session, "crm")
    await settings_of(session)
    customer = await crm.get_customer(session, customer_id=customer_id, field_name="customerId")
    if not lines:
        raise DomainError("REQUIRED", "An invoice has at least one line.", "lines")
    currency, rate_to_base = await _currency_and_rate(session, currency, exchange_rate)
    revenue = await account_for(session, "revenue")
    rows, subtotal, tax_total = [], Decimal(0), Decimal(0)
    invoice_id = new_id()
    for i, x in enumerate(lines):
        at = ["lines", str(i)]
        quantity = Decimal(str(x.quantity))
        if not quantity.is_finite() or quantity <= 0:
            raise DomainError("INVALID_QUANTITY", "The quantity must be positive.", [*at, "quantity"])
        price = parse_amount(x.unit_price, currency=currency, field=[*at, "unitPrice"])  # type: ignore[arg-type]
        rate = Decimal(0) if x.tax_rate is None else Decimal(str(x.tax_rate))
        if not rate.is_finite() or not 0 <= rate < 100:
            raise DomainError("INVALID_RATE", "A tax rate is 0 to below 100 percent.", [*at, "taxRate"])
        account = revenue
        if x.account_id is not None:
            chosen = await get_account(session, account_id=x.account_id, field_name=[*at, "accountId"])
            if chosen.type != "income" or not chosen.active:
                raise DomainError("NOT_INCOME", "Invoice lines post to an active income account.", [*at, "accountId"])
            account = chosen.id
        net = round_money(quantity * price, currency) if x.subtotal is None else x.subtotal
        tax = round_money(net * rate / 100, currency) if x.tax is None else x.tax
        subtotal += net
        tax_total += tax
        rows.append({"tenant_id": tenant_of(session), "id": new_id(), "invoice_id": invoice_id, "position": i + 1,
                     "description": required_text(x.description, field="description", max_length=300),
                     "product_id": x.product_id, "order_line_id": x.order_line_id, "quantity": quantity,
                     "unit_price": price, "tax_rate": rate, "subtotal": net, "tax": tax, "total": net + tax,
                     "account_id": account})
    invoice = Invoice(id=invoice_id, status="draft", customer_id=customer.id, order_id=order_id, currency=currency,
                      exchange_rate=rate_to_base, total_base=Decimal(0),
                      subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total, amount_paid=Decimal(0),
                      amount_credited=Decimal(0),
                      notes=optional_text(notes, field="notes", max_length=5000), due_date=due_date,
                      created_at=utcnow())
    invoice.tenant_id = tenant_of(session)
    session.add(invoice)
    await session.flush()
    await session.execute(insert(_iline), rows)
    return invoice


async def issue_invoice(session: AsyncSession, *, invoice_id: uuid.UUID, issue_date: date | None = None,
                        actor: uuid.UUID | None = None, source_event_id: uuid.UUID | None = None) -> Invoice:
    """DRAFT -> ISSUED: numbered, posted (receivables / revenue / tax payable). Emits ``invoice.issued``."""
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    invoice = await get_invoice(session, invoice_id=invoice_id, lock=True)
    if invoice.status != "draft":
        raise DomainError("INVALID_TRANSITION", f"This invoice is {invoice.status.upper()}; only a DRAFT is issued.",
                          "id")
    settings = await settings_of(session)
    day = issue_date or date.today()
    invoice.number = f"INV-{await next_sequence(session, 'invoice'):06d}"
    invoice.issue_date, invoice.issued_at, invoice.status = day, utcnow(), "issued"
    invoice.due_date = invoice.due_date or day + timedelta(days=settings.payment_terms_days)
    lines = list(await session.execute(select(_iline).where(_iline.c.tenant_id == invoice.tenant_id,
                                                            _iline.c.invoice_id == invoice.id)))
    base = await base_currency(session)
    by_account: dict[uuid.UUID, Decimal] = {}
    for x in lines:  # in the base currency, each account's amount converted once
        by_account[x.account_id] = by_account.get(x.account_id, Decimal(0)) + x.subtotal
    by_account = {a: round_money(v * invoice.exchange_rate, base) for a, v in by_account.items()}
    tax_base = round_money(invoice.tax_total * invoice.exchange_rate, base)
    invoice.total_base = sum(by_account.values(), Decimal(0)) + tax_base
    gid = to_global_id("Invoice", invoice.id)
    ledger_lines = [Line(await account_for(session, "ar"), debit=invoice.total_base, customer_id=invoice.customer_id,
                         memo=invoice.number)]
    ledger_lines += [Line(account, credit=amount, customer_id=invoice.customer_id) for account, amount in
                     by_account.items()]
    ledger_lines.append(Line(await account_for(session, "tax_payable"), credit=tax_base,
                             customer_id=invoice.customer_id))
    if invoice.total:
        await post(session, entry_date=day, lines=ledger_lines, memo=f"Invoice {invoice.number}", source_id=gid,
                   reference=invoice.number, source_event_id=source_event_id, posted_by=actor)
    await session.flush()
    await events.emit(session, fin_events.INVOICE_ISSUED, aggregate_id=gid, payload={
        **_payload(invoice), "dueDate": invoice.due_date.isoformat()})
    if invoice.total == 0:
        invoice.status = "paid"
    return invoice


def _payload(invoice: Invoice) -> dict[str, Any]:
    return {"invoiceId": to_global_id("Invoice", invoice.id), "number": invoice.number,
            "customerId": to_global_id("Customer", invoice.customer_id),
            "orderId": to_global_id("Order", invoice.order_id) if invoice.order_id else None,
            "total": str(invoice.total), "currencyCode": invoice.currency, "status": invoice.status.upper()}


async def void_invoice(session: AsyncSession, *, invoice_id: uuid.UUID, actor: uuid.UUID | None = None,
                       source_event_id: uuid.UUID | None = None) -> Invoice:
    """Cancel an unpaid issued invoice: its issue entry is reversed. Drafts are voided without posting."""
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    invoice = await get_invoice(session, invoice_id=invoice_id, lock=True)
    if invoice.status == "void":
        raise DomainError("INVALID_TRANSITION", "This invoice is VOID already.", "id")
    if invoice.amount_paid > 0 or invoice.amount_credited > 0:
        raise DomainError("INVOICE_PAID", "Payments or credits were applied to this invoice; issue a credit note "
                                          "instead.", "id")
    if invoice.status != "draft":
        gid = to_global_id("Invoice", invoice.id)
        issued = await session.scalar(select(_entry.c.id).where(
            _entry.c.tenant_id == invoice.tenant_id, _entry.c.source_id == gid, _entry.c.kind == "automatic"))
        if issued is not None:
            await reverse(session, entry_id=issued, memo=f"Void of invoice {invoice.number}", posted_by=actor,
                          source_event_id=source_event_id)
    invoice.status, invoice.voided_at = "void", utcnow()
    await session.flush()
    await events.emit(session, fin_events.INVOICE_VOIDED, aggregate_id=to_global_id("Invoice", invoice.id),
                      payload=_payload(invoice))
    return invoice


async def invoice_order(session: AsyncSession, *, order_id: uuid.UUID, shipped: dict[uuid.UUID, Decimal] | None,
                        source_event_id: uuid.UUID | None) -> Invoice | None:
    """Invoice an order (through the orders service): all of it (``shipped`` None, on approval), or
    the shipped quantities (on shipment; shipping is charged on the first invoice). Line amounts are
    the order's own; the last invoice of a line takes what is left, so the invoices add up to the
    order to the cent."""
    from backend.modules.orders import service as orders

    order = await orders.get_order(session, order_id=order_id)
    lines = await orders.order_lines(session, order.id)
    invoiced: dict[uuid.UUID, tuple[Decimal, Decimal, Decimal]] = {}
    earlier = await session.execute(
        select(_iline.c.order_line_id, _iline.c.quantity, _iline.c.subtotal, _iline.c.tax)
        .join(_invoice, (_invoice.c.tenant_id == _iline.c.tenant_id) & (_invoice.c.id == _iline.c.invoice_id))
        .where(_iline.c.tenant_id == order.tenant_id, _invoice.c.order_id == order.id, _invoice.c.status != "void"))
    shipping_invoiced = False
    for line_id, quantity, subtotal, tax in earlier:
        if line_id is None:
            shipping_invoiced = True
            continue
        q, s, t = invoiced.get(line_id, (Decimal(0), Decimal(0), Decimal(0)))
        invoiced[line_id] = (q + quantity, s + subtotal, t + tax)
    currency = order.currency
    items = []
    for x in lines:
        billable = x.quantity - x.cancelled
        done_q, done_s, done_t = invoiced.get(x.id, (Decimal(0), Decimal(0), Decimal(0)))
        quantity = billable - done_q if shipped is None else min(shipped.get(x.id, Decimal(0)), billable - done_q)
        if quantity <= 0:
            continue
        net_total, tax_total = x.line_subtotal - x.line_discount, x.line_tax
        if done_q + quantity >= billable:  # the last of this line: what is left
            net, tax = net_total - done_s, tax_total - done_t
        else:
            net = round_money(net_total * quantity / x.quantity, currency)
            tax = round_money(tax_total * quantity / x.quantity, currency)
        items.append(InvoiceLineInput(description=f"{x.sku} {x.name}", quantity=quantity,
                                      unit_price=x.unit_price, tax_rate=x.tax_rate, product_id=x.product_id,
                                      order_line_id=x.id, subtotal=net, tax=tax))
    if order.shipping_total > 0 and not shipping_invoiced and items:
        items.append(InvoiceLineInput(description="Shipping", quantity=Decimal(1), unit_price=order.shipping_total,
                                      account_id=await account_for(session, "shipping_revenue"),
                                      subtotal=order.shipping_total, tax=Decimal(0)))
    if not items:
        return None
    invoice = await create_invoice(session, customer_id=order.customer_id, order_id=order.id, lines=items,
                                   notes=f"Order {order.number}", currency=order.currency)
    return await issue_invoice(session, invoice_id=invoice.id, source_event_id=source_event_id)


# --- payments ---------------------------------------------------------------------------------------------


async def record_payment(session: AsyncSession, *, customer_id: uuid.UUID, amount: Any, method: str = "bank_transfer",
                         received_on: date | None = None, reference: str | None = None,
                         allocations: list[tuple[uuid.UUID, Any]] | None = None,
                         stripe_payment_intent: str | None = None, actor: uuid.UUID | None = None,
                         currency: str | None = None, exchange_rate: Any = None,
                         idempotency_key: str | None = None) -> Payment:
    """Record money received from a customer; see the module docstring. Emits ``payment.recorded``.
    A repeated ``idempotency_key`` answers the first payment."""
    if idempotency_key is not None:
        request = {"customer": str(customer_id), "amount": str(amount), "method": method, "currency": currency,
                   "rate": str(exchange_rate), "on": str(received_on), "reference": reference,
                   "allocations": None if allocations is None else [[str(i), str(a)] for i, a in allocations]}
        return await _once(session, "finance.payment_record", idempotency_key, request, Payment, lambda: record_payment(
            session, customer_id=customer_id, amount=amount, method=method, received_on=received_on,
            reference=reference, allocations=allocations, stripe_payment_intent=stripe_payment_intent, actor=actor,
            currency=currency, exchange_rate=exchange_rate))
    from backend.modules.crm import service as crm

    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    base = await base_currency(session)
    currency, pay_rate = await _currency_and_rate(session, currency, exchange_rate)
    total = parse_amount(amount, currency=currency, field="amount")
    if total <= 0:
        raise DomainError("INVALID_AMOUNT", "A payment is a positive amount.", "amount")
    if method not in METHODS:
        raise DomainError("INVALID_METHOD", "Method is BANK_TRANSFER, CASH, CARD, STRIPE or OTHER.", "method")
    customer = await crm.get_customer(session, customer_id=customer_id, field_name="customerId")
    tenant_id = tenant_of(session)
    if allocations is None:  # the oldest due first
        targets = [(r.id, None) for r in await session.execute(
            select(_invoice.c.id).where(_invoice.c.tenant_id == tenant_id, _invoice.c.customer_id == customer.id,
                                        _invoice.c.status.in_(OPEN), _invoice.c.currency == currency)
            .order_by(_invoice.c.due_date, _invoice.c.number))]
    else:
        targets = [(invoice_id, parse_amount(value, currency=currency, field=["allocations", str(i), "amount"]))  # type: ignore[arg-type]
                   for i, (invoice_id, value) in enumerate(allocations)]
    locked = {i.id: i for i in (await session.execute(
        select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id.in_([t for t, _ in targets]))
        .order_by(Invoice.id).with_for_update().execution_options(populate_existing=True))).scalars()}
    left, applied = total, []
    for i, (invoice_id, wanted) in enumerate(targets):
        invoice = locked.get(invoice_id)
        if invoice is None or invoice.customer_id != customer.id:
            raise DomainError("NOT_FOUND", "No invoice of this customer with this ID.",
                              ["allocations", str(i), "invoiceId"])
        if invoice.status not in OPEN:
            if allocations is None:
                continue
            raise DomainError("INVOICE_NOT_OPEN", f"Invoice {invoice.number or 'draft'} is {invoice.status.upper()}.",
                              ["allocations", str(i), "invoiceId"])
        if invoice.currency != currency:
            raise DomainError("CURRENCY_MISMATCH", f"Invoice {invoice.number} is in {invoice.currency}.",
                              ["allocations", str(i), "invoiceId"])
        share = min(left, balance_of(invoice), wanted if wanted is not None else left)
        if share <= 0:
            continue
        invoice.amount_paid += share
        settle(invoice)
        if balance_of(invoice) == 0:  # the last of it: whatever of the receivable is still open
            settled = await session.scalar(select(func.coalesce(func.sum(_allocation.c.amount_base), 0)).where(
                _allocation.c.tenant_id == tenant_id, _allocation.c.invoice_id == invoice.id))
            share_base = invoice.total_base - settled - invoice.amount_credited
        else:
            share_base = round_money(share * invoice.exchange_rate, base)
        applied.append((invoice, share, share_base))
        left -= share
    payment = Payment(id=new_id(), number=f"PAY-{await next_sequence(session, 'payment'):06d}",
                      customer_id=customer.id, method=method, amount=total, currency=currency,
                      exchange_rate=pay_rate, unapplied=left,
                      received_on=received_on or date.today(),
                      reference=optional_text(reference, field="reference", max_length=100),
                      stripe_payment_intent=stripe_payment_intent, recorded_by=actor, created_at=utcnow())
    payment.tenant_id = tenant_id
    session.add(payment)
    await session.flush()
    if applied:
        await session.execute(insert(_allocation), [
            {"tenant_id": tenant_id, "id": new_id(), "payment_id": payment.id, "invoice_id": inv.id, "amount": share,
             "amount_base": share_base, "created_at": utcnow()} for inv, share, share_base in applied])
    gid = to_global_id("Payment", payment.id)
    cash = await account_for(session, "cash" if method == "cash" else "bank")
    cash_base = round_money(total * pay_rate, base)
    ar_base = sum((b for _, _, b in applied), Decimal(0))
    credit_base = round_money(left * pay_rate, base)
    fx = cash_base - ar_base - credit_base  # a realized exchange difference (gain when positive)
    fx_account = await account_for(session, "fx")
    await post(session, entry_date=payment.received_on, memo=f"Payment {payment.number}", source_id=gid,
               reference=payment.reference, posted_by=actor, lines=[
                   Line(cash, debit=cash_base, customer_id=customer.id),
                   Line(await account_for(session, "ar"), credit=ar_base, customer_id=customer.id),
                   Line(await account_for(session, "customer_credit"), credit=credit_base, customer_id=customer.id),
                   Line(fx_account, credit=fx if fx > 0 else Decimal(0), debit=-fx if fx < 0 else Decimal(0),
                        customer_id=customer.id)])
    await events.emit(session, fin_events.PAYMENT_RECORDED, aggregate_id=gid, payload={
        "paymentId": gid, "number": payment.number, "customerId": to_global_id("Customer", customer.id),
        "amount": str(total), "currencyCode": currency, "method": method.upper(), "unapplied": str(left),
        "invoices": [{"invoiceId": to_global_id("Invoice", inv.id), "number": inv.number, "amount": str(share),
                      "status": inv.status.upper()} for inv, share, _ in applied]})
    return payment


async def overdue_total(session: AsyncSession, *, customer_id: uuid.UUID, today: date | None = None) -> Decimal:
    """What the customer owes on invoices past their due date (orders' approval rules ask this)."""
    return Decimal(await session.scalar(select(func.coalesce(func.sum(
        _invoice.c.total - _invoice.c.amount_paid - _invoice.c.amount_credited), 0)).where(
        _invoice.c.tenant_id == tenant_of(session), _invoice.c.customer_id == customer_id,
        _invoice.c.status.in_(OPEN), _invoice.c.due_date < (today or date.today()))) or 0)


async def set_credit_limit(session: AsyncSession, *, customer_id: uuid.UUID, amount: Any) -> Decimal | None:
    """Set (or with None remove) how much a customer may owe."""
    from backend.modules.crm import service as crm
    from backend.modules.finance.models import CreditLimit

    await platform.ensure_module_enabled(session, "finance")
    await crm.get_customer(session, customer_id=customer_id, field_name="customerId")
    table = CreditLimit.__table__
    if amount is None:
        await session.execute(table.delete().where(table.c.tenant_id == tenant_of(session),
                                                   table.c.customer_id == customer_id))
        return None
    value = parse_amount(amount, currency=await base_currency(session), field="amount")
    stmt = insert(table).values(tenant_id=tenant_of(session), id=new_id(), customer_id=customer_id, amount=value,
                                updated_at=utcnow())
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id"],
                                                     set_={"amount": value, "updated_at": utcnow()}))
    return value


@dataclass(frozen=True)
class Standing:
    open_balance: Decimal  # owed on issued invoices
    overdue: Decimal
    credit_limit: Decimal | None

    def allows(self, more: Decimal) -> bool:
        """No overdue invoices, and ``more`` stays within the limit (when there is one)."""
        return self.overdue <= 0 and (self.credit_limit is None or self.open_balance + more <= self.credit_limit)


async def standing(session: AsyncSession, *, customer_id: uuid.UUID) -> Standing:
    from backend.modules.finance.models import CreditLimit

    limit_table = CreditLimit.__table__
    settled = (select(_allocation.c.invoice_id, func.sum(_allocation.c.amount_base).label("base"))
               .where(_allocation.c.tenant_id == tenant_of(session)).group_by(_allocation.c.invoice_id).subquery())
    balance = Decimal(await session.scalar(select(func.coalesce(func.sum(  # in the base currency
        _invoice.c.total_base - _invoice.c.amount_credited - func.coalesce(settled.c.base, 0)), 0))
        .outerjoin(settled, settled.c.invoice_id == _invoice.c.id).where(
        _invoice.c.tenant_id == tenant_of(session), _invoice.c.customer_id == customer_id,
        _invoice.c.status.in_(OPEN))) or 0)
    limit = await session.scalar(select(limit_table.c.amount).where(limit_table.c.tenant_id == tenant_of(session),
                                                                    limit_table.c.customer_id == customer_id))
    return Standing(open_balance=balance, overdue=await overdue_total(session, customer_id=customer_id),
                    credit_limit=limit)
