"""The suppression of survey/domain/suppression.py as it was before its closure was made
incremental (issue #7: the dashboard's first request), kept unchanged as the reference
that tests/test_suppression_reference.py holds the new one to: the same cells, always.
Only this docstring and the import of ReportingPeriod differ from the original.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from datetime import date
from itertools import compress
from typing import NamedTuple

from survey.domain.periods import ReportingPeriod

MIN_K = 3  # privacy.md: k is never below 3

Cell = Hashable  # e.g. (scope, ReportingPeriod), scope an office id or NATIONAL
NATIONAL = "national"
Relation = tuple[Cell, tuple[Cell, ...]]  # (parent, children): parent == sum(children)


def protect(
    counts: Mapping[Cell, int],
    relations: Sequence[Relation],
    k: int,
    allowed: Collection[Cell] | None = None,
) -> frozenset[Cell]:
    """The cells whose figures may be shown: each has a count of at least k (and is in
    ``allowed``, if given), and nothing derivable from them through ``relations`` is a
    small group. A cell missing from ``counts`` counts 0 and is never shown.

    ``allowed`` protects one audience on its own: what two leaders see together is not
    checked (protect their union for that). Raises ValueError if k is below MIN_K or the
    counts do not add up along the relations."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (privacy.md, 'Small groups'), not {k}")
    indexed = _Indexed(counts, relations)
    visible = [n >= k for n in indexed.value]
    if allowed is not None:  # look up the few allowed cells, not every cell in allowed
        permitted = {indexed.number(cell, add=False) for cell in allowed}
        visible = [shown and i in permitted for i, shown in enumerate(visible)]
    while True:
        closure = indexed.closure(visible)
        victims = indexed.victims(visible, closure, k) or indexed.exact_victims(visible, closure, k)
        if not victims:
            break
        for cell in victims:
            visible[cell] = False
    return frozenset(cell for cell, shown in zip(indexed.cells, visible, strict=False) if shown)


