"""The response file's disclosure rule: which rows it holds, under which office and period
labels, and which quasi-identifier cells are blanked, decided ONCE per release for the whole
released data set of a questionnaire version (never per selection). Pure: no Flask, no
database; ``survey.export.released`` feeds it the released rows counted by office, month
and QI combination (one pass over the table).

Quasi-identifiers (what someone who knows a respondent could know about them):

- ``office`` and ``period``: where and when they were followed up;
- ``language``: which language they answered in (nb, nn, en);
- ``bak_alder`` (age band) and ``bak_varighet`` (time in follow-up): facts about the person;
- ``rel_antall`` (number of counsellors): known to the office and to people close to them.

Not quasi-identifiers: the measures (``tilt_deltatt_*``). They are 12 independent 0/1
columns; as a QI they would split every class into up to 4 096 parts, and the file would be
blanked to nothing. They are what the file is about (the research question), and whoever
knows a person's measures for certain is NAV itself, which holds far more. A rare measure in
a small group is the residual risk we accept and document (docs/privacy-model.md); the
dashboards' measure rule (issue 11) protects the figures leaders see. The attitude items and
scores are sensitive values, not QIs: nobody outside knows them.

The rule, in order (each step keeps what the previous one guaranteed):

1. **Pooling.** An office-month with fewer than k released responses (or one the
   release's own audit hides) is published as "andre" (other offices). If the month's
   "andre" would then hold fewer than k rows or a single office, the smallest other
   offices of that month join it until it holds both; a month with fewer than k
   responses in all is left out. Every (office label, month) therefore holds 0 or >= k.
2. **Generalisation of the period** (per office label): the finest of month, quarter and
   half-year at which step 3 blanks at most ``GENERALISE_ABOVE`` of the label's QI cells;
   half-year when none does. The label is
   the same for every row of an office-month, so a selection is always a union of whole
   published (office, period) classes.
3. **Local suppression** (as sdcMicro's ``localSuppression`` with an importance order, and
   ARX): within one (office label, period label), a combination of the other QIs rarer
   than k has its most identifying QI blanked first (counsellors, then time in follow-up,
   then age band, then language), one QI at a time, until every combination holds k. A
   blanked cell is written empty, as "not answered", so it cannot be told apart. If rows
   with every QI blanked are still fewer than k, the smallest classes are blanked
   entirely too (the label holds >= k rows, so this ends).

A row's recoding is computed from a small packed integer (``qi_code``): the worker looks up
its row's combination at each blanking level in the set of kept classes (``kept``) and
takes the first that is there. The rule "first level whose class is kept" is exactly the
assignment made below, so workers and this module agree without a per-row map.

The check before a file streams (``check``): every process counts, per published label,
the rows it wrote and the sums of their class codes and squares; they must equal what the
decisions expect (each class was checked >= k when decided), or no row is written.

Statistics shown for a selection (the export page, the codebook) are computed on exactly
the rows of the labels it holds, and Cronbach's alpha only on at least ``ALPHA_MIN_N``
complete cases.
"""

from __future__ import annotations

import base64
from array import array
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from ..domain.periods import ReportingPeriod

POOLED = "andre"
POOLED_OFFICE = 0  # the selection's office id for "andre" (office ids start at 1)

# The QIs besides office and period, in the order they are blanked (most identifying
# first): each occupies 4 bits of a row's code, the first at the lowest bits.
QI_ITEMS = ("rel_antall", "bak_varighet", "bak_alder")
BLANK_ORDER = (*QI_ITEMS, "language")
QUASI_IDENTIFIERS = ("office", "period", "language", "bak_alder", "bak_varighet", "rel_antall")
LEVEL_MASKS = (0xFFFF, 0xFFF0, 0xFF00, 0xF000, 0x0000)  # level n: the first n QIs blanked
LABEL_SHIFT = 16
LANGUAGE_CODES = {None: 0, "nb": 1, "nn": 2, "en": 3}
OTHER = 15  # any value outside the expected range (never seen: the form validates)

GENERALISE_ABOVE = 0.10  # share of QI cells blanked above which the period is generalised
PERIOD_LEVELS = ("month", "quarter", "half")
RISK_FACTOR = 2  # the preview shows the share of rows in classes smaller than 2 k
ALPHA_MIN_N = 30  # Cronbach's alpha is shown only on at least this many complete cases


# An item answer's 4-bit code: 0 = empty, 1 = -1 (vet ikke), 2.. = 0..12, OTHER for
# anything else; by hash (2.0 and True code as 2 and 1), as the worker looks them up.
VALUE_CODES: dict[int | None, int] = {None: 0, **{v: v + 2 for v in range(-1, 13)}}


