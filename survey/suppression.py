"""Small-group suppression: which aggregate cells a leader may be shown.

privacy.md ("Small groups"): no aggregate over fewer than k responses is shown, and no
hidden number can be worked out from the shown ones. So a cell is shown only if its count
is at least k (primary suppression). An attacker knows every shown count and the additive
relations between cells (national = sum of offices, quarter = sum of its months,
half-year = sum of its quarters); every count they can derive must be 0 or at least k,
and so must what is left of a known total after its known parts ("andre kontorer").
Where that fails, one more shown cell is hidden (secondary suppression) and the check
runs again, until nothing leaks.

The attacker is modelled twice: first as solving one relation at a time (a fast
worklist, which finds nearly every leak), then, once that finds none, as solving all the
relations together by exact linear algebra, which also finds the rare leaks that need
several relations at once. Pure Python: no Flask, no database.

For a release, cells published in earlier releases are ``fixed`` (shown whatever happens,
never hidden to stop a leak) and cells the attacker knows anyway, such as the months
after the release, are ``known``. Linear equations are not all an insider has: counts are
never negative. ``survey.disclosure`` audits what this module decides against that
attacker, by linear programming, and hides more where it must.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from datetime import date
from itertools import compress, filterfalse
from typing import NamedTuple

from .caching import Cache
from .periods import ReportingPeriod

MIN_K = 3  # privacy.md: k is never below 3

Cell = Hashable  # e.g. (scope, ReportingPeriod), scope an office id or NATIONAL
NATIONAL = "national"
Relation = tuple[Cell, tuple[Cell, ...]]  # (parent, children): parent == sum(children)


class PublishedLeak(RuntimeError):
    """A small group follows from cells that must stay as they are (published in an earlier
    release, or known to the attacker anyway): hiding new cells cannot stop it. It cannot
    happen when the earlier release was itself protected and the new cells can be hidden."""


def protect(
    counts: Mapping[Cell, int],
    relations: Sequence[Relation],
    k: int,
    allowed: Collection[Cell] | None = None,
    *,
    fixed: Collection[Cell] = frozenset(),
    known: Mapping[Cell, int] | None = None,
) -> frozenset[Cell]:
    """The cells whose figures may be shown: each has a count of at least k (and is in
    ``allowed``, if given), and nothing derivable from them through ``relations`` is a
    small group. A cell missing from ``counts`` counts 0 and is never shown.

    ``allowed`` protects one audience on its own: what two leaders see together is not
    checked (protect their union for that).

    ``fixed``: cells published in an earlier release. They stay shown whatever their count
    (a release is never taken back) and are never hidden to stop a leak; other cells are.
    ``known``: cells the attacker knows without being shown (months after a release's
    last month are 0), with their counts: they help the attacker derive, are never hidden
    to stop a leak and are never in the result.

    Raises ValueError if k is below MIN_K, the counts do not add up along the relations,
    a fixed cell is not allowed, or a known count is not the cell's count; PublishedLeak if
    a small group follows from fixed and known cells alone."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (privacy.md, 'Small groups'), not {k}")
    indexed = _Indexed(counts, relations)
    visible = [n >= k for n in indexed.value]
    if allowed is not None:  # look up the few allowed cells, not every cell in allowed
        permitted = {indexed.number(cell) for cell in allowed}
        visible = [shown and i in permitted for i, shown in enumerate(visible)]
    hideable, given = visible, ()
    if fixed or known:
        hideable, given = visible[:], indexed.given(fixed, known, allowed)
        for i in given:
            visible[i], hideable[i] = True, False
    closures = _Closures(indexed, visible)
    while True:
        closure = closures.closure()
        victims = indexed.victims(hideable, closure, k) or indexed.exact_victims(
            hideable, closure, k
        )
        if not victims:
            break
        for cell in victims:
            closures.hide(cell)
            hideable[cell] = False
    if known:
        for i in indexed.numbers(known):
            visible[i] = False
    return frozenset(cell for cell, shown in zip(indexed.cells, visible) if shown)


