"""Money: Decimal amounts with an ISO 4217 currency, never floats.

Amounts are stored as NUMERIC(19, 4) and rounded half-even to the currency's minor unit at the
points the services define (entry of a price, a line total, a document total).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from backend.core.errors import DomainError

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# Minor units that differ from 2 (ISO 4217); everything else has cents.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3,
               "TND": 3}
MAX_AMOUNT = Decimal("1e15")


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def parse_amount(value: object, *, currency: str, field: str = "amount", allow_negative: bool = False) -> Decimal:
    """A finite Decimal within bounds, rounded to the currency; refuses anything else with a userError."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError("INVALID_AMOUNT", "Amounts are decimal numbers such as \"1250.00\".", field) from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise DomainError("INVALID_AMOUNT", "The amount is out of range.", field)
    if amount < 0 and not allow_negative:
        raise DomainError("NEGATIVE_AMOUNT", "The amount cannot be negative.", field)
    return round_money(amount, currency)


def check_currency(code: str, *, field: str = "currencyCode") -> str:
    code = (code or "").strip().upper()
    if not CURRENCY_RE.match(code):
        raise DomainError("INVALID_CURRENCY", "Currencies are three-letter ISO 4217 codes.", field)
    return code


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)
