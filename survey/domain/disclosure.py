"""The disclosure audit: what an attacker can work out from a release, and the rule it must
meet before it is published (issue 11, privacy.md "Insiders").

``survey.domain.suppression.protect`` treats the published counts as linear equations. An insider
knows more: counts are never negative, a cell shown (or known) as 0 is 0, months after a
release's last month are still empty, and everything published in earlier releases stays
published. With those, the attacker's knowledge of a hidden count is an interval: the
smallest and the largest value it can take in any table of non-negative counts that
agrees with every published and known figure and every relation (parent = sum of
children). ``intervals`` computes it by linear programming (HiGHS), as τ-ARGUS's audit
does, one LP per bound, over only the hidden cells that some relation ties together.

On the reporting lattice the LP bounds are whole numbers and an attacker who also uses
that counts are integers learns nothing more: its relations are sums over two laminar
families of sets of office-months (each office's periods, and the country's periods), so
their matrix is totally unimodular and every vertex of the LP is integral.

Stigen's published rule (``audit``):

    Every hidden cell with 1 <= count < k must have an upper bound of at least k:
    whatever was published, the attacker cannot tell it from a group large enough
    to show.

A hidden empty cell may be pinned to 0 (an empty cell describes no one), and a hidden cell
of k or more may be pinned (it could have been shown). A pooled remainder ("andre
kontorer", several hidden offices together) is covered too: if a sum of hidden cells were
pinned to 1..k-1, each of its non-empty cells would have an upper bound below k. While a
cell breaks the rule, one more cell that is visible but not fixed is hidden, taken from a
relation through which its bound is derived (the relations with a non-zero dual value in
its LP: hiding a cell outside them leaves that proof of the bound standing), the smallest
count first and a child before a parent (a total costs the reader most); then the part it
is in is checked again. Hiding only adds unknowns, so every bound can only widen: a cell
once safe stays safe, and the loop ends. A bound proved by fixed and known cells alone
cannot be widened by hiding new cells: ``PublishedLeak``.

Homogeneity (l-diversity, ``diverse``): a distribution (rung counts, band counts, measure
counts) may be shown only if at least ``l`` responses lie outside its most common
category. With none outside, anyone who knows that a person answered in that cell knows
their answer. With one outside, anyone who knows that one answer (their own, a
colleague's, a person who told them) knows everyone else's. With l = 2 outside, knowing
one more answer still leaves at least one other response that could be anyone's. The
same holds for what is derived: the pooled remainder of a relation whose parent is shown
(parent minus its shown children) is checked as if it were shown
(``protect_distributions``). A mean of identical answers gives each answer away, so a
theme index is shown only if its answers vary (``diverse_mean``).

Pure Python and SciPy: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # NumPy is imported where used: the app and its exports load without it
    import numpy as np

from .suppression import MIN_K, Cell, PublishedLeak, Relation, Shape, _Table

__all__ = [
    "AuditResult",
    "PublishedLeak",
    "audit",
    "diverse",
    "diverse_mean",
    "intervals",
    "protect_distributions",
]

# Slack for the solver's floating point: counts are whole numbers, bounds on the reporting
# lattice are too, so a bound within this of k is k.
_TOL = 1e-6
_INF = float("inf")


class AuditResult(NamedTuple):
    """What ``audit`` decided: the cells that may be published, and for the audit log one
    finding per cell it hid (never a count)."""

    visible: frozenset[Cell]
    findings: list[dict[str, object]]


# --- the attacker ----------------------------------------------------------------------


class _Attacker:
    """One lattice as integers, with what the attacker knows of each cell (``seen``: shown
    or known). The relations fall into parts that share no cell (one per half-year on the
    reporting lattice); within a part, the unknown cells fall into components that no
    relation joins, and each component is one small LP."""

    def __init__(
        self,
        counts: Mapping[Cell, int],
        relations: Sequence[Relation],
        visible: Collection[Cell],
        known: Mapping[Cell, int] | None,
        shape: Shape | None = None,
    ):
        table = _Table(counts, relations, shape)
        self.shape = shape = table.shape
        self.cells, self.value = shape.cells, table.count
        self.parents, self.children = shape.parent, shape.children
        self.relations_of, self.members = shape.relations_of, shape.members
        self.seen = seen = [False] * len(self.cells)
        for i in shape.numbers(visible):
            seen[i] = True
        self.known = set(table.fixed_and_known((), known, None))  # checks the known counts
        for i in self.known:
            seen[i] = True
        self.parts, self.part_of = shape.parts

    def part(self, cell: int) -> int | None:
        """The part ``cell`` is in, or None if it is in no relation."""
        rows = self.relations_of(cell)
        return self.part_of[rows[0]] if rows else None

    def components(self, relations: Sequence[int]) -> list[tuple[list[int], list[int]]]:
        """The unknown cells of ``relations`` in groups that no relation joins, each with
        the relations that hold one of them (a relation of known cells only is a check
        the counts already passed)."""
        seen, parents, children = self.seen, self.parents, self.children
        root: dict[int, int] = {}

        def find(c: int) -> int:
            while root[c] != c:
                root[c] = root[root[c]]
                c = root[c]
            return c

        holding: list[tuple[int, int]] = []  # (relation, one unknown member)
        for r in relations:
            unknown = [c for c in (parents[r], *children[r]) if not seen[c]]
            if not unknown:
                continue
            first = find(root.setdefault(unknown[0], unknown[0]))
            for c in unknown[1:]:
                other = find(root.setdefault(c, c))
                if other != first:
                    root[other] = first
            holding.append((r, unknown[0]))
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for c in root:
            groups.setdefault(find(c), ([], []))[0].append(c)
        for r, c in holding:
            groups[find(c)][1].append(r)
        return list(groups.values())


class _System:
    """One component as an LP: the unknown cells as non-negative variables, one equation
    per relation (parent - children = 0, the known members moved to the right)."""

    def __init__(self, attacker: _Attacker, cells: list[int], relations: list[int]):
        self.cells, self.relations = cells, relations
        self.column = column = {c: j for j, c in enumerate(cells)}
        seen, value = attacker.seen, attacker.value
        rows: list[int] = []
        columns: list[int] = []
        data: list[float] = []
        rhs: list[float] = []
        for i, r in enumerate(relations):
            b = 0
            for c, sign in ((attacker.parents[r], 1), *((c, -1) for c in attacker.children[r])):
                if seen[c]:
                    b -= sign * value[c]
                else:
                    rows.append(i)
                    columns.append(column[c])
                    data.append(sign)
            rhs.append(b)
        import numpy as np
        from scipy import sparse  # here: only a release's audit needs SciPy (see _solve)

        self.A = sparse.csr_array((data, (rows, columns)), shape=(len(relations), len(cells)))
        self.b = np.array(rhs, dtype=float)

    def extreme(
        self, cell: int, largest: bool
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """The largest (or smallest) value of ``cell``, a solution that attains it and the
        duals of the relations that prove it (None where unbounded)."""
        import numpy as np

        if len(self.cells) == 1:  # one unknown: every relation gives its value
            i = 0
            value = float(self.b[i] / self.A[[i], :].toarray()[0, 0])
            return value, np.array([value]), np.eye(1, len(self.relations), 0)[0]
        objective = np.zeros(len(self.cells))
        objective[self.column[cell]] = -1.0 if largest else 1.0
        found = _solve(objective, A_eq=self.A, b_eq=self.b, bounds=(0, None))
        if found.status == 3:
            return _INF, None, None
        if found.status != 0:  # the true counts are a solution: the solver failed
            raise RuntimeError(f"the attacker's LP failed: {found.message}")
        bound = -found.fun if largest else found.fun
        return _whole(bound), found.x, found.eqlin.marginals

    def confirm(self, cells: list[int], k: int) -> np.ndarray | None:
        """One solution in which as many of ``cells`` as it can reach k (maximising the sum
        of min(x, k) over them): each cell at k or more in it is proved safe."""
        import numpy as np
        from scipy import sparse

        n, m = len(self.cells), len(cells)
        # Variables: the cells, then t_i <= k with t_i <= x of cell i; maximise sum t.
        lift = sparse.csr_array(
            (
                np.concatenate([-np.ones(m), np.ones(m)]),
                (
                    np.concatenate([np.arange(m), np.arange(m)]),
                    np.concatenate([[self.column[c] for c in cells], n + np.arange(m)]),
                ),
            ),
            shape=(m, n + m),
        )
        equations = sparse.hstack([self.A, sparse.csr_array((len(self.relations), m))])
        objective = np.concatenate([np.zeros(n), -np.ones(m)])
        bounds = [(0, None)] * n + [(0, k)] * m
        found = _solve(
            objective, A_ub=lift, b_ub=np.zeros(m), A_eq=equations, b_eq=self.b, bounds=bounds
        )
        if found.status != 0:
            return None
        return found.x[:n]

    def proved(self, x: np.ndarray | None, cells: list[int], k: int) -> set[int]:
        """The ``cells`` at k or more in ``x``, if ``x`` is a solution: checked here, so
        that no cell is passed as safe on the solver's word alone."""
        import numpy as np

        if x is None or len(x) != len(self.cells) or np.min(x, initial=0.0) < -_TOL:
            return set()
        scale = 1.0 + float(np.max(np.abs(self.b), initial=0.0))
        if np.max(np.abs(self.A @ x - self.b), initial=0.0) > _TOL * scale:
            return set()
        return {c for c in cells if x[self.column[c]] >= k - _TOL}