class _Shape:
    """The cells and relations of one lattice as integers, without counts: the same for
    every measure protected over that lattice with its cells in the same order, so kept
    for the few lattices last used (``of``). Read-only once made."""

    # By the ids of the cells and relations; bound: the few lattices in use at once.
    _kept: Cache[tuple[tuple[int, ...], tuple[int, ...]], _Shape] = Cache(maxsize=4)

    @classmethod
    def of(cls, cells: list[Cell], relations: Sequence[Relation]) -> _Shape:
        """The shape of these cells, in this order, and relations: a kept one if it was
        made from the very same objects (it holds them, so their ids are not reused)."""
        key = (tuple(map(id, cells)), tuple(map(id, relations)))
        shape = cls._kept.get(key)
        if shape is None:
            shape = cls._kept.put(key, cls(cells, relations))
        return shape

    def __init__(self, counted: list[Cell], relations: Sequence[Relation]):
        self.relations = tuple(relations)  # held: see ``of``
        # Looked up by identity first: lattice() reuses its cell objects, and hashing a
        # (scope, ReportingPeriod) calls the dataclass's Python __hash__. Identity is sound
        # while the shape holds its cells; anything else falls back to equality.
        self.cells = cells = list(counted)
        self._by_id = by_id = {id(cell): i for i, cell in enumerate(cells)}
        self._by_equality: dict[Cell, int] | None = None
        parents: list[int] = []
        children: list[list[int]] = []
        for parent, kids in relations:
            p = self._add(parent)
            row = list(map(by_id.get, map(id, kids)))
            if None in row:
                row = [self._add(c) if i is None else i for i, c in zip(row, kids)]
            if p in row or len(set(row)) != len(row):
                raise ValueError(f"a cell occurs twice in the relation of {parent!r}")
            parents.append(p)
            children.append(row)
        self.parents, self.children = parents, children
        # The relations each cell is a member of (as parent or child), in order: those of
        # cell c are occurs[at[c]:at[c + 1]]. Two flat lists of ints rather than a list
        # per cell, which would give the garbage collector thousands more to look at.
        at = [0] * (len(cells) + 1)
        for p, row in zip(parents, children):
            at[p + 1] += 1
            for c in row:
                at[c + 1] += 1
        for c in range(len(cells)):
            at[c + 1] += at[c]
        occurs = [0] * at[-1]
        free = at[:-1]
        for r, (p, row) in enumerate(zip(parents, children)):
            occurs[free[p]] = r
            free[p] += 1
            for c in row:
                occurs[free[c]] = r
                free[c] += 1
        self.occurs, self.at = occurs, at
        self._parts: tuple[list[list[int]], list[int]] | None = None

    def _by_value(self) -> dict[Cell, int]:
        if self._by_equality is None:
            self._by_equality = {c: i for i, c in enumerate(self.cells)}
        return self._by_equality

    def _add(self, cell: Cell) -> int:
        """The index of ``cell``; one that is not counted is added (only while the shape
        is made): it is only in a relation, an empty cell with count 0, never shown."""
        found = self.number(cell)
        if found is None:
            found = self._by_value()[cell] = len(self.cells)
            self.cells.append(cell)
        return found

    def number(self, cell: Cell) -> int | None:
        found = self._by_id.get(id(cell))
        return found if found is not None else self._by_value().get(cell)

    @property
    def parts(self) -> tuple[list[list[int]], list[int]]:
        """The relations in parts that share no cell, each part's in order, and the part
        of each relation (the reporting lattice has one part per half-year)."""
        if self._parts is None:
            relations = len(self.parents)
            root = list(range(relations))  # union-find over relations sharing a cell

            def find(r: int) -> int:
                while root[r] != r:
                    root[r] = root[root[r]]
                    r = root[r]
                return r

            occurs, at = self.occurs, self.at
            for c in range(len(self.cells)):
                rows = occurs[at[c] : at[c + 1]]
                if len(rows) > 1:
                    first = find(rows[0])
                    for r in rows[1:]:
                        other = find(r)
                        if other != first:
                            root[other] = first
            number: dict[int, int] = {}
            parts: list[list[int]] = []
            part_of: list[int] = []
            for r in range(relations):
                n = number.setdefault(find(r), len(parts))
                if n == len(parts):
                    parts.append([])
                parts[n].append(r)
                part_of.append(n)
            self._parts = parts, part_of
        return self._parts


