"""Demo books: opening capital, a closed period (January last year), rent and salaries, a manual invoice that
was paid (with some credit left) and one still open. Orders and stock (seeded after this) post
their own entries and invoices through the event handlers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from backend.modules.crm import service as crm
from backend.modules.finance import service as finance
from backend.modules.finance.stripe_payments import process_event, record_refund


async def seed(session: AsyncSession) -> None:
    await finance.seed_chart(session)  # normally done when finance is switched on
    today = date.today()
    start = date(today.year, 1, 1)
    bank, equity = await finance.account_for(session, "bank"), await finance.account_for(session, "equity")
    expense = await finance.account_for(session, "expense")
    await finance.post_manual(session, entry_date=start, memo="Opening capital", reference="CAP-1", posted_by=None,
                              lines=[finance.Line(bank, debit=Decimal(500000)),
                                     finance.Line(equity, credit=Decimal(500000))])
    customers = list((await session.execute(crm.customers_query(session.info["tenant_id"], None).limit(8))).all())
    month, n = start, 0
    while month <= today:  # a year of books: rent, and a month of wholesale invoices paid 20 days later
        await finance.post_manual(session, entry_date=month, memo=f"Rent {month:%Y-%m}", reference=None,
                                  posted_by=None, lines=[finance.Line(expense, debit=Decimal(12000)),
                                                         finance.Line(bank, credit=Decimal(12000))])
        for k, customer in enumerate(customers[:3] if month.month < today.month or month.year < today.year else []):
            n += 1
            issued = month.replace(day=5 + 7 * k)
            invoice = await finance.create_invoice(session, customer_id=customer.id, notes="Wholesale tea", lines=[
                finance.InvoiceLineInput(description="Wholesale tea (monthly)", quantity=Decimal(10 + 5 * k),
                                         unit_price=Decimal(880), tax_rate=Decimal(13))])
            await finance.issue_invoice(session, invoice_id=invoice.id, issue_date=issued)
            paid_on = issued + timedelta(days=20)
            if paid_on <= today and n % 5:
                await finance.record_payment(session, customer_id=customer.id, amount=invoice.total,
                                             received_on=paid_on, reference=f"Wire {paid_on:%Y%m%d}",
                                             allocations=[(invoice.id, invoice.total)])
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    await finance.set_period(session, year=today.year - 1, month=1, status="closed", actor=None)  # nothing posts there
    # A supplier's bill for packaging (partly paid), and this year's budget.
    bill = await finance.create_bill(session, supplier="Yixing Packaging Co.", reference="YX-2026-118",
                                     bill_date=today - timedelta(days=20), lines=[finance.BillLineInput(
                                         description="Gift boxes", account_id=expense, amount=Decimal(8600),
                                         tax_rate=Decimal(13))])
    await finance.pay_bill(session, bill_id=bill.id, amount=Decimal(5000), paid_on=today - timedelta(days=5))
    await finance.set_budget(session, account_id=await finance.account_for(session, "revenue"), year=today.year,
                             month=None, amount=Decimal(2400000))
    await finance.set_budget(session, account_id=expense, year=today.year, month=None, amount=Decimal(150000))
    customers = customers[:2]
    for customer in customers:
        await finance.set_credit_limit(session, customer_id=customer.id, amount=Decimal(50000))
    for n, customer in enumerate(customers):
        invoice = await finance.create_invoice(session, customer_id=customer.id, notes="Tea tasting workshop", lines=[
            finance.InvoiceLineInput(description="Tea tasting workshop (half day)", quantity=Decimal(1),
                                     unit_price=Decimal(3800), tax_rate=Decimal(6))])
        await finance.issue_invoice(session, invoice_id=invoice.id, issue_date=today - timedelta(days=45 - 30 * n))
        if n == 0:
            payment = await finance.record_payment(session, customer_id=customer.id, amount=Decimal(4100),
                                                   method="bank_transfer", reference="Bank ref 20261101",
                                                   received_on=today - timedelta(days=10))
            await record_refund(session, payment_id=payment.id, amount=Decimal(72), reason="Overpaid: credit returned")
        else:  # paid by card through Stripe (as the webhook would record it)
            await process_event(session, stripe.Event.construct_from({
                "id": "evt_demo_1", "object": "event", "type": "payment_intent.succeeded", "account": "acct_demo",
                "data": {"object": {"id": "pi_demo_1", "object": "payment_intent", "amount": 402800,
                                    "amount_received": 402800, "currency": "cny",
                                    "metadata": {"jishi_invoice": str(invoice.id)}}}}, key=None))