class _Indexed:
    """Cells and relations as integers, so that one closure costs a few list operations
    per membership: ``protect`` runs on every dashboard request."""

    def __init__(self, counts: Mapping[Cell, int], relations: Sequence[Relation]):
        cells: list[Cell] = list(counts)
        value: list[int] = list(counts.values())
        if not all(type(n) is int and n >= 0 for n in value):
            for cell, n in zip(cells, value, strict=False):
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise ValueError(f"count of {cell!r} must be a non-negative int, not {n!r}")
        # Looked up by identity first: lattice() reuses its cell objects, and hashing a
        # (scope, ReportingPeriod) calls the dataclass's Python __hash__. Identity is sound
        # while counts holds its keys; anything else falls back to equality.
        self.cells, self.value = cells, value
        self._by_id = by_id = {id(cell): i for i, cell in enumerate(cells)}
        self._by_equality: dict[Cell, int] | None = None
        number = self.number
        parents: list[int] = []
        children: list[list[int]] = []
        at = value.__getitem__
        for parent, kids in relations:
            p = number(parent)
            row = list(map(by_id.get, map(id, kids)))
            if None in row:
                row = [number(c) if i is None else i for i, c in zip(row, kids, strict=True)]
            if p in row or len(set(row)) != len(row):
                raise ValueError(f"a cell occurs twice in the relation of {parent!r}")
            if value[p] != sum(map(at, row)):
                raise ValueError(f"count of {parent!r} is not the sum of its children's")
            parents.append(p)
            children.append(row)

        self.parents, self.children = parents, children

    def number(self, cell: Cell, add: bool = True) -> int | None:
        """The index of ``cell``; a cell that is not counted is added with count 0 (it is
        only in a relation: an empty cell, never shown), or None without ``add``."""
        found = self._by_id.get(id(cell))
        if found is not None:
            return found
        if self._by_equality is None:
            self._by_equality = {c: i for i, c in enumerate(self.cells)}
        found = self._by_equality.get(cell)
        if found is None and add:
            found = self._by_equality[cell] = len(self.cells)
            self.cells.append(cell)
            self.value.append(0)
        return found

    def closure(self, visible: list[bool]) -> _Closure:
        """What the attacker knows from the visible cells: from any relation with one
        unknown member left, that member, until nothing changes. A worklist keeps, per
        relation, the number of unknown members and the sum of the unknown children (the
        hidden remainder).

        reason[c] is the relation that derived c (-1 if visible or unknown), derived the
        derived cells in order, unknown[r] and hidden[r] the number of unknown members and
        the hidden remainder of relation r."""
        parents, children, value = self.parents, self.children, self.value
        known = visible[:]
        unseen = [not shown for shown in visible]
        at, is_unseen = value.__getitem__, unseen.__getitem__
        unknown: list[int] = []
        hidden: list[int] = []
        occurs: dict[int, list[int]] = {}  # relations of each unseen cell, all one may learn
        for r, (p, row) in enumerate(zip(parents, children, strict=False)):
            rest = list(compress(row, map(is_unseen, row)))
            unknown.append(len(rest) + unseen[p])
            hidden.append(sum(map(at, rest)))
            if unseen[p]:
                rest.append(p)
            for c in rest:
                occurs.setdefault(c, []).append(r)
        reason = [-1] * len(known)
        derived: list[int] = []
        ready = [r for r, n in enumerate(unknown) if n == 1]
        while ready:
            r = ready.pop()
            if unknown[r] != 1:
                continue
            last = parents[r]
            if known[last]:
                last = next(c for c in children[r] if not known[c])
            known[last] = True
            reason[last] = r
            derived.append(last)
            for s in occurs[last]:
                unknown[s] -= 1
                if parents[s] != last:
                    hidden[s] -= value[last]
                if unknown[s] == 1:
                    ready.append(s)
        return _Closure(known, reason, derived, unknown, hidden)

    def victims(self, visible: list[bool], closure: _Closure, k: int) -> set[int]:
        """One visible cell to hide per leak found in this closure: a derived small cell
        (rule 2) or a known total whose hidden remainder is small (rule 3). A leak whose
        relation already lost a cell in this pass waits for the next closure."""
        value, parents, members = self.value, self.parents, self.members
        known, reason, hidden = closure.known, closure.reason, closure.hidden
        leaks = [(reason[c], c) for c in closure.derived if 0 < value[c] < k]
        leaks += [(r, -1) for r, p in enumerate(parents) if known[p] and 0 < hidden[r] < k]
        taken: set[int] = set()
        for r, leaked in leaks:
            row = members(r)
            if not taken.isdisjoint(row):
                continue  # already being dealt with: hide no more than needed
            ranked = [(value[c], position == 0, c) for position, c in enumerate(row) if c != leaked]
            victim = self._victim(ranked, visible, closure, taken)
            if victim is not None:
                taken.add(victim)
        if leaks and not taken:  # impossible while counts agree with the relations
            raise RuntimeError("a small group leaks, but no visible cell gives it away")
        return taken

    def exact_victims(self, visible: list[bool], closure: _Closure, k: int) -> set[int]:
        """Leaks that need more than one relation at a time. The closure solves one
        relation at a time; an attacker with linear algebra also combines them (a 2x2
        block of hidden cells whose row and column sums are known pins down a third
        cell in one of its columns). Solve the relations that still have two or more
        unknown members exactly, and hide one visible cell per leak found."""
        value, known = self.value, closure.known
        if not any(0 < n < k and not seen for n, seen in zip(value, known, strict=False)):
            return set()  # a leak, of a cell or of a remainder, needs an unknown small cell
        group = [r for r, n in enumerate(closure.unknown) if n >= 2]
        rows = [self._row(r, known) for r in group]
        solved = _solved_columns(rows)
        if not solved:
            return set()
        targets = [{c: 1} for c in sorted(solved) if 0 < value[c] < k]
        for r in group:
            p = self.parents[r]
            if known[p] or p in solved:
                rest = [c for c in self.children[r] if not (known[c] or c in solved)]
                if 0 < sum(value[c] for c in rest) < k:
                    targets.append(dict.fromkeys(rest, 1))
        if not targets:
            return set()
        basis = _Echelon(rows, track=True)
        taken: set[int] = set()
        for target in targets:
            combination = basis.express(target)
            if combination is None:  # cannot happen: the target is pinned down
                raise RuntimeError("a pinned-down sum has no derivation")
            weight: dict[int, int] = {}  # the known cells the leak is computed from
            for i, factor in combination.items():
                for c, sign in self._row(group[i], None).items():
                    if known[c]:
                        weight[c] = (weight.get(c, 0) + factor * sign) % _PRIME
            used = [c for c, w in weight.items() if w]
            if not taken.isdisjoint(used):
                continue  # already being dealt with: hide no more than needed
            victim = self._victim([(value[c], False, c) for c in used], visible, closure, taken)
            if victim is not None:
                taken.add(victim)
        if not taken:  # impossible while counts agree with the relations
            raise RuntimeError("a small group leaks, but no visible cell gives it away")
        return taken

    def _row(self, r: int, known: list[bool] | None) -> dict[int, int]:
        """Relation r as an equation, parent - children = 0, over its unknown members
        (all members if ``known`` is None), coefficients modulo _PRIME."""
        p = self.parents[r]
        row = {c: _PRIME - 1 for c in self.children[r] if known is None or not known[c]}
        if known is None or not known[p]:
            row[p] = 1
        return row

    def members(self, r: int) -> list[int]:
        """Relation r's parent, then its children."""
        return [self.parents[r], *self.children[r]]

    def _victim(
        self,
        ranked: list[tuple[int, bool, int]],
        visible: list[bool],
        closure: _Closure,
        taken: set[int],
    ) -> int | None:
        """The visible cell a leak is computed from with the smallest count, children
        before the parent (hiding a total costs the reader most): ``ranked`` holds
        (count, is parent, cell) of the known cells it is computed from. If none is
        visible, look where they came from, the parent's relation first."""
        value, known, reason = self.value, closure.known, closure.reason
        seen: set[int] = set()
        todo = deque([ranked])
        while todo:
            ranked = todo.popleft()
            if not taken.isdisjoint(c for _, _, c in ranked):
                return None  # already being dealt with: hide no more than needed
            shown = [entry for entry in ranked if visible[entry[2]]]
            if shown:
                return min(shown)[2]
            for _, _, c in sorted(ranked, key=lambda entry: not entry[1]):
                source = reason[c]
                if known[c] and source >= 0 and source not in seen:
                    seen.add(source)
                    row = self.members(source)
                    todo.append([(value[m], i == 0, m) for i, m in enumerate(row) if m != c])
        return None


