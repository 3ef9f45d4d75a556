"""Numbers as readers expect them: decimal comma and a narrow no-break space between
thousands in Norwegian, point and comma in English."""

from __future__ import annotations

from flask_babel import format_decimal, get_locale

NARROW_NBSP = "\u202f"


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    text = format_decimal(value, format=pattern)
    if str(get_locale()) in ("nb", "nn"):
        text = text.replace("\u00a0", NARROW_NBSP).replace(" ", NARROW_NBSP)
    return text


def percent(share: float | None, digits: int = 0) -> str:
    """A share 0–1 as a percentage, e.g. 0.425 -> '43 %' (Norwegian puts a space before %)."""
    if share is None:
        return ""
    sign = "\u00a0%" if str(get_locale()) in ("nb", "nn") else "%"
    return number(share * 100, digits) + sign


def register(app) -> None:
    app.add_template_filter(number)
    app.add_template_filter(percent)
