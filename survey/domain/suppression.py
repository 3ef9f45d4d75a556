"""Small-group suppression: which aggregate cells a leader may be shown.

privacy.md ("Small groups"): no aggregate over fewer than k responses is shown, and no
hidden number can be worked out from the shown ones. So a cell is shown only if its count
is at least k (primary suppression). An attacker knows every shown count and the additive
relations between cells (national = sum of offices, quarter = sum of its months,
half-year = sum of its quarters); every count they can derive must be 0 or at least k,
and so must what is left of a known total after its known parts ("andre kontorer").
Where that fails, one more shown cell is hidden (secondary suppression) and the check
runs again, until nothing leaks.

The layers, from the bottom up:

- **The lattice** (``lattice``, ``Shape``, ``_Table``): the reporting lattice's cells and
  relations (parent = sum of children), numbered once so that everything above works on
  lists of integers. A ``Shape`` holds the numbering without counts, so that one serves
  every measure counted over the same cells; a ``_Table`` is one measure's counts on it.
- **The attacker** (``_Attacker``, ``_Knowledge``): what someone who sees the shown cells
  derives by solving one relation at a time, worked out again, as cells are hidden, only
  in the parts of the lattice a hidden cell touches.
- **The leaks** (``_hide_for_derived_leaks``, ``_cell_to_hide``): a derived small cell or
  a known total with a small hidden remainder, and for each the shown cell to hide.
- **The exact check** (``_hide_for_exact_leaks``, ``_Echelon``): once one relation at a
  time finds nothing, every relation solved together by exact linear algebra, which also
  finds the rare leaks that need several relations at once.
- **``protect``**: primary suppression, then one hidden cell per leak, until none is left.

Above these, ``survey.domain.disclosure`` audits a release against an attacker who also knows
that counts are never negative (intervals, by linear programming) and hides more where it
must. Pure Python: no Flask, no database.

For a release, cells published in earlier releases are ``fixed`` (shown whatever happens,
never hidden to stop a leak) and cells the attacker knows anyway, such as the months
after the release, are ``known``.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from datetime import date
from itertools import compress, filterfalse
from typing import NamedTuple, cast

from .periods import ReportingPeriod

MIN_K = 3  # privacy.md: k is never below 3

Cell = Hashable  # e.g. (scope, ReportingPeriod), scope an office id or NATIONAL
NATIONAL = "national"
Relation = tuple[Cell, tuple[Cell, ...]]  # (parent, children): parent == sum(children)


class PublishedLeak(RuntimeError):
    """A small group follows from cells that must stay as they are (published in an earlier
    release, or known to the attacker anyway): hiding new cells cannot stop it. It cannot
    happen when the earlier release was itself protected and the new cells can be hidden."""


# --- protect ---------------------------------------------------------------------------


def protect(
    counts: Mapping[Cell, int],
    relations: Sequence[Relation],
    k: int,
    allowed: Collection[Cell] | None = None,
    *,
    fixed: Collection[Cell] = frozenset(),
    known: Mapping[Cell, int] | None = None,
    shape: Shape | None = None,
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

    ``shape``: ``Shape(counts, relations)`` made once for several measures over the same
    cells in the same order; made here if not given.

    Raises ValueError if k is below MIN_K, the counts do not add up along the relations,
    a fixed cell is not allowed, a known count is not the cell's count, or ``shape`` was
    made for other cells or relations; PublishedLeak if a small group follows from fixed
    and known cells alone."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (privacy.md, 'Small groups'), not {k}")
    table = _Table(counts, relations, shape)
    visible = [count >= k for count in table.count]  # primary suppression
    if allowed is not None:  # look up the few allowed cells, not every cell in allowed
        permitted = {table.shape.number(cell) for cell in allowed}
        visible = [shown and cell in permitted for cell, shown in enumerate(visible)]
    # The cells protect may hide to stop a leak: every visible one but the fixed and known.
    hideable = visible  # the very same list if there are none
    if fixed or known:
        hideable = visible[:]
        for cell in table.fixed_and_known(fixed, known, allowed):
            visible[cell], hideable[cell] = True, False
    attacker = _Attacker(table, visible)
    while True:
        knowledge = attacker.knowledge()
        to_hide = _hide_for_derived_leaks(table, hideable, knowledge, k)
        if not to_hide:
            to_hide = _hide_for_exact_leaks(table, hideable, knowledge, k)
        if not to_hide:
            break
        for cell in to_hide:
            attacker.hide(cell)
            hideable[cell] = False
    shown = attacker.visible
    if known:
        for cell in table.shape.numbers(known):
            shown[cell] = False
    return frozenset(compress(table.shape.cells, shown))


# --- the lattice -----------------------------------------------------------------------


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
    # One tuple per cell, shared by counts and relations, so that a Shape finds it by
    # identity (hashing a ReportingPeriod calls the dataclass's Python __hash__).
    columns: dict[ReportingPeriod, _Column] = {}
    for period in periods:  # parts come before their whole, so their sums are ready
        parts = [columns[part] for part in period.children()]
        if parts:
            office_counts = [
                sum(n) for n in zip(*(part.office_counts for part in parts), strict=False)
            ]
        else:
            office_counts = by_month.get((period.year, period.number), [0] * len(offices))
        office_cells = [(scope, period) for scope in offices]
        national = (NATIONAL, period)
        columns[period] = _Column(office_cells, office_counts, national)
        counts.update(zip(office_cells, office_counts, strict=False))
        counts[national] = sum(office_counts)
        if parts:
            for office, office_cell in enumerate(office_cells):
                relations.append((office_cell, tuple(part.office_cells[office] for part in parts)))
            relations.append((national, tuple(part.national for part in parts)))
        relations.append((national, tuple(office_cells)))
    return counts, relations


class _Column(NamedTuple):
    """One period of the lattice: each office's cell and count, and the national cell."""

    office_cells: Sequence[Cell]
    office_counts: list[int]
    national: Cell


