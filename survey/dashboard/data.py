"""What the dashboards show, from the tallies: figures for any office (or the whole
country) and reporting period, and which of them may be shown (``survey.suppression``).

A snapshot holds one questionnaire version's tallies; it is cached per process and
replaced as soon as the tallies hold more responses, so figures and their visibility
always come from the same data.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import RUNGS, THEME_INDEX_COLUMNS, MeasureTally, tally_table
from ..periods import PERIOD_KINDS, ReportingPeriod
from ..statistics import mean_interval, median_from_counts, wilson_interval
from ..suppression import NATIONAL, lattice, protect

THEMES = tuple(THEME_INDEX_COLUMNS)
BANDS = {1: (1, 2), 2: (3, 4, 5), 3: (6, 7, 8)}
# Position of each number in a tally vector.
RESPONSES = 0
RUNG_AT = {rung: rung for rung in RUNGS}  # 1..8
THEME_AT = {theme: 9 + 3 * n for n, theme in enumerate(THEMES)}  # n, sum, sumsq
WIDTH = 9 + 3 * len(THEMES)


def _month(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class Ladder:
    n: int
    counts: dict[int, int]
    median: float | None
    band_counts: dict[int, int]
    real_share: float  # share in "reell innflytelse"
    real_interval: tuple[float, float]

    def share(self, rung: int) -> float:
        return self.counts[rung] / self.n

    def band_share(self, band: int) -> float:
        return self.band_counts[band] / self.n


@dataclass(frozen=True)
class ThemeFigure:
    n: int
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Cell:
    """Figures for one scope (office id or NATIONAL) and period; None where hidden."""

    scope: object
    period: ReportingPeriod
    responses: int | None
    ladder: Ladder | None
    themes: dict[str, ThemeFigure | None]


@dataclass
class Snapshot:
    version: int
    k: int
    months: dict[tuple[object, date], list[float]]  # (office_id, month) -> tally vector
    offices: tuple[int, ...]
    _sums: dict = field(default_factory=dict, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def memo(self, key, make):
        """What a page derives from this snapshot (charts, measures), made once: a
        snapshot never changes, so neither does anything derived from it."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # --- figures ------------------------------------------------------------------
    def vector(self, scope, period: ReportingPeriod) -> list[float]:
        key = (scope, period)
        if key not in self._sums:
            scopes = self.offices if scope == NATIONAL else (scope,)
            total = [0.0] * WIDTH
            month = period.start
            while month < period.end:
                for office in scopes:
                    row = self.months.get((office, month))
                    if row:
                        total = [a + b for a, b in zip(total, row, strict=True)]
                month = ReportingPeriod.containing(month, "month").end
            self._sums[key] = total
        return self._sums[key]

    @cached_property
    def month_range(self) -> tuple[date, date] | None:
        if not self.months:
            return None
        months = [m for _, m in self.months]
        return min(months), max(months)

    def periods(self, kind: str) -> list[ReportingPeriod]:
        """Every period of ``kind`` that has data, newest first."""
        if not self.month_range:
            return []
        first, last = self.month_range
        period = ReportingPeriod.containing(first, kind)
        found = []
        while period.start <= last:
            found.append(period)
            period = period.following()
        return found[::-1]

    def default_period(self) -> ReportingPeriod | None:
        periods = self.periods("quarter")
        return periods[0] if periods else None

    # --- visibility -------------------------------------------------------------
    def _counts(self, position: int | slice) -> dict:
        counts = defaultdict(int)
        for (office, month), row in self.months.items():
            value = sum(row[position]) if isinstance(position, slice) else row[position]
            counts[(office, month)] += int(value)
        return counts

    @cached_property
    def _lattice(self):
        """Cells and relations of the reporting lattice, built once: every measure
        (responses, ladder answers, each theme) shares them and differs only in counts."""
        counts, relations = lattice(self._counts(RESPONSES), self.offices)
        children_of = {}
        for parent, children in relations:
            children_of.setdefault(parent, children)
        # A list, not a set: the cells' order decides ties in protect(), so it must not
        # depend on the process's string hashing (two workers would differ).
        bases = [cell for cell in counts if cell not in children_of]
        return counts, relations, children_of, bases

    def _lattice_counts(self, position) -> dict:
        """Counts of every lattice cell for one measure: month cells from the tallies,
        every other cell as the sum of its children (each computed once)."""
        _, _, children_of, bases = self._lattice
        month_counts = self._counts(position)
        counts = {cell: month_counts.get((cell[0], cell[1].start), 0) for cell in bases}

        def count(cell) -> int:
            if cell not in counts:
                counts[cell] = sum(count(child) for child in children_of[cell])
            return counts[cell]

        at = counts.__getitem__
        for cell, children in children_of.items():
            try:  # lattice() lists parts before their whole: their counts are ready
                counts[cell] = sum(map(at, children))
            except KeyError:
                count(cell)
        return counts

    def _protected(self, position, allowed=None) -> frozenset:
        counts = self._lattice[0] if position == RESPONSES else self._lattice_counts(position)
        return protect(counts, self._lattice[1], self.k, allowed=allowed)

    @cached_property
    def visible_responses(self) -> frozenset:
        return self._protected(RESPONSES)

    @cached_property
    def visible_ladder(self) -> frozenset:
        return self._protected(slice(1, 9), allowed=self.visible_responses)

    @cached_property
    def visible_themes(self) -> dict[str, frozenset]:
        return {
            theme: self._protected(THEME_AT[theme], allowed=self.visible_responses)
            for theme in THEMES
        }

    def warm(self) -> Snapshot:
        """Work out every visibility now (done once per snapshot, under the cache lock)."""
        _ = self.visible_ladder, self.visible_themes
        return self

    # --- cells ------------------------------------------------------------------
    def cell(self, scope, period: ReportingPeriod) -> Cell:
        key = (scope, period)
        if key not in self.visible_responses:
            return Cell(scope, period, None, None, {theme: None for theme in THEMES})
        vector = self.vector(scope, period)
        return Cell(
            scope, period, int(vector[RESPONSES]),
            _ladder(vector) if key in self.visible_ladder else None,
            {theme: _theme(vector, THEME_AT[theme]) if key in self.visible_themes[theme] else None
             for theme in THEMES},
        )

    def hidden_remainder(self, period: ReportingPeriod) -> Cell | None:
        """"Andre kontorer": the offices whose figures are not shown for ``period``,
        pooled. Each figure is the national one minus the offices shown, so it is given
        only where the national figure is shown; the suppression rule keeps such a pool
        at 0 or at least k."""
        def pool(visible: frozenset, at) -> list[float] | None:
            if (NATIONAL, period) not in visible:
                return None
            vector = list(self.vector(NATIONAL, period))
            for office in self.offices:
                if (office, period) in visible:
                    vector = [a - b for a, b in zip(vector, self.vector(office, period),
                                                    strict=True)]
            return vector if _count(vector, at) >= self.k else None

        responses = pool(self.visible_responses, RESPONSES)
        if responses is None:
            return None
        ladder_pool = pool(self.visible_ladder, slice(1, 9))
        themes = {}
        for theme in THEMES:
            vector = pool(self.visible_themes[theme], THEME_AT[theme])
            themes[theme] = _theme(vector, THEME_AT[theme]) if vector else None
        return Cell("andre", period, int(responses[RESPONSES]),
                    _ladder(ladder_pool) if ladder_pool else None, themes)


