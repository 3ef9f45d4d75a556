"""The disclosure audit (survey.domain.disclosure) and protect's fixed and known cells, without
Flask: the cases of issue 11 by hand, then an independent LP attacker (tests/attacker.py)
against random lattices and random sequences of releases."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain.disclosure import (
    AuditResult,
    audit,
    diverse,
    diverse_mean,
    intervals,
    protect_distributions,
)
from survey.domain.periods import ReportingPeriod
from survey.domain.suppression import NATIONAL, PublishedLeak, lattice, protect
from tests.attacker import intervals as attacked
from tests.attacker import pinned_small

K = 5


def cell(scope, code: str):
    return (scope, ReportingPeriod.parse(code))


def published(counts, visible) -> dict:
    return {c: counts[c] for c in visible}


# --- the independent attacker itself


def test_the_attacker_pins_an_office_left_out_of_a_national_total():
    relations = [("N", ("A", "B", "C"))]
    found = pinned_small({"N": 42, "A": 20, "B": 20}, relations, K)
    assert found == {"C": (2.0, 2.0)}


def test_the_attacker_uses_non_negativity():
    """N - A = 3 shared by B and C: neither is known, both are at most 3."""
    relations = [("N", ("A", "B", "C"))]
    assert attacked({"N": 23, "A": 20}, relations) == {"B": (0.0, 3.0), "C": (0.0, 3.0)}
    assert pinned_small({"N": 23, "A": 20}, relations, K) == {}  # 0 is possible for each
    assert pinned_small({"N": 23, "A": 20}, relations, K, counts={"B": 1, "C": 2}) == {
        "B": (0.0, 3.0),
        "C": (0.0, 3.0),
    }


# --- intervals


def test_intervals_by_hand():
    counts = {"N": 30, "A": 20, "B": 7, "C": 3, "D": 2, "E": 5}
    relations = [("N", ("A", "B", "C")), ("B", ("D", "E"))]
    found = intervals(counts, relations, {"N", "A"})
    assert found == {"B": (0.0, 10.0), "C": (0.0, 10.0), "D": (0.0, 10.0), "E": (0.0, 10.0)}
    assert intervals(counts, relations, {"N", "A"}, known={"C": 3}) == {
        "B": (7.0, 7.0),
        "D": (0.0, 7.0),
        "E": (0.0, 7.0),
    }
    assert intervals(counts, relations, {"N", "A"}, cells=["A", "C", "elsewhere"]) == {
        "A": (20.0, 20.0),
        "C": (0.0, 10.0),
        "elsewhere": (0.0, float("inf")),
    }


def test_a_cell_no_shown_figure_bounds_is_unbounded():
    counts = {"P": 10, "A": 4, "B": 6, "alone": 3}
    found = intervals(counts, [("P", ("A", "B"))], {"A"})
    assert found == {
        "P": (4.0, float("inf")),
        "B": (0.0, float("inf")),
        "alone": (0.0, float("inf")),
    }


def test_known_counts_must_be_true():
    with pytest.raises(ValueError):
        intervals({"N": 3, "A": 3}, [("N", ("A",))], set(), known={"A": 0})


# --- issue 11's cases by hand


def test_national_q4_equal_to_one_office_pins_two_offices_q3():
    """Issue 11: national Q4 equal to office A's Q4 forces B, C and D to 0 in Q4; D's
    half-year then gives D's Q3, and national Q3 minus A's and D's leaves B and C together
    at 3 responses. Linear algebra sees no cell determined and no small remainder."""
    counts = {
        "N3": 45,
        "A3": 30,
        "B3": 1,
        "C3": 2,
        "D3": 12,
        "N4": 20,
        "A4": 20,
        "B4": 0,
        "C4": 0,
        "D4": 0,
        "DH": 12,
    }
    relations = [
        ("N3", ("A3", "B3", "C3", "D3")),
        ("N4", ("A4", "B4", "C4", "D4")),
        ("DH", ("D3", "D4")),
    ]
    page = {"N3", "A3", "N4", "A4", "DH"}
    shown = protect(counts, relations, K, allowed=page)
    assert shown == page  # the linear rule lets it through
    assert pinned_small(published(counts, shown), relations, K, counts=counts) == {
        "B3": (0.0, 3.0),
        "C3": (0.0, 3.0),
    }

    result = audit(counts, relations, K, shown)
    assert isinstance(result, AuditResult)
    assert result.visible < shown
    assert pinned_small(published(counts, result.visible), relations, K, counts=counts) == {}
    assert result.findings, "the audit records what it hid"
    for finding in result.findings:
        assert finding["rule"] == "upper bound below k"
        assert finding["hidden"] in {repr(c) for c in shown - result.visible}
        low, high = finding["interval"]
        assert high >= K
        assert "count" not in finding


def test_an_office_quarter_and_the_national_half_year_on_the_lattice():
    """Found by the attacker on a random lattice: office 0's Q1 and the national half-year
    are shown; office 0's Q2 is not, so nothing is determined, yet the rest of the country
    (office 1, 3 responses) can hold at most 8 - 5 = 3."""
    rows = {0: [3, 0, 2, 0, 0, 0], 1: [0, 1, 0, 0, 0, 2]}
    table = {(o, date(2026, m, 1)): n for o, ns in rows.items() for m, n in enumerate(ns, 1)}
    counts, relations = lattice(table, [0, 1])
    page = {cell(0, "2026-Q1"), cell(NATIONAL, "2026-H1")}
    shown = protect(counts, relations, K, allowed=page)
    assert shown == page
    leaked = pinned_small(published(counts, shown), relations, K, counts=counts)
    assert leaked[cell(1, "2026-H1")] == (0.0, 3.0)

    result = audit(counts, relations, K, shown)
    assert len(result.visible) == 1
    assert pinned_small(published(counts, result.visible), relations, K, counts=counts) == {}


def running_half_year():
    """Office 1's running half-year (July to September, 6 responses) and the national
    Q3 (9): with October to December still empty, office 1's Q3 is 6, so office 0's Q3
    is 3."""
    table = {
        (0, date(2026, 8, 1)): 3,
        (1, date(2026, 7, 1)): 3,
        (1, date(2026, 8, 1)): 1,
        (1, date(2026, 9, 1)): 2,
    }
    counts, relations = lattice(table, [0, 1])
    future = {c: 0 for c in counts if c[1].start >= date(2026, 10, 1)}
    page = {cell(1, "2026-H2"), cell(NATIONAL, "2026-Q3")}
    return counts, relations, future, page


def test_months_still_to_come_are_known_zeros():
    counts, relations, future, page = running_half_year()
    shown = protect(counts, relations, K, allowed=page)
    assert shown == page
    facts = published(counts, shown)
    assert pinned_small(facts, relations, K, counts=counts) == {}  # without the zeros
    assert pinned_small(facts, relations, K, known=future, counts=counts)[cell(0, "2026-Q3")] == (
        3.0,
        3.0,
    )

    # protect told of the zeros hides what gives it away; so does audit on its own.
    assert protect(counts, relations, K, allowed=page, known=future) < page
    result = audit(counts, relations, K, shown, known=future)
    assert result.visible < page
    assert not result.visible & future.keys()
    assert (
        pinned_small(published(counts, result.visible), relations, K, known=future, counts=counts)
        == {}
    )


def test_no_cell_passes_on_the_solvers_word_alone(monkeypatch):
    """A solver that calls every bound unbounded and offers 'solutions' that break the
    relations: the audit checks each solution it relies on, so it hides more (here until
    nothing is left to hide) rather than pass a cell the attacker can pin."""
    from types import SimpleNamespace

    import numpy as np

    from survey.domain import disclosure

    def lying(objective, **problem):
        if "A_ub" in problem:
            return SimpleNamespace(status=0, x=np.full(len(objective), float(K)))
        return SimpleNamespace(status=3, x=None)

    counts = {
        "N3": 45,
        "A3": 30,
        "B3": 1,
        "C3": 2,
        "D3": 12,
        "N4": 20,
        "A4": 20,
        "B4": 0,
        "C4": 0,
        "D4": 0,
        "DH": 12,
    }
    relations = [
        ("N3", ("A3", "B3", "C3", "D3")),
        ("N4", ("A4", "B4", "C4", "D4")),
        ("DH", ("D3", "D4")),
    ]
    monkeypatch.setattr(disclosure, "_solve", lying)
    with pytest.raises(PublishedLeak):
        audit(counts, relations, K, {"N3", "A3", "N4", "A4", "DH"})


# --- protect: fixed and known cells


def test_a_fixed_cell_is_never_the_one_hidden():
    counts = {"N": 42, "A": 20, "B": 20, "C": 2}
    relations = [("N", ("A", "B", "C"))]
    assert protect(counts, relations, K) == {"N", "B"}  # the first of the smallest goes
    assert protect(counts, relations, K, fixed={"A"}) == {"N", "A"}
    assert protect(counts, relations, K, fixed={"A", "B"}) == {"A", "B"}
    with pytest.raises(PublishedLeak):
        protect(counts, relations, K, fixed={"N", "A", "B"})


def test_a_fixed_cell_stays_shown_whatever_its_count_and_must_be_allowed():
    counts = {"N": 42, "A": 20, "B": 20, "C": 2}
    relations = [("N", ("A", "B", "C"))]
    assert protect(counts, relations, K, allowed={"C"}, fixed={"C"}) == {"C"}
    with pytest.raises(ValueError):
        protect(counts, relations, K, allowed={"N"}, fixed={"A"})


def test_a_known_cell_helps_the_attacker_and_is_never_shown():
    counts = {"N": 25, "A": 20, "B": 5, "C": 0}
    relations = [("N", ("A", "B", "C"))]
    assert protect(counts, relations, K) == {"N", "A", "B"}
    assert protect(counts, relations, K, known={"C": 0}) == {"N", "A", "B"}
    counts = {"N": 25, "A": 20, "B": 3, "C": 2}
    assert protect(counts, relations, K, allowed={"N", "A"}) == {"N", "A"}  # B + C is 5
    with pytest.raises(PublishedLeak):  # the known C and the fixed N, A give away B
        protect(counts, relations, K, fixed={"N", "A"}, known={"C": 2})
    with pytest.raises(ValueError):
        protect(counts, relations, K, known={"C": 0})


def test_audit_keeps_fixed_cells_and_refuses_what_only_they_give_away():
    counts = {"N": 23, "A": 20, "B": 1, "C": 2}
    relations = [("N", ("A", "B", "C"))]
    assert audit(counts, relations, K, {"N", "A"}).visible == {"N"}  # the child goes
    assert audit(counts, relations, K, {"N"}, fixed={"A"}).visible == {"A"}
    with pytest.raises(PublishedLeak):
        audit(counts, relations, K, set(), fixed={"N", "A"})


def test_audit_hides_what_is_shown_below_k_unless_fixed():
    counts = {"N": 30, "A": 27, "B": 3}
    result = audit(counts, [("N", ("A", "B"))], K, {"N", "A", "B"})
    assert result.visible == {"N"}  # B, then A that gave it away
    first, second = result.findings
    assert (first["cell"], first["rule"], first["hidden"]) == ("'B'", "shown below k", "'B'")
    assert (second["cell"], second["rule"], second["hidden"]) == (
        "'B'",
        "upper bound below k",
        "'A'",
    )
    assert second["through"] == ["'N'"]
    assert first["interval"] == second["interval"] == (0.0, 30.0)


# --- random lattices against the independent attacker


@st.composite
def month_tables(draw, offices=(2, 4), months=(3, 9)):
    """Offices over consecutive months, counts mostly small (zeros included)."""
    n_offices = draw(st.integers(*offices))
    n_months = draw(st.integers(*months))
    start = draw(st.integers(0, 11))
    small = st.integers(0, 6)
    values = draw(
        st.lists(
            small | small | st.integers(7, 60),
            min_size=n_offices * n_months,
            max_size=n_offices * n_months,
        )
    )
    table = {}
    for i, n in enumerate(values):
        index = start + i % n_months
        table[i // n_months, date(2026 + index // 12, index % 12 + 1, 1)] = n
    return table, list(range(n_offices))


def assert_safe(counts, relations, k, visible, known=None):
    facts = published(counts, visible)
    assert pinned_small(facts, relations, k, known=known, counts=counts) == {}


@settings(max_examples=40, deadline=None)
@given(month_tables(), st.integers(3, 6), st.randoms(use_true_random=False))
def test_protect_then_audit_leaves_the_attacker_nothing(table, k, rng):
    month_counts, offices = table
    counts, relations = lattice(month_counts, offices)
    allowed = {c for c in counts if rng.random() < 0.7} if rng.random() < 0.5 else None
    shown = protect(counts, relations, k, allowed)
    result = audit(counts, relations, k, shown)
    assert result.visible <= shown
    assert all(counts[c] >= k for c in result.visible)
    assert_safe(counts, relations, k, result.visible)


def test_a_country_of_small_and_large_offices_leaves_the_attacker_nothing():
    """25 offices over a year, a third of them small (0-6 a month), each release of the
    year at once: larger than the fuzzed lattices, so components span many offices."""
    rng = random.Random(2026)
    table = {
        (office, date(2026, m, 1)): rng.randint(0, 6)
        if office % 3 == 0
        else rng.choice([rng.randint(0, 12), rng.randint(13, 90)])
        for office in range(25)
        for m in range(1, 13)
    }
    counts, relations = lattice(table, range(25))
    shown = protect(counts, relations, K)
    result = audit(counts, relations, K, shown)
    assert len(result.visible) > len(counts) // 3
    assert_safe(counts, relations, K, result.visible)


@settings(max_examples=25, deadline=None)
@given(month_tables(offices=(1, 3), months=(2, 7)), st.randoms(use_true_random=False))
def test_intervals_agree_with_the_independent_attacker(table, rng):
    month_counts, offices = table
    counts, relations = lattice(month_counts, offices)
    visible = {c for c in counts if rng.random() < 0.5}
    last = max(day for _, day in month_counts)
    known = {c: 0 for c in counts if c[1].start > last}
    mine = intervals(counts, relations, visible, known=known)
    theirs = attacked(published(counts, visible), relations, known)
    assert mine.keys() == theirs.keys()
    for c, (low, high) in mine.items():
        assert low <= counts[c] <= high
        assert (low, high) == pytest.approx(theirs[c], abs=1e-6)


def release_sequence(month_counts, offices, k, step_offices=None):
    """Release month by month: each release publishes the periods ended by its month
    (``allowed``), keeps every cell published before (``fixed``), and knows that the months
    after it are empty (``known``). Yields each release's lattice, known cells and the
    union of everything published so far, with the counts it was published with."""
    months = sorted({day for _, day in month_counts})
    before: frozenset = frozenset()
    union: dict = {}
    for month in months:
        table = {key: n for key, n in month_counts.items() if key[1] <= month}
        counts, relations = lattice(table, offices)
        after = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        known = {c: 0 for c in counts if c[1].start >= after}
        ended = {c for c in counts if c[1].end <= after}
        fixed = frozenset(c for c in before if c in counts)
        shown = protect(counts, relations, k, ended, fixed=fixed, known=known)
        result = audit(counts, relations, k, shown, fixed=fixed, known=known)
        assert fixed <= result.visible
        assert not result.visible & known.keys()
        assert result.visible <= ended
        for c in result.visible:
            assert union.setdefault(c, counts[c]) == counts[c], "a published figure moved"
        before = result.visible
        yield counts, relations, known, dict(union)


@settings(max_examples=20, deadline=None)
@given(month_tables(offices=(2, 4), months=(2, 8)), st.integers(3, 5))
def test_every_release_in_a_sequence_is_safe_with_all_earlier_ones(table, k):
    """The attacker gets the union of every release so far and the empty months after the
    latest; no small hidden count may be pinned below k."""
    month_counts, offices = table
    for counts, relations, known, union in release_sequence(month_counts, offices, k):
        assert_safe(counts, relations, k, union, known)


def test_a_release_sequence_over_a_year_of_small_offices():
    rows = {
        0: [40, 3, 0, 12, 2, 9, 30, 1, 0, 4, 25, 6],
        1: [2, 1, 8, 0, 3, 5, 1, 0, 2, 7, 1, 3],
        2: [20, 22, 18, 2, 25, 19, 0, 0, 0, 21, 1, 23],
        3: [0, 4, 1, 6, 0, 2, 3, 9, 1, 0, 4, 0],
    }
    table = {(o, date(2026, m, 1)): n for o, ns in rows.items() for m, n in enumerate(ns, 1)}
    releases = list(release_sequence(table, list(rows), K))
    assert len(releases) == 12
    counts, relations, known, union = releases[-1]
    assert not known
    # July and August were published for the country; September holds 3: so the
    # country's Q3 (and with it H2, whose Q4 follows from its published months) never is.
    assert {cell(NATIONAL, "2026-07"), cell(NATIONAL, "2026-08")} <= union.keys()
    assert not {cell(NATIONAL, "2026-Q3"), cell(NATIONAL, "2026-H2")} & union.keys()
    for counts, relations, known, union in releases:
        assert_safe(counts, relations, K, union, known)


# --- homogeneity


def test_diverse_needs_l_responses_outside_the_most_common_category():
    assert not diverse([5, 0, 0])  # everyone in one rung
    assert not diverse([4, 1, 0])  # knowing the one outside gives away the rest
    assert diverse([3, 1, 1])
    assert diverse([2, 2, 1])
    assert not diverse([3, 1, 1], l=3)
    assert not diverse([])
    assert not diverse([0, 0])


def test_diverse_mean_refuses_identical_answers():
    assert not diverse_mean(5, 15.0, 45.0)  # five answers of 3
    assert diverse_mean(5, 15.0, 47.0)
    assert not diverse_mean(1, 2.5, 6.25)
    assert not diverse_mean(6, 6 * 2.7, 6 * 2.7**2)  # floats that are all the same


def test_a_cell_whose_answers_all_share_one_rung_is_hidden():
    rungs = {"A": [0, 6, 0], "B": [2, 3, 1], "N": [2, 9, 1]}
    shown = protect_distributions(rungs, [("N", ("A", "B"))], K, {"N", "A", "B"})
    assert "A" not in shown
    assert shown == {"N"}  # N minus B would give A's answers: B goes into the pool too


def test_a_derived_andre_pool_all_in_one_band_is_protected():
    """National minus the shown offices leaves C's six responses, all in the middle band:
    one more office goes into the pool."""
    bands = {"A": [4, 3, 2], "B": [3, 4, 3], "C": [0, 6, 0], "N": [7, 13, 5]}
    relations = [("N", ("A", "B", "C"))]
    shown = protect_distributions(bands, relations, K, {"N", "A", "B"})
    assert shown == {"N", "B"}
    assert protect_distributions(bands, relations, K, {"N", "A", "B"}, fixed={"A"}) == {"N", "A"}
    with pytest.raises(PublishedLeak):
        protect_distributions(bands, relations, K, {"N", "A", "B"}, fixed={"N", "A", "B"})
