"""Dates, coarsened. A response is dated by the first day of its month (or ISO week),
never by the day or the time (privacy.md). One place for that rule."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


# Reporting periods: fixed, non-overlapping windows (privacy.md: no free date range, since
# differencing two overlapping ranges reveals single responses).
PERIOD_KINDS = {"month": 1, "quarter": 3, "half": 6}
_CODE = re.compile(r"^(?P<year>\d{4})-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])|H(?P<half>[12]))$")


@dataclass(frozen=True, order=True)
class ReportingPeriod:
    """A month, quarter or half-year: ``2026-11``, ``2026-Q4``, ``2026-H2``."""

    year: int
    kind: str
    number: int  # month 1–12, quarter 1–4 or half 1–2
    _hash: int = field(init=False, repr=False, compare=False)  # set in __post_init__

    def __post_init__(self):
        if self.kind not in PERIOD_KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}")
        if not 1 <= self.number <= 12 // PERIOD_KINDS[self.kind]:
            raise ValueError(f"no {self.kind} number {self.number}")
        if not 1 <= self.year <= 9998:  # its end, and the period after it, must be dates
            raise ValueError(f"year {self.year} is out of range")
        # Periods key the suppression lattice's dictionaries: hash once, not per lookup.
        object.__setattr__(self, "_hash", hash((self.year, self.kind, self.number)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def months(self) -> int:
        return PERIOD_KINDS[self.kind]

    @property
    def start(self) -> date:
        return date(self.year, (self.number - 1) * self.months + 1, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return _add_months(self.start, self.months)

    @property
    def last_day(self) -> date:
        """The last day in the period (``end`` is the day after it)."""
        return self.end - timedelta(days=1)

    @property
    def code(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        return f"{self.year}-{'Q' if self.kind == 'quarter' else 'H'}{self.number}"

    def __str__(self) -> str:
        return self.code

    @classmethod
    def parse(cls, code: str) -> ReportingPeriod:
        match = _CODE.match(code or "")
        if not match:
            raise ValueError(f"not a period: {code!r}")
        year = int(match["year"])
        if match["month"]:
            return cls(year, "month", int(match["month"]))
        if match["quarter"]:
            return cls(year, "quarter", int(match["quarter"]))
        return cls(year, "half", int(match["half"]))

    @classmethod
    def containing(cls, day: date, kind: str) -> ReportingPeriod:
        return cls(day.year, kind, (day.month - 1) // PERIOD_KINDS[kind] + 1)

    def previous(self) -> ReportingPeriod:
        return ReportingPeriod.containing(_add_months(self.start, -self.months), self.kind)

    def following(self) -> ReportingPeriod:
        return ReportingPeriod.containing(self.end, self.kind)

    def parent(self) -> ReportingPeriod | None:
        """The quarter of a month, the half-year of a quarter; a half-year has none."""
        wider = {"month": "quarter", "quarter": "half"}.get(self.kind)
        return ReportingPeriod.containing(self.start, wider) if wider else None

    def children(self) -> tuple[ReportingPeriod, ...]:
        narrower = {"quarter": "month", "half": "quarter"}.get(self.kind)
        if not narrower:
            return ()
        step = PERIOD_KINDS[narrower]
        return tuple(
            ReportingPeriod.containing(_add_months(self.start, n), narrower)
            for n in range(0, self.months, step)
        )

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


# The earliest year an office's survey period can start in: an earlier month typed into the
# office forms or ``flask periods`` is a typo, not a plan.
FIRST_SURVEY_YEAR = 2000


def parse_month(text: str | None) -> ReportingPeriod | None:
    """A month as typed into the office forms or ``flask offices``/``flask periods``:
    ``"2026-09"`` (spaces around it allowed) -> that month; None for anything else — a
    quarter or half-year, a month outside 01–12, a year before ``FIRST_SURVEY_YEAR``.
    The one place that reads a typed month: ``ReportingPeriod.parse`` gives the syntax."""
    try:
        period = ReportingPeriod.parse((text or "").strip())
    except ValueError:
        return None
    if period.kind != "month" or period.year < FIRST_SURVEY_YEAR:
        return None
    return period


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (before, if negative)."""
    return _add_months(day, months)


def complete_through(today: date, precision: str = "month") -> date:
    """The first day of the last month whose figures are final on ``today``: the release
    rule's one statement of when a month can no longer change (see ``survey.releases``).

    With month precision a response is dated by its month, so every month before today's
    is complete. With ISO-week precision a response is dated by the Monday of its week and
    folded into that Monday's month, so a month is complete only once the week of its
    last Monday has ended (that week may run into the next month): the latest month
    whose last dated week ended on or before ``today``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown date precision {precision!r}; use one of {PRECISIONS}")
    month = _add_months(today.replace(day=1), -1)
    if precision == "week":
        while True:
            following = _add_months(month, 1)
            last_monday = coarse_date(following - timedelta(days=1), "week")
            if last_monday + timedelta(days=7) <= today:
                break
            month = _add_months(month, -1)
    return month


def next_complete_on(through: date, precision: str = "month") -> date:
    """The first day on which ``complete_through`` moves past ``through``: the earliest
    date of the next release after one that covers months through ``through``."""
    following = _add_months(through, 1)
    if precision == "week":
        last_monday = coarse_date(_add_months(following, 1) - timedelta(days=1), "week")
        return last_monday + timedelta(days=7)
    return _add_months(following, 1)
