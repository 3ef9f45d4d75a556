"""Free-text scrubbing catches Norwegian numbers however they are written (issue 14):
every case found stored as written, and generated variants (groupings, separators, every
Unicode dash and space, full-width digits); ordinary text stays exactly as written."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import fodselsnummer, kontonr

from survey.domain.redaction import REMOVED, redact

FOUND_AS_WRITTEN = [
    "987 654 32",
    "98 765 432",
    "987/65/432",
    "987\u201165\u2011432",
    "01.01.90 12345",
    "01 01 90 123 45",
    "1234.56.78903",
    "ola @ gmail . com",
    "ola\uff20gmail.com",
    "0101 9012 345",
]


def digits_left(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize("found", FOUND_AS_WRITTEN)
def test_every_case_from_the_issue_is_removed_entirely(found):
    cleaned = redact(f"Ring meg: {found} takk")
    assert cleaned == f"Ring meg: {REMOVED} takk", cleaned


def test_no_piece_of_an_eleven_digit_number_is_left():
    assert redact("0101 9012 345") == REMOVED  # was "[fjernet] 345"
    assert "345" not in redact("fnr 0101 9012 345.")


@pytest.mark.parametrize(
    "text",
    [
        "Møtet var 1. mai, og igjen 17. mai 2024.",
        "Jeg var der 3 ganger i 2024 og 2 ganger i 2025.",
        "Det tok 12 uker, fra 2023-2024, og 4–5 måneder før det.",
        "Timen var 31.12.2024 kl. 10.30-11.00.",
        "Jeg er 19 år og har gått på 2 kurs (10 uker).",
        "Veilederen var grei 😀\u200d👍, ﬁnt!",
        "Svar: 1, 2, 3 eller 4.",
    ],
)
def test_what_is_not_a_number_or_address_is_kept_exactly(text):
    assert redact(text) == text


def test_only_the_identifier_is_cut_and_the_rest_kept_as_written():
    text = "Hei\u00a0–\u00a0ring ＋47 987 65 432 eller skriv ola(at)nav.no, ﬁnt"
    assert redact(text) == f"Hei\u00a0–\u00a0ring {REMOVED} eller skriv {REMOVED}, ﬁnt"


# --- generated variants ------------------------------------------------------------------------

DASHES = [
    "-",
    "\u2010",
    "\u2011",
    "\u2012",
    "\u2013",
    "\u2014",
    "\u2015",
    "\u2212",
    "\ufe63",
    "\uff0d",
]
SPACES = [" ", "\u00a0", "\u2002", "\u2003", "\u2009", "\u202f", "\u3000"]
SEPARATORS = st.sampled_from([*DASHES, *SPACES, ".", "/", " - ", "\uff0e", "\uff0f", ""])
WORDS = st.sampled_from(["", "ring", "mobil:", "tlf", "fnr", "nummeret mitt er", "konto"])


def full_width(digits: str) -> str:
    return "".join(chr(ord(d) - ord("0") + 0xFF10) for d in digits)


@st.composite
def grouped(draw, digits: str):
    """``digits`` split into groups of 1 to 5, joined by generated separators, perhaps
    in full-width digits, perhaps with invisible characters inside."""
    cuts, i = [], 0
    while i < len(digits):
        size = draw(st.integers(min_value=2, max_value=5))
        cuts.append(digits[i : i + size])
        i += size
    text = cuts[0]
    for part in cuts[1:]:
        text += draw(SEPARATORS) + part
    if draw(st.booleans()):
        text = "".join(full_width(c) if c.isdigit() else c for c in text)
    if draw(st.booleans()):
        spot = draw(st.integers(min_value=1, max_value=len(text) - 1))
        text = text[:spot] + draw(st.sampled_from(["\u200b", "\u00ad", "\u2060"])) + text[spot:]
    return text


mobile = st.from_regex(r"[49][0-9]{7}", fullmatch=True)
landline = st.from_regex(r"[2-7][0-9]{7}", fullmatch=True)
eleven = st.from_regex(r"[0-9]{11}", fullmatch=True)


@st.composite
def birth_number(draw):
    """A valid fødselsnummer or D-nummer: a birth date, an individual number, and the
    two check digits stdnum computes."""
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))  # D-nummer: day + 40
    month = draw(st.integers(1, 12))
    year = draw(st.integers(0, 99))
    individual = draw(st.integers(0, 499))
    base = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
    with_first = base + fodselsnummer.calc_check_digit1(base)
    number = with_first + fodselsnummer.calc_check_digit2(with_first)
    if len(number) == 11 and fodselsnummer.is_valid(number):
        return number
    return draw(eleven)


@st.composite
def account_number(draw):
    """A kontonummer whose check digit stdnum accepts (when the base has one)."""
    base = draw(st.from_regex(r"[0-9]{10}", fullmatch=True))
    valid = [base + d for d in "0123456789" if kontonr.is_valid(base + d)]
    return valid[0] if valid else base + "0"


def assert_gone(number: str, cleaned: str) -> None:
    assert REMOVED in cleaned
    # No run of 3+ of the number's digits is left anywhere (ASCII or full width).
    left = digits_left(cleaned)
    for i in range(len(number) - 2):
        assert number[i : i + 3] not in left, (number, cleaned)


@given(st.data(), WORDS, st.one_of(mobile, landline))
def test_any_phone_number_however_grouped_is_removed(data, before, number):
    written = data.draw(grouped(number))
    assert_gone(number, redact(f"{before} {written} da"))


@given(st.data(), WORDS, st.one_of(birth_number(), account_number(), eleven))
def test_any_eleven_digit_number_however_grouped_is_removed(data, before, number):
    written = data.draw(grouped(number))
    assert_gone(number, redact(f"{before} {written}."))


@given(st.sampled_from(["+47", "0047", "＋47", "+46", "+44"]), SEPARATORS, mobile)
def test_international_numbers_are_removed(prefix, separator, number):
    cleaned = redact(f"ring {prefix}{separator}{number[:3]} {number[3:]}")
    assert cleaned == f"ring {REMOVED}"


@given(
    st.sampled_from(["ola", "ola.nordmann", "kari_n", "x-y"]),
    st.sampled_from(["@", " @ ", "\uff20", " (at) ", "[at]"]),
    st.sampled_from(["gmail", "nav", "online"]),
    st.sampled_from([".", " . ", "\uff0e"]),
    st.sampled_from(["com", "no", "org"]),
)
def test_email_addresses_with_spaces_or_full_width_signs_are_removed(local, at, domain, dot, tld):
    cleaned = redact(f"skriv til {local}{at}{domain}{dot}{tld} i dag")
    assert cleaned == f"skriv til {REMOVED} i dag"


@given(
    st.integers(1, 31),
    st.sampled_from(["januar", "mai", "desember"]),
    st.integers(1900, 2099),
    st.integers(0, 99),
)
def test_dates_years_and_counts_are_kept(day, month, year, count):
    text = f"Den {day}. {month} {year} var jeg der {count} ganger, også i {year}."
    assert redact(text) == text
