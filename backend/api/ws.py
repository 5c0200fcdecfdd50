"""GraphQL subscriptions over websocket (graphql-transport-ws) on ``/graphql``.

strawberry runs the protocol; we authenticate ``connection_init`` with the same bearer tokens as
HTTP (``{"Authorization": "Bearer <token>"}`` in its payload) and refuse the connection (4403)
otherwise. The subscription holds no database session: it waits on the process's event listener and
opens a short transaction only when it must read something.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from backend.api.context import RequestContext
from backend.api.schema import ApiSchema
from backend.core.errors import ApiError
from backend.core.request_id import current_request_id
from backend.settings import Settings


class SubscriptionEndpoint(GraphQL):
    def __init__(self, schema: ApiSchema, settings: Settings, authenticate_token: Any) -> None:
        super().__init__(schema.strawberry, graphql_ide=None, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
        self.api_schema = schema
        self.settings = settings
        self.authenticate_token = authenticate_token

    async def get_context(self, request: HTTPConnection, response: Any = None) -> RequestContext:  # type: ignore[override]
        return RequestContext(request=request, settings=self.settings, registry=request.app.state.registry,
                              nodes=self.api_schema.nodes, principal=None, session=None,
                              request_id=current_request_id())

    async def on_ws_connect(self, context: RequestContext) -> None:  # type: ignore[override]
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("Authorization") or params.get("authorization") or ""
        scheme, _, token = str(header).partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ConnectionRejectionError({"message": 'Send {"Authorization": "Bearer <token>"} in connection_init.'})
        websocket: WebSocket = context.request  # type: ignore[assignment]
        try:
            context.principal = await self.authenticate_token(token.strip(), websocket.app.state.db,
                                                              params.get("X-Tenant"))
            context.connection_params = {**params, "token": token.strip()}
        except ApiError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        if context.principal.tenant_id is None:
            raise ConnectionRejectionError({"message": "Subscriptions need a tenant's token."})
        return None