class _Indexed:
    """Cells and relations as integers, so that one closure costs a few list operations
    per membership: ``protect`` runs on every dashboard request."""

    def __init__(self, counts: Mapping[Cell, int], relations: Sequence[Relation]):
        cells: list[Cell] = list(counts)
        value: list[int] = list(counts.values())
        if not all(type(n) is int and n >= 0 for n in value):
            for cell, n in zip(cells, value):
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise ValueError(f"count of {cell!r} must be a non-negative int, not {n!r}")
        shape = _Shape.of(cells, relations)
        self.shape, self.cells = shape, shape.cells
        self.value = value = value + [0] * (len(shape.cells) - len(value))
        self.parents, self.children = shape.parents, shape.children
        self.occurs, self.at = shape.occurs, shape.at
        at = value.__getitem__
        for p, row in zip(self.parents, self.children):
            if value[p] != sum(map(at, row)):
                raise ValueError(f"count of {shape.cells[p]!r} is not the sum of its children's")

    def number(self, cell: Cell) -> int | None:
        """The index of ``cell``, or None if it is neither counted nor in a relation."""
        return self.shape.number(cell)

    def numbers(self, cells: Iterable[Cell]) -> list[int]:
        """The indices of those of ``cells`` that are counted or in a relation."""
        found = map(self.shape.number, cells)
        return [i for i in found if i is not None]

    def given(
        self,
        fixed: Collection[Cell],
        known: Mapping[Cell, int] | None,
        allowed: Collection[Cell] | None,
    ) -> list[int]:
        """The indices of the cells that stay as they are: ``fixed`` (shown, and so in
        ``allowed`` if given) and ``known`` (whose counts must be the cells' counts)."""
        if allowed is not None:
            refused = [cell for cell in fixed if cell not in allowed]
            if refused:
                raise ValueError(f"fixed cells must be allowed: {refused[:3]!r}")
        value = self.value
        for cell, n in (known or {}).items():
            i = self.number(cell)
            if n != (0 if i is None else value[i]):
                raise ValueError(f"known count of {cell!r} is {n!r}, not the cell's count")
        return self.numbers([*fixed, *(known or ())])

    def start(self, visible: list[bool]) -> _Start:
        """Per relation, its number of members not visible and the sum of its children
        not visible: where every closure of ``visible`` starts from. ``hide`` keeps it up
        to date as cells are hidden, so that a closure costs what it derives, not a pass
        over every relation."""
        value, unknown, hidden = self.value, [], []
        unseen = [not shown for shown in visible]
        at, is_unseen = value.__getitem__, unseen.__getitem__
        for p, row in zip(self.parents, self.children):
            rest = list(compress(row, map(is_unseen, row)))
            unknown.append(len(rest) + unseen[p])
            hidden.append(sum(map(at, rest)))
        return _Start(unknown, hidden)

    def hide(self, start: _Start, cell: int) -> None:
        """Update ``start`` for a visible ``cell`` that is now hidden."""
        unknown, hidden, parents, n = start.unknown, start.hidden, self.parents, self.value[cell]
        for r in self.occurs[self.at[cell] : self.at[cell + 1]]:
            unknown[r] += 1
            if parents[r] != cell:
                hidden[r] += n

    def closure(self, visible: list[bool], start: _Start | None = None) -> _Closure:
        """What the attacker knows from the visible cells: from any relation with one
        unknown member left, that member, until nothing changes. A worklist keeps, per
        relation, the number of unknown members and the sum of the unknown children (the
        hidden remainder), starting from ``start`` (``self.start(visible)`` if None).

        reason[c] is the relation that derived c (-1 if visible or unknown), derived the
        derived cells in order, unknown[r] and hidden[r] the number of unknown members and
        the hidden remainder of relation r."""
        if start is None:
            start = self.start(visible)
        known = visible[:]
        unknown, hidden = start.unknown[:], start.hidden[:]
        reason = [-1] * len(known)
        ready = list(compress(range(len(unknown)), map((1).__eq__, unknown)))
        derived = self.propagate(ready, known, reason, unknown, hidden)
        return _Closure(known, reason, derived, unknown, hidden)

    def propagate(
        self,
        ready: list[int],
        known: list[bool],
        reason: list[int],
        unknown: list[int],
        hidden: list[int],
    ) -> list[int]:
        """Drain the worklist ``ready`` (a stack of relations, each with one unknown member
        when taken): derive that member, update the relations it is in, and go on until
        none is left. Updates the lists in place; returns the cells derived, in order."""
        parents, children, value = self.parents, self.children, self.value
        occurs, at = self.occurs, self.at
        derived: list[int] = []
        while ready:
            r = ready.pop()
            if unknown[r] != 1:
                continue
            last = parents[r]
            if known[last]:
                last = next(filterfalse(known.__getitem__, children[r]))
            known[last] = True
            reason[last] = r
            derived.append(last)
            for s in occurs[at[last] : at[last + 1]]:
                unknown[s] -= 1
                if parents[s] != last:
                    hidden[s] -= value[last]
                if unknown[s] == 1:
                    ready.append(s)
        return derived

    def victims(self, visible: list[bool], closure: _Closure, k: int) -> set[int]:
        """One visible cell to hide per leak found in this closure: a derived small cell
        (rule 2) or a known total whose hidden remainder is small (rule 3). A leak whose
        relation already lost a cell in this pass waits for the next closure."""
        value, parents, members = self.value, self.parents, self.members
        known, reason, hidden = closure.known, closure.reason, closure.hidden
        leaks = [(reason[c], c) for c in closure.derived if 0 < value[c] < k]
        leaks += [
            (r, -1)
            for r in compress(range(len(hidden)), hidden)  # hidden >= 0
            if hidden[r] < k and known[parents[r]]
        ]
        taken: set[int] = set()
        for r, leaked in leaks:
            row = members(r)
            if not taken.isdisjoint(row):
                continue  # already being dealt with: hide no more than needed
            ranked = [(value[c], position == 0, c) for position, c in enumerate(row) if c != leaked]
            victim = self._victim(ranked, visible, closure, taken)
            if victim is not None:
                taken.add(victim)
        if leaks and not taken:  # only fixed or known cells give it away
            raise PublishedLeak(
                _published_leak(
                    self.cells[leaks[0][1]]
                    if leaks[0][1] >= 0
                    else self.cells[parents[leaks[0][0]]]
                )
            )
        return taken

    def exact_victims(self, visible: list[bool], closure: _Closure, k: int) -> set[int]:
        """Leaks that need more than one relation at a time. The closure solves one
        relation at a time; an attacker with linear algebra also combines them (a 2x2
        block of hidden cells whose row and column sums are known pins down a third
        cell in one of its columns). Solve the relations that still have two or more
        unknown members exactly, and hide one visible cell per leak found."""
        value, known = self.value, closure.known
        if not any(0 < n < k and not seen for n, seen in zip(value, known)):
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
        if not taken:  # only fixed or known cells give it away
            raise PublishedLeak(_published_leak(self.cells[min(solved)]))
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


