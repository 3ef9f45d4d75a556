"""Numbers as readers expect them: decimal comma and a narrow no-break space between
thousands in Norwegian, point and comma in English."""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import NumberPattern, parse_pattern
from flask_babel import format_decimal, get_locale

from .caching import Cache

NARROW_NBSP = "\u202f"


@lru_cache(maxsize=16)
def _pattern(digits: int) -> tuple[str, NumberPattern]:
    """The pattern for ``digits`` decimals, parsed once (Babel parses it on every call:
    a dashboard formats thousands of numbers per page)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return pattern, parse_pattern(pattern)


# Numbers already formatted, by (locale, digits, type, value): dashboards show the same few
# thousand figures on every request. Zero is left out (0.0 and -0.0 are equal keys but
# Babel writes them differently), and so are bools (Babel refuses them).
_formatted: Cache[tuple[str, int, type, float | int], str] = Cache(maxsize=100_000)


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return ""
    locale = get_locale()
    if locale is None:  # no request: Babel's default locale
        return format_decimal(value, format=_pattern(digits)[0])
    name = str(locale)
    key = (name, digits, type(value), value)
    text = _formatted.get(key) if value and type(value) is not bool else None
    if text is None:
        # What flask_babel.format_decimal does, less parsing the pattern every time.
        text = _pattern(digits)[1].apply(
            value, locale, decimal_quantization=True, group_separator=True, numbering_system="latn"
        )
        if name in ("nb", "nn"):
            text = text.replace("\u00a0", NARROW_NBSP).replace(" ", NARROW_NBSP)
        if value and type(value) is not bool:
            _formatted.put(key, text)
    return text


def percent(share: float | None, digits: int = 0) -> str:
    """A share 0–1 as a percentage, e.g. 0.425 -> '42 %' and 0.435 -> '44 %': halves round
    to even, as Babel rounds. Norwegian puts a no-break space before %, English none."""
    if share is None:
        return ""
    sign = "\u00a0%" if str(get_locale()) in ("nb", "nn") else "%"
    return number(share * 100, digits) + sign


def register(app) -> None:
    app.add_template_filter(number)
    app.add_template_filter(percent)
