"""Every transition from every state: allowed ones move the order, the others answer
INVALID_TRANSITION naming the current status and change nothing."""

from __future__ import annotations

from decimal import Decimal

from backend.core.ids import from_global_id, to_global_id
from backend.modules.orders import service as orders
from tests.modules.orders.conftest import Shop

ACTIONS = {  # mutation -> extra input
    "orderSubmit": {}, "orderApprove": {}, "orderReject": {"reason": "No"}, "orderHold": {}, "orderRelease": {},
    "orderCancel": {}, "orderAllocate": {},
}
ALLOWED = {
    "draft": {"orderSubmit", "orderCancel"},
    "submitted": {"orderApprove", "orderReject", "orderHold", "orderCancel"},
    "approved": {"orderHold", "orderCancel", "orderAllocate"},
    "rejected": {"orderCancel"},
    "allocated": {"orderHold", "orderCancel", "orderAllocate"},
    "on_hold": {"orderRelease", "orderCancel"},
    "cancelled": set(),
    "shipped": set(),
    "completed": set(),
}


WIDE = """fragment W on Order { id number status channel currencyCode subtotal { amount currencyCode }
  discountTotal { amount } taxTotal { amount } shippingTotal { amount } total { amount currencyCode }
  billingAddress shippingAddress requestedDeliveryDate notes rejectionReason cancelReason createdAt updatedAt
  submittedAt approvedAt shippedAt deliveredAt completedAt cancelledAt trackingLink customer { name }
  contact { name } lines { sku reserved } events { from to note } assignee { id } opportunityId }"""


def _input(action: str) -> str:
    return "OrderReasonInput" if action in ("orderReject", "orderHold", "orderCancel") else "OrderIdInput"


async def _order_in(shop: Shop, db, status: str, customer, product):  # type: ignore[no-untyped-def]
    async with db.transaction(shop.tenant) as session:
        order = await orders.create_order(session, values=orders.OrderFields(
            customer_id=customer, lines=[orders.LineInput(product, Decimal(1))]))
        steps = {"draft": [], "submitted": ["submit"], "approved": ["submit", "approve"],
                 "rejected": ["submit", "reject"], "allocated": ["submit", "approve", "allocate"],
                 "on_hold": ["submit", "hold"], "cancelled": ["cancel"],
                 "shipped": ["submit", "approve", "allocate", "ship"],
                 "completed": ["submit", "approve", "allocate", "ship", "deliver"]}[status]
        fulfillment = None
        for step in steps:
            if step == "submit":
                await orders.submit_order(session, order_id=order.id)
            elif step == "approve":
                await orders.approve_order(session, order_id=order.id)
            elif step == "reject":
                await orders.reject_order(session, order_id=order.id, reason="x")
            elif step == "allocate":
                await orders.allocate_order(session, order_id=order.id)
            elif step == "hold":
                await orders.hold_order(session, order_id=order.id)
            elif step == "cancel":
                await orders.cancel_order(session, order_id=order.id)
            elif step == "ship":
                fulfillment = (await orders.create_fulfillments(session, order_id=order.id))[0]
                await orders.ship(session, fulfillment_id=fulfillment.id, carrier="EMS", tracking_number="1")
            elif step == "deliver":
                await orders.deliver(session, fulfillment_id=fulfillment.id)  # type: ignore[union-attr]
        assert (await orders.get_order(session, order_id=order.id)).status == status
        return to_global_id("Order", order.id)


async def test_every_action_from_every_state(shop: Shop, db):
    customer = from_global_id(await shop.customer())[1]  # type: ignore[index]
    product = from_global_id(await shop.stocked("TEA", "200"))[1]  # type: ignore[index]
    for status, allowed in ALLOWED.items():
        for action, extra in ACTIONS.items():
            oid = await _order_in(shop, db, status, customer, product)
            result = await shop.act(action, oid, **extra)
            if action in allowed:
                assert result["userErrors"] == [], (status, action, result)
                assert result["order"]["status"] != status.upper() or action == "orderAllocate", (status, action)
                # The payload is built from the order the transition holds: it must be what a read finds after.
                payload = await shop(WIDE + f"mutation($in: {_input(action)}!) {{ {action}(input: $in) "
                                     "{ order { ...W } userErrors { code } } }",
                                     {"in": {"id": await _order_in(shop, db, status, customer, product), **extra}})
                held = payload["data"][action]
                assert held["userErrors"] == [], (status, action, held)
                read = await shop(WIDE + "query($id: ID!) { node(id: $id) { ...W } }", {"id": held["order"]["id"]})
                assert held["order"] == read["data"]["node"], (status, action)
            else:
                error = result["userErrors"][0]
                assert error["code"] == "INVALID_TRANSITION" and status.upper() in error["message"], (status, action)
                r = await shop("query($id: ID!) { node(id: $id) { ... on Order { status } } }", {"id": oid})
                assert r["data"]["node"]["status"] == status.upper()


async def test_a_transition_writes_the_order_and_its_log_in_one_statement(shop: Shop, db, count_sql):
    """Inside the tenant's write lock every round trip counts: the status change, its timestamp and the log row
    are one statement, and the order object is left with nothing more to flush."""
    customer = from_global_id(await shop.customer())[1]  # type: ignore[index]
    product = from_global_id(await shop.stocked("TEA", "10"))[1]  # type: ignore[index]
    oid = from_global_id(await _order_in(shop, db, "submitted", customer, product))[1]  # type: ignore[index]
    async with db.transaction(shop.tenant) as session:
        count_sql.statements.clear()
        order = await orders.approve_order(session, order_id=oid)
        await session.flush()
        writes = [s for s in count_sql.queries if "ord_order" in s and not s.lstrip().startswith("SELECT")]
        assert len(writes) == 1 and "UPDATE ord_order SET" in writes[0] and "INSERT INTO ord_order_event" in writes[0]
        assert order.status == "approved" and order.approved_at is not None and not session.dirty
    async with db.transaction(shop.tenant) as session:
        again = await orders.get_order(session, order_id=oid)
        assert (again.status, again.approved_at, again.updated_at) == ("approved", order.approved_at, order.updated_at)


async def test_a_new_orders_payload_is_what_a_read_finds(shop: Shop):
    """orderCreate answers from the order it just wrote (amounts computed in Python, stored as NUMERIC(19,4)):
    every field must be what reading the order back gives."""
    customer = await shop.customer(email="jade@example.com", billingAddress={"city": "Hangzhou", "line1": "1 West"})
    tea, cup = await shop.stocked("TEA", "10"), await shop.stocked("CUP", "10")
    created = await shop(WIDE + """mutation($in: OrderCreateInput!) { orderCreate(input: $in) { order { ...W }
        userErrors { code } } }""", {"in": {
        "customerId": customer, "channel": "PHONE", "notes": "ring twice", "requestedDeliveryDate": "2027-01-05",
        "shippingAddress": {"city": "Suzhou", "zip": "215000"}, "shippingAmount": "12.5",
        "lines": [{"productId": tea, "quantity": "3", "unitPrice": "19.99", "discountPercent": "12.5", "taxRate": "13"},
                  {"productId": cup, "quantity": "7", "unitPrice": "0.333", "discountAmount": "0.01"}]}})
    made = created["data"]["orderCreate"]
    assert made["userErrors"] == [], made
    read = await shop(WIDE + "query($id: ID!) { node(id: $id) { ...W } }", {"id": made["order"]["id"]})
    assert made["order"] == read["data"]["node"]
