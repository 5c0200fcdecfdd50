"""Finance test helpers: a business-plan tenant (every module on) as a GraphQL client."""

from __future__ import annotations

import pytest

from tests.modules.inventory.conftest import wide_db  # noqa: F401  (many connections at once)
from tests.modules.orders.conftest import PERMISSIONS as ORDER_PERMISSIONS
from tests.modules.orders.conftest import Shop

PERMISSIONS = (*ORDER_PERMISSIONS, "finance.read", "finance.write", "finance.post", "finance.admin",
               "platform.modules")


class Books(Shop):
    async def account(self, role_or_code: str) -> str:
        r = await self("{ accounts(first: 100) { nodes { id code role } } }")
        return next(a["id"] for a in r["data"]["accounts"]["nodes"] if role_or_code in (a["role"], a["code"]))

    async def trial_balance(self) -> dict:
        r = await self("{ trialBalance { totalDebit { amount } totalCredit { amount } "
                       "lines { account { code role } debit { amount } credit { amount } balance { amount } } } }")
        return r["data"]["trialBalance"]

    async def balance(self, role: str) -> str:
        tb = await self.trial_balance()
        return next((x["balance"]["amount"] for x in tb["lines"] if x["account"]["role"] == role), "0.00")


@pytest.fixture
async def books(gql, make_tenant) -> Books:  # type: ignore[no-untyped-def]
    return Books(gql, await make_tenant(), permissions=PERMISSIONS)
