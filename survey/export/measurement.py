"""The measurement report: how well each theme's items measure it, on the rows of a
release's response file. Pure: NumPy only, no Flask, no database.

Per theme, over listwise complete cases (every item answered 1..5; -1 and empty leave the
row out; reverse-coded items flipped first, as in ``reliability``):

- Cronbach's alpha (``reliability.alpha_from_sums``: one formula in the whole app);
- McDonald's omega (total) of a one-factor model, ω = (Σλ)² / ((Σλ)² + Σψ), with the
  loadings λ fitted to the covariance matrix by iterated principal axis factoring (the
  unweighted least squares solution, psych's "minres"; a Heywood case is held at ψ = 0);
- per item: the corrected item–rest correlation (the item against the sum of the others),
  alpha if the item is deleted.

Per item, over every row of the file: shares at the lowest and highest option (floor and
ceiling, of the substantive answers, as answered: before any flip), and shares missing
(empty) and "vet ikke" (-1). For the ladder: the rung distribution.

Nothing is shown for a theme with fewer complete cases than the minimum (``min_n``: the
export's ``ALPHA_MIN_N``, or k if larger), nor item shares for fewer rows than that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..questionnaire import DONT_KNOW
from .reliability import alpha_from_sums


def cronbach(matrix: np.ndarray) -> float | None:
    """Alpha of complete cases (rows × items, no NaN), by the app's one formula."""
    n, k = matrix.shape
    totals = matrix.sum(axis=1)
    return alpha_from_sums(
        n,
        k,
        matrix.sum(axis=0).tolist(),
        (matrix**2).sum(axis=0).tolist(),
        float(totals.sum()),
        float((totals**2).sum()),
    ).alpha