def value_code(value) -> int:
    try:
        return VALUE_CODES.get(value, OTHER)
    except TypeError:  # a list or dict where a number belongs
        return OTHER


def qi_code(language, age, duration, counsellors) -> int:
    """The packed combination of the non-structural QIs (language in the top bits)."""
    return (
        LANGUAGE_CODES.get(language, OTHER) << 12
        | value_code(age) << 8
        | value_code(duration) << 4
        | value_code(counsellors)
    )


def blanked_fields(level: int) -> tuple[str, ...]:
    """The QIs blanked at ``level`` (0..4)."""
    return BLANK_ORDER[:level]


@dataclass
class LabelStats:
    """What the rule did to one published (office, period) class of rows."""

    rows: int = 0
    pooled: int = 0  # rows whose office is published as "andre"
    generalised: int = 0  # rows whose period is coarser than their month
    blanked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BLANK_ORDER, 0))
    smallest: int = 0  # the smallest QI class
    at_risk: int = 0  # rows in QI classes under RISK_FACTOR × k
    # Sums of the rows' class codes (label << 16 | kept combination) and of their squares:
    # a file whose rows of this label give other sums holds other classes than decided.
    moments: tuple[int, int] = (0, 0)


@dataclass
class Decisions:
    """The response file's rule applied to one release and questionnaire version."""

    k: int
    end: date | None
    # id -> label: (office id, or POOLED; period)
    labels: list[tuple[Any, ReportingPeriod]] = field(default_factory=list)
    # (office, month) -> id; (POOLED, month) while deciding
    cells: dict[tuple[int | str, date], int] = field(default_factory=dict)
    # label << 16 | kept combination: a set while deciding; an array once read from disk
    # (8 bytes an entry, where a set of ints takes about 60).
    kept: set[int] | array = field(default_factory=set)
    stats: list[LabelStats] = field(default_factory=list)
    left_out: int = 0  # released rows in months under k

    def label_of(self, office_id: int, month: date) -> tuple[object, ReportingPeriod] | None:
        found = self.cells.get((office_id, month))
        return None if found is None else self.labels[found]

    def selected(self, office_ids: Iterable[int], periods: Iterable[ReportingPeriod]) -> set[int]:
        """The label ids a selection holds: labels whose office is chosen ("andre" as
        ``POOLED_OFFICE``) and whose whole period lies in the chosen periods."""
        offices, periods = set(office_ids), tuple(periods)
        chosen = set()
        for label_id, (office, period) in enumerate(self.labels):
            if offices and (POOLED_OFFICE if office == POOLED else office) not in offices:
                continue
            if periods and not _covered(period, periods):
                continue
            chosen.add(label_id)
        return chosen

    def summary(self, label_ids: Iterable[int]) -> LabelStats:
        total = LabelStats()
        first = True
        for label_id in label_ids:
            stats = self.stats[label_id]
            if not stats.rows:
                continue
            total.rows += stats.rows
            total.pooled += stats.pooled
            total.generalised += stats.generalised
            total.at_risk += stats.at_risk
            for name, n in stats.blanked.items():
                total.blanked[name] += n
            total.smallest = stats.smallest if first else min(total.smallest, stats.smallest)
            first = False
        return total


def _covered(period: ReportingPeriod, chosen: tuple[ReportingPeriod, ...]) -> bool:
    """Whether every month of ``period`` lies in one of ``chosen``."""
    months = [
        ReportingPeriod.containing(period.start.replace(month=period.start.month + n), "month")
        for n in range(period.months)
    ]
    return all(any(c.start <= m.start < c.end for c in chosen) for m in months)


def pool(
    cell_counts: dict[tuple[int, date], int], k: int, hidden: AbstractSet = frozenset()
) -> tuple[dict, int]:
    """Step 1: each office-month's published office (its id, or POOLED) and the rows left
    out (months under k). ``hidden`` office-months pool whatever their size."""
    by_month: dict[date, list[tuple[int, int]]] = defaultdict(list)
    for (office, month), n in cell_counts.items():
        if n:
            by_month[month].append((n, office))
    published: dict[tuple[int, date], int | str] = {}  # an office's id, or POOLED
    left_out = 0
    for month, cells in by_month.items():
        if sum(n for n, _ in cells) < k:
            left_out += sum(n for n, _ in cells)
            continue
        cells.sort()
        small = [(n, office) for n, office in cells if n < k or (office, month) in hidden]
        pooled, members = sum(n for n, _ in small), len(small)
        for n, office in cells:
            # The smallest offices first: the small ones, then as many more as make
            # "andre" hold k rows and more than one office (a lone pooled office would be
            # known by subtraction from the month's shown offices).
            if (n, office) in small or (members and (pooled < k or members < 2)):
                if (n, office) not in small:
                    pooled, members = pooled + n, members + 1
                published[(office, month)] = POOLED
            else:
                published[(office, month)] = office
    return published, left_out


