"""The GraphQL ``Money`` type: ``{ amount: Decimal!, currencyCode: String! }`` (Decimal as a string)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from backend.core.money import Money


@strawberry.type(name="Money")
class MoneyType:
    amount: Decimal
    currency_code: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> MoneyType:
        return cls(amount=amount, currency_code=currency)

    @classmethod
    def from_money(cls, money: Money) -> MoneyType:
        return cls(amount=money.amount, currency_code=money.currency)
