"""Finance GraphQL, merged for the schema builder."""

from strawberry.tools import merge_types

from backend.modules.finance.graphql import finance, more
from backend.modules.finance.graphql.types import AccountType, InvoiceType, JournalEntryType, PaymentType

Query = merge_types("FinanceQuery", (finance.Query, more.Query))
Mutation = merge_types("FinanceMutation", (finance.Mutation, more.Mutation))
types = [AccountType, JournalEntryType, InvoiceType, PaymentType, more.BillType]
node_sources = [*finance.node_sources, *more.node_sources]