class Shape:
    """The cells and relations of one lattice as integers, without counts. Make one with
    ``Shape(counts, relations)`` and pass it to ``protect`` (and ``survey.domain.disclosure``) for
    every measure counted over the same cells in the same order: the dashboard's measures
    and a release's families share one. Read-only once made.

    Cells are numbered in the order of ``cells`` (the counts' keys), then the cells found
    only in relations (empty: count 0, never shown). The numbers decide ties when protect
    picks a cell to hide, so the order is part of what protect decides."""

    def __init__(self, cells: Iterable[Cell], relations: Sequence[Relation]):
        self.relations = tuple(relations)
        self.cells: list[Cell] = list(cells)
        self.counted = len(self.cells)  # the first ``counted`` cells have counts
        # Looked up by identity first: lattice() reuses its cell objects, and hashing a
        # (scope, ReportingPeriod) calls the dataclass's Python __hash__. Identity is sound
        # while the shape holds its cells; anything else falls back to equality.
        self._number_by_id = {id(cell): number for number, cell in enumerate(self.cells)}
        self._number_by_value: dict[Cell, int] | None = None
        self.parent: list[int] = []  # per relation, its parent's number
        self.children: list[list[int]] = []  # per relation, its children's numbers
        for parent, kids in self.relations:
            parent_number = self._number_or_add(parent)
            # By identity first, all at once: the children of a lattice() relation are
            # always found so.
            found = list(map(self._number_by_id.get, map(id, kids)))
            if None in found:
                found = [
                    self._number_or_add(kid) if n is None else n
                    for n, kid in zip(found, kids, strict=False)
                ]
            children = cast(list[int], found)
            if parent_number in children or len(set(children)) != len(children):
                raise ValueError(f"a cell occurs twice in the relation of {parent!r}")
            self.parent.append(parent_number)
            self.children.append(children)
        self._index_memberships()
        self._parts: tuple[list[list[int]], list[int]] | None = None

    def _number_or_add(self, cell: Cell) -> int:
        """The number of ``cell``; one that is not counted is added (only while the shape
        is made): it is only in a relation."""
        number = self.number(cell)
        if number is None:
            number = self._by_value()[cell] = len(self.cells)
            self.cells.append(cell)
        return number

    def _by_value(self) -> dict[Cell, int]:
        if self._number_by_value is None:
            self._number_by_value = {cell: n for n, cell in enumerate(self.cells)}
        return self._number_by_value

    def _index_memberships(self) -> None:
        """The relations each cell is a member of (as parent or child), in order: those
        of cell c are ``membership[first[c] : first[c + 1]]`` (``relations_of``). Two flat
        lists of ints rather than a list per cell, which would give the garbage collector
        thousands more objects to look at."""
        first = [0] * (len(self.cells) + 1)
        for parent, children in zip(self.parent, self.children, strict=False):
            first[parent + 1] += 1
            for child in children:
                first[child + 1] += 1
        for cell in range(len(self.cells)):
            first[cell + 1] += first[cell]
        membership = [0] * first[-1]
        free = first[:-1]  # per cell, its next free place in membership
        for relation, (parent, children) in enumerate(
            zip(self.parent, self.children, strict=False)
        ):
            for member in (parent, *children):
                membership[free[member]] = relation
                free[member] += 1
        self.membership, self.first = membership, first

    def number(self, cell: Cell) -> int | None:
        """The number of ``cell``, or None if it is neither counted nor in a relation."""
        found = self._number_by_id.get(id(cell))
        return found if found is not None else self._by_value().get(cell)

    def numbers(self, cells: Iterable[Cell]) -> list[int]:
        """The numbers of those of ``cells`` that are counted or in a relation."""
        return [number for number in map(self.number, cells) if number is not None]

    def relations_of(self, cell: int) -> list[int]:
        """The relations ``cell`` is a member of, in order."""
        return self.membership[self.first[cell] : self.first[cell + 1]]

    def members(self, relation: int) -> list[int]:
        """The relation's parent, then its children."""
        return [self.parent[relation], *self.children[relation]]

    def fits(self, counts: Mapping[Cell, int], relations: Sequence[Relation]) -> bool:
        """Whether this shape was made for these counts' cells, in this order, and these
        relations (compared by identity first: cheap for the very same objects)."""
        return (
            len(counts) == self.counted
            and list(counts) == self.cells[: self.counted]
            and tuple(relations) == self.relations
        )

    @property
    def parts(self) -> tuple[list[list[int]], list[int]]:
        """The relations in parts that share no cell, each part's in order, and the part
        of each relation (the reporting lattice has one part per half-year)."""
        if self._parts is None:
            self._parts = self._find_parts()
        return self._parts

    def _find_parts(self) -> tuple[list[list[int]], list[int]]:
        root = list(range(len(self.parent)))  # union-find over relations sharing a cell

        def find(relation: int) -> int:
            while root[relation] != relation:
                root[relation] = root[root[relation]]
                relation = root[relation]
            return relation

        for cell in range(len(self.cells)):
            shared = self.relations_of(cell)
            for other in shared[1:]:
                root[find(other)] = find(shared[0])
        part_by_root: dict[int, int] = {}
        parts: list[list[int]] = []
        part_of: list[int] = []
        for relation in range(len(self.parent)):
            part = part_by_root.setdefault(find(relation), len(parts))
            if part == len(parts):
                parts.append([])
            parts[part].append(relation)
            part_of.append(part)
        return parts, part_of


