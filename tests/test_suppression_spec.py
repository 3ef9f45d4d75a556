"""protect and audit against the brute-force specification (tests/suppression_spec.py) on
small random tables: at least as safe as the specification asks, and hiding nothing more
than primary suppression where the specification finds nothing to stop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain.disclosure import audit, intervals
from survey.domain.suppression import PublishedLeak, protect
from tests.suppression_spec import (
    Table,
    bounds,
    candidates,
    linear_leaks,
    narrowed,
    office_months,
)

# (offices, months): up to 12 leaves for the linear attacker, up to 6 for the one who
# counts non-negative tables one by one (8 and more take minutes on some tables).
LINEAR_SHAPES = [(1, 1), (2, 1), (4, 1), (1, 2), (2, 2), (3, 2), (1, 4), (2, 4), (3, 4)]
COUNTED_SHAPES = [(1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2), (3, 2), (1, 4)]


@st.composite
def tables(draw, shapes) -> Table:
    """Counts mostly below 5, some up to 12: k is 3 to 5, so many cells are small."""
    offices, months = draw(st.sampled_from(shapes))
    count = st.integers(0, 4) | st.integers(0, 4) | st.integers(5, 12)
    row = st.lists(count, min_size=months, max_size=months)
    return office_months(draw(st.lists(row, min_size=offices, max_size=offices)))


@st.composite
def audiences(draw, table: Table) -> set[str] | None:
    """Everyone (None), or a random selection of the cells."""
    if draw(st.booleans()):
        return None
    return {cell for cell in table.cells if draw(st.integers(0, 9)) < 7}


def primary(table: Table, k: int, allowed: set[str] | None) -> set[str]:
    return {
        cell
        for cell, n in table.counts().items()
        if n >= k and (allowed is None or cell in allowed)
    }


# --- the specification by hand


def test_the_specification_by_hand():
    """One office and the country over two months; k = 3."""
    table = office_months([[4, 1], [5, 6]])
    counts = table.counts()
    assert counts == {
        "o0 m0": 4,
        "o1 m0": 5,
        "N m0": 9,
        "o0 m1": 1,
        "o1 m1": 6,
        "N m1": 7,
        "o0 q0": 5,
        "o1 q0": 11,
        "N q0": 16,
    }
    # The national month minus the other office gives o0's month away.
    assert linear_leaks(table, {"N m1", "o1 m1"}, 3) == [("o0 m1", 1)]
    # o0's quarter minus its first month gives the same.
    assert linear_leaks(table, {"o0 q0", "o0 m0"}, 3) == [("o0 m1", 1)]
    # The national month alone pins no office: 0..7 each, for all the attacker knows.
    assert linear_leaks(table, {"N m1"}, 3) == []
    assert bounds(table, {"N m1"})["o0 m1"] == (0, 7)
    assert narrowed(table, {"N m1"}, 3) == []
    # A cell in no published cell is unbounded.
    assert bounds(table, {"N m0"})["o0 m1"] == (0, float("inf"))
    # The country's month minus one office: the other two offices together, a remainder.
    table = office_months([[5], [1], [1]])
    assert linear_leaks(table, {"N m0", "o0 m0"}, 3) == [("N m0 remainder", 2)]


def test_non_negativity_narrows_what_linear_algebra_leaves_open():
    """N m0 = 9 and o1 m0 = 5 with o0 q0 = 5: o0 m0 is 4 exactly, so o0 m1 is 1 (linear);
    without o1 m0, o0 m0 is 0..5 and o0 m1 is 0..5: neither pinned, neither narrowed."""
    table = office_months([[4, 1], [5, 6]])
    assert ("o0 m1", 1) in linear_leaks(table, {"N m0", "o1 m0", "o0 q0"}, 3)
    assert linear_leaks(table, {"N m0", "o0 q0"}, 3) == []
    assert bounds(table, {"N m0", "o0 q0"})["o0 m1"] == (0, 5)
    # Four offices over one month: the country 13, two offices 11: the other two share 2,
    # so each is at most 2 (non-negativity) though neither is pinned (linear algebra).
    table = office_months([[5], [1], [1], [6]])
    published = {"N m0", "o0 m0", "o3 m0"}
    assert linear_leaks(table, published, 3) == [("N m0 remainder", 2)]
    assert narrowed(table, published, 3) == ["o1 m0", "o2 m0"]


def test_every_candidate_gives_the_published_counts():
    table = office_months([[2, 3], [1, 4]])
    counts = table.counts()
    found = list(candidates(table, {"N q0", "o0 q0", "N m0"}))
    assert len({tuple(sorted(c.items())) for c in found}) == len(found)  # none twice
    assert dict(table.leaves) in found
    for candidate in found:
        for cell in ("N q0", "o0 q0", "N m0"):
            assert table.count(cell, candidate) == counts[cell]
    # o0 m0 + o0 m1 = 5, o0 m0 + o1 m0 = 3, all four = 10: o0 m0 from 0 to 3.
    assert sorted(c["o0 m0"] for c in found) == [0, 1, 2, 3]


# --- protect: the linear attacker


@settings(max_examples=150, deadline=None)
@given(st.data(), tables(LINEAR_SHAPES), st.integers(3, 5))
def test_protect_leaves_the_linear_attacker_nothing(data, table, k):
    allowed = data.draw(audiences(table))
    counts = table.counts()
    shown = protect(counts, table.relations, k, allowed)
    assert all(counts[cell] >= k for cell in shown)
    assert allowed is None or shown <= allowed
    assert linear_leaks(table, set(shown), k) == []
    # No more hidden than primary suppression unless primary suppression leaks.
    first = primary(table, k, allowed)
    assert (shown == first) == (linear_leaks(table, first, k) == [])


@settings(max_examples=150, deadline=None)
@given(st.data(), tables(LINEAR_SHAPES), st.integers(3, 5))
def test_fixed_and_known_cells_leak_only_on_their_own(data, table, k):
    """PublishedLeak exactly when fixed and known cells alone give a small group away;
    otherwise fixed cells stay, known ones are not shown, and nothing leaks with them."""
    allowed = data.draw(audiences(table))
    counts = table.counts()
    fixed = {
        cell
        for cell in table.cells
        if (allowed is None or cell in allowed) and data.draw(st.integers(0, 9)) < 2
    }
    known = {
        cell: counts[cell]
        for cell in table.cells
        if cell not in fixed and data.draw(st.integers(0, 9)) < 2
    }
    alone = linear_leaks(table, fixed | known.keys(), k)
    if alone:
        with pytest.raises(PublishedLeak):
            protect(counts, table.relations, k, allowed, fixed=fixed, known=known)
        return
    shown = protect(counts, table.relations, k, allowed, fixed=fixed, known=known)
    assert fixed <= shown and not shown & known.keys()
    assert all(counts[cell] >= k for cell in shown - fixed)
    assert linear_leaks(table, shown | known.keys(), k) == []


# --- protect and audit: the attacker who knows counts are never negative


@settings(max_examples=100, deadline=None)
@given(st.data(), tables(COUNTED_SHAPES), st.integers(3, 5))
def test_protect_then_audit_leaves_the_non_negative_attacker_nothing(data, table, k):
    allowed = data.draw(audiences(table))
    counts = table.counts()
    shown = protect(counts, table.relations, k, allowed)
    result = audit(counts, table.relations, k, shown)
    assert result.visible <= shown
    assert narrowed(table, set(result.visible), k) == []
    # The audit hides nothing where the specification finds nothing narrowed.
    assert (result.visible == shown) == (narrowed(table, set(shown), k) == [])
    # And its intervals are the specification's.
    found = intervals(counts, table.relations, result.visible)
    expected = bounds(table, set(result.visible))
    assert found == {cell: (float(low), float(high)) for cell, (low, high) in expected.items()}
