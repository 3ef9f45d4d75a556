"""Small-group suppression (privacy.md, "Small groups"), without Flask: the rules by hand,
then an independent attacker that solves the shown figures exactly."""

from __future__ import annotations

import random
from collections.abc import Collection, Hashable, Mapping, Sequence
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain.periods import ReportingPeriod
from survey.domain.suppression import MIN_K, NATIONAL, Relation, lattice, protect

K = 5


def month(code: str) -> date:
    return ReportingPeriod.parse(code).start


def period(code: str) -> ReportingPeriod:
    return ReportingPeriod.parse(code)


# --- The attacker: exact linear algebra over the rationals, sharing nothing with protect()


def determined(
    counts: Mapping[Hashable, int], relations: Sequence[Relation], visible: Collection[Hashable]
) -> dict[Hashable, Fraction]:
    """Every cell whose count follows from the visible counts and the relations, with that
    count. Unknowns are all cells; equations are parent - sum(children) = 0 for every
    relation and cell = count for every visible cell. A cell is determined iff its unit
    vector lies in the row space, i.e. iff in the reduced row echelon form its column is a
    pivot whose row has no other entry."""
    cells = list(dict.fromkeys([*counts, *(c for p, kids in relations for c in (p, *kids))]))
    column = {cell: i for i, cell in enumerate(cells)}
    equations: list[tuple[dict[int, Fraction], Fraction]] = []
    for parent, children in relations:
        row = {column[parent]: Fraction(1)}
        for child in children:
            row[column[child]] = row.get(column[child], Fraction(0)) - 1
        equations.append((row, Fraction(0)))
    for cell in visible:
        equations.append(({column[cell]: Fraction(1)}, Fraction(counts[cell])))

    pivots: dict[int, tuple[dict[int, Fraction], Fraction]] = {}  # kept fully reduced
    for row, rhs in equations:
        row = {j: v for j, v in row.items() if v}
        for p, (prow, prhs) in pivots.items():
            factor = row.get(p)
            if factor:
                row, rhs = _subtract(row, rhs, prow, prhs, factor)
        if not row:
            continue
        p = min(row)
        scale = row[p]
        row, rhs = {j: v / scale for j, v in row.items()}, rhs / scale
        for q, (qrow, qrhs) in list(pivots.items()):
            factor = qrow.get(p)
            if factor:
                pivots[q] = _subtract(qrow, qrhs, row, rhs, factor)
        pivots[p] = (row, rhs)
    return {cells[p]: rhs for p, (row, rhs) in pivots.items() if len(row) == 1}


def _subtract(row, rhs, other, other_rhs, factor):
    result = dict(row)
    for j, v in other.items():
        value = result.get(j, Fraction(0)) - factor * v
        if value:
            result[j] = value
        else:
            result.pop(j, None)
    return result, rhs - factor * other_rhs


def leaks(
    counts: Mapping[Hashable, int],
    relations: Sequence[Relation],
    visible: Collection[Hashable],
    k: int,
) -> list[tuple[Hashable, int]]:
    """What the attacker learns that privacy.md forbids: a determined cell with 0 < count
    < k, or a known total whose undetermined children sum to 0 < n < k."""
    known = determined(counts, relations, visible)
    for cell, value in known.items():
        assert value == counts.get(cell, 0), "the attacker's algebra is wrong"
    found = [(cell, counts[cell]) for cell in known if 0 < counts.get(cell, 0) < k]
    for parent, children in relations:
        if parent in known:
            remainder = sum(counts.get(c, 0) for c in children if c not in known)
            if 0 < remainder < k:
                found.append(((parent, "remainder"), remainder))
    return found


def test_the_attacker_solves_more_than_one_unknown_at_a_time():
    """Two hidden 2x2 blocks joined by one hidden cell: every row and column has two
    unknowns, so peeling one-unknown relations learns nothing, yet the joining cell is
    the difference of two pairs of row and column remainders."""
    rows, cols = range(4), range(4)
    value = {(r, c): 10 + 3 * r + c for r in rows for c in cols}
    counts = dict(value)
    counts.update({(r, "+"): sum(value[r, c] for c in cols) for r in rows})
    counts.update({("+", c): sum(value[r, c] for r in rows) for c in cols})
    counts["+", "+"] = sum(value.values())
    relations = [((r, "+"), tuple((r, c) for c in cols)) for r in rows]
    relations += [(("+", c), tuple((r, c) for r in rows)) for c in cols]
    relations.append((("+", "+"), tuple((r, "+") for r in rows)))
    hidden = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    known = determined(counts, relations, [cell for cell in counts if cell not in hidden])
    assert known[1, 2] == value[1, 2]
    assert not hidden - {(1, 2)} & known.keys()


