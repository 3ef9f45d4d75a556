"""What small-group suppression must guarantee, as a brute-force specification over small
tables: the rules ``survey.domain.suppression.protect`` and ``survey.domain.disclosure.audit`` are held
to (tests/test_suppression_spec.py). Written to be obviously right rather than fast, and
sharing no code with the package.

A table has leaves (the finest counts: an office's month) and cells that are sums of
leaves (an office's quarter, the national month, the national half-year). An attacker
sees the published cells' counts and knows which leaves make up every cell. A candidate
is a table of leaf counts that gives every published cell its published count; what the
attacker knows of a group of leaves is the set of values its sum takes over the
candidates. Two attackers, two promises (privacy.md, "Small groups" and "Insiders"):

- The linear attacker (``protect``'s promise) takes any integer table as a candidate,
  negative counts too. A sum that is the same in every candidate is "pinned": that holds
  exactly when its leaves, as a vector, are a combination of the published cells'
  vectors (``pinned``). No hidden cell, and no remainder of a pinned total after its
  pinned parts ("andre kontorer"), may be pinned to 1..k-1 (``linear_leaks``).
- The attacker who knows that counts are never negative (``audit``'s promise) takes only
  tables of counts >= 0. Every hidden cell of 1..k-1 must reach k in some candidate:
  whatever was published, it cannot be told from a group large enough to show
  (``narrowed``). The candidates are counted one by one (``candidates``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction

Leaf = str
Cell = str


class Table:
    """Leaves with their counts, and every cell as the set of leaves it sums; ``relations``
    (parent, children) are how a release states the sums."""

    def __init__(
        self,
        leaves: Mapping[Leaf, int],
        cells: Mapping[Cell, frozenset[Leaf]],
        relations: Sequence[tuple[Cell, tuple[Cell, ...]]],
    ):
        self.leaves, self.cells, self.relations = dict(leaves), dict(cells), list(relations)
        for parent, children in relations:  # each relation holds for every table
            assert cells[parent] == frozenset().union(*(cells[c] for c in children))
            assert sum(len(cells[c]) for c in children) == len(cells[parent])

    def count(self, cell: Cell, table: Mapping[Leaf, int] | None = None) -> int:
        table = self.leaves if table is None else table
        return sum(table[leaf] for leaf in self.cells[cell])

    def counts(self) -> dict[Cell, int]:
        return {cell: self.count(cell) for cell in self.cells}


def office_months(counts: Sequence[Sequence[int]]) -> Table:
    """The reporting lattice in small: ``counts[office][month]`` over 1, 2 or 4 months,
    each office and the country ("N") per month, per quarter (two months) and per
    half-year (two quarters), related as ``survey.domain.suppression.lattice`` relates them."""
    months = len(counts[0])
    assert months in (1, 2, 4) and all(len(row) == months for row in counts)
    scopes = [f"o{office}" for office in range(len(counts))]
    leaves = {
        f"{scope} m{month}": n
        for scope, row in zip(scopes, counts, strict=False)
        for month, n in enumerate(row)
    }
    periods = {f"m{month}": [] for month in range(months)}  # period -> its parts
    if months >= 2:
        periods.update({f"q{q}": [f"m{2 * q}", f"m{2 * q + 1}"] for q in range(months // 2)})
    if months == 4:
        periods["h"] = ["q0", "q1"]
    cells: dict[Cell, frozenset[Leaf]] = {}
    relations = []
    for period, parts in periods.items():
        for scope in scopes:
            if parts:
                cells[f"{scope} {period}"] = frozenset().union(
                    *(cells[f"{scope} {part}"] for part in parts)
                )
                relations.append((f"{scope} {period}", tuple(f"{scope} {p}" for p in parts)))
            else:
                cells[f"{scope} {period}"] = frozenset([f"{scope} {period}"])
        cells[f"N {period}"] = frozenset().union(*(cells[f"{s} {period}"] for s in scopes))
        if parts:
            relations.append((f"N {period}", tuple(f"N {p}" for p in parts)))
        relations.append((f"N {period}", tuple(f"{s} {period}" for s in scopes)))
    return Table(leaves, cells, relations)


# --- the linear attacker ---------------------------------------------------------------


def rank(vectors: list[list[Fraction]]) -> int:
    """The rank of the vectors, by Gaussian elimination over the rationals."""
    rows = [row[:] for row in vectors]
    found = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((r for r in range(found, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        for r in range(len(rows)):
            if r != found and rows[r][column]:
                factor = rows[r][column] / rows[found][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[found], strict=False)]
        found += 1
    return found


def pinned(table: Table, published: set[Cell], group: frozenset[Leaf]) -> bool:
    """Whether the linear attacker knows the sum of ``group``: its vector adds nothing to
    the rank of the published cells' vectors (every candidate differs from the true table
    by a vector orthogonal to those, and so to the group's)."""
    order = sorted(table.leaves)

    def vector(leaves: frozenset[Leaf]) -> list[Fraction]:
        return [Fraction(leaf in leaves) for leaf in order]

    known = [vector(table.cells[cell]) for cell in published]
    return rank([*known, vector(group)]) == rank(known)


