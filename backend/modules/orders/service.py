"""The orders module's public operations: what other modules (and its GraphQL) call.

    from backend.modules.orders import service as orders
"""

from backend.modules.orders.fulfillment import (
    allocate_backorders,
    allocate_order,
    create_fulfillments,
    deliver,
    ship,
)
from backend.modules.orders.orders import (
    LineInput,
    OrderFields,
    approve_order,
    cancel_order,
    create_order,
    get_order,
    hold_order,
    order_lines,
    reject_order,
    release_order,
    submit_order,
    update_order,
)
from backend.modules.orders.pricing import line_amounts, order_amounts, set_tax_rate, tax_rates
from backend.modules.orders.returns import create_return, get_return, receive_return
from backend.modules.orders.routing import RuleFields
from backend.modules.orders.routing import create_rule as create_routing_rule
from backend.modules.orders.routing import delete_rule as delete_routing_rule

__all__ = [
    "LineInput",
    "OrderFields",
    "RuleFields",
    "allocate_backorders",
    "allocate_order",
    "approve_order",
    "cancel_order",
    "create_fulfillments",
    "create_order",
    "create_return",
    "create_routing_rule",
    "delete_routing_rule",
    "deliver",
    "get_order",
    "get_return",
    "hold_order",
    "line_amounts",
    "order_amounts",
    "order_lines",
    "receive_return",
    "reject_order",
    "release_order",
    "set_tax_rate",
    "ship",
    "submit_order",
    "tax_rates",
    "update_order",
]
