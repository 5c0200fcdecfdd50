"""Units of measure: a fixed list, each with the decimal places its quantities may have."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from backend.core.errors import DomainError

# unit -> decimal places allowed (pieces are counted whole; weights and lengths are not)
UNITS: dict[str, int] = {
    "unit": 0, "pair": 0, "dozen": 0, "box": 0, "pack": 0, "carton": 0, "pallet": 0,
    "kg": 3, "g": 0, "t": 3, "lb": 3,
    "l": 3, "ml": 0, "m": 3, "cm": 0, "m2": 3, "m3": 3,
    "hour": 2, "day": 2,
}
MAX_QUANTITY = Decimal("1e12")


def check_unit(unit: str | None, *, field: str = "unit") -> str:
    value = (unit or "unit").strip().lower()
    if value not in UNITS:
        raise DomainError("UNKNOWN_UNIT", f"Units are: {', '.join(UNITS)}.", field)
    return value


def parse_quantity(value: object, *, unit: str = "kg", field: str = "quantity", allow_negative: bool = False,
                   allow_zero: bool = False) -> Decimal:
    """A finite Decimal with no more places than ``unit`` allows; positive unless told otherwise."""
    try:
        quantity = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError("INVALID_QUANTITY", 'Quantities are decimal numbers such as "3" or "2.5".', field) from None
    if not quantity.is_finite() or abs(quantity) >= MAX_QUANTITY:
        raise DomainError("INVALID_QUANTITY", "The quantity is out of range.", field)
    if quantity == 0 and not allow_zero:
        raise DomainError("ZERO_QUANTITY", "The quantity cannot be zero.", field)
    if quantity < 0 and not allow_negative:
        raise DomainError("NEGATIVE_QUANTITY", "The quantity must be positive.", field)
    places = UNITS.get(unit, 4)
    if quantity != quantity.quantize(Decimal(1).scaleb(-places)):
        raise DomainError("INVALID_QUANTITY", f"Quantities in {unit} have at most {places} decimal places.", field)
    return quantity


def show(quantity: Decimal) -> Decimal:
    """A quantity without trailing zeros ("3", "2.5"), never in exponent form."""
    normalized = quantity.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized
