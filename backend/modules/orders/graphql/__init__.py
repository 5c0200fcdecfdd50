"""Orders GraphQL, merged for the schema builder."""

from backend.modules.orders.graphql import orders
from backend.modules.orders.graphql.types import FulfillmentType, OrderLineType, OrderType, ReturnType

Query = orders.Query
Mutation = orders.Mutation
Subscription = orders.Subscription
types = [OrderType, OrderLineType, FulfillmentType, ReturnType]
node_sources = list(orders.node_sources)