def one_factor(
    covariance: np.ndarray, iterations: int = 500, tolerance: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Loadings and uniquenesses of one factor fitted to a covariance matrix by iterated
    principal axis factoring, starting from squared multiple correlations."""
    s = np.asarray(covariance, dtype=float)
    diagonal = np.diag(s).copy()
    try:
        communality = diagonal - 1.0 / np.diag(np.linalg.inv(s))
    except np.linalg.LinAlgError:
        communality = diagonal * 0.5
    communality = np.clip(communality, 0.0, diagonal)
    loadings = np.sqrt(communality)
    for _ in range(iterations):
        reduced = s.copy()
        np.fill_diagonal(reduced, communality)
        values, vectors = np.linalg.eigh(reduced)
        top = max(values[-1], 0.0)
        loadings = vectors[:, -1] * np.sqrt(top)
        if loadings.sum() < 0:
            loadings = -loadings
        fresh = np.minimum(loadings**2, diagonal)  # a Heywood case stops at ψ = 0
        if np.max(np.abs(fresh - communality)) < tolerance:
            communality = fresh
            break
        communality = fresh
    return loadings, diagonal - communality


def omega(matrix: np.ndarray) -> float | None:
    """McDonald's omega (total) of a one-factor model of complete cases."""
    n, k = matrix.shape
    if n < 3 or k < 2:
        return None
    covariance = np.cov(matrix, rowvar=False, ddof=1)
    if not np.all(np.isfinite(covariance)) or np.any(np.diag(covariance) <= 0):
        return None
    loadings, unique = one_factor(covariance)
    common = loadings.sum() ** 2
    return float(common / (common + unique.sum())) if common + unique.sum() > 0 else None


def item_rest(matrix: np.ndarray) -> list[float | None]:
    """Each item's correlation with the sum of the other items."""
    totals = matrix.sum(axis=1)
    result: list[float | None] = []
    for i in range(matrix.shape[1]):
        item, rest = matrix[:, i], totals - matrix[:, i]
        if item.std() == 0 or rest.std() == 0:
            result.append(None)
        else:
            result.append(float(np.corrcoef(item, rest)[0, 1]))
    return result


def alpha_if_deleted(matrix: np.ndarray) -> list[float | None]:
    k = matrix.shape[1]
    return [cronbach(np.delete(matrix, i, axis=1)) if k > 2 else None for i in range(k)]


@dataclass
class ItemShares:
    code: str
    rows: int
    floor: float | None  # of substantive answers, at the lowest option
    ceiling: float | None  # of substantive answers, at the highest option
    missing: float  # of rows, empty (not answered or blanked)
    dont_know: float  # of rows, -1


@dataclass
class ThemeReport:
    theme: str
    items: list[str]
    n: int  # complete cases
    shown: bool  # n >= the minimum
    alpha: float | None = None
    omega: float | None = None
    item_rest: list[float | None] = field(default_factory=list)
    alpha_if_deleted: list[float | None] = field(default_factory=list)


def item_shares(code: str, values: np.ndarray, low: int, high: int) -> ItemShares:
    """Floor, ceiling, missing and don't-know shares of one item's column (NaN = empty)."""
    rows = len(values)
    empty = np.isnan(values)
    dont_know = values == DONT_KNOW
    substantive = values[~empty & ~dont_know]
    answered = len(substantive)
    return ItemShares(
        code,
        rows,
        float(np.mean(substantive == low)) if answered else None,
        float(np.mean(substantive == high)) if answered else None,
        float(empty.mean()) if rows else 0.0,
        float(dont_know.mean()) if rows else 0.0,
    )


def complete_cases(
    columns: list[np.ndarray], ranges: list[tuple[int, int]], reverse: list[bool]
) -> np.ndarray:
    """Rows × items of the rows with every item answered in its range, reverse-coded items
    flipped (low + high − value)."""
    matrix = np.column_stack(columns).astype(float) if columns else np.empty((0, 0))
    keep = np.ones(len(matrix), dtype=bool)
    for i, (low, high) in enumerate(ranges):
        keep &= (matrix[:, i] >= low) & (matrix[:, i] <= high)
    matrix = matrix[keep]
    for i, (low, high) in enumerate(ranges):
        if reverse[i]:
            matrix[:, i] = low + high - matrix[:, i]
    return matrix


def theme_report(
    theme: str,
    codes: list[str],
    columns: list[np.ndarray],
    ranges: list[tuple[int, int]],
    reverse: list[bool],
    min_n: int,
) -> ThemeReport:
    matrix = complete_cases(columns, ranges, reverse)
    n = len(matrix)
    if n < min_n:
        return ThemeReport(theme, codes, n, False)
    return ThemeReport(
        theme,
        codes,
        n,
        True,
        cronbach(matrix),
        omega(matrix),
        item_rest(matrix),
        alpha_if_deleted(matrix),
    )


def rung_distribution(rungs: np.ndarray, top: int = 8) -> tuple[int, list[tuple[int, int, float]]]:
    """(rows with a rung, [(rung, count, share)] for rungs 1..top)."""
    valid = rungs[~np.isnan(rungs)]
    total = len(valid)
    return total, [
        (r, int((valid == r).sum()), float((valid == r).sum() / total) if total else 0.0)
        for r in range(1, top + 1)
    ]


@dataclass
class Report:
    rows: int
    min_n: int
    themes: list[ThemeReport]
    items: list[ItemShares]  # empty when rows < min_n
    rung_rows: int = 0
    rungs: list[tuple[int, int, float]] = field(default_factory=list)  # empty under min_n


def report(column_of, questionnaire, rows: int, min_n: int) -> Report:
    """The whole report; ``column_of(name)`` gives a CSV column as floats (NaN = empty)."""
    themes = []
    for theme in questionnaire.themes:
        items = questionnaire.theme_items(theme)
        themes.append(
            theme_report(
                theme,
                [i.code for i in items],
                [column_of(i.code) for i in items],
                [i.value_range for i in items],
                [i.reverse for i in items],
                min_n,
            )
        )
    shares = []
    if rows >= min_n:
        for item in questionnaire.items:
            if item.type in ("scale", "ladder"):
                low, high = item.value_range
                shares.append(item_shares(item.code, column_of(item.code), low, high))
    result = Report(rows, min_n, themes, shares)
    rung_rows, distribution = rung_distribution(column_of("rung"))
    result.rung_rows = rung_rows
    if rung_rows >= min_n:
        result.rungs = distribution
    return result


REPORT_HEADER = ["section", "theme", "item", "statistic", "value", "n"]


def report_rows(found: Report) -> list[list]:
    """The report as CSV rows under ``REPORT_HEADER`` (figures under the minimum n are
    left out, with one row saying so)."""
    rows: list[list] = []
    for theme in found.themes:
        if not theme.shown:
            rows.append(
                [
                    "theme",
                    theme.theme,
                    "",
                    f"not shown: fewer than {found.min_n} complete cases",
                    "",
                    theme.n,
                ]
            )
            continue
        rows.append(["theme", theme.theme, "", "cronbach_alpha", _round(theme.alpha), theme.n])
        rows.append(["theme", theme.theme, "", "mcdonald_omega", _round(theme.omega), theme.n])
        for code, r, a in zip(theme.items, theme.item_rest, theme.alpha_if_deleted, strict=False):
            rows.append(["item", theme.theme, code, "item_rest_correlation", _round(r), theme.n])
            rows.append(["item", theme.theme, code, "alpha_if_item_deleted", _round(a), theme.n])
    if not found.items:
        rows.append(["items", "", "", f"not shown: fewer than {found.min_n} rows", "", found.rows])
    for share in found.items:
        for name in ("floor", "ceiling", "missing", "dont_know"):
            rows.append(
                ["items", "", share.code, f"{name}_share", _round(getattr(share, name)), share.rows]
            )
    if found.rungs:
        for rung, count, part in found.rungs:
            rows.append(["ladder", "", "rung", f"rung_{rung}_share", _round(part), count])
    else:
        rows.append(
            ["ladder", "", "rung", f"not shown: fewer than {found.min_n} rows", "", found.rung_rows]
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


__all__ = [
    "cronbach",
    "omega",
    "one_factor",
    "item_rest",
    "alpha_if_deleted",
    "item_shares",
    "theme_report",
    "rung_distribution",
    "complete_cases",
    "ThemeReport",
    "ItemShares",
    "Report",
    "report",
    "report_rows",
    "REPORT_HEADER",
]
