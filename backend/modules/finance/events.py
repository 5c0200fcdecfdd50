"""Events the finance module emits."""

from backend.core.events import event_type

_INVOICE = {"invoiceId": "Invoice ID", "number": "INV-000001", "customerId": "Customer ID",
            "orderId": "Order ID or null", "total": "decimal string", "currencyCode": "ISO 4217",
            "status": "the new status"}

INVOICE_ISSUED = event_type("invoice.issued", module="finance", description="An invoice was issued and posted.",
                            payload={**_INVOICE, "dueDate": "YYYY-MM-DD"})
INVOICE_VOIDED = event_type("invoice.voided", module="finance",
                            description="An invoice was voided; its posting was reversed.", payload=_INVOICE)
PAYMENT_RECORDED = event_type(
    "payment.recorded", module="finance", description="A customer payment was recorded and allocated.",
    payload={"paymentId": "Payment ID", "number": "PAY-000001", "customerId": "Customer ID",
             "amount": "decimal string", "currencyCode": "ISO 4217", "method": "BANK_TRANSFER, CASH, CARD, STRIPE",
             "unapplied": "left as customer credit", "invoices": "list of {invoiceId, number, amount, status}"})
JOURNAL_POSTED = event_type(
    "journal.posted", module="finance", description="A manual journal entry or a reversal was posted.",
    payload={"entryId": "JournalEntry ID", "number": "JE-000001", "kind": "MANUAL or REVERSAL",
             "date": "YYYY-MM-DD", "total": "sum of debits"})
PAYMENT_REFUNDED = event_type(
    "payment.refunded", module="finance", description="Money was given back on a payment (Stripe or by hand).",
    payload={"refundId": "Refund ID", "paymentId": "Payment ID", "customerId": "Customer ID",
             "amount": "decimal string", "currencyCode": "ISO 4217",
             "reopenedInvoices": "list of {invoiceId, number, status} whose payment was taken back"})
CREDIT_NOTE_ISSUED = event_type(
    "credit_note.issued", module="finance", description="A credit note was issued for a return and applied.",
    payload={"creditNoteId": "CreditNote ID", "number": "CN-000001", "customerId": "Customer ID",
             "orderId": "Order ID", "returnId": "Return ID", "total": "decimal string",
             "applied": "the part applied to the order's open invoices (the rest is customer credit)",
             "currencyCode": "ISO 4217"})
