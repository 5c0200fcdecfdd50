"""Finance: the double-entry general ledger, invoices, payments, receivables, financial statements."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="finance",
    title="Finance",
    permissions=(
        "finance.read",  # accounts, entries, invoices, payments, reports
        "finance.write",  # invoices and payments
        "finance.post",  # manual journal entries and reversals
        "finance.admin",  # chart of accounts, periods (close and reopen), settings
    ),
    description="The general ledger (append-only, always balanced), invoices and payments, receivables, statements.",
)
