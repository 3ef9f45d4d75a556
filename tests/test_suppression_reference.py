"""The fast suppression (incremental closures, shapes kept between measures) decides
exactly the cells the original one did (tests/suppression_reference.py, kept unchanged),
on random lattices: same counts, same relations, same k and audience, same cells."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from survey import suppression
from survey.suppression import NATIONAL, lattice, protect
from tests import suppression_reference as reference


def random_lattice(rng: random.Random, offices: int, months: int, small: float):
    """Counts over ``offices`` × ``months`` from a random start: a ``small`` share of the
    cells below 13 (many of them below k), the rest up to 200, some offices empty."""
    start = rng.randrange(12)
    table = {}
    for office in range(offices):
        if rng.random() < 0.1:
            continue
        for i in range(months):
            index = start + i
            n = rng.randrange(13) if rng.random() < small else rng.randrange(13, 200)
            table[office, date(2026 + index // 12, index % 12 + 1, 1)] = n
    return lattice(table, range(offices))


def audiences(rng: random.Random, counts) -> list:
    offices = {cell[0] for cell in counts} - {NATIONAL}
    own = {office for office in offices if rng.random() < 0.3} | {NATIONAL}
    return [
        None,
        {cell for cell in counts if cell[0] in own},
        {cell for cell in counts if rng.random() < 0.7},
    ]


def check(counts, relations, k, allowed) -> frozenset:
    expected = reference.protect(counts, relations, k, allowed)
    found = protect(counts, relations, k, allowed)
    assert found == expected
    return found


@settings(max_examples=80, deadline=None)
@given(
    st.integers(2, 12),
    st.integers(3, 30),
    st.floats(0.1, 0.9),
    st.integers(3, 7),
    st.randoms(use_true_random=False),
)
def test_the_same_cells_as_the_original_on_random_lattices(offices, months, small, k, rng):
    counts, relations = random_lattice(rng, offices, months, small)
    for allowed in audiences(rng, counts):
        check(counts, relations, k, allowed)


def test_the_same_cells_on_large_lattices_that_take_many_rounds():
    """Dashboard-sized: 60 offices over two years, many cells near k, so that protect hides
    cells over many rounds in every half-year; and each measure's counts on the same
    cells (the shape kept from the one before), as the dashboard protects them."""
    rng = random.Random(7)
    rounds = []
    closure = suppression._Closures.closure

    def counted(self):
        rounds.append(self)
        return closure(self)

    suppression._Closures.closure = counted
    try:
        for _ in range(3):
            counts, relations = random_lattice(rng, 60, 24, 0.4)
            shown = check(counts, relations, 5, None)
            assert 0 < len(shown) < len(counts)
            for allowed in audiences(rng, counts)[1:]:
                check(counts, relations, 5, allowed)
            # Another measure over the same cell objects in the same order: a kept shape.
            fewer = {cell: 0 for cell in counts}
            for (scope, period), n in counts.items():
                if scope != NATIONAL and period.kind == "month":
                    fewer[scope, period] = n - rng.randrange(n + 1) // 4
            month_counts = {
                (s, p.start): n
                for (s, p), n in fewer.items()
                if s != NATIONAL and p.kind == "month"
            }
            summed, _ = lattice(month_counts, sorted({s for s, _ in month_counts}))
            by_key = {cell: summed.get(cell, 0) for cell in counts}
            check(by_key, relations, 5, shown)
    finally:
        suppression._Closures.closure = closure
    assert len(rounds) > 3 * 4 and len(set(map(id, rounds))) < len(rounds)  # many rounds


def test_each_closure_is_the_one_made_from_scratch():
    """Every closure _Closures gives while cells are hidden equals, list for list,
    _Indexed.closure of the same visible cells from scratch."""
    rng = random.Random(11)
    counts, relations = random_lattice(rng, 40, 24, 0.5)
    indexed = suppression._Indexed(counts, relations)
    visible = [n >= 5 for n in indexed.value]
    closures = suppression._Closures(indexed, visible)
    compared = 0
    while True:
        closure = closures.closure()
        assert closure == indexed.closure(visible[:])
        compared += 1
        victims = indexed.victims(visible, closure, 5) or indexed.exact_victims(visible, closure, 5)
        if not victims:
            break
        for cell in victims:
            closures.hide(cell)
    assert compared > 5


def test_a_kept_shape_is_not_used_for_other_relations():
    """The same cells with the relation list changed in place get a shape of their own."""
    relations = [("N", ("A", "B"))]
    counts = {"N": 10, "A": 5, "B": 5, "C": 0}
    assert protect(counts, relations, 3) == reference.protect(counts, relations, 3)
    relations[0] = ("N", ("A", "B", "C"))
    counts = {"N": 10, "A": 5, "B": 3, "C": 2}
    shown = protect(counts, relations, 3)
    assert shown == reference.protect(counts, relations, 3)
    assert "C" not in shown and len(shown) < 3