def _count(vector, at) -> int:
    return int(sum(vector[at]) if isinstance(at, slice) else vector[at])


def _ladder(vector) -> Ladder:
    counts = {rung: int(vector[RUNG_AT[rung]]) for rung in RUNGS}
    n = sum(counts.values())
    bands = {band: sum(counts[r] for r in rungs) for band, rungs in BANDS.items()}
    return Ladder(n, counts, median_from_counts(counts), bands, bands[3] / n,
                  wilson_interval(bands[3], n))


def _theme(vector, at) -> ThemeFigure:
    n, total, total_sq = int(vector[at]), vector[at + 1], vector[at + 2]
    return ThemeFigure(n, *mean_interval(n, total, total_sq))


# --- loading and caching -------------------------------------------------------------

class SnapshotCache:
    """One app's snapshots, one per (version, k).

    A snapshot is rebuilt when the tallies hold more responses than it did. Until the new
    one is ready, requests get the previous one (built in a background thread when
    ``STIGEN_DASHBOARD_BACKGROUND_REFRESH`` is on): a few seconds behind, but its figures
    and what it hides always come from the same data, so it stays safe to show.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[tuple[int, int], tuple[tuple, Snapshot]] = {}
        self.refreshing: set[tuple[int, int]] = set()

    def get(self, app, version: int, k: int) -> Snapshot:
        key = (version, k)
        stamp = _stamp(version)
        entry = self.entries.get(key)
        if entry and entry[0] == stamp:
            return entry[1]
        if entry and app.config.get("STIGEN_DASHBOARD_BACKGROUND_REFRESH", True):
            with self.lock:
                if key not in self.refreshing:
                    self.refreshing.add(key)
                    threading.Thread(target=self._refresh_in_background, args=(app, key),
                                     daemon=True).start()
            return entry[1]
        with self.lock:
            entry = self.entries.get(key)
            if entry and entry[0] == stamp:
                return entry[1]
            snap = _load(version, k).warm()
            self.entries[key] = (stamp, snap)
            return snap

    def _refresh_in_background(self, app, key) -> None:
        version, k = key
        try:
            with app.app_context():
                stamp = _stamp(version)  # read before the rows: at worst refreshed again
                snap = _load(version, k).warm()
                with self.lock:
                    self.entries[key] = (stamp, snap)
                db.session.remove()
        finally:
            with self.lock:
                self.refreshing.discard(key)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _stamp(version: int) -> tuple:
    """What changes whenever a response is added: the tallies' row count and total."""
    t = tally_table.c
    return tuple(db.session.execute(
        select(func.count(), func.coalesce(func.sum(t.responses), 0))
        .where(t.questionnaire_version == version)
    ).one())