class _Table:
    """One measure's counts on a shape: ``count[c]`` of each cell number (0 for a cell
    found only in relations), checked to be non-negative ints that add up."""

    def __init__(
        self, counts: Mapping[Cell, int], relations: Sequence[Relation], shape: Shape | None
    ):
        count: list[int] = list(counts.values())
        if not all(type(n) is int and n >= 0 for n in count):
            for cell, n in counts.items():
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise ValueError(f"count of {cell!r} must be a non-negative int, not {n!r}")
        if shape is None:
            shape = Shape(counts, relations)
        elif not shape.fits(counts, relations):
            raise ValueError("the shape was made for other cells, another order or relations")
        self.shape = shape
        self.count = count = count + [0] * (len(shape.cells) - len(count))
        count_of = count.__getitem__
        for parent, children in zip(shape.parent, shape.children, strict=False):
            if count[parent] != sum(map(count_of, children)):
                raise ValueError(
                    f"count of {shape.cells[parent]!r} is not the sum of its children's"
                )

    def fixed_and_known(
        self,
        fixed: Collection[Cell],
        known: Mapping[Cell, int] | None,
        allowed: Collection[Cell] | None,
    ) -> list[int]:
        """The numbers of the cells that stay as they are: ``fixed`` (shown, and so in
        ``allowed`` if given) and ``known`` (whose counts must be the cells' counts)."""
        if allowed is not None:
            refused = [cell for cell in fixed if cell not in allowed]
            if refused:
                raise ValueError(f"fixed cells must be allowed: {refused[:3]!r}")
        for cell, n in (known or {}).items():
            number = self.shape.number(cell)
            if n != (0 if number is None else self.count[number]):
                raise ValueError(f"known count of {cell!r} is {n!r}, not the cell's count")
        return self.shape.numbers([*fixed, *(known or ())])


