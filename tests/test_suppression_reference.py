"""The fast suppression (incremental derivations, one shape for many measures) decides
exactly the cells the original one did (tests/suppression_reference.py, kept unchanged),
on random lattices: same counts, same relations, same k and audience, same cells."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain import suppression
from survey.domain.suppression import NATIONAL, Shape, lattice, protect
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


def check(counts, relations, k, allowed, shape=None) -> frozenset:
    expected = reference.protect(counts, relations, k, allowed)
    found = protect(counts, relations, k, allowed, shape=shape)
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
    cells (one shape for all), as the dashboard protects them."""
    rng = random.Random(7)
    rounds = []
    knowledge = suppression._Attacker.knowledge

    def counted(self):
        rounds.append(self)
        return knowledge(self)

    suppression._Attacker.knowledge = counted
    try:
        for _ in range(3):
            counts, relations = random_lattice(rng, 60, 24, 0.4)
            shape = Shape(counts, relations)
            shown = check(counts, relations, 5, None, shape)
            assert 0 < len(shown) < len(counts)
            for allowed in audiences(rng, counts)[1:]:
                check(counts, relations, 5, allowed, shape)
            # Another measure over the same cells in the same order: the same shape.
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
            check(by_key, relations, 5, shown, shape)
            check(by_key, relations, 5, shown)
    finally:
        suppression._Attacker.knowledge = knowledge
    assert len(rounds) > 3 * 4 and len(set(map(id, rounds))) < len(rounds)  # many rounds


def test_each_derivation_is_the_one_made_from_scratch():
    """Everything _Attacker knows while cells are hidden equals, list for list, what it
    derives from the same visible cells from scratch."""
    rng = random.Random(11)
    counts, relations = random_lattice(rng, 40, 24, 0.5)
    table = suppression._Table(counts, relations, None)
    visible = [n >= 5 for n in table.count]
    attacker = suppression._Attacker(table, visible)
    compared = 0
    while True:
        knowledge = attacker.knowledge()
        assert knowledge == suppression._knowledge_from_scratch(table, visible[:])
        compared += 1
        to_hide = suppression._hide_for_derived_leaks(
            table, visible, knowledge, 5
        ) or suppression._hide_for_exact_leaks(table, visible, knowledge, 5)
        if not to_hide:
            break
        for cell in to_hide:
            attacker.hide(cell)
    assert compared > 5


def test_a_shape_is_not_used_for_other_relations_or_cells():
    """The same cells with the relation list changed in place need a shape of their own:
    one made for the old relations, or for the cells in another order, is refused."""
    relations = [("N", ("A", "B"))]
    counts = {"N": 10, "A": 5, "B": 5, "C": 0}
    old = Shape(counts, relations)
    assert protect(counts, relations, 3, shape=old) == reference.protect(counts, relations, 3)
    relations[0] = ("N", ("A", "B", "C"))
    counts = {"N": 10, "A": 5, "B": 3, "C": 2}
    with pytest.raises(ValueError, match="shape"):
        protect(counts, relations, 3, shape=old)
    shown = protect(counts, relations, 3)
    assert shown == reference.protect(counts, relations, 3)
    assert "C" not in shown and len(shown) < 3
    reordered = dict(reversed(counts.items()))
    with pytest.raises(ValueError, match="shape"):
        protect(reordered, relations, 3, shape=Shape(counts, relations))
