"""Finance GraphQL, merged for the schema builder."""

from backend.modules.finance.graphql import finance
from backend.modules.finance.graphql.types import AccountType, InvoiceType, JournalEntryType, PaymentType

Query = finance.Query
Mutation = finance.Mutation
types = [AccountType, JournalEntryType, InvoiceType, PaymentType]
node_sources = list(finance.node_sources)