# --- the attacker: one relation at a time ----------------------------------------------


class _Unknowns(NamedTuple):
    """Per relation, what the attacker does not know of it before deriving anything: the
    number of members not visible, and the sum of the counts of the children not visible
    (what is hidden of the parent)."""

    members: list[int]
    remainder: list[int]


class _Knowledge(NamedTuple):
    """What the attacker knows, per cell and per relation, once nothing more follows one
    relation at a time (``_derive``)."""

    known: list[bool]  # per cell: visible or derived
    derived_by: list[int]  # per cell: the relation it was derived from, -1 if not derived
    derived: list[int]  # the derived cells, in the order derived
    unknown_members: list[int]  # per relation: its members still unknown
    hidden_remainder: list[int]  # per relation: the sum of its children still unknown


def _unknowns(table: _Table, visible: list[bool]) -> _Unknowns:
    """Where every derivation from ``visible`` starts. ``_hide_in`` keeps it up to date as
    cells are hidden, so that a derivation costs what it derives, not a pass over every
    relation."""
    count, unknown_members, remainder = table.count, [], []
    not_visible = [not shown for shown in visible]
    count_of, is_hidden = count.__getitem__, not_visible.__getitem__
    for parent, children in zip(table.shape.parent, table.shape.children, strict=False):
        hidden_children = list(compress(children, map(is_hidden, children)))
        unknown_members.append(len(hidden_children) + not_visible[parent])
        remainder.append(sum(map(count_of, hidden_children)))
    return _Unknowns(unknown_members, remainder)


def _hide_in(table: _Table, unknowns: _Unknowns, cell: int) -> None:
    """Update ``unknowns`` for a visible ``cell`` that is now hidden."""
    shape, count = table.shape, table.count[cell]
    for relation in shape.relations_of(cell):
        unknowns.members[relation] += 1
        if shape.parent[relation] != cell:
            unknowns.remainder[relation] += count


def _knowledge_from_scratch(
    table: _Table, visible: list[bool], unknowns: _Unknowns | None = None
) -> _Knowledge:
    """What the attacker derives from the ``visible`` cells: from any relation with one
    unknown member left, that member, until nothing changes (``unknowns``: those of
    ``visible``, made here if None)."""
    if unknowns is None:
        unknowns = _unknowns(table, visible)
    known = visible[:]
    unknown_members, remainder = unknowns.members[:], unknowns.remainder[:]
    derived_by = [-1] * len(known)
    ready = list(compress(range(len(unknown_members)), map((1).__eq__, unknown_members)))
    derived = _derive(table, ready, known, derived_by, unknown_members, remainder)
    return _Knowledge(known, derived_by, derived, unknown_members, remainder)


