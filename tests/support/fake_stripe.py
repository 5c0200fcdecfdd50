"""A local stand-in for the Stripe API, for tests: the real ``stripe`` SDK talks to it over HTTP.

It answers ``POST /v1/payment_intents`` like Stripe (form-encoded parameters, the same object for
a repeated Idempotency-Key) and records every request with its headers.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.app = Starlette(routes=[Route("/v1/payment_intents", self.payment_intents, methods=["POST"])])

    async def payment_intents(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        self.requests.append({"path": request.url.path, "form": form, "headers": dict(request.headers)})
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse({"error": {"type": "invalid_request_error", "message": "Invalid API key"}}, 401)
        key = request.headers.get("idempotency-key", "")
        if key and key in self.by_key:
            return JSONResponse(self.by_key[key], headers={"idempotent-replayed": "true"})
        intent_id = f"pi_{secrets.token_hex(8)}"
        body = {"id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
                "currency": form["currency"], "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}", "description": form.get("description"),
                "metadata": {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}}
        if key:
            self.by_key[key] = body
        return JSONResponse(body)