def _solve(objective: np.ndarray, **problem):
    """HiGHS's dual simplex without presolve; should it fail (the true counts are always
    a solution, so "infeasible" is the solver's mistake), its interior point method, then
    its default with presolve. Presolve comes last: as in SciPy 1.15 it called some
    feasible systems of dependent relations infeasible. A cell is never passed as safe on
    the solver's word alone (``_System.proved``)."""
    # SciPy's optimiser is imported here, not with the module: a web worker or an export
    # that never audits a release does not carry it (about 50 MB).
    from scipy.optimize import linprog

    found = None
    for method, presolve in (("highs-ds", False), ("highs-ipm", False), ("highs", True)):
        found = linprog(objective, method=method, options={"presolve": presolve}, **problem)
        if found.status in (0, 3):
            return found
    return found


def _whole(x: float) -> float:
    nearest = round(x)
    return float(nearest) if abs(x - nearest) < _TOL else x


def intervals(
    counts: Mapping[Cell, int],
    relations: Sequence[Relation],
    visible: Collection[Cell],
    *,
    known: Mapping[Cell, int] | None = None,
    cells: Collection[Cell] | None = None,
    shape: Shape | None = None,
) -> dict[Cell, tuple[float, float]]:
    """For each hidden cell (or each of ``cells``), the smallest and largest count an
    attacker can derive from the ``visible`` cells' counts, the ``known`` counts, the
    relations and non-negativity; the upper bound is ``inf`` where nothing bounds it.
    A visible or known cell's interval is its count; a cell in no relation, if hidden,
    is (0, inf). A cell missing from ``counts`` counts 0. ``shape``: as for ``protect``."""
    attacker = _Attacker(counts, relations, visible, known, shape)
    found: dict[Cell, tuple[float, float]] = {}
    wanted: dict[int, list[int]] = {}  # part -> its wanted unknown cells
    for cell in attacker.cells if cells is None else cells:
        i = attacker.shape.number(cell)
        if i is not None and attacker.seen[i]:
            if cells is not None:
                found[cell] = (float(attacker.value[i]), float(attacker.value[i]))
            continue
        part = None if i is None else attacker.part(i)
        if i is None or part is None:
            found[cell] = (0.0, _INF)
        else:
            wanted.setdefault(part, []).append(i)
    for part, members in wanted.items():
        asked = set(members)
        for component, rows in attacker.components(attacker.parts[part]):
            todo = [c for c in component if c in asked]
            if not todo:
                continue
            system = _System(attacker, component, rows)
            for c in todo:
                found[attacker.cells[c]] = (system.extreme(c, False)[0], system.extreme(c, True)[0])
    return found


