"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.core.errors import Forbidden, ModuleDisabled, Unauthenticated
from backend.core.principal import Principal
from backend.modules.platform import service as platform
from backend.modules.registry import ModuleRegistry
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.api.relay import NodeRegistry

T = TypeVar("T")


@dataclass
class RequestContext:
    request: HTTPConnection | None
    settings: Settings
    registry: ModuleRegistry
    nodes: NodeRegistry
    principal: Principal | None
    session: AsyncSession | None
    request_id: str
    loaders: dict[Any, Any] = field(default_factory=dict)
    connection_params: dict[str, Any] | None = None  # websocket connection_init payload
    # Set by the compiled executor while a field resolves: the fields it selects on the row objects it
    # returns (backend.api.rows.Selection), so loaders can leave out unneeded columns.
    selection: Any = None
    # Set with it for a connection field: the tree answering its nodes in SQL (backend.api.sqltree), which a
    # page of rows can build in its own statement (keyset_page's ``tree``).
    nodes_tree: Any = None

    def require_tenant_session(self) -> AsyncSession:
        if self.principal is None or self.session is None:
            raise Unauthenticated("Authentication required.")
        if self.principal.tenant_id is None:
            raise Forbidden("This field needs a tenant's access token.")
        return self.session

    def require_platform_admin(self) -> AsyncSession:
        """For the platform administration fields: a platform token (scope ``platform``, no tenant)."""
        if self.principal is None or self.session is None:
            raise Unauthenticated("Authentication required.")
        if not self.principal.is_platform_admin or self.principal.tenant_id is not None:
            raise Forbidden("Platform administrators only: sign in with scope=platform.", permission="platform")
        return self.session

    async def require(self, module: str | None = None, permission: str | None = None) -> AsyncSession:
        """Gate a root field: authenticated, module enabled, permission held. Checked once per field."""
        session = self.require_tenant_session()
        if module is not None and not await platform.is_module_enabled(session, module):
            raise ModuleDisabled(module)
        if permission is not None and not self.principal.can(permission):  # type: ignore[union-attr]
            raise Forbidden(f"Missing permission {permission!r}.", permission=permission)
        return session

    async def module_enabled(self, module: str) -> bool:
        """For nested cross-module fields, which answer null/empty instead of an error."""
        if self.session is None or self.principal is None or self.principal.tenant_id is None:
            return False
        return await platform.is_module_enabled(self.session, module)

    def loader(self, key: Any, factory: Callable[[], T]) -> T:
        """A per-request DataLoader (or any per-request cache), built on first use."""
        found = self.loaders.get(key)
        if found is None:
            found = self.loaders[key] = factory()
        return found
