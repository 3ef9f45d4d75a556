"""Coarse dates and free-text redaction, without Flask."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.domain.periods import ReportingPeriod, coarse_date, parse_month
from survey.domain.redaction import REMOVED, redact


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_month_precision_keeps_only_year_and_month(day):
    coarse = coarse_date(day, "month")
    assert coarse == date(day.year, day.month, 1)


@given(st.dates(min_value=date(2000, 1, 3), max_value=date(2100, 12, 31)))
def test_week_precision_is_the_monday_of_the_iso_week(day):
    coarse = coarse_date(day, "week")
    assert coarse.weekday() == 0
    assert coarse.isocalendar()[:2] == day.isocalendar()[:2]
    assert timedelta(0) <= day - coarse < timedelta(days=7)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError):
        coarse_date(date(2026, 5, 17), "day")


def test_typed_months():
    assert parse_month("2026-09") == ReportingPeriod(2026, "month", 9)
    assert parse_month(" 2026-09 ") == ReportingPeriod(2026, "month", 9)
    for bad in (
        "2026-13",
        "2026-00",
        "26-09",
        "2026-9",
        "september",
        "",
        None,
        "2026-09-01",
        "１９９９-01",
        "1999-01",
        "2026-Q3",
        "2026-H2",
    ):
        assert parse_month(bad) is None, bad
    assert parse_month("2028-02").start == date(2028, 2, 1)
    assert parse_month("2028-02").last_day == date(2028, 2, 29)
    assert parse_month("2026-12").last_day == date(2026, 12, 31)
    assert parse_month("2026-03") < parse_month("2026-10") < parse_month("2027-01")


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(9998, 12, 31)))
def test_a_month_code_reads_back_as_its_month(day):
    month = ReportingPeriod.containing(day, "month")
    assert parse_month(month.code) == month
    assert month.start <= day <= month.last_day


@pytest.mark.parametrize(
    "text",
    [
        "Ring meg på 912 34 567 da",
        "ring 91234567",
        "tlf +47 912 34 567",
        "0047 91 23 45 67",
        "mitt nummer er 22-33-44-55",
        "skriv til ola.nordmann@example.no",
        "fnr 01019912345",
        "fnr 010199 12345",
        "se https://example.com/profil?id=7",
        "se www.facebook.com/ola",
        "se nav.no/minside",
        "ring 12345678https://ola-nordmann.de/cv",
        "CV: ola-nordmann.no12345678901",
    ],
)
def test_identifiers_are_removed(text):
    cleaned = redact(text)
    assert REMOVED in cleaned
    for piece in ("912", "4567", "@", "12345", "http", "www", "nav.no", "22-33", "nordmann"):
        assert piece not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "Jeg ventet 3 måneder på svar, og hadde 4 veiledere på 2 år.",
        "Det tok 12 uker. Kurset var bra!",
        "Veilederen var grei, f.eks. da jeg var syk.",
    ],
)
def test_ordinary_text_is_kept(text):
    assert redact(text) == text


phone = st.from_regex(r"[49]\d{7}", fullmatch=True)
words = st.text(alphabet=st.characters(whitelist_categories=("L",)), min_size=1, max_size=12)


@given(words, phone, words)
def test_any_mobile_number_in_a_sentence_is_removed(before, number, after):
    cleaned = redact(f"{before} {number} {after}")
    assert number not in cleaned
    assert REMOVED in cleaned


@given(st.from_regex(r"\d{11}", fullmatch=True))
def test_any_eleven_digit_number_is_removed(number):
    assert number not in redact(f"nummeret mitt er {number}.")


def test_control_characters_are_removed_and_lines_kept():
    assert redact("hei\x00du\x07 og\nlinje\tto") == "heidu og\nlinje\tto"
