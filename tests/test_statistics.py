"""Dashboard statistics on hand-worked cases, without Flask."""

import math
import statistics as stdlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.domain.intervals import mean_interval, median_from_counts, wilson_interval


def test_median_of_odd_and_even_totals():
    assert median_from_counts({1: 1, 4: 1, 8: 1}) == 4.0
    assert median_from_counts({3: 2, 6: 2}) == 4.5
    assert median_from_counts({5: 10}) == 5.0
    assert median_from_counts({}) is None
    assert median_from_counts({2: 0}) is None


@given(st.lists(st.integers(1, 8), min_size=1, max_size=200))
def test_median_matches_the_sample_median(sample):
    counts = {rung: sample.count(rung) for rung in set(sample)}
    assert median_from_counts(counts) == stdlib.median(sample)


def test_wilson_hand_worked():
    # 10 of 20: centre 0.5, half-width z*sqrt(.25/20 + z²/1600)/(1+z²/20) ≈ 0.2007
    low, high = wilson_interval(10, 20)
    assert low == pytest.approx(0.2993, abs=1e-4) and high == pytest.approx(0.7007, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) is None


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_proportion(successes, n):
    successes = min(successes, n)
    low, high = wilson_interval(successes, n)
    assert 0 <= low <= successes / n <= high <= 1


def test_mean_interval_hand_worked():
    values = [50.0, 60.0, 70.0, 40.0]
    mean, low, high = mean_interval(4, sum(values), sum(v * v for v in values))
    sd = stdlib.stdev(values)
    assert mean == 55.0
    # Student's t with 3 degrees of freedom, not the normal 1.96.
    assert high - mean == pytest.approx(3.182446 * sd / math.sqrt(4), rel=1e-6)
    assert low == pytest.approx(55.0 - 3.182446 * sd / 2, rel=1e-6)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 200])
def test_mean_interval_uses_students_t_as_scipy_computes_it(n):
    from scipy import stats

    values = [float((7 * i) % 101) for i in range(n)]
    mean, low, high = mean_interval(n, sum(values), sum(v * v for v in values), low=-1e9, high=1e9)
    scipy_low, scipy_high = stats.t.interval(
        0.95, n - 1, loc=stats.tmean(values), scale=stats.sem(values)
    )
    assert mean == pytest.approx(stdlib.mean(values))
    assert low == pytest.approx(scipy_low, rel=1e-9) and high == pytest.approx(scipy_high, rel=1e-9)


def test_t_quantile_at_small_n_is_wider_than_the_normal():
    from survey.domain.intervals import t_quantile

    assert t_quantile(4) == pytest.approx(2.776445, rel=1e-6)  # the n = 5
    assert t_quantile(4) / 1.959964 > 1.4
    assert t_quantile(10_000) == pytest.approx(1.96, abs=1e-3)


def test_mean_interval_is_clamped_and_empty_is_none():
    mean, low, high = mean_interval(2, 200.0, 20000.0)
    assert (mean, low, high) == (100.0, 100.0, 100.0)
    assert mean_interval(0, 0, 0) is None
    assert mean_interval(1, 40.0, 1600.0) == (40.0, 0.0, 100.0)