class _Closure(NamedTuple):
    """What one closure found; see ``_Indexed.closure``."""

    known: list[bool]
    reason: list[int]
    derived: list[int]
    unknown: list[int]
    hidden: list[int]


# Exact linear algebra modulo a large prime: counts and coefficients are small integers,
# so a relation between them holds modulo _PRIME exactly when it holds over the rationals
# (short of a determinant divisible by 2**61 - 1, far beyond these lattices).
_PRIME = (1 << 61) - 1


class _Echelon:
    """Row echelon form of sparse rows {column: coefficient}, pivots scaled to 1, each
    row reduced against the pivots before it; optionally with each row's combination of
    the input rows, to tell which relations a derivation uses."""

    def __init__(self, rows: list[dict[int, int]], track: bool = False):
        self.pivot: dict[int, dict[int, int]] = {}
        self.combination: dict[int, dict[int, int]] = {}
        self.order: list[int] = []
        for i in sorted(range(len(rows)), key=lambda i: len(rows[i])):  # short rows first
            row, combination = self._reduce(dict(rows[i]), {i: 1} if track else None)
            if not row:
                continue
            column = min(row)
            scale = pow(row[column], -1, _PRIME)
            self.pivot[column] = {c: v * scale % _PRIME for c, v in row.items()}
            if combination is not None:
                self.combination[column] = {j: v * scale % _PRIME for j, v in combination.items()}
            self.order.append(column)

    def _reduce(self, row: dict[int, int], combination: dict[int, int] | None):
        pivot = self.pivot
        todo = [c for c in row if c in pivot]
        while todo:
            column = todo.pop()
            factor = row.get(column)
            if not factor:
                continue
            for c, v in pivot[column].items():
                updated = (row.get(c, 0) - factor * v) % _PRIME
                if updated:
                    if c not in row and c in pivot:
                        todo.append(c)
                    row[c] = updated
                else:
                    row.pop(c, None)
            if combination is not None:
                for j, v in self.combination[column].items():
                    combination[j] = (combination.get(j, 0) - factor * v) % _PRIME
        return row, combination

    def spans(self, target: dict[int, int]) -> bool:
        """Whether some combination of the input rows is ``target``."""
        return not self._reduce(dict(target), None)[0]

    def express(self, target: dict[int, int]) -> dict[int, int] | None:
        """Coefficients of input rows summing to ``target`` (needs ``track``), or None."""
        rest, combination = self._reduce(dict(target), {})
        if rest:
            return None
        return {j: -v % _PRIME for j, v in combination.items() if v}


