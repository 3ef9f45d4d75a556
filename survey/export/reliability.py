"""Internal consistency of each theme: Cronbach's alpha (Cronbach 1951, "Coefficient alpha
and the internal structure of tests", Psychometrika 16(3), 297–334).

    α = k / (k − 1) · (1 − Σ var_i / var_total)

with k items, var_i the sample variance (n − 1) of item i and var_total the sample variance
of the per-respondent sum of the k items. Reverse-coded items are flipped first
(low + high − value). Only listwise complete cases count: a response is used when every
item of the theme is answered with a substantive value (1–5); an empty answer or -1
("vet ikke / vil ikke svare") leaves the whole response out.

The SQL queries here, and the Python reference over rows that the tests hold them to
(tests/reliability_reference.py), reduce the data to the same sums and share
``alpha_from_sums``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select

from ..models import Response
from ..questionnaire import Questionnaire


@dataclass(frozen=True)
class Alpha:
    alpha: float | None  # None when fewer than 2 complete cases or zero total variance
    n: int  # complete cases used (every item of the theme answered 1..5, no -1)
    items: int


def _sample_variance(n, total, total_sq) -> float:
    # (Σx² − (Σx)²/n) / (n − 1), written so integer sums stay exact until the division.
    return (n * total_sq - total * total) / (n * (n - 1))


def alpha_from_sums(n, items, item_sums, item_sumsqs, total_sum, total_sumsq) -> Alpha:
    """Cronbach's alpha from the sums of n complete cases: per item Σx and Σx², and Σ and
    Σ² of the per-row total. Sample variances (n − 1) throughout."""
    n, items = int(n or 0), int(items)

    def exact(x):
        x = x or 0
        if isinstance(x, Decimal):
            return int(x) if x == x.to_integral_value() else float(x)
        return x

    if n < 2 or items < 2:
        return Alpha(None, n, items)
    item_sums, item_sumsqs = [exact(s) for s in item_sums], [exact(s) for s in item_sumsqs]
    if len(item_sums) != items or len(item_sumsqs) != items:
        raise ValueError(f"expected sums for {items} items")
    total_variance = _sample_variance(n, exact(total_sum), exact(total_sumsq))
    if total_variance <= 0:
        return Alpha(None, n, items)
    item_variance = sum(
        _sample_variance(n, s, q) for s, q in zip(item_sums, item_sumsqs, strict=True)
    )
    alpha = items / (items - 1) * (1 - item_variance / total_variance)
    return Alpha(float(alpha), n, items)


def alpha_by_theme(session, questionnaire: Questionnaire, where: Sequence = ()) -> dict[str, Alpha]:
    """Cronbach's alpha of each theme over the stored responses to this questionnaire
    version that match ``where`` (SQLAlchemy clauses on ``Response``), listwise complete
    cases only. One aggregate query per theme; works on SQLite and PostgreSQL."""
    result = {}
    for theme in questionnaire.themes:
        theme_items = questionnaire.theme_items(theme)
        raw = [Response.answers[item.code].as_integer() for item in theme_items]
        complete = and_(
            *(
                value.between(*item.value_range)
                for item, value in zip(theme_items, raw, strict=True)
            )
        )
        values = [
            (sum(item.value_range) - value) if item.reverse else value
            for item, value in zip(theme_items, raw, strict=True)
        ]
        total = values[0]
        for value in values[1:]:
            total = total + value
        query = (
            select(
                func.count(),
                *(func.sum(value) for value in values),
                *(func.sum(value * value) for value in values),
                func.sum(total),
                func.sum(total * total),
            )
            .select_from(Response)
            .where(Response.questionnaire_version == questionnaire.version, complete, *where)
        )
        row = session.execute(query).one()
        k = len(theme_items)
        result[theme] = alpha_from_sums(
            row[0], k, row[1 : 1 + k], row[1 + k : 1 + 2 * k], row[1 + 2 * k], row[2 + 2 * k]
        )
    return result


def _theme_terms(questionnaire: Questionnaire, theme: str):
    theme_items = questionnaire.theme_items(theme)
    raw = [Response.answers[item.code].as_integer() for item in theme_items]
    complete = and_(
        *(value.between(*item.value_range) for item, value in zip(theme_items, raw, strict=True))
    )
    values = [
        (sum(item.value_range) - value) if item.reverse else value
        for item, value in zip(theme_items, raw, strict=True)
    ]
    total = values[0]
    for value in values[1:]:
        total = total + value
    return theme_items, complete, values, total


def alpha_over_cells(session, questionnaire: Questionnaire, end, cells) -> dict[str, Alpha]:
    """Cronbach's alpha of each theme over the released rows (``period_start < end``)
    of the office-months in ``cells`` (a container of (office id, first day of month)):
    per theme one query of the sums per office and period, added up here over the cells
    the selection's file holds, so the figure describes exactly the file's rows."""
    result = {}
    for theme in questionnaire.themes:
        theme_items, complete, values, total = _theme_terms(questionnaire, theme)
        k = len(theme_items)
        query = (
            select(
                Response.office_id,
                Response.period_start,
                func.count(),
                *(func.sum(value) for value in values),
                *(func.sum(value * value) for value in values),
                func.sum(total),
                func.sum(total * total),
            )
            .where(
                Response.questionnaire_version == questionnaire.version,
                complete,
                Response.period_start < end,
            )
            .group_by(Response.office_id, Response.period_start)
        )
        sums = [0] * (1 + 2 * k + 2)
        for office_id, start, *row in session.execute(query):
            if (office_id, start.replace(day=1)) not in cells:
                continue
            for at, value in enumerate(row):
                sums[at] += _exact(value)
        result[theme] = alpha_from_sums(
            sums[0], k, sums[1 : 1 + k], sums[1 + k : 1 + 2 * k], sums[1 + 2 * k], sums[2 + 2 * k]
        )
    return result


def _exact(x):
    x = x or 0
    if isinstance(x, Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    return x


__all__ = ["Alpha", "alpha_from_sums", "alpha_by_theme", "alpha_over_cells"]