def suppress(counts: dict[int, int], k: int) -> tuple[dict[int, int], dict[int, int]]:
    """Step 3 on one published (office, period) class: ``counts`` maps a QI combination
    to its rows. Returns the kept classes with their final sizes, and for every
    combination the level it is written at."""
    kept: dict[int, int] = {}
    level_of: dict[int, int] = {}
    waiting = counts
    for level, mask in enumerate(LEVEL_MASKS):
        grouped: dict[int, int] = defaultdict(int)
        for code, n in waiting.items():
            grouped[code & mask] += n
        for cls, n in grouped.items():
            # An earlier kept class with these cells already empty is joined: the row's
            # first kept candidate is then that class, with the same cells written.
            if cls in kept or n >= k or mask == 0:
                kept[cls] = kept.get(cls, 0) + n
        still = {}
        for code, n in waiting.items():
            if (code & mask) in kept:
                level_of[code] = level
            else:
                still[code] = n
        waiting = still
    # Rows with every QI blanked are fewer than k: the smallest classes give up theirs,
    # each row moving to its next kept class (in the end every QI blanked: the label
    # itself holds >= k).
    while 0 < kept.get(0, 0) < k:
        cls = min((c for c in kept if c != 0), key=lambda c: (kept[c], c))
        del kept[cls]
        for code, level in level_of.items():
            if code & LEVEL_MASKS[level] == cls:
                level_of[code] = next(
                    lv
                    for lv in range(level + 1, len(LEVEL_MASKS))
                    if (code & LEVEL_MASKS[lv]) in kept
                )
                kept[code & LEVEL_MASKS[level_of[code]]] += counts[code]
    return kept, level_of


def _blanked_cells(counts: dict[int, int], level_of: dict[int, int]) -> dict[str, int]:
    blanked = dict.fromkeys(BLANK_ORDER, 0)
    for code, level in level_of.items():
        for position in range(level):
            if (code >> (4 * position)) & 0xF:  # an answered cell made empty
                blanked[BLANK_ORDER[position]] += counts[code]
    return blanked


def decide(
    cell_counts: dict[tuple[int, date], int],
    combinations: Iterable[tuple[int, date, int, int]],
    k: int,
    end: date | None,
    hidden: AbstractSet = frozenset(),
) -> Decisions:
    """The whole rule over one release: ``cell_counts`` are the released rows per
    (office, month); ``combinations`` the released rows per (office, month, QI code) as
    (office, month, code, rows), ordered by office (so one office is held at a time)."""
    decisions = Decisions(k=k, end=end)
    published, decisions.left_out = pool(cell_counts, k, hidden)
    pooled: dict[tuple[date, int], int] = defaultdict(int)
    current = None
    rows: defaultdict[tuple[date, int], int] = defaultdict(int)
    for office, month, code, n in combinations:
        label = published.get((office, month))
        if label is None:
            continue
        if label == POOLED:
            pooled[(month, code)] += n
            continue
        if office != current:
            if rows:
                _decide_label(decisions, current, rows, k)
            current, rows = office, defaultdict(int)
        rows[(month, code)] += n
    if rows:
        _decide_label(decisions, current, rows, k)
    if pooled:
        _decide_label(decisions, POOLED, pooled, k)
    pooled_ids = {month: decisions.cells.pop((POOLED, month)) for month in {m for m, _ in pooled}}
    for (office, month), label in published.items():
        if label == POOLED and month in pooled_ids:
            decisions.cells[(office, month)] = pooled_ids[month]
    return decisions


