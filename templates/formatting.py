"""Number formats shared by messages and reports: two decimals, half up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def num(value: float | int | None, places: int = 2) -> str:
    """A number as a person reads it: `places` decimals, half up; an en dash for no value."""
    if value is None or value != value:  # None or NaN
        return "–"
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def pct(value: float | None, places: int = 1) -> str:
    """A share as a percentage with `places` decimals."""
    if value is None or value != value:
        return "–"
    return num(value * 100, places) + "%"
