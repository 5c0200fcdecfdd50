"""The customer-facing tracking page: ``GET /track/{token}``, no sign-in.

It answers only what a customer may see: the order number, its status, the requested delivery
date and the shipments (carrier, tracking number and URL, shipped and delivered times). The token
names the tenant (its first 32 characters) and carries 192 random bits; an unknown token, or a
tenant that switched orders off, answers 404 without saying which.
"""

from __future__ import annotations

import re
import uuid

import orjson
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.core.db import set_tenant
from backend.modules.orders.models import Fulfillment, Order
from backend.modules.platform import service as platform

TOKEN_RE = re.compile(r"^[0-9a-f]{32}[A-Za-z0-9_-]{32}$")
_order = Order.__table__
_fulfillment = Fulfillment.__table__


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


async def track(request: Request) -> Response:
    token = request.path_params["token"]
    missing = _json({"errors": [{"message": "No such order.", "extensions": {"code": "NOT_FOUND"}}]}, 404)
    if not TOKEN_RE.match(token):
        return missing
    tenant_id = uuid.UUID(hex=token[:32])
    async with request.app.state.db.sessionmaker() as session, session.begin():
        await set_tenant(session, tenant_id)
        if not await platform.is_module_enabled(session, "orders"):
            return missing
        order = (await session.execute(select(_order.c.id, _order.c.number, _order.c.status,
                                              _order.c.requested_delivery_date).where(
            _order.c.tenant_id == tenant_id, _order.c.tracking_token == token))).one_or_none()
        if order is None:
            return missing
        shipments = await session.execute(select(_fulfillment).where(
            _fulfillment.c.tenant_id == tenant_id, _fulfillment.c.order_id == order.id,
            _fulfillment.c.status.in_(("shipped", "delivered"))).order_by(_fulfillment.c.shipped_at))
        return _json({"number": order.number, "status": order.status.upper(),
                      "requestedDeliveryDate": order.requested_delivery_date.isoformat()
                      if order.requested_delivery_date else None,
                      "shipments": [{"status": s.status.upper(), "carrier": s.carrier,
                                     "trackingNumber": s.tracking_number, "trackingUrl": s.tracking_url,
                                     "shippedAt": s.shipped_at.isoformat() if s.shipped_at else None,
                                     "deliveredAt": s.delivered_at.isoformat() if s.delivered_at else None}
                                    for s in shipments]})


routes = [Route("/track/{token}", track, methods=["GET"])]