def _decide_label(decisions: Decisions, office, rows: dict[tuple[date, int], int], k: int) -> None:
    """Steps 2 and 3 for one office label (an office id, or POOLED)."""
    total_cells = sum(rows.values()) * len(BLANK_ORDER)

    def evaluate(kind: str):
        groups: dict[ReportingPeriod, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        periods = {month: ReportingPeriod.containing(month, kind) for month, _ in rows}
        for (month, code), n in rows.items():
            groups[periods[month]][code] += n
        results = {period: suppress(counts, k) for period, counts in groups.items()}
        blanked = sum(sum(_blanked_cells(groups[p], r[1]).values()) for p, r in results.items())
        return blanked <= GENERALISE_ABOVE * total_cells, kind, groups, results

    # The finest period that blanks at most GENERALISE_ABOVE of the cells, else half-years
    # (tried first: when even half-years blank more, nothing finer is tried).
    best = evaluate(PERIOD_LEVELS[-1])
    if best[0]:
        for kind in PERIOD_LEVELS[:-1]:
            tried = evaluate(kind)
            if tried[0]:
                best = tried
                break
    _, kind, groups, results = best
    ids = {}
    for period in sorted(groups):
        label_id = ids[period] = len(decisions.labels)
        decisions.labels.append((office, period))
        kept, level_of = results[period]
        counts = groups[period]
        base = label_id << LABEL_SHIFT
        # A set while deciding (see Decisions.kept).
        cast(set[int], decisions.kept).update(base | cls for cls in kept)
        sizes = list(kept.values())
        rows_in = sum(counts.values())
        if min(sizes) < k:  # never: the steps above make sure (and a test holds them to it)
            raise AnonymityError(f"a class under k = {k} in label {office} {period.code}")
        decisions.stats.append(
            LabelStats(
                rows=rows_in,
                pooled=rows_in if office == POOLED else 0,
                generalised=rows_in if kind != "month" else 0,
                blanked=_blanked_cells(counts, level_of),
                smallest=min(sizes),
                at_risk=sum(n for n in sizes if n < RISK_FACTOR * k),
                moments=(
                    sum((base | cls) * n for cls, n in kept.items()),
                    sum((base | cls) ** 2 * n for cls, n in kept.items()),
                ),
            )
        )
    for month, _ in rows:
        decisions.cells[(office, month)] = ids[ReportingPeriod.containing(month, kind)]


def level_for(kept: set[int], label_id: int, code: int) -> int:
    """The level a row is written at: the first whose class is kept (as a worker finds it)."""
    base = label_id << LABEL_SHIFT
    for level, mask in enumerate(LEVEL_MASKS):
        if base | (code & mask) in kept:
            return level
    raise LookupError("no kept class for this row")


def to_json(decisions: Decisions) -> dict:
    """The decisions as plain data (kept on disk per release: they never change)."""
    return {
        "k": decisions.k,
        "end": decisions.end.isoformat() if decisions.end else None,
        "left_out": decisions.left_out,
        "labels": [[office, period.code] for office, period in decisions.labels],
        "cells": [
            [office, month.isoformat(), label] for (office, month), label in decisions.cells.items()
        ],
        "kept": pack_kept(sorted(decisions.kept)),
        "stats": [
            [
                s.rows,
                s.pooled,
                s.generalised,
                [s.blanked[n] for n in BLANK_ORDER],
                s.smallest,
                s.at_risk,
                list(s.moments),
            ]
            for s in decisions.stats
        ],
    }


def from_json(data: dict) -> Decisions:
    return Decisions(
        k=data["k"],
        end=date.fromisoformat(data["end"]) if data["end"] else None,
        left_out=data["left_out"],
        labels=[(office, ReportingPeriod.parse(code)) for office, code in data["labels"]],
        cells={
            (office, date.fromisoformat(month)): label for office, month, label in data["cells"]
        },
        kept=unpack_kept(data["kept"]),
        stats=[
            LabelStats(
                rows,
                pooled,
                generalised,
                dict(zip(BLANK_ORDER, blanked, strict=False)),
                smallest,
                at_risk,
                tuple(moments),
            )
            for rows, pooled, generalised, blanked, smallest, at_risk, moments in data["stats"]
        ],
    )


def pack_kept(kept) -> str:
    """Kept class codes as text for a file or a worker: 8 bytes each, base64."""
    return base64.b64encode(array("Q", kept).tobytes()).decode("ascii")


def unpack_kept(text: str) -> array:
    found = array("Q")
    found.frombytes(base64.b64decode(text))
    return found


def check(decisions: Decisions, written: dict[int, list[int]]) -> None:
    """The k-anonymity check before a file streams. ``written``: per label id the rows
    the renderers wrote, and the sums of their class codes and of their squares. Every
    label must hold exactly the classes the rule decided (each checked >= k when decided):
    the same number of rows and the same two sums. A row moved to another class changes
    the first sum; two rows moved change one of the two unless they swapped classes,
    which leaves every class's size as it was."""
    for label_id, (rows, first, second) in written.items():
        stats = decisions.stats[label_id]
        if stats.smallest < decisions.k:
            raise AnonymityError(
                f"label {label_id} has a class under k = {decisions.k}: the file is not written"
            )
        if (rows, first, second) != (stats.rows, *stats.moments):
            raise AnonymityError(
                f"label {label_id}: the rows written do not form the classes decided for "
                f"the release (each >= k = {decisions.k}): the file is not written; the "
                "released data changed since (run `flask export prepare`)"
            )


class AnonymityError(RuntimeError):
    """The file would hold a combination of quasi-identifiers rarer than k."""
