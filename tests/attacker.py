"""An independent attacker, for tests: what an insider can work out from the figures a
page or a file publishes. The specification of survey.domain.disclosure, written as plainly as
possible and sharing no code with it (so that a mistake there is not repeated here).

Given the published counts, the relations between cells (parent == sum of children), and
what the attacker knows anyway (e.g. next month is 0), every other cell's count lies in
an interval: the smallest and the largest value it takes in any table of non-negative
numbers that agrees with all of that. One linear program per bound, over every cell at
once (HiGHS without presolve, which in SciPy 1.15 called some feasible systems
infeasible).

    from tests.attacker import intervals, pinned_small
    found = pinned_small(published, relations, k, counts=true_counts)
    assert not found, found
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_array

Cell = Hashable
Relation = tuple[Cell, tuple[Cell, ...]]
TOLERANCE = 1e-6


def intervals(
    published: Mapping[Cell, int],
    relations: Sequence[Relation],
    known: Mapping[Cell, int] | None = None,
    cells: Iterable[Cell] | None = None,
) -> dict[Cell, tuple[float, float]]:
    """The interval of every cell in ``relations`` that is neither published nor known
    (or of each of ``cells``): (smallest, largest), the largest ``inf`` if unbounded."""
    facts = {**(known or {}), **published}
    everything = list(
        dict.fromkeys([cell for parent, children in relations for cell in (parent, *children)])
    )
    unknown = [cell for cell in everything if cell not in facts]
    column = {cell: j for j, cell in enumerate(unknown)}
    wanted = [cell for cell in (unknown if cells is None else cells) if cell not in facts]

    # One equation per relation: parent - sum(children) = 0, the facts moved right.
    matrix = lil_array((len(relations), len(unknown)))
    rhs = np.zeros(len(relations))
    for i, (parent, children) in enumerate(relations):
        for cell, sign in [(parent, 1.0)] + [(child, -1.0) for child in children]:
            if cell in facts:
                rhs[i] -= sign * facts[cell]
            else:
                matrix[i, column[cell]] += sign
    matrix = matrix.tocsr()

    found = {}
    for cell in wanted:
        if cell not in column:  # in no relation: anything from 0 up
            found[cell] = (0.0, float("inf"))
            continue
        bounds = []
        for sign in (1.0, -1.0):  # minimise, then maximise
            objective = np.zeros(len(unknown))
            objective[column[cell]] = sign
            result = linprog(
                objective,
                A_eq=matrix,
                b_eq=rhs,
                bounds=(0, None),
                method="highs",
                options={"presolve": False},
            )
            if result.status == 3:
                bounds.append(float("inf"))
            else:
                assert result.status == 0, f"no table agrees with the facts: {result.message}"
                bounds.append(sign * result.fun)
        found[cell] = (bounds[0], bounds[1])
    return found


def pinned_small(
    published: Mapping[Cell, int],
    relations: Sequence[Relation],
    k: int,
    known: Mapping[Cell, int] | None = None,
    counts: Mapping[Cell, int] | None = None,
) -> dict[Cell, tuple[float, float]]:
    """The cells the attacker can tell apart from a group of k or more, with their
    intervals: those pinned to a single value from 1 to k - 1, those whose interval lies
    within 1..k-1, and (given the true ``counts``) those holding at least 1 whose upper
    bound is below k."""
    cells = None
    if counts is not None:  # the others hold 0 or at least k: nothing to find
        cells = [cell for cell, n in counts.items() if 1 <= n < k]
    found = {}
    for cell, (low, high) in intervals(published, relations, known, cells).items():
        below_k = high < k - TOLERANCE
        # Its interval lies within 1..k-1, or (given the true counts) it holds at least 1.
        if below_k and (low > 1 - TOLERANCE or (counts is not None and counts.get(cell, 0) >= 1)):
            found[cell] = (low, high)
    return found
