"""survey.formatting.number parses its pattern once and remembers what it formatted; it
must write exactly what flask_babel.format_decimal writes, in every language, on the
first call and on every call after."""

from __future__ import annotations

import random
import re

import pytest
from flask_babel import force_locale, format_decimal

from survey import formatting
from survey.caching import Cache
from survey.formatting import NARROW_NBSP, number, percent


def reference(value, digits: int, lang: str) -> str:
    """The formatting as it was: flask_babel's format_decimal with the pattern."""
    text = format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))
    if lang in ("nb", "nn"):
        text = text.replace("\u00a0", NARROW_NBSP).replace(" ", NARROW_NBSP)
    return text


def values() -> list:
    rng = random.Random(3)
    found = [
        0,
        0.0,
        -0.0,
        1,
        1.0,
        -1,
        0.5,
        1.5,
        2.5,
        2.675,
        0.125,
        999.95,
        1000,
        1234.5,
        12345,
        9999.5,
        1_000_000,
        1_234_567.891,
        -0.3,
        -1234.56,
        99.95,
        100.0,
    ]
    found += [rng.uniform(0, 100) for _ in range(300)]
    found += [rng.randrange(0, 2_000_000) for _ in range(100)]
    found += [round(rng.uniform(-5000, 5000), rng.randrange(4)) for _ in range(100)]
    return found


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_number_writes_what_babel_writes_twice_over(app, lang):
    with app.test_request_context("/"), force_locale(lang):
        for _ in range(2):  # the second round comes from what was remembered
            for value in values():
                for digits in (0, 1, 2):
                    assert number(value, digits) == reference(value, digits, lang), (value, digits)


def test_zero_and_minus_zero_are_not_mixed_up(app):
    with app.test_request_context("/"), force_locale("en"):
        assert number(-0.0) == reference(-0.0, 0, "en")
        assert number(0.0) == reference(0.0, 0, "en")
        assert number(-0.0) == reference(-0.0, 0, "en")


def test_languages_are_remembered_apart(app):
    with app.test_request_context("/"):
        with force_locale("en"):
            english = number(1234.5, 1)
        with force_locale("nb"):
            norwegian = number(1234.5, 1)
    assert english == "1,234.5"
    assert norwegian == f"1{NARROW_NBSP}234,5"


def test_the_memory_is_bounded(app, monkeypatch):
    monkeypatch.setattr(formatting, "_formatted", Cache(maxsize=10))
    with app.test_request_context("/"), force_locale("nb"):
        for n in range(1, 50):
            assert number(n + 0.5, 1) == reference(n + 0.5, 1, "nb")
    assert len(formatting._formatted) <= 10


def test_percent_is_unchanged(app):
    with app.test_request_context("/"), force_locale("nb"):
        assert percent(0.425) == "42\u00a0%"  # 42.5 rounds half to even, as Babel does
    with app.test_request_context("/"), force_locale("en"):
        assert percent(0.435, 1) == "43.5%"


def test_percent_gives_the_results_its_docstring_states(app):
    """Every "share -> 'text'" example in percent's docstring, checked the way doctest
    would, in Norwegian (whose no-break space the docstring writes as a space)."""
    examples = re.findall(r"(\d+\.\d+) -> '([^']*)'", percent.__doc__)
    assert examples == [("0.425", "42 %"), ("0.435", "44 %")]
    with app.test_request_context("/"), force_locale("nb"):
        for share, text in examples:
            assert percent(float(share)) == text.replace(" ", "\u00a0"), share