def _cache(app) -> SnapshotCache:
    return app.extensions.setdefault("stigen_snapshots", SnapshotCache())


def snapshot(version: int, k: int) -> Snapshot:
    """The tallies of ``version`` with what may be shown of them (see SnapshotCache)."""
    app = current_app._get_current_object()
    return _cache(app).get(app, version, k)


def _load(version: int, k: int) -> Snapshot:
    t = tally_table.c
    columns = [
        t.responses,
        *(t[f"rung_{rung}"] for rung in RUNGS),
        *(t[f"{theme}_{part}"] for theme in THEMES for part in ("n", "sum", "sumsq")),
    ]
    months: dict[tuple[object, date], list[float]] = {}
    offices = set()
    rows = db.session.execute(
        select(t.office_id, t.period_start, *columns).where(t.questionnaire_version == version)
    )
    for office_id, period_start, *values in rows:
        key = (office_id, _month(period_start))  # ISO-week dates fold into their month
        offices.add(office_id)
        if key in months:
            months[key] = [a + b for a, b in zip(months[key], values, strict=True)]
        else:
            months[key] = [float(v) for v in values]
    return Snapshot(version=version, k=k, months=months, offices=tuple(sorted(offices)))


def versions() -> list[int]:
    t = tally_table.c
    return list(db.session.scalars(
        select(t.questionnaire_version).distinct().order_by(t.questionnaire_version.desc())
    ))


# --- measures (tiltak), for one office ---------------------------------------------

@dataclass(frozen=True)
class MeasureFigure:
    measure: str
    participants: int | None  # None: too few to show
    useful_share: float | None
    useful_answered: int | None


def measures(snap: Snapshot, office_id: int, period: ReportingPeriod) -> list[MeasureFigure]:
    """How many took part in each measure at the office in ``period``, and the share who
    found it useful; each count protected over the office's own reporting periods.
    (Measure tallies change only with the response tallies, so the snapshot can keep it.)"""
    return snap.memo(("measures", office_id, period),
                     lambda: _measures(snap, office_id, period))


def _measures(snap: Snapshot, office_id: int, period: ReportingPeriod) -> list[MeasureFigure]:
    m = MeasureTally
    rows = db.session.execute(
        select(m.measure, m.period_start, m.participants, m.useful_answered, m.useful_agreed)
        .where(m.office_id == office_id, m.questionnaire_version == snap.version)
    ).all()
    by_measure: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for measure, period_start, participants, answered, agreed in rows:
        cell = by_measure[measure][_month(period_start)]
        cell[0] += participants
        cell[1] += answered
        cell[2] += agreed
    allowed = {c for c in snap.visible_responses if c[0] == office_id}
    figures = []
    for measure, months in sorted(by_measure.items()):
        key = (office_id, period)
        counts, relations = lattice({(office_id, mo): v[0] for mo, v in months.items()}, [office_id])
        shown = protect(counts, relations, snap.k, allowed=allowed)
        if key not in shown:
            figures.append(MeasureFigure(measure, None, None, None))
            continue
        in_period = [v for mo, v in months.items() if period.contains(mo)]
        participants = sum(v[0] for v in in_period)
        answered_counts, _ = lattice({(office_id, mo): v[1] for mo, v in months.items()}, [office_id])
        useful_shown = protect(answered_counts, relations, snap.k, allowed=shown)
        answered = sum(v[1] for v in in_period)
        agreed = sum(v[2] for v in in_period)
        if key in useful_shown and answered:
            figures.append(MeasureFigure(measure, participants, agreed / answered, answered))
        else:
            figures.append(MeasureFigure(measure, participants, None, None))
    return figures


def clear_cache() -> None:
    _cache(current_app._get_current_object()).clear()


def warm_cache(app) -> list[int]:
    """Build the snapshot of every questionnaire version with data now, at the app's k,
    so that no request pays for the first build: gunicorn.conf.py calls it as a worker
    starts (tests and ``flask`` commands never do). Returns the versions built."""
    with app.app_context():
        try:
            built = versions()
            for version in built:
                _cache(app).get(app, version, app.config["STIGEN_K"])
            return built
        finally:
            db.session.remove()


__all__ = ["PERIOD_KINDS", "NATIONAL", "Snapshot", "snapshot", "measures", "versions"]