def _derive(
    table: _Table,
    ready: list[int],
    known: list[bool],
    derived_by: list[int],
    unknown_members: list[int],
    hidden_remainder: list[int],
) -> list[int]:
    """Drain the worklist ``ready`` (a stack of relations, each with one unknown member
    when taken): derive that member, update the relations it is in, and go on until none
    is left. Updates the lists in place; returns the cells derived, in order."""
    shape, count = table.shape, table.count
    parent_of, children_of, membership, first = (
        shape.parent,
        shape.children,
        shape.membership,
        shape.first,
    )
    derived: list[int] = []
    while ready:
        relation = ready.pop()
        if unknown_members[relation] != 1:
            continue
        cell = parent_of[relation]
        if known[cell]:
            cell = next(filterfalse(known.__getitem__, children_of[relation]))
        known[cell] = True
        derived_by[cell] = relation
        derived.append(cell)
        for other in membership[first[cell] : first[cell + 1]]:
            unknown_members[other] -= 1
            if parent_of[other] != cell:
                hidden_remainder[other] -= count[cell]
            if unknown_members[other] == 1:
                ready.append(other)
    return derived


class _Attacker:
    """What the attacker knows while ``protect`` hides cells: ``knowledge()`` is each time
    the same, list for list and in the same order, as ``_knowledge_from_scratch`` of the
    visible cells, but worked out again only in the parts that changed.

    The relations fall into parts that share no cell (the reporting lattice: one per
    half-year), and the worklist, a stack started from the relations with one unknown
    member in order, finishes what each of them sets off before taking the next: so it
    runs through each part as it would through that part alone, and what it derives is
    the parts' steps, taken in the order of the relations that set them off (the last
    first). Each part keeps its steps; hiding a cell redoes only the parts it is in.

    The lists of one ``knowledge()`` are reused by the next: use one before asking for the
    next."""

    def __init__(self, table: _Table, visible: list[bool]):
        self.table, self.visible = table, visible  # ``visible`` is updated in place
        self.unknowns = _unknowns(table, visible)
        # Per part, its steps: (the relation that set them off, the cells derived); None
        # until a cell is hidden (most lattices need one derivation only: no parts).
        self.steps: list[list[tuple[int, list[int]]]] | None = None
        self.stale: set[int] = set()  # parts to redo

    def hide(self, cell: int) -> None:
        """Hide a visible ``cell`` (a hidden one stays as it is)."""
        if not self.visible[cell]:
            return
        if self.steps is None:  # the first hidden: from now on, part by part
            self.parts, self.part_of = self.table.shape.parts
            self.known, self.derived_by = self.visible[:], [-1] * len(self.visible)
            self.unknown_members = self.unknowns.members[:]
            self.hidden_remainder = self.unknowns.remainder[:]
            self.steps = [[] for _ in self.parts]
            self.stale = set(range(len(self.parts)))
        self.visible[cell] = self.known[cell] = False
        _hide_in(self.table, self.unknowns, cell)
        self.stale.update(self.part_of[r] for r in self.table.shape.relations_of(cell))

    def knowledge(self) -> _Knowledge:
        if self.steps is None:
            return _knowledge_from_scratch(self.table, self.visible, self.unknowns)
        for part in sorted(self.stale):
            self._redo(part)
        self.stale.clear()
        steps = sorted((step for part in self.steps for step in part), reverse=True)
        derived = [cell for _, cells in steps for cell in cells]
        return _Knowledge(
            self.known, self.derived_by, derived, self.unknown_members, self.hidden_remainder
        )

    def _redo(self, part: int) -> None:
        """The worklist of ``_knowledge_from_scratch``, through one part, from its start."""
        assert self.steps is not None
        for _, cells in self.steps[part]:
            for cell in cells:  # derived, so not visible then, and cells are only hidden since
                self.known[cell] = False
                self.derived_by[cell] = -1
        relations = self.parts[part]
        for relation in relations:
            self.unknown_members[relation] = self.unknowns.members[relation]
            self.hidden_remainder[relation] = self.unknowns.remainder[relation]
        steps: list[tuple[int, list[int]]] = []
        for first in reversed([r for r in relations if self.unknown_members[r] == 1]):
            derived = _derive(
                self.table,
                [first],
                self.known,
                self.derived_by,
                self.unknown_members,
                self.hidden_remainder,
            )
            if derived:
                steps.append((first, derived))
        self.steps[part] = steps