def _published_leak(cell: Cell) -> str:
    return (
        f"a small group at or below {cell!r} follows from fixed (already published) and "
        "known cells alone: hiding new cells cannot protect it"
    )


class _Closures:
    """The closures of one lattice while ``protect`` hides cells: each the same, list for
    list and in the same order, as ``_Indexed.closure`` of the visible cells from scratch,
    but worked out again only in the parts that changed.

    The relations fall into parts that share no cell (the reporting lattice: one per
    half-year), and the closure's worklist, a stack started from the relations with one
    unknown member in order, finishes what each of them sets off before taking the next:
    so it runs through each part as it would through that part alone, and what it derives
    is the parts' steps, taken in the order of the relations that set them off (the last
    first). Each part keeps its steps; hiding a cell redoes only the part it is in.

    Lists of the closure returned are reused by the next: use one before asking for the
    next."""

    def __init__(self, indexed: _Indexed, visible: list[bool]):
        self.indexed, self.visible = indexed, visible
        self.start = indexed.start(visible)
        # Per part, its steps: (the relation that set them off, the cells derived); None
        # until a cell is hidden (most lattices need one closure only: no parts).
        self.steps: list[list[tuple[int, list[int]]]] | None = None
        self.stale: set[int] = set()  # parts to redo

    def hide(self, cell: int) -> None:
        """Hide a visible ``cell`` (a hidden one stays as it is)."""
        if not self.visible[cell]:
            return
        if self.steps is None:  # the first hidden: from now on, part by part
            self.parts, self.part_of = self.indexed.shape.parts
            self.known, self.reason = self.visible[:], [-1] * len(self.visible)
            self.unknown, self.hidden = self.start.unknown[:], self.start.hidden[:]
            self.steps = [[] for _ in self.parts]
            self.stale = set(range(len(self.parts)))
        self.visible[cell] = self.known[cell] = False
        self.indexed.hide(self.start, cell)
        at = self.indexed.at
        self.stale.update(self.part_of[r] for r in self.indexed.occurs[at[cell] : at[cell + 1]])

    def closure(self) -> _Closure:
        if self.steps is None:
            return self.indexed.closure(self.visible, self.start)
        for number in sorted(self.stale):
            self._redo(number)
        self.stale.clear()
        steps = sorted((step for part in self.steps for step in part), reverse=True)
        derived = [c for _, cells in steps for c in cells]
        return _Closure(self.known, self.reason, derived, self.unknown, self.hidden)

    def _redo(self, number: int) -> None:
        """The worklist of ``_Indexed.closure``, through one part, from its start."""
        indexed, known, reason, unknown, hidden = (
            self.indexed,
            self.known,
            self.reason,
            self.unknown,
            self.hidden,
        )
        for _, cells in self.steps[number]:
            for c in cells:  # derived, so not visible then, and cells are only hidden since
                known[c] = False
                reason[c] = -1
        start_unknown, start_hidden = self.start
        relations = self.parts[number]
        for r in relations:
            unknown[r] = start_unknown[r]
            hidden[r] = start_hidden[r]
        steps: list[tuple[int, list[int]]] = []
        for first in reversed([r for r in relations if unknown[r] == 1]):
            derived = indexed.propagate([first], known, reason, unknown, hidden)
            if derived:
                steps.append((first, derived))
        self.steps[number] = steps


class _Start(NamedTuple):
    """Where a closure starts; see ``_Indexed.start``."""

    unknown: list[int]
    hidden: list[int]


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
            tally = [sum(n) for n in zip(*(part[1] for part in parts))]
        else:
            tally = by_month.get((period.year, period.number), [0] * len(offices))
        cells = [(scope, period) for scope in offices]
        national = (NATIONAL, period)
        column[period] = cells, tally, national
        counts.update(zip(cells, tally))
        counts[national] = sum(tally)
        if parts:
            for i, cell in enumerate(cells):
                relations.append((cell, tuple(part[0][i] for part in parts)))
            relations.append((national, tuple(part[2] for part in parts)))
        relations.append((national, tuple(cells)))
    return counts, relations
