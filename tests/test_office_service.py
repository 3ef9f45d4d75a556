"""The period rules the office pages and ``flask periods`` share (``admin/office_service``),
on offices in memory: no request, no database, today passed in."""

from __future__ import annotations

from datetime import date

from survey.admin.office_service import (
    all_offices_details,
    close_now,
    open_now,
    period_from_months,
    set_period,
    status_of,
)
from survey.models import Office

TODAY = date(2026, 5, 14)


def office(slug="bodo", opens_on=None, closes_on=None, active=True) -> Office:
    return Office(
        slug=slug, name="NAV " + slug, opens_on=opens_on, closes_on=closes_on, active=active
    )


def test_set_period_returns_the_period_before_and_after_for_the_audit_log():
    bodo = office(opens_on=date(2026, 1, 1))
    details = set_period(bodo, date(2026, 9, 1), date(2026, 11, 30))
    assert details == {
        "office": "bodo",
        "before": ["2026-01-01", None],
        "after": ["2026-09-01", "2026-11-30"],
    }
    assert (bodo.opens_on, bodo.closes_on) == (date(2026, 9, 1), date(2026, 11, 30))


def test_close_now_ends_yesterday_and_drops_a_start_still_ahead():
    running = office(opens_on=date(2026, 5, 1))
    close_now(running, TODAY)
    assert (running.opens_on, running.closes_on) == (date(2026, 5, 1), date(2026, 5, 13))
    assert status_of(running, TODAY) == "closed"

    ahead = office(opens_on=date(2026, 6, 1), closes_on=date(2026, 6, 30))
    close_now(ahead, TODAY)  # would otherwise reopen by itself in June
    assert (ahead.opens_on, ahead.closes_on) == (None, date(2026, 5, 13))


def test_open_now_opens_from_the_first_of_the_month_until_further_notice():
    bodo = office(closes_on=date(2026, 1, 31))
    open_now(bodo, TODAY)
    assert (bodo.opens_on, bodo.closes_on) == (date(2026, 5, 1), None)
    assert status_of(bodo, TODAY) == "open"
    assert status_of(office(active=False), TODAY) == "deactivated"


def test_months_become_whole_month_dates():
    assert period_from_months("2026-02", "2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_from_months("2026-09", None) == (date(2026, 9, 1), None)


def test_a_change_to_every_office_is_one_audit_entry_keyed_by_office():
    changes = [close_now(office("bodo"), TODAY), open_now(office("tromso"), TODAY)]
    assert all_offices_details(changes) == {
        "all_offices": True,
        "offices": {
            "bodo": {"before": [None, None], "after": [None, "2026-05-13"]},
            "tromso": {"before": [None, None], "after": ["2026-05-01", None]},
        },
    }