def test_the_attacker_catches_primary_suppression_alone():
    """Hiding only the small office is not enough: national minus the others gives it."""
    counts = {"N": 42, "A": 20, "B": 20, "C": 2}
    relations = [("N", ("A", "B", "C"))]
    assert leaks(counts, relations, {"N", "A", "B"}, K) == [("C", 2)]


# --- The rules by hand


@pytest.mark.parametrize("k", [-1, 0, 1, 2])
def test_k_below_three_is_refused(k):
    with pytest.raises(ValueError):
        protect({"A": 100}, [], k)


def test_k_of_three_is_allowed():
    assert MIN_K == 3
    assert protect({"A": 3, "B": 2}, [], 3) == {"A"}


def test_primary_rule_shows_only_cells_of_at_least_k():
    counts = {"A": 5, "B": 4, "C": 1, "D": 100}
    assert protect(counts, [], K) == {"A", "D"}


def test_zeros_are_never_visible():
    """An empty cell must look like a suppressed one, whatever k."""
    counts = {"A": 0, "B": 7}
    assert protect(counts, [], 3) == {"B"}


def test_a_cell_only_in_a_relation_counts_zero_and_is_never_shown():
    counts = {"N": 10, "A": 10}
    assert protect(counts, [("N", ("A", "B"))], K) == {"N", "A"}


def test_allowed_limits_what_is_shown():
    counts = {"A": 50, "B": 60, "C": 70}
    assert protect(counts, [], K, allowed={"B", "C", "elsewhere"}) == {"B", "C"}
    assert protect(counts, [], K, allowed=()) == frozenset()


def test_counts_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError):
        protect({"N": 10, "A": 4, "B": 5}, [("N", ("A", "B"))], K)
    with pytest.raises(ValueError):
        protect({"A": -1}, [], K)


def test_national_minus_the_visible_offices():
    """One small office among large ones: the smallest other office goes too, so that
    'andre kontorer' (national minus the shown offices) is at least k."""
    counts = {"N": 92, "A": 20, "B": 30, "C": 2, "D": 40}
    relations = [("N", ("A", "B", "C", "D"))]
    visible = protect(counts, relations, K)
    assert visible == {"N", "B", "D"}
    assert counts["N"] - sum(counts[c] for c in ("B", "D")) >= K
    assert leaks(counts, relations, visible, K) == []


def test_a_quarter_minus_its_visible_months():
    counts = {"Q": 25, "m1": 10, "m2": 3, "m3": 12}
    relations = [("Q", ("m1", "m2", "m3"))]
    visible = protect(counts, relations, K)
    assert visible == {"Q", "m3"}
    assert leaks(counts, relations, visible, K) == []


def test_two_small_offices_whose_sum_is_below_k():
    """Neither can be derived alone, but together they are the remainder 3: one more
    office is hidden, and only one."""
    counts = {"N": 25, "A": 1, "B": 2, "C": 10, "D": 12}
    relations = [("N", ("A", "B", "C", "D"))]
    visible = protect(counts, relations, K)
    assert visible == {"N", "D"}
    assert leaks(counts, relations, visible, K) == []


def test_a_half_year_against_its_quarters():
    """A small quarter: the other quarter is hidden rather than the half-year."""
    counts = {"H": 43, "Q1": 3, "Q2": 40}
    relations = [("H", ("Q1", "Q2"))]
    assert protect(counts, relations, K) == {"H"}


def test_a_small_month_inside_a_half_year_of_one_office():
    month_counts = {("A", month(f"2026-{m:02d}")): n for m, n in enumerate([9, 9, 9, 2, 9, 20], 1)}
    counts, relations = lattice(month_counts, ["A", "B"])
    visible = protect(counts, relations, K)
    assert ("A", period("2026-04")) not in visible
    assert ("A", period("2026-Q2")) in visible
    assert ("A", period("2026-H1")) in visible
    assert leaks(counts, relations, visible, K) == []


def test_the_only_office_with_responses_equals_national():
    """National then equals that office; the rest of the country is 0, which leaks
    nothing, so both are shown."""
    counts = {"N": 30, "A": 30, "B": 0, "C": 0}
    relations = [("N", ("A", "B", "C"))]
    visible = protect(counts, relations, K)
    assert visible == {"N", "A"}
    assert leaks(counts, relations, visible, K) == []


def test_a_leak_through_derived_cells_is_traced_to_where_they_came_from():
    """Y is derived from A - Z, both themselves derived; the relation that made its
    parent A known (P = A + B) gives up its smallest visible child, B."""
    counts = {"P": 32, "A": 12, "B": 20, "Y": 2, "Z": 10, "W": 25, "V": 15}
    relations = [("P", ("A", "B")), ("A", ("Y", "Z")), ("W", ("Z", "V"))]
    visible = protect(counts, relations, K, allowed={"P", "B", "W", "V"})
    assert visible == {"P", "W", "V"}
    assert leaks(counts, relations, visible, K) == []


