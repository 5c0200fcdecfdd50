"""The books under real concurrency: balanced, and tied to the documents and to the stock."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from sqlalchemy import func, select, text

from backend.core.errors import DomainError
from backend.core.ids import from_global_id
from backend.modules.finance import service as finance
from backend.modules.finance.models import CreditNote, Invoice, JournalLine, Payment, PaymentAllocation
from backend.modules.inventory import service as inventory
from backend.modules.orders import service as orders
from backend.modules.orders.models import Order
from tests.modules.finance.conftest import Books


async def _ledger_ties(books: Books, db) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction(books.tenant) as session:
        debit, credit = (await session.execute(select(func.sum(JournalLine.debit), func.sum(JournalLine.credit)))).one()
        assert debit == credit, "the trial balance does not sum to zero"

        async def balance(role: str) -> Decimal:
            account = await finance.account_for(session, role)
            d, c = (await session.execute(select(func.coalesce(func.sum(JournalLine.debit), 0),
                                                 func.coalesce(func.sum(JournalLine.credit), 0))
                                          .where(JournalLine.account_id == account))).one()
            return d - c

        settled = (select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_base).label("base"))
                   .group_by(PaymentAllocation.invoice_id).subquery())
        open_invoices = await session.scalar(select(func.coalesce(func.sum(
            Invoice.total_base - func.coalesce(settled.c.base, 0) - Invoice.amount_credited), 0))
            .outerjoin(settled, settled.c.invoice_id == Invoice.id)
            .where(Invoice.status.in_(("issued", "partially_paid"))))
        assert await balance("ar") == open_invoices, "receivables differ from the open invoices"
        _, valuation, _ = await inventory.valuation(session)
        assert await balance("inventory") == valuation, "the inventory account differs from the stock valuation"
        credit_left = (await session.scalar(select(func.coalesce(func.sum(
            func.round(Payment.unapplied * Payment.exchange_rate, 2)), 0)))
                       + await session.scalar(select(func.coalesce(func.sum(CreditNote.unapplied), 0))))
        assert -await balance("customer_credit") == credit_left
        overpaid = await session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.amount_paid + Invoice.amount_credited > Invoice.total))
        assert overpaid == 0


async def test_a_random_concurrent_workload_keeps_the_books_balanced_and_tied(books: Books, db, wide_db):
    rng = random.Random(11)
    customers = [from_global_id(await books.customer(f"Customer {i}"))[1] for i in range(3)]  # type: ignore[index]
    products = [from_global_id(await books.stocked(f"P{i}", "0", unitPrice=f"{20 + 7 * i}.50"))[1]  # type: ignore[index]
                for i in range(3)]
    main = from_global_id(await books.main())[1]  # type: ignore[index]
    async with db.transaction(books.tenant) as session:
        await inventory.receive_stock(session, lines=[inventory.ReceiptLine(p, main, Decimal(30), Decimal(f"{9 + i}.37"))
                                                      for i, p in enumerate(products)])
        await orders.set_tax_rate(session, tax_category="standard", rate=Decimal("13"))

    async def step(i: int) -> str:
        op = rng.choice(["order", "order", "ship", "pay", "cancel", "adjust", "receive", "journal", "return"])
        try:
            async with wide_db.transaction(books.tenant) as session:
                order_ids = list((await session.execute(select(Order.id).where(
                    Order.status.in_(("allocated", "partially_allocated", "approved", "shipped", "completed"))
                ))).scalars())
                if op == "order":
                    order = await orders.create_order(session, values=orders.OrderFields(
                        customer_id=rng.choice(customers), shipping_amount=Decimal(rng.choice(["0", "9.99"])),
                        lines=[orders.LineInput(p, Decimal(rng.randint(1, 4)), discount_percent=Decimal("2.5"))
                               for p in rng.sample(products, 2)]))
                    await orders.submit_order(session, order_id=order.id)
                    await orders.approve_order(session, order_id=order.id)
                    await orders.allocate_order(session, order_id=order.id)
                elif op == "ship" and order_ids:
                    for f in await orders.create_fulfillments(session, order_id=rng.choice(order_ids)):
                        await orders.ship(session, fulfillment_id=f.id, carrier="EMS", tracking_number=str(i))
                elif op == "pay":
                    await finance.record_payment(session, customer_id=rng.choice(customers),
                                                 amount=Decimal(f"{rng.randint(5, 120)}.{rng.randint(0, 99):02d}"))
                elif op == "cancel" and order_ids:
                    await orders.cancel_order(session, order_id=rng.choice(order_ids))
                elif op == "adjust":
                    await inventory.adjust_stock(session, product_id=rng.choice(products), warehouse_id=main,
                                                 quantity_delta=Decimal(rng.choice([-2, -1, 1, 3])), reason="count")
                elif op == "receive":
                    await inventory.receive_stock(session, lines=[inventory.ReceiptLine(
                        rng.choice(products), main, Decimal(rng.randint(1, 5)), Decimal(f"{rng.randint(8, 12)}.11"))])
                elif op == "journal":
                    bank, expense = await finance.account_for(session, "bank"), await finance.account_for(session,
                                                                                                          "expense")
                    entry = await finance.post_manual(session, entry_date=__import__("datetime").date.today(),
                                                      memo="x", reference=None, posted_by=None, lines=[
                                                          finance.Line(expense, debit=Decimal("12.34")),
                                                          finance.Line(bank, credit=Decimal("12.34"))])
                    if i % 2:
                        await finance.reverse_manual(session, entry_id=entry.id, entry_date=None, memo=None,
                                                     posted_by=None)
                elif op == "return" and order_ids:
                    order_id = rng.choice(order_ids)
                    shipped = [x for x in await orders.order_lines(session, order_id) if x.shipped > 0]
                    if shipped:
                        made = await orders.create_return(session, order_id=order_id, reason="r",
                                                          lines=[(shipped[0].id, Decimal(1))])
                        await orders.receive_return(session, return_id=made.id, warehouse_id=None)
                else:
                    return "skipped"
        except DomainError as exc:
            return exc.code
        return op

    outcomes = await asyncio.gather(*[step(i) for i in range(80)])
    assert {"order", "pay", "journal"} <= set(outcomes), outcomes
    assert set(outcomes) <= {"order", "ship", "pay", "cancel", "adjust", "receive", "journal", "return", "skipped",
                             "INSUFFICIENT_STOCK", "INVALID_TRANSITION", "NOTHING_TO_FULFILL", "NOT_RETURNABLE"}, outcomes
    await _ledger_ties(books, db)


async def test_two_payments_at_once_never_overpay_an_invoice(books: Books, db, wide_db):
    customer = from_global_id(await books.customer())[1]  # type: ignore[index]
    async with db.transaction(books.tenant) as session:
        invoice = await finance.create_invoice(session, customer_id=customer, lines=[
            finance.InvoiceLineInput(description="Consulting", quantity=Decimal(1), unit_price=Decimal(100))])
        await finance.issue_invoice(session, invoice_id=invoice.id)
    start = asyncio.Event()

    async def pay() -> Decimal:
        async with wide_db.transaction(books.tenant) as session:
            await session.execute(text("SELECT 1"))
            await start.wait()
            payment = await finance.record_payment(session, customer_id=customer, amount=Decimal(70),
                                                   allocations=[(invoice.id, Decimal(70))])
            return payment.unapplied

    tasks = [asyncio.create_task(pay()) for _ in range(2)]
    await asyncio.sleep(0.2)
    start.set()
    assert sorted(await asyncio.gather(*tasks)) == [Decimal(0), Decimal(40)]
    async with db.transaction(books.tenant) as session:
        paid = await finance.get_invoice(session, invoice_id=invoice.id)
    assert (paid.amount_paid, paid.status) == (Decimal(100), "paid")
    await _ledger_ties(books, db)
