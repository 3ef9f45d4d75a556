"""The aggregate table the dashboards show, per office and period, suppressed exactly as
on screen (the same snapshot cells, so the current release's frozen figures and audited
decisions: the file changes only with a release). Pure over a snapshot: no Flask."""

from __future__ import annotations

from collections.abc import Iterable

from ..dashboard.data import NATIONAL, PeriodFigures, Snapshot
from ..domain.periods import ReportingPeriod

LADDER_HEADER = [
    "office",
    "period",
    "responses",
    "ladder_n",
    "median_rung",
    "share_ikke_deltakelse",
    "share_symbolsk_deltakelse",
    "share_reell_innflytelse",
    "reell_low95",
    "reell_high95",
]


def header(themes) -> list[str]:
    """The table's columns: the ladder's, then n, index and interval of each theme."""
    return [
        *LADDER_HEADER,
        *(f"{theme}_{part}" for theme in themes for part in ("n", "index", "low95", "high95")),
    ]


def float_columns(themes) -> tuple[int, ...]:
    """The places of the columns with decimals in ``header(themes)``."""
    return tuple(
        i
        for i, name in enumerate(header(themes))
        if name.startswith(("median", "share", "reell"))
        or name.endswith(("index", "low95", "high95"))
    )


def _row(label: str, cell: PeriodFigures, themes) -> list:
    ladder = cell.ladder
    row: list[object] = [label, cell.period.code, cell.responses]
    if ladder:
        row += [
            ladder.n,
            ladder.median,
            *(round(ladder.band_share(b), 4) for b in (1, 2, 3)),
            round(ladder.real_interval[0], 4),
            round(ladder.real_interval[1], 4),
        ]
    else:
        row += [None] * 7
    for theme in themes:
        figure = cell.themes.get(theme)
        row += (
            [figure.n, round(figure.mean, 2), round(figure.low, 2), round(figure.high, 2)]
            if figure
            else [None] * 4
        )
    return row


def aggregate_rows(
    snap: Snapshot,
    offices: Iterable[tuple[int, str]],
    periods: Iterable[ReportingPeriod],
    with_pool: bool,
) -> list[list]:
    """One row per office and period, then "andre" (offices not shown, pooled) and
    "hele_landet"; a hidden figure is an empty cell, exactly as a missing one. Theme
    columns are those of ``header(snap.themes)``."""
    rows = []
    themes = snap.themes
    offices = list(offices)
    for period in periods:
        for office_id, code in offices:
            rows.append(_row(code, snap.cell(office_id, period), themes))
        if with_pool and (pool := snap.hidden_remainder(period)):
            rows.append(_row("andre", pool, themes))
        rows.append(_row("hele_landet", snap.cell(NATIONAL, period), themes))
    return rows
