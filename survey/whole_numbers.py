"""Reading whole numbers from a query string or form, as typed by anyone."""

from __future__ import annotations


def whole_number(raw: str | None, low: int = 0, high: int = 10**6) -> int | None:
    """An ASCII whole number within [low, high], or None. ("²".isdigit() is true, but it
    is no number int() reads; and a huge page number would overflow the database.)"""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if low <= value <= high else None