# --- the leaks, and the cell to hide for each ------------------------------------------


class _Candidate(NamedTuple):
    """A known cell a leak is computed from; the smallest is hidden first (count, then
    children before the parent: hiding a total costs the reader most, then number)."""

    cell_count: int
    is_parent: bool
    cell: int


def _hide_for_derived_leaks(
    table: _Table, hideable: list[bool], knowledge: _Knowledge, k: int
) -> set[int]:
    """One hideable cell to hide per leak the attacker's knowledge holds: a derived small
    cell, or a known total whose hidden remainder is small. A leak whose relation already
    lost a cell in this pass waits for the next."""
    count, shape = table.count, table.shape
    small_derived = [(knowledge.derived_by[c], c) for c in knowledge.derived if 0 < count[c] < k]
    remainders = knowledge.hidden_remainder  # never negative: only non-zero ones are taken
    small_remainders = [
        (relation, -1)
        for relation in compress(range(len(remainders)), remainders)
        if remainders[relation] < k and knowledge.known[shape.parent[relation]]
    ]
    leaks = small_derived + small_remainders  # (relation, the cell leaked or -1)
    to_hide: set[int] = set()
    for relation, leaked in leaks:
        members = shape.members(relation)
        if not to_hide.isdisjoint(members):
            continue  # already being dealt with: hide no more than needed
        computed_from = [
            _Candidate(count[c], position == 0, c)
            for position, c in enumerate(members)
            if c != leaked
        ]
        cell = _cell_to_hide(table, computed_from, hideable, knowledge, to_hide)
        if cell is not None:
            to_hide.add(cell)
    if leaks and not to_hide:  # only fixed or known cells give it away
        relation, leaked = leaks[0]
        raise PublishedLeak(
            _published_leak(shape.cells[leaked if leaked >= 0 else shape.parent[relation]])
        )
    return to_hide


def _cell_to_hide(
    table: _Table,
    computed_from: list[_Candidate],
    hideable: list[bool],
    knowledge: _Knowledge,
    to_hide: set[int],
) -> int | None:
    """The hideable cell a leak is computed from with the smallest count, children
    before the parent: ``computed_from`` holds the known cells it is computed from. If
    none is hideable, look where they came from, the parent's relation first. None if
    the leak is already being dealt with or only fixed and known cells give it away."""
    shape, count = table.shape, table.count
    looked_at: set[int] = set()  # relations
    todo = deque([computed_from])
    while todo:
        candidates = todo.popleft()
        if not to_hide.isdisjoint(candidate.cell for candidate in candidates):
            return None  # already being dealt with: hide no more than needed
        shown = [candidate for candidate in candidates if hideable[candidate.cell]]
        if shown:
            return min(shown).cell
        parents_first = sorted(candidates, key=lambda candidate: not candidate.is_parent)
        for candidate in parents_first:
            source = knowledge.derived_by[candidate.cell]
            if knowledge.known[candidate.cell] and source >= 0 and source not in looked_at:
                looked_at.add(source)
                todo.append(
                    [
                        _Candidate(count[member], position == 0, member)
                        for position, member in enumerate(shape.members(source))
                        if member != candidate.cell
                    ]
                )
    return None