# --- the audit -------------------------------------------------------------------------


class _Audit:
    """``audit``'s state: the attacker, which cells may still be hidden, which small
    hidden cells are proved safe (bounds only widen as cells are hidden, so they stay
    proved), and the findings."""

    def __init__(self, attacker: _Attacker, k: int, hideable: list[bool]):
        self.attacker, self.k, self.hideable = attacker, k, hideable
        self.safe: set[int] = set()
        self.findings: list[dict[str, object]] = []
        self.about: list[int] = []  # the cell of each finding

    def small(self, c: int) -> bool:
        return 0 < self.attacker.value[c] < self.k

    def unsafe(self, part: int) -> list[tuple[int, list[int]]]:
        """The small hidden cells of ``part`` whose upper bound is below k, each with the
        relations its bound is derived through."""
        failed: list[tuple[int, list[int]]] = []
        for cells, relations in self.attacker.components(self.attacker.parts[part]):
            todo = [c for c in cells if c not in self.safe and self.small(c)]
            if not todo:
                continue
            left = []
            for c in todo:
                through = self.bounded_by_a_known_parent(c)
                if through is None:
                    left.append(c)
                else:
                    failed.append((c, [through]))
            if left:
                failed += self.unsafe_by_lp(_System(self.attacker, cells, relations), left)
        return failed

    def bounded_by_a_known_parent(self, c: int) -> int | None:
        """The cheap proof first: a relation with a known parent bounds each unknown child
        by the parent minus the known children; the first relation where that is below k,
        or None."""
        attacker = self.attacker
        value, parents, children, seen = (
            attacker.value,
            attacker.parents,
            attacker.children,
            attacker.seen,
        )
        for r in attacker.relations_of(c):
            p = parents[r]
            if p != c and seen[p]:
                room = value[p] - sum(value[d] for d in children[r] if seen[d])
                if room < self.k:
                    return r
        return None

    def unsafe_by_lp(self, system: _System, left: list[int]) -> list[tuple[int, list[int]]]:
        """Those of the small cells ``left`` of one component whose largest value in the
        LP is below k, each with the relations with a non-zero dual (all the component's
        if there are none): many proved safe at once first, then one LP per cell."""
        import numpy as np

        k, safe, rows = self.k, self.safe, system.relations
        while len(left) > 1:  # prove many at once while that makes progress
            proved = system.proved(system.confirm(left, k), left, k)
            if not proved:
                break
            safe.update(proved)
            left = [c for c in left if c not in safe]
        failed: list[tuple[int, list[int]]] = []
        for c in left:
            if c in safe:
                continue
            bound, x, duals = system.extreme(c, True)
            if bound >= k - _TOL:
                if x is None:  # unbounded: a solution with c at k proves it
                    x = system.confirm([c], k)
                proved = system.proved(x, left, k)  # the solution proves others too
                safe.update(proved)
                if c in proved:
                    continue
                duals = None  # not proved after all: hide more, to be safe
            through = (
                [] if duals is None else [rows[i] for i in np.flatnonzero(np.abs(duals) > _TOL)]
            )
            failed.append((c, through or rows))
        return failed

    def victim(self, through: list[int]) -> int | None:
        """The visible, hideable member of the relations ``through`` with the smallest
        count, a child before a parent."""
        attacker, hideable = self.attacker, self.hideable
        ranked = [
            (attacker.value[c], position == 0, c)
            for r in through
            for position, c in enumerate(attacker.members(r))
            if hideable[c]
        ]
        return min(ranked)[2] if ranked else None

    def hide(self, c: int) -> int | None:
        """Hide ``c``; the part to check again."""
        self.attacker.seen[c] = self.hideable[c] = False
        return self.attacker.part(c)

    def finding(self, cell: int, rule: str, hidden: int, through: list[int]) -> None:
        cells = self.attacker.cells
        self.about.append(cell)
        self.findings.append(
            {
                "cell": repr(cells[cell]),
                "rule": rule,
                "hidden": repr(cells[hidden]),
                "through": [repr(cells[self.attacker.parents[r]]) for r in through],
            }
        )