def linear_leaks(table: Table, published: set[Cell], k: int) -> list[tuple[str, int]]:
    """What the linear attacker learns that privacy.md forbids: a hidden cell pinned to
    1..k-1, or a pinned total whose children that are not pinned sum to 1..k-1."""
    counts = table.counts()
    known = {cell for cell in table.cells if pinned(table, published, table.cells[cell])}
    found = [(cell, counts[cell]) for cell in known - published if 0 < counts[cell] < k]
    for parent, children in table.relations:
        if parent in known:
            rest = sum(counts[c] for c in children if c not in known)
            if 0 < rest < k:
                found.append((f"{parent} remainder", rest))
    return sorted(found)


# --- the attacker who knows that counts are never negative -----------------------------


def candidates(table: Table, published: set[Cell]) -> Iterator[dict[Leaf, int]]:
    """Every table of counts >= 0 that gives each published cell its count, but with each
    leaf that no published cell holds at 0 (it can be anything: see ``bounds``). A leaf
    in a published cell is at most that cell's count, so the search is finite; a partial
    table that already exceeds a published count, or misses one whose leaves it has all
    filled, is not filled further (counts >= 0 cannot bring it back)."""
    counts = table.counts()
    leaves = sorted(table.leaves)
    holding = {leaf: [cell for cell in published if leaf in table.cells[cell]] for leaf in leaves}

    def possible(partial: dict[Leaf, int], leaf: Leaf) -> bool:
        """Whether the published cells holding ``leaf``, just filled, can still be met (the
        others were checked when their leaves were filled)."""
        for cell in holding[leaf]:
            filled = [partial[leaf] for leaf in table.cells[cell] if leaf in partial]
            if sum(filled) > counts[cell]:
                return False
            if len(filled) == len(table.cells[cell]) and sum(filled) < counts[cell]:
                return False
        return True

    def fill(partial: dict[Leaf, int]) -> Iterator[dict[Leaf, int]]:
        if len(partial) == len(leaves):
            yield dict(partial)
            return
        leaf = leaves[len(partial)]
        caps = [counts[cell] for cell in holding[leaf]]
        for n in range(min(caps) + 1) if caps else (0,):
            partial[leaf] = n
            if possible(partial, leaf):
                yield from fill(partial)
            del partial[leaf]

    yield from fill({})


def bounds(table: Table, published: set[Cell]) -> dict[Cell, tuple[float, float]]:
    """Each hidden cell's smallest and largest count over the candidates; the largest is
    infinite if a leaf of the cell is in no published cell (nothing bounds that leaf)."""
    hidden = [cell for cell in table.cells if cell not in published]
    low = {cell: float("inf") for cell in hidden}
    high = {cell: float("-inf") for cell in hidden}
    for candidate in candidates(table, published):
        for cell in hidden:
            n = table.count(cell, candidate)
            low[cell], high[cell] = min(low[cell], n), max(high[cell], n)
    free = {leaf for leaf in table.leaves if not any(leaf in table.cells[c] for c in published)}
    return {
        cell: (low[cell], float("inf") if table.cells[cell] & free else high[cell])
        for cell in hidden
    }


def narrowed(table: Table, published: set[Cell], k: int) -> list[Cell]:
    """The hidden cells of 1..k-1 that cannot reach k in any candidate."""
    counts = table.counts()
    return sorted(
        cell
        for cell, (_, high) in bounds(table, published).items()
        if 0 < counts[cell] < k and high < k
    )