def _published_leak(cell: Cell) -> str:
    return (
        f"a small group at or below {cell!r} follows from fixed (already published) and "
        "known cells alone: hiding new cells cannot protect it"
    )


# --- the exact check: every relation at once --------------------------------------------


def _hide_for_exact_leaks(
    table: _Table, hideable: list[bool], knowledge: _Knowledge, k: int
) -> set[int]:
    """Leaks that need more than one relation at a time. The attacker above solves one
    relation at a time; one with linear algebra also combines them (a 2x2 block of hidden
    cells whose row and column sums are known pins down a third cell in one of its
    columns). Solve the relations that still have two or more unknown members exactly,
    and hide one hideable cell per leak found."""
    count, known = table.count, knowledge.known
    if not any(0 < n < k and not seen for n, seen in zip(count, known, strict=False)):
        return set()  # a leak, of a cell or of a remainder, needs an unknown small cell
    open_relations = [r for r, n in enumerate(knowledge.unknown_members) if n >= 2]
    equations = [_equation(table.shape, r, known) for r in open_relations]
    pinned = _pinned_columns(equations)
    if not pinned:
        return set()
    leaks = _pinned_leaks(table, open_relations, known, pinned, k)
    if not leaks:
        return set()
    to_hide: set[int] = set()
    derivations = _Echelon(equations, track_origin=True)
    for leak in leaks:
        computed_from = _known_cells_used(table.shape, open_relations, derivations, leak, known)
        if not to_hide.isdisjoint(computed_from):
            continue  # already being dealt with: hide no more than needed
        candidates = [_Candidate(count[c], False, c) for c in computed_from]
        cell = _cell_to_hide(table, candidates, hideable, knowledge, to_hide)
        if cell is not None:
            to_hide.add(cell)
    if not to_hide:  # only fixed or known cells give it away
        raise PublishedLeak(_published_leak(table.shape.cells[min(pinned)]))
    return to_hide


def _pinned_leaks(
    table: _Table, open_relations: list[int], known: list[bool], pinned: set[int], k: int
) -> list[dict[int, int]]:
    """The sums the exact check pins down to 1..k-1, each as {cell: 1}: the pinned small
    cells, then the small remainders of totals that are known or pinned."""
    shape, count = table.shape, table.count
    leaks = [{cell: 1} for cell in sorted(pinned) if 0 < count[cell] < k]
    for relation in open_relations:
        parent = shape.parent[relation]
        if known[parent] or parent in pinned:
            rest = [c for c in shape.children[relation] if not (known[c] or c in pinned)]
            if 0 < sum(count[c] for c in rest) < k:
                leaks.append(dict.fromkeys(rest, 1))
    return leaks


def _known_cells_used(
    shape: Shape,
    open_relations: list[int],
    derivations: _Echelon,
    leak: dict[int, int],
    known: list[bool],
) -> list[int]:
    """The known cells a pinned sum is computed from: those with a non-zero weight in the
    combination of relations that gives it."""
    combination = derivations.express(leak)
    if combination is None:  # cannot happen: the sum is pinned down
        raise RuntimeError("a pinned-down sum has no derivation")
    weight: dict[int, int] = {}
    for equation, factor in combination.items():
        for cell, coefficient in _equation(shape, open_relations[equation], None).items():
            if known[cell]:
                weight[cell] = (weight.get(cell, 0) + factor * coefficient) % _PRIME
    return [cell for cell, w in weight.items() if w]


# Exact linear algebra modulo a large prime rather than over fractions: as fast as plain
# ints, and as exact, for counts and coefficients are small integers, so a relation
# between them holds modulo _PRIME exactly when it holds over the rationals (short of a
# determinant divisible by 2**61 - 1, far beyond these lattices). -1 is _PRIME - 1.
_PRIME = (1 << 61) - 1


