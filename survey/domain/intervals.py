"""The few statistics the dashboards show, from counts and sums (never from rows). Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

Z95 = 1.959963984540054  # two-sided 95 %, for Wilson's interval of a share


def median_from_counts(counts: Mapping[int, int]) -> float | None:
    """Median of a distribution given as value -> count; the mean of the two middle
    values when the total is even (so it can end in .5)."""
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted((value, count) for value, count in counts.items() if count)

    def nth(position: int) -> int:  # 0-based position in the sorted sample
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        raise IndexError(position)

    middle = total // 2
    if total % 2:
        return float(nth(middle))
    return (nth(middle - 1) + nth(middle)) / 2


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (Wilson 1927): sensible at 0 %, 100 % and
    small n, where the normal approximation is not."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 % and 100 % the bound is exactly 0 or 1; floating point would miss it by a hair.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@lru_cache(maxsize=4096)  # by degrees of freedom: the cell sizes in use
def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Student's t for a two-sided ``confidence`` interval with ``df`` degrees of freedom
    (2.776 at df 4, where the normal 1.96 would make the interval 30 % too narrow)."""
    # scipy.special's inverse of Student's t distribution, the same function scipy.stats'
    # ``t.ppf`` calls; scipy.stats itself would add about 70 MB to every process showing
    # an interval.
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + confidence / 2))


def mean_interval(
    n: int,
    total: float,
    total_sq: float,
    confidence: float = 0.95,
    low: float = 0.0,
    high: float = 100.0,
) -> tuple[float, float, float] | None:
    """Mean and its ``confidence`` interval from Student's t with n - 1 degrees of freedom
    and the sample standard deviation, from the count, the sum and the sum of squares;
    clamped to the scale [low, high]. (Issue 16: z = 1.96 was too narrow at small n.)"""
    if n == 0:
        return None
    mean = total / n
    if n == 1:
        return mean, low, high
    variance = max(total_sq - n * mean * mean, 0.0) / (n - 1)
    half = t_quantile(n - 1, confidence) * math.sqrt(variance / n)
    return mean, max(low, mean - half), min(high, mean + half)
