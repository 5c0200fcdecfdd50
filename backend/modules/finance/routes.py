"""``POST /webhooks/stripe``: Stripe's events for connected accounts (see ``stripe_payments``).

Answers 400 when the signature (checked on the raw body) is wrong, 200 otherwise, including for
events it ignores or has seen before, so that Stripe stops retrying them.
"""

from __future__ import annotations

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.modules.finance.stripe_payments import WebhookRefused, handle_webhook

log = structlog.get_logger("jishi.stripe")


async def stripe_webhook(request: Request) -> Response:
    payload = await request.body()
    try:
        outcome = await handle_webhook(request.app.state.db, payload, request.headers.get("stripe-signature"),
                                       request.app.state.settings)
    except WebhookRefused as exc:
        log.warning("stripe.webhook_refused", reason=str(exc))
        return Response(orjson.dumps({"error": "invalid signature or payload"}), status_code=400,
                        media_type="application/json")
    log.info("stripe.webhook", outcome=outcome)
    return Response(orjson.dumps({"received": True, "outcome": outcome}), media_type="application/json")


routes = [Route("/webhooks/stripe", stripe_webhook, methods=["POST"])]
