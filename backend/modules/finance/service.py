"""Finance's public operations: what other modules (and finance's GraphQL) call.

    from backend.modules.finance import service as finance
"""

from backend.modules.finance.invoices import (
    InvoiceLineInput,
    create_invoice,
    get_invoice,
    invoice_order,
    issue_invoice,
    overdue_total,
    record_payment,
    settings_of,
    update_settings,
    void_invoice,
)
from backend.modules.finance.ledger import (
    Line,
    account_for,
    begin_posting,
    create_account,
    get_account,
    get_entry,
    post,
    post_manual,
    reverse,
    reverse_manual,
    seed_chart,
    set_period,
    update_account,
)
from backend.modules.finance.reports import ar_aging, balance_sheet, balances, profit_and_loss, trial_balance

__all__ = [
    "InvoiceLineInput",
    "Line",
    "account_for",
    "ar_aging",
    "balance_sheet",
    "balances",
    "begin_posting",
    "create_account",
    "create_invoice",
    "get_account",
    "get_entry",
    "get_invoice",
    "invoice_order",
    "issue_invoice",
    "overdue_total",
    "post",
    "post_manual",
    "profit_and_loss",
    "record_payment",
    "reverse",
    "reverse_manual",
    "seed_chart",
    "set_period",
    "settings_of",
    "trial_balance",
    "update_account",
    "update_settings",
    "void_invoice",
]