def _add_part(parts: set[int], part: int | None) -> None:
    """Add ``part`` to ``parts``; None (a cell in no relation) has nothing to check."""
    if part is not None:
        parts.add(part)


def audit(
    counts: Mapping[Cell, int],
    relations: Sequence[Relation],
    k: int,
    visible: Collection[Cell],
    *,
    fixed: Collection[Cell] = frozenset(),
    known: Mapping[Cell, int] | None = None,
    shape: Shape | None = None,
) -> AuditResult:
    """Check ``visible`` against the published rule (module docstring) and hide more until
    it holds. ``fixed`` cells (published in an earlier release) stay visible and are never
    hidden, ``known`` cells (known to the attacker anyway, e.g. months after the release:
    0) help the attacker and are never in the result. Visible cells that are not fixed
    and hold 1..k-1 are hidden first. Each finding names the cell (never its count), the
    rule, the cell hidden for it, the relations (by parent) the bound was derived through,
    and the cell's interval once the audit is done. ``shape``: as for ``protect``.

    Raises ValueError as ``protect`` does, PublishedLeak if fixed and known cells alone
    pin a small count."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (privacy.md, 'Small groups'), not {k}")
    fixed = frozenset(fixed)
    attacker = _Attacker(counts, relations, {*visible, *fixed}, known, shape)
    number = attacker.shape.number
    locked = set(attacker.known) | {i for i in map(number, fixed) if i is not None}
    hideable = [shown and i not in locked for i, shown in enumerate(attacker.seen)]
    state = _Audit(attacker, k, hideable)

    stale: set[int] = set()
    for c, shown in enumerate(hideable):
        if shown and state.small(c):  # primary suppression, should protect() not have run
            state.finding(c, "shown below k", c, [])
            part = state.hide(c)
            if part is not None:
                stale.add(part)
    # Only the parts holding a small hidden cell can break the rule.
    for c, seen in enumerate(attacker.seen):
        if not seen and state.small(c):
            part = attacker.part(c)
            if part is not None:
                stale.add(part)
    while stale:
        failed = [found for part in sorted(stale) for found in state.unsafe(part)]
        stale = set()
        taken: set[int] = set()
        for cell, through in failed:
            members = {m for r in through for m in attacker.members(r)}
            if not taken.isdisjoint(members):
                _add_part(stale, attacker.part(cell))  # already being dealt with: look again
                continue
            victim = state.victim(through)
            if victim is None:
                raise PublishedLeak(
                    f"the count of {attacker.cells[cell]!r} is bounded below k by fixed "
                    "(already published) and known cells alone: hiding new cells cannot "
                    "protect it"
                )
            taken.add(victim)
            state.finding(cell, "upper bound below k", victim, through)
            _add_part(stale, state.hide(victim))
    cells = attacker.cells
    result = frozenset(
        cells[c] for c, s in enumerate(attacker.seen) if s and c not in attacker.known
    )
    if state.findings:  # the intervals the published cells leave (at least k above)
        bounds = intervals(
            counts,
            relations,
            result,
            known=known,
            cells=[cells[c] for c in dict.fromkeys(state.about)],
            shape=attacker.shape,
        )
        for entry, c in zip(state.findings, state.about, strict=False):
            entry["interval"] = bounds[cells[c]]
    return AuditResult(result, state.findings)


# --- homogeneity -----------------------------------------------------------------------


def diverse(category_counts: Sequence[int], l: int = 2) -> bool:  # noqa: E741 - l-diversity
    """Whether a distribution may be shown: at least ``l`` responses lie outside its most
    common category (module docstring). An empty distribution is not diverse (and is
    never shown: it is below k)."""
    counts = list(category_counts)
    return bool(counts) and sum(counts) - max(counts) >= l


def diverse_mean(n: int, total: float, total_sq: float) -> bool:
    """Whether a mean of ``n`` answers with this sum and sum of squares may be shown: not
    when every answer is the same (zero variance), for then each answer is the mean."""
    if n < 2:
        return False
    spread = n * total_sq - total * total  # n² × the variance
    return spread > 1e-9 * max(1.0, abs(n * total_sq))


def protect_distributions(
    category_counts: Mapping[Cell, Sequence[int]],
    relations: Sequence[Relation],
    k: int,
    visible: Collection[Cell],
    *,
    fixed: Collection[Cell] = frozenset(),
    known: Mapping[Cell, int] | None = None,
    l: int = 2,  # noqa: E741 - l-diversity
) -> frozenset[Cell]:
    """The cells of ``visible`` (the cells whose counts a family shows, e.g. the ladder)
    whose distributions may be shown too: every one that is not fixed and fails
    ``diverse`` is hidden, and while a relation with a shown parent leaves a remainder
    (parent minus its shown children: the pooled "andre kontorer") of at least one
    response that fails ``diverse``, one more shown child is hidden, the smallest first
    (the parent if no child can go). Fixed cells stay; known cells with count 0 count as
    known empty distributions, other known cells are not shown. Raises PublishedLeak if a
    remainder fails and only fixed cells could be hidden."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (privacy.md, 'Small groups'), not {k}")
    known = known or {}
    fixed = frozenset(fixed)
    width = max((len(v) for v in category_counts.values()), default=0)
    empty = (0,) * width

    def of(cell: Cell) -> Sequence[int]:
        return category_counts.get(cell) or empty

    shown = {cell for cell in (*visible, *fixed) if cell not in known}
    shown = {cell for cell in shown if cell in fixed or diverse(of(cell), l)}
    zero = {cell for cell, n in known.items() if n == 0}
    # The relations each cell is in, to look again only where something changed.
    holding: dict[Cell, list[int]] = {}
    for r, (parent, kids) in enumerate(relations):
        for cell in (parent, *kids):
            holding.setdefault(cell, []).append(r)
    todo = list(range(len(relations)))
    while todo:
        again: set[int] = set()
        for r in todo:
            parent, kids = relations[r]
            if parent not in shown and parent not in zero:
                continue
            rest = list(of(parent))
            rest += [0] * (width - len(rest))
            for kid in kids:
                if kid in shown or kid in zero:
                    for i, n in enumerate(of(kid)):
                        rest[i] -= n
            if sum(rest) < 1 or diverse(rest, l):
                continue
            candidates = [
                (sum(of(kid)), i, kid)
                for i, kid in enumerate(kids)
                if kid in shown and kid not in fixed
            ]
            if candidates:
                victim = min(candidates)[2]
            elif parent in shown and parent not in fixed:
                victim = parent
            else:
                raise PublishedLeak(
                    f"the pooled remainder of {parent!r} fails l-diversity "
                    "and only fixed cells could be hidden"
                )
            shown.discard(victim)
            again.update(holding.get(victim, ()))
            again.add(r)
        todo = sorted(again)
    return frozenset(shown)