def test_a_hidden_block_with_known_sums_pins_a_third_cell():
    """No relation has a single unknown, so one-at-a-time derivation learns nothing, but
    A1 + A4 - Napr = b1 + b4, and so Njun gives away b3. Found by the attacker on a random
    lattice; one of the four totals it is computed from (the smallest) must go."""
    counts = {"A1": 13, "A4": 11, "Napr": 13, "Njun": 12}
    counts |= {"a1": 4, "b1": 9, "a4": 9, "b4": 2, "b3": 1}
    relations = [
        ("A1", ("a1", "b1")),
        ("A4", ("a4", "b4")),
        ("Napr", ("a1", "a4")),
        ("Njun", ("b1", "b3", "b4")),
    ]
    allowed = {"A1", "A4", "Napr", "Njun"}
    assert leaks(counts, relations, allowed, K) == [("b3", 1)]
    visible = protect(counts, relations, K, allowed)
    assert visible == {"A1", "Napr", "Njun"}
    assert leaks(counts, relations, visible, K) == []


def test_the_random_lattice_where_the_attacker_found_it():
    """The original finding: office 3's June (1 response) followed from offices 1 and 4's
    April and June, hidden as a block, and the visible totals around them."""
    rows = {
        0: [4, 9, 7, 6, 7, 41],
        1: [8, 4, 82, 4, 7, 9],
        2: [4, 0, 0, 10, 9, 68],
        3: [48, 10, 5, 9, 5, 1],
        4: [10, 3, 10, 9, 9, 2],
    }
    month_counts = {(o, date(2025, m, 1)): n for o, ns in rows.items() for m, n in enumerate(ns, 1)}
    counts, relations = lattice(month_counts, range(5))
    shown = {
        0: ["04", "06", "H1"],
        1: ["03", "05", "Q1", "Q2"],
        2: ["04", "06"],
        3: ["01", "02", "03", "04", "Q1"],
        4: ["05", "Q2"],
        NATIONAL: ["01", "02", "03", "04", "06", "Q1", "H1"],
    }
    allowed = {(scope, period(f"2025-{code}")) for scope, codes in shown.items() for code in codes}
    assert ((3, period("2025-06")), 1) in leaks(counts, relations, allowed, K)
    visible = protect(counts, relations, K, allowed)
    assert visible < allowed
    assert leaks(counts, relations, visible, K) == []