def _solved_columns(rows: list[dict[int, int]]) -> set[int]:
    """The columns that every solution of rows . x = 0 leaves at 0: the cells that the
    equations pin down. Candidates are the zeros of one solution with pseudo-random free
    values (a pinned column is 0 in every solution; a free one in this one only by a
    2**-61 chance), each then confirmed by writing its unit vector as a combination of
    the rows. The seed is fixed: the same counts must always give the same answer, or
    two page loads could be subtracted."""
    echelon = _Echelon(rows)
    columns = {c for row in rows for c in row}
    draw = random.Random(0x5717).randrange
    x = {c: draw(1, _PRIME) for c in columns if c not in echelon.pivot}
    for column in reversed(echelon.order):
        x[column] = -sum(v * x[c] for c, v in echelon.pivot[column].items() if c != column) % _PRIME
    return {c for c in columns if x[c] == 0 and echelon.spans({c: 1})}


def lattice(
    month_counts: Mapping[tuple[Hashable, date], int], scopes: Iterable[Hashable]
) -> tuple[dict[Cell, int], list[Relation]]:
    """Counts and relations of the whole reporting lattice: every scope and NATIONAL at
    every month, quarter and half-year of the whole half-years that cover the months
    present, so that every quarter and half-year has all its parts."""
    offices = list(dict.fromkeys(scopes))
    if NATIONAL in offices:
        raise ValueError(f"{NATIONAL!r} is the sum of the scopes, not a scope")
    position = {scope: i for i, scope in enumerate(offices)}
    by_month: dict[tuple[int, int], list[int]] = {}  # (year, month) -> count per office
    for (scope, day), n in month_counts.items():
        if scope not in position:
            raise ValueError(f"counts for {scope!r}, which is not among the scopes")
        if day.day != 1:
            raise ValueError(f"months are dated by their first day, not {day}")
        row = by_month.setdefault((day.year, day.month), [0] * len(offices))
        row[position[scope]] = n
    if not by_month:
        return {}, []

    first, last = min(by_month), max(by_month)
    half = ReportingPeriod.containing(date(*first, 1), "half")
    end = ReportingPeriod.containing(date(*last, 1), "half")
    periods: list[ReportingPeriod] = []  # per half-year: its months, its quarters, itself
    while half <= end:
        quarters = half.children()
        periods += [month for quarter in quarters for month in quarter.children()]
        periods += [*quarters, half]
        half = half.following()

    counts: dict[Cell, int] = {}
    relations: list[Relation] = []
    # Per period: the offices' cells, their counts, the national cell. One tuple per cell,
    # shared by counts and relations, so that protect() finds it by identity.
    column: dict[ReportingPeriod, tuple[list[Cell], list[int], Cell]] = {}
    for period in periods:  # parts come before their whole, so their sums are ready
        parts = [column[part] for part in period.children()]
        if parts:
            tally = [sum(n) for n in zip(*(part[1] for part in parts), strict=False)]
        else:
            tally = by_month.get((period.year, period.number), [0] * len(offices))
        cells = [(scope, period) for scope in offices]
        national = (NATIONAL, period)
        column[period] = cells, tally, national
        counts.update(zip(cells, tally, strict=False))
        counts[national] = sum(tally)
        if parts:
            for i, cell in enumerate(cells):
                relations.append((cell, tuple(part[0][i] for part in parts)))
            relations.append((national, tuple(part[2] for part in parts)))
        relations.append((national, tuple(cells)))
    return counts, relations
