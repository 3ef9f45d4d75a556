"""Dates, coarsened. A response is dated by the first day of its month (or ISO week),
never by the day or the time (privacy.md). One place for that rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
PRECISIONS = ("month", "week")


def coarse_date(day: date, precision: str = "month") -> date:
    """The first day of ``day``'s month, or the Monday of its ISO week."""
    if precision == "month":
        return day.replace(day=1)
    if precision == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown date precision {precision!r}; use one of {PRECISIONS}")


def today_in_norway() -> date:
    """Today's date where the respondents are; used only to pick the period."""
    return datetime.now(OSLO).date()
