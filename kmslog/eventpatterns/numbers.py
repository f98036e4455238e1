"""Numbers as event-ruler compares them (``ComparableNumber``): exact decimals in
-5,000,000,000 … +5,000,000,000 with at most six digits after the point. A number
outside that set is never matched by ``numeric`` (and only by its text in an exact
match); in a pattern's ``numeric`` or ``anything-but`` it is an error."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

FIVE_BILLION = 5_000_000_000
MAX_DECIMALS = 6
RANGE_MESSAGE = f"Value must be between {-FIVE_BILLION} and {FIVE_BILLION}, inclusive"
DECIMALS_MESSAGE = "Only values upto 6 decimals are supported"


def comparable_or_error(text: str) -> tuple[int | None, str]:
    """The number scaled by 10^6 as an exact integer, or None with the reason."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None, f"Not a number: {text}"
    if not d.is_finite():
        return None, f"Not a number: {text}"
    d = d.normalize()
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    if exp < -MAX_DECIMALS:
        return None, DECIMALS_MESSAGE
    # Decimal's own range check first: huge exponents must not build huge integers.
    if d.adjusted() > 10:
        return None, RANGE_MESSAGE
    scaled = int(d.scaleb(MAX_DECIMALS))
    if abs(scaled) > FIVE_BILLION * 10**MAX_DECIMALS:
        return None, RANGE_MESSAGE
    return scaled, ""


def comparable(text: str) -> int | None:
    return comparable_or_error(text)[0]
