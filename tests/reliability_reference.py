"""Cronbach's alpha in Python over rows of answers: the reference the tests hold the
export's SQL (``survey.export.reliability.alpha_by_theme``/``alpha_over_cells``) to.
Only tests use it, so it lives here rather than in the package (issue 18); it shares
``alpha_from_sums`` with the SQL, so the two differ only in how they reach the sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from survey.export.reliability import Alpha, alpha_from_sums
from survey.questionnaire import DONT_KNOW, Item


def item_value(item: Item, value) -> float | None:
    """One answer as it enters alpha: reverse-coded items flipped (low + high − value);
    None for a missing answer, -1 (don't know) or anything that is not an option value."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value == DONT_KNOW or (isinstance(value, float) and not value.is_integer()):
        return None
    low, high = item.value_range
    if not low <= value <= high:
        return None
    return float(low + high - value if item.reverse else value)


def cronbach_alpha(rows: Iterable[Sequence[float]], items: int) -> Alpha:
    """Cronbach's alpha over rows of item values (already flipped where reverse-coded),
    in one pass. A row with a missing value (None) is not a complete case and is skipped."""
    n = 0
    sums, sumsqs = [0.0] * items, [0.0] * items
    total_sum = total_sumsq = 0.0
    for row in rows:
        row = list(row)
        if len(row) != items:
            raise ValueError(f"a row has {len(row)} values, expected {items}")
        if any(value is None for value in row):
            continue
        n += 1
        total = 0.0
        for i, value in enumerate(row):
            sums[i] += value
            sumsqs[i] += value * value
            total += value
        total_sum += total
        total_sumsq += total * total
    return alpha_from_sums(n, items, sums, sumsqs, total_sum, total_sumsq)
