"""Orders (OMS): the order lifecycle from submission to delivery, allocation and backorders, shipments."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="orders",
    title="Orders",
    depends=("crm", "inventory"),
    permissions=(
        "orders.read",  # orders, shipments, returns, reports
        "orders.write",  # create and edit orders, cancel, hold
        "orders.submit",  # submit a draft for review
        "orders.approve",  # approve or reject submitted orders
        "orders.fulfill",  # allocate, create fulfillments, ship, confirm delivery, receive returns
        "orders.admin",  # order settings: tax rates, routing and approval rules
    ),
    description="Orders from draft to delivery: review, allocation with backorders, shipments and tracking.",
)