def _equation(shape: Shape, relation: int, known: list[bool] | None) -> dict[int, int]:
    """The relation as an equation, parent - children = 0, over its unknown members (all
    members if ``known`` is None): {cell: coefficient modulo _PRIME}, children first."""
    parent = shape.parent[relation]
    equation = {
        child: _PRIME - 1 for child in shape.children[relation] if known is None or not known[child]
    }
    if known is None or not known[parent]:
        equation[parent] = 1
    return equation


class _Echelon:
    """Row echelon form of sparse equations {column: coefficient}, each pivot scaled to 1,
    each equation reduced against the pivots before it; with ``track_origin``, each pivot
    row's combination of the input equations too, to tell which relations a derivation
    uses."""

    def __init__(self, equations: list[dict[int, int]], track_origin: bool = False):
        self.pivot_row: dict[int, dict[int, int]] = {}  # pivot column -> its row
        self.origin: dict[int, dict[int, int]] = {}  # pivot column -> {equation: factor}
        self.order: list[int] = []  # pivot columns, in the order found
        by_length = sorted(range(len(equations)), key=lambda e: len(equations[e]))
        for number in by_length:  # short equations first: less fill-in
            origin = {number: 1} if track_origin else None
            row, origin = self._reduce(dict(equations[number]), origin)
            if not row:
                continue
            column = min(row)
            scale = pow(row[column], -1, _PRIME)
            self.pivot_row[column] = {c: v * scale % _PRIME for c, v in row.items()}
            if origin is not None:
                self.origin[column] = {e: v * scale % _PRIME for e, v in origin.items()}
            self.order.append(column)

    def _reduce(
        self, row: dict[int, int], origin: dict[int, int] | None
    ) -> tuple[dict[int, int], dict[int, int] | None]:
        """Subtract pivot rows from ``row`` until no pivot column is left in it (and the
        same multiples of their origins from ``origin``, if given)."""
        pivot_row = self.pivot_row
        todo = [c for c in row if c in pivot_row]
        while todo:
            column = todo.pop()
            factor = row.get(column)
            if not factor:
                continue
            for c, v in pivot_row[column].items():
                updated = (row.get(c, 0) - factor * v) % _PRIME
                if updated:
                    if c not in row and c in pivot_row:
                        todo.append(c)
                    row[c] = updated
                else:
                    row.pop(c, None)
            if origin is not None:
                for e, v in self.origin[column].items():
                    origin[e] = (origin.get(e, 0) - factor * v) % _PRIME
        return row, origin

    def spans(self, target: dict[int, int]) -> bool:
        """Whether some combination of the input equations is ``target``."""
        return not self._reduce(dict(target), None)[0]

    def express(self, target: dict[int, int]) -> dict[int, int] | None:
        """Factors of input equations summing to ``target`` (needs ``track_origin``), or
        None if there are none."""
        rest, origin = self._reduce(dict(target), {})
        if rest:
            return None
        assert origin is not None
        return {e: -v % _PRIME for e, v in origin.items() if v}


def _pinned_columns(equations: list[dict[int, int]]) -> set[int]:
    """The columns that every solution of equations . x = 0 leaves at 0: the cells that
    the equations pin down. Candidates are the zeros of one solution with pseudo-random
    free values (a pinned column is 0 in every solution; a free one in this one only by a
    2**-61 chance), each then confirmed by writing its unit vector as a combination of
    the equations. The seed is fixed: the same counts must always give the same answer, or
    two page loads could be subtracted."""
    echelon = _Echelon(equations)
    columns = {c for equation in equations for c in equation}
    draw = random.Random(0x5717).randrange
    solution = {c: draw(1, _PRIME) for c in columns if c not in echelon.pivot_row}
    for column in reversed(echelon.order):
        row = echelon.pivot_row[column]
        solution[column] = -sum(v * solution[c] for c, v in row.items() if c != column) % _PRIME
    return {c for c in columns if solution[c] == 0 and echelon.spans({c: 1})}