def test_a_remainder_pinned_down_by_several_relations_without_allowed():
    """The same weakness with every cell allowed: one-at-a-time derivation leaves office
    3's 2024-Q4 remainder (3 responses) undetermined, linear algebra does not."""
    rows = [
        [4, 62, 4, 8, 3, 88, 17, 1, 6],
        [83, 6, 55, 60, 26, 53, 17, 17, 5],
        [48, 37, 29, 8, 6, 70, 7, 88, 36],
        [0, 0, 78, 3, 0, 86, 3, 65, 9],
        [2, 77, 2, 10, 70, 39, 60, 28, 84],
        [2, 56, 5, 9, 9, 33, 60, 10, 51],
        [2, 79, 43, 5, 3, 94, 3, 10, 3],
        [68, 3, 95, 74, 21, 8, 10, 93, 6],
        [86, 8, 72, 41, 10, 44, 9, 7, 4],
        [75, 3, 30, 2, 9, 10, 95, 2, 7],
    ]
    months = [date(2024 + (8 + i) // 12, (8 + i) % 12 + 1, 1) for i in range(9)]
    month_counts = {
        (o, day): n for o, ns in enumerate(rows) for day, n in zip(months, ns, strict=True)
    }
    counts, relations = lattice(month_counts, range(10))
    visible = protect(counts, relations, K)
    assert leaks(counts, relations, visible, K) == []


# --- The attacker against random lattices


@st.composite
def month_tables(draw) -> tuple[dict[tuple[int, date], int], list[int]]:
    """2–6 offices over 6–12 consecutive months, counts mostly small, some large."""
    offices = draw(st.integers(2, 6))
    months = draw(st.integers(6, 12))
    start = draw(st.integers(0, 11))
    small = st.integers(0, 12)
    values = draw(
        st.lists(
            small | small | small | st.integers(13, 200),
            min_size=offices * months,
            max_size=offices * months,
        )
    )
    table = {}
    for i, n in enumerate(values):
        index = start + i % months
        table[i // months, date(2026 + index // 12, index % 12 + 1, 1)] = n
    return table, list(range(offices))


@settings(max_examples=60, deadline=None)
@given(month_tables(), st.sampled_from(["all", "leader", "patchy"]), st.randoms())
def test_the_attacker_learns_no_small_group(table, audience, rng):
    """Everything may be shown; or a leader's own offices and national; or a random
    patchwork of cells (which leaves the odd shapes where one-at-a-time fails)."""
    month_counts, offices = table
    counts, relations = lattice(month_counts, offices)
    allowed = None
    if audience == "leader":
        own = {office for office in offices if rng.random() < 0.4} | {NATIONAL}
        allowed = {cell for cell in counts if cell[0] in own}
    elif audience == "patchy":
        allowed = {cell for cell in counts if rng.random() < 0.6}
    visible = protect(counts, relations, K, allowed)
    assert visible <= counts.keys()
    assert all(counts[cell] >= K for cell in visible)
    if allowed is not None:
        assert visible <= allowed
    assert leaks(counts, relations, visible, K) == []


def test_a_national_lattice_of_all_large_cells_shows_every_non_empty_cell():
    """250 offices over 36 months, some months empty: nothing small, so nothing beyond
    the empty cells is hidden."""
    rng = random.Random(2026)
    months = [date(2024 + (m + 2) // 12, (m + 2) % 12 + 1, 1) for m in range(36)]  # from March
    month_counts = {
        (office, day): rng.choice([0, rng.randint(K, 60)])
        for office in range(250)
        for day in months
    }
    counts, relations = lattice(month_counts, range(250))
    assert len(counts) == 251 * (42 + 14 + 7)  # 2024-H1 to 2027-H1: 42 months
    visible = protect(counts, relations, K)
    assert visible == {cell for cell, n in counts.items() if n > 0}


# --- lattice()


def test_lattice_extends_to_whole_half_years_and_adds_up():
    month_counts = {
        (1, month("2026-02")): 4,
        (1, month("2026-08")): 6,
        ("oslo", month("2026-03")): 10,
    }
    counts, relations = lattice(month_counts, [1, "oslo"])
    periods = {p for _, p in counts}
    assert {p.code for p in periods if p.kind == "half"} == {"2026-H1", "2026-H2"}
    assert {p.code for p in periods if p.kind == "month"} == {f"2026-{m:02d}" for m in range(1, 13)}
    assert len(counts) == 3 * (12 + 4 + 2)
    assert counts[1, period("2026-01")] == 0
    assert counts[1, period("2026-Q1")] == 4
    assert counts[1, period("2026-Q3")] == 6
    assert counts[1, period("2026-H1")] == 4
    assert counts["oslo", period("2026-H2")] == 0
    assert counts[NATIONAL, period("2026-03")] == 10
    assert counts[NATIONAL, period("2026-Q1")] == 14
    assert counts[NATIONAL, period("2026-H1")] == 14
    assert counts[NATIONAL, period("2026-H2")] == 6
    for parent, children in relations:
        assert counts[parent] == sum(counts[child] for child in children)


def test_lattice_relations_are_time_within_each_scope_and_offices_within_national():
    month_counts = {("a", month("2025-12")): 3, ("b", month("2026-01")): 8}
    counts, relations = lattice(month_counts, ["a", "b"])
    periods = sorted({p for _, p in counts})
    assert [p.code for p in periods if p.kind == "half"] == ["2025-H2", "2026-H1"]
    expected = set()
    for p in periods:
        if p.kind != "month":
            for scope in ("a", "b", NATIONAL):
                expected.add(((scope, p), tuple((scope, part) for part in p.children())))
        expected.add(((NATIONAL, p), (("a", p), ("b", p))))
    assert len(relations) == len(expected) == 3 * (4 + 2) + 18
    assert set(relations) == expected


@settings(deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["x", "y", 7]), st.dates(date(2020, 1, 1), date(2030, 12, 1))),
        st.integers(0, 50),
        max_size=12,
    )
)
def test_lattice_sums_hold_for_any_months(raw):
    month_counts = {(scope, day.replace(day=1)): n for (scope, day), n in raw.items()}
    counts, relations = lattice(month_counts, ["x", "y", 7])
    for (scope, day), n in month_counts.items():
        assert counts[scope, ReportingPeriod.containing(day, "month")] == n
    for parent, children in relations:
        assert counts[parent] == sum(counts[child] for child in children)
    halves = [p for _, p in counts if p.kind == "half"]
    assert sum(counts[NATIONAL, h] for h in set(halves)) == sum(month_counts.values())


def test_lattice_of_nothing_is_empty():
    assert lattice({}, ["a", "b"]) == ({}, [])


@pytest.mark.parametrize(
    "month_counts, scopes",
    [
        ({("a", date(2026, 1, 15)): 3}, ["a"]),  # not a first day of a month
        ({("z", date(2026, 1, 1)): 3}, ["a"]),  # a scope that was not listed
        ({("a", date(2026, 1, 1)): 3}, ["a", NATIONAL]),  # national is no office
    ],
)
def test_lattice_refuses_what_it_cannot_sum(month_counts, scopes):
    with pytest.raises(ValueError):
        lattice(month_counts, scopes)
