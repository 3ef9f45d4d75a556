"""Dashboard statistics on hand-worked cases, without Flask."""

import math
import statistics as stdlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.statistics import mean_interval, median_from_counts, wilson_interval


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
    values = [50.0, 75.0, 100.0, 25.0]
    mean, low, high = mean_interval(4, sum(values), sum(v * v for v in values))
    sd = stdlib.stdev(values)
    assert mean == 62.5
    assert high - mean == pytest.approx(1.959964 * sd / math.sqrt(4), rel=1e-6)
    assert low == pytest.approx(62.5 - 1.959964 * sd / 2, rel=1e-6)


def test_mean_interval_is_clamped_and_empty_is_none():
    mean, low, high = mean_interval(2, 200.0, 20000.0)
    assert (mean, low, high) == (100.0, 100.0, 100.0)
    assert mean_interval(0, 0, 0) is None
    assert mean_interval(1, 40.0, 1600.0) == (40.0, 0.0, 100.0)
