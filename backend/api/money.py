"""The GraphQL ``Money`` type: ``{ amount: Decimal!, currencyCode: String! }`` (Decimal as a string)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from backend.core.money import Money, round_money


@strawberry.type(name="Money")
class MoneyType:
    amount: Decimal
    currency_code: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> MoneyType:
        """Shown in the currency's minor unit ("100.00", "1500" for JPY), whatever the storage scale."""
        return cls(amount=round_money(amount, currency), currency_code=currency)

    @classmethod
    def from_money(cls, money: Money) -> MoneyType:
        return cls(amount=money.amount, currency_code=money.currency)
