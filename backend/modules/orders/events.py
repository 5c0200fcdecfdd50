"""Events the orders module emits. Each names the order, its number, customer and status, so the
CRM timeline, notifications, finance and webhooks need nothing else."""

from backend.core.events import event_type

_ORDER = {"orderId": "Order ID", "number": "SO-000123", "customerId": "Customer ID", "status": "the new status",
          "total": "grand total (decimal string)", "currencyCode": "ISO 4217"}

ORDER_CREATED = event_type("order.created", module="orders", description="An order (a draft) was created.",
                           payload={**_ORDER, "channel": "WEB, PHONE, EMAIL, API or MARKETPLACE"})
ORDER_UPDATED = event_type("order.updated", module="orders", description="An order's lines or details changed.",
                           payload={**_ORDER, "changed": "names of what changed"})
ORDER_SUBMITTED = event_type("order.submitted", module="orders", description="A draft was submitted for review.",
                             payload={**_ORDER, "assigneeId": "User ID of the reviewer or null"})
ORDER_APPROVED = event_type("order.approved", module="orders", description="An order was approved.",
                            payload={**_ORDER, "automatically": "true when an approval rule approved it"})
ORDER_REJECTED = event_type("order.rejected", module="orders", description="A submitted order was rejected.",
                            payload={**_ORDER, "reason": "why"})
ORDER_ALLOCATED = event_type(
    "order.allocated", module="orders", description="Stock was reserved for an order (fully or with backorders).",
    payload={**_ORDER, "backordered": "list of {lineId, sku, quantity} still waiting for stock"})
ORDER_HELD = event_type("order.held", module="orders", description="An order was put on hold.",
                        payload={**_ORDER, "reason": "why or null"})
ORDER_RELEASED = event_type("order.released", module="orders", description="An order on hold was released.",
                            payload=_ORDER)
ORDER_CANCELLED = event_type("order.cancelled", module="orders",
                             description="An order was cancelled; its reservations were released.",
                             payload={**_ORDER, "reason": "why or null"})
ORDER_SHIPPED = event_type(
    "order.shipped", module="orders", description="A shipment of an order left the warehouse.",
    payload={**_ORDER, "shipmentId": "the Fulfillment ID of the shipment", "carrier": "carrier",
             "trackingNumber": "tracking number", "trackingUrl": "tracking URL or null",
             "lines": "list of {lineId, sku, quantity}"})
ORDER_DELIVERED = event_type(
    "order.delivered", module="orders", description="A shipment was delivered (status DELIVERED once all are).",
    payload={**_ORDER, "shipmentId": "the Fulfillment ID of the shipment"})
ORDER_COMPLETED = event_type("order.completed", module="orders",
                             description="Every line of the order is delivered or cancelled.", payload=_ORDER)
_RETURN = {"returnId": "Return ID", "number": "RMA-000001", "orderId": "Order ID", "orderNumber": "SO-000123",
           "customerId": "Customer ID"}
RETURN_CREATED = event_type("return.created", module="orders", description="A customer return was requested.",
                            payload={**_RETURN, "reason": "why"})
RETURN_RECEIVED = event_type(
    "return.received", module="orders", description="A return was received: restocked or scrapped, line by line.",
    payload={**_RETURN, "warehouseId": "Warehouse ID",
             "lines": "list of {lineId, sku, quantity, restocked (bool), unitPrice, taxRate}"})
