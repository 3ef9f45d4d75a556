"""What the dashboards show, from the current release (``survey.releases``): figures for
any office (or the whole country) and reporting period, and which of them may be shown.

A snapshot holds one questionnaire version of one release: its frozen tallies and its
audited decisions, both read from the release tables, never from the live tallies, and
nothing is worked out per request (no suppression run; figures and visibility both come
frozen). It is cached per process under the release's number, so it is replaced only when
a new release is published. A snapshot made directly from month vectors (no ``shown``)
works its visibility out with ``survey.domain.suppression`` as before: that is for tests and
benchmarks of the rule, never for pages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from flask import current_app
from sqlalchemy import select

from .. import caching, questionnaire, releases
from ..domain.disclosure import diverse_mean
from ..domain.intervals import mean_interval, median_from_counts, wilson_interval
from ..domain.periods import PERIOD_KINDS, ReportingPeriod
from ..domain.suppression import NATIONAL, Shape, lattice, protect
from ..extensions import db
from ..models import (
    MEASURE_SUMMARY_COLUMNS,
    RUNGS,
    ReleaseCell,
    ReleaseMeasure,
    ReleaseTheme,
    release_tally_table,
)

BANDS = {1: (1, 2), 2: (3, 4, 5), 3: (6, 7, 8)}
# Position of each number in a tally vector: the tally row's numbers, then n, sum and
# sumsq of each of the snapshot's themes in turn (``theme_positions``).
RESPONSES = 0
RUNG_AT = {rung: rung for rung in RUNGS}  # 1..8
SUMMARY_AT = {name: 9 + n for n, name in enumerate(MEASURE_SUMMARY_COLUMNS)}
THEMES_AT = 9 + len(MEASURE_SUMMARY_COLUMNS)


def theme_positions(themes) -> dict[str, int]:
    """Where each theme's n (then its sum and sumsq) is in a vector of ``themes``."""
    return {theme: THEMES_AT + 3 * n for n, theme in enumerate(themes)}


def width(themes) -> int:
    """How many numbers a tally vector of ``themes`` holds."""
    return THEMES_AT + 3 * len(themes)


def shipped_themes(version: int) -> tuple[str, ...]:
    """The themes of a questionnaire version shipped as a file (none for another)."""
    known = questionnaire.published().get(version)
    return tuple(known.themes) if known is not None else ()


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
class PeriodFigures:
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
    # From a release: family -> the cells (scope, period) its audit decided to show; and
    # the release itself (its number, ``through`` and ``end``). None: worked out here.
    shown: dict[str, frozenset] | None = None
    release: ReleaseInfo | None = None
    # The themes in the vectors, in order (``theme_positions``); if none are given, those
    # of the version's shipped questionnaire file.
    themes: tuple[str, ...] = ()
    _sums: dict = field(default_factory=dict, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not self.themes:
            self.themes = shipped_themes(self.version)
        self.theme_at = theme_positions(self.themes)
        self.width = width(self.themes)

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
            total = [0.0] * self.width
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
        """Every period of ``kind`` that has data, newest first; from a release, only
        periods all of whose months it covers."""
        if not self.month_range:
            return []
        first, last = self.month_range
        period = ReportingPeriod.containing(first, kind)
        found = []
        end = self.release.end if self.release is not None else None
        while period.start <= last:
            if end is None or period.end <= end:
                found.append(period)
            period = period.following()
        return found[::-1]

    def default_period(self) -> ReportingPeriod | None:
        periods = self.periods("quarter")
        return periods[0] if periods else None

    # --- visibility -------------------------------------------------------------
    def _counts(self, position: int | slice) -> dict:
        counts: defaultdict[tuple, int] = defaultdict(int)
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

    @cached_property
    def _shapes(self) -> tuple[Shape, Shape]:
        """The lattice numbered once for ``protect``: for the responses' counts, and for
        every other measure's (``_lattice_counts`` lists the months, then the totals)."""
        counts, relations, children_of, bases = self._lattice
        return Shape(counts, relations), Shape([*bases, *children_of], relations)

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
        shape = self._shapes[0] if position == RESPONSES else self._shapes[1]
        return protect(counts, self._lattice[1], self.k, allowed=allowed, shape=shape)

    def shown_cells(self, family: str) -> frozenset:
        """The cells of ``family`` the release shows (see ``survey.releases``)."""
        return (self.shown or {}).get(family, frozenset())

    @cached_property
    def visible_responses(self) -> frozenset:
        if self.shown is not None:
            return self.shown_cells("responses")
        return self._protected(RESPONSES)

    @cached_property
    def visible_ladder(self) -> frozenset:
        if self.shown is not None:
            return self.shown_cells("ladder")
        return self._protected(slice(1, 9), allowed=self.visible_responses)

    @cached_property
    def visible_themes(self) -> dict[str, frozenset]:
        if self.shown is not None:
            return {theme: self.shown_cells(f"theme:{theme}") for theme in self.themes}
        return {
            theme: self._protected(self.theme_at[theme], allowed=self.visible_responses)
            for theme in self.themes
        }

    def published_total(self) -> int:
        """Responses in this version that the shown national cells add up to: per
        half-year the half-year if shown, else its shown quarters, else its shown months
        (a sum of shown cells, so it tells nothing the pages do not)."""
        shown = self.visible_responses
        total = 0
        for half in self.periods("half") + self._open_halves():
            if (NATIONAL, half) in shown:
                total += int(self.vector(NATIONAL, half)[RESPONSES])
                continue
            for quarter in half.children():
                if (NATIONAL, quarter) in shown:
                    total += int(self.vector(NATIONAL, quarter)[RESPONSES])
                    continue
                total += sum(
                    int(self.vector(NATIONAL, m)[RESPONSES])
                    for m in quarter.children()
                    if (NATIONAL, m) in shown
                )
        return total

    def _open_halves(self) -> list[ReportingPeriod]:
        """Half-years with data that the release does not cover whole."""
        if not self.month_range:
            return []
        covered = set(self.periods("half"))
        first, last = self.month_range
        half, found = ReportingPeriod.containing(first, "half"), []
        while half.start <= last:
            if half not in covered:
                found.append(half)
            half = half.following()
        return found

    def warm(self) -> Snapshot:
        """Work out every visibility now (done once per snapshot, under the cache lock)."""
        _ = self.visible_ladder, self.visible_themes
        return self

    # --- cells ------------------------------------------------------------------
    def cell(self, scope, period: ReportingPeriod) -> PeriodFigures:
        key = (scope, period)
        if key not in self.visible_responses:
            return PeriodFigures(scope, period, None, None, dict.fromkeys(self.themes))
        vector = self.vector(scope, period)
        return PeriodFigures(
            scope,
            period,
            int(vector[RESPONSES]),
            _ladder(vector) if key in self.visible_ladder else None,
            {
                theme: _theme(vector, self.theme_at[theme])
                if key in self.visible_themes[theme]
                else None
                for theme in self.themes
            },
        )

    def hidden_remainder(self, period: ReportingPeriod) -> PeriodFigures | None:
        """ "Andre kontorer": the offices whose figures are not shown for ``period``,
        pooled. Each figure is the national one minus the offices shown, so it is given
        only where the national figure is shown; the suppression rule keeps such a pool
        at 0 or at least k."""

        def pool(visible: frozenset, at) -> list[float] | None:
            if (NATIONAL, period) not in visible:
                return None
            vector = list(self.vector(NATIONAL, period))
            for office in self.offices:
                if (office, period) in visible:
                    vector = [
                        a - b for a, b in zip(vector, self.vector(office, period), strict=True)
                    ]
            return vector if _count(vector, at) >= self.k else None

        responses = pool(self.visible_responses, RESPONSES)
        if responses is None:
            return None
        ladder_pool = pool(self.visible_ladder, slice(1, 9))
        themes = {}
        for theme in self.themes:
            at = self.theme_at[theme]
            vector = pool(self.visible_themes[theme], at)
            # A pooled mean of identical answers gives each of them away (homogeneity).
            themes[theme] = (
                _theme(vector, at)
                if vector and diverse_mean(int(vector[at]), vector[at + 1], vector[at + 2])
                else None
            )
        return PeriodFigures(
            "andre",
            period,
            int(responses[RESPONSES]),
            _ladder(ladder_pool) if ladder_pool else None,
            themes,
        )


def bridged(
    cell: PeriodFigures, earlier: PeriodFigures | None, questionnaire, earlier_version: int
) -> PeriodFigures:
    """A period's cell for a trend of ``questionnaire``'s version across the change from
    ``earlier_version``: its own when it has figures; else the earlier version's cell,
    keeping only the scores the crosswalk says are comparable (``Questionnaire.
    comparable``). A score measured differently is None there, so its line breaks at the
    version change instead of joining two different constructs."""
    if cell.responses is not None or earlier is None or earlier.responses is None:
        return cell
    return PeriodFigures(
        earlier.scope,
        earlier.period,
        earlier.responses,
        earlier.ladder if questionnaire.comparable("rung", earlier_version) else None,
        {
            theme: figure if questionnaire.comparable(theme, earlier_version) else None
            for theme, figure in earlier.themes.items()
        },
    )


def _count(vector, at) -> int:
    return int(sum(vector[at]) if isinstance(at, slice) else vector[at])


def _ladder(vector) -> Ladder:
    counts = {rung: int(vector[RUNG_AT[rung]]) for rung in RUNGS}
    n = sum(counts.values())
    bands = {band: sum(counts[r] for r in rungs) for band, rungs in BANDS.items()}
    share = bands[3] / n
    interval = wilson_interval(bands[3], n)
    assert interval is not None  # n > 0, or the share would not divide
    return Ladder(n, counts, median_from_counts(counts), bands, share, interval)


def _theme(vector, at) -> ThemeFigure:
    n, total, total_sq = int(vector[at]), vector[at + 1], vector[at + 2]
    interval = mean_interval(n, total, total_sq)
    assert interval is not None  # a shown theme has answers: n > 0
    return ThemeFigure(n, *interval)


# --- loading and caching -------------------------------------------------------------


# One app's snapshots, one per (release, version). A release never changes, so a snapshot
# is built once and kept until a newer release replaces it; the bound is the questionnaire
# versions of one release.
SNAPSHOTS: caching.AppCache[tuple[int, int], Snapshot] = caching.AppCache(
    "dashboard snapshots", maxsize=64
)


def _snapshot_of(app, version: int, k: int | None = None, release=None) -> Snapshot:
    if release is None:
        release = releases.ensure_current()
    if release is None:
        return Snapshot(
            version=version,
            k=k or app.config["STIGEN_K"],
            months={},
            offices=(),
            shown={},
            release=None,
            themes=releases.themes_of(version, ()),
        )
    cache = SNAPSHOTS.of(app)

    def build() -> Snapshot:
        snap = _load(release, version).warm()
        cache.discard(lambda key: key[0] < release.id)  # older releases are never read again
        return snap

    return cache.get_or_make((release.id, version), build)


def snapshot(version: int, k: int | None = None, release=None) -> Snapshot:
    """The current release's figures of ``version`` with what may be shown of them
    (``k`` is the release's own; the argument is kept for callers that pass it). The
    current release is first brought up to date (``releases.ensure_current``) unless
    ``release`` is given."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy, typed as Flask
    return _snapshot_of(app, version, k, release)


@dataclass(frozen=True)
class ReleaseInfo:
    """What a snapshot keeps of its release (not the ORM row, which is session-bound)."""

    id: int
    through: date
    end: date
    k: int


def _load(release, version: int) -> Snapshot:
    t = release_tally_table.c
    columns = [
        t.responses,
        *(t[f"rung_{rung}"] for rung in RUNGS),
        *(t[name] for name in MEASURE_SUMMARY_COLUMNS),
    ]
    rt = ReleaseTheme
    theme_rows = db.session.execute(
        select(rt.office_id, rt.period_start, rt.theme, rt.n, rt.sum, rt.sumsq).where(
            rt.release_id == release.id, rt.questionnaire_version == version
        )
    ).all()
    themes = releases.themes_of(version, {row.theme for row in theme_rows})
    theme_at, size = theme_positions(themes), width(themes)
    months: dict[tuple[object, date], list[float]] = {}
    offices = set()
    rows = db.session.execute(
        select(t.office_id, t.period_start, *columns).where(
            t.release_id == release.id, t.questionnaire_version == version
        )
    )
    for office_id, period_start, *values in rows:
        key = (office_id, _month(period_start))  # ISO-week dates fold into their month
        offices.add(office_id)
        vector = months.setdefault(key, [0.0] * size)
        for n, value in enumerate(values):
            vector[n] += value
    for office_id, period_start, theme, *parts in theme_rows:
        vector = months.setdefault((office_id, _month(period_start)), [0.0] * size)
        for n, value in enumerate(parts):
            vector[theme_at[theme] + n] += value
    c = ReleaseCell
    shown: dict[str, set] = defaultdict(set)
    parsed: dict[str, ReportingPeriod] = {}
    for scope, code, family in db.session.execute(
        select(c.scope, c.period, c.family).where(
            c.release_id == release.id, c.questionnaire_version == version
        )
    ):
        period = parsed.get(code) or parsed.setdefault(code, ReportingPeriod.parse(code))
        shown[family].add((NATIONAL if scope == releases.NATIONAL_SCOPE else scope, period))
    info = ReleaseInfo(release.id, release.through, release.end, release.k)
    return Snapshot(
        version=version,
        k=release.k,
        months=months,
        offices=tuple(sorted(offices)),
        shown={family: frozenset(cells) for family, cells in shown.items()},
        release=info,
        themes=themes,
    )


def versions(release=None) -> list[int]:
    """The questionnaire versions the current release (or ``release``) holds figures of,
    newest first."""
    if release is None:
        release = releases.ensure_current()
    if release is None:
        return []
    t = release_tally_table.c
    return list(
        db.session.scalars(
            select(t.questionnaire_version)
            .distinct()
            .where(t.release_id == release.id)
            .order_by(t.questionnaire_version.desc())
        )
    )


# --- measures (tiltak), for one office ---------------------------------------------


@dataclass(frozen=True)
class MeasureFigure:
    measure: str
    participants: int


@dataclass(frozen=True)
class MeasureSummary:
    """Of those who took part in a measure: the share who found the last one useful and
    the share for whom it fitted, each over those who answered; None where hidden."""

    useful_share: float | None
    useful_answered: int | None
    fit_share: float | None
    fit_answered: int | None


def measures(snap: Snapshot, office_id: int, period: ReportingPeriod) -> list[MeasureFigure]:
    """How many took part in each measure at the office in ``period``: only the measures
    whose count the release shows for that cell (a measure too few took part in has no
    row at all, so its name tells nothing either)."""
    return snap.memo(("measures", office_id, period), lambda: _measures(snap, office_id, period))


def _measures(snap: Snapshot, office_id: int, period: ReportingPeriod) -> list[MeasureFigure]:
    if snap.release is None:
        return []
    key = (office_id, period)
    families = [
        f for f, cells in (snap.shown or {}).items() if f.startswith("measure:") and key in cells
    ]
    if not families or snap.release is None:  # shown only from a release
        return []
    m = ReleaseMeasure
    rows = db.session.execute(
        select(m.measure, m.participants).where(
            m.release_id == snap.release.id,
            m.office_id == office_id,
            m.questionnaire_version == snap.version,
            m.period_start >= period.start,
            m.period_start < period.end,
            m.measure.in_([f.removeprefix("measure:") for f in families]),
        )
    ).all()
    totals: dict[str, int] = defaultdict(int)
    for measure, participants in rows:
        totals[measure] += participants
    return [MeasureFigure(measure, n) for measure, n in sorted(totals.items())]


def measure_summary(snap: Snapshot, office_id: int, period: ReportingPeriod) -> MeasureSummary:
    """ "Var nyttig" and "passet" for the office and period, counted once per response
    that took part in a measure, each shown only where the release shows it."""
    key = (office_id, period)
    vector = snap.vector(office_id, period)
    figures: dict[str, tuple[float, int] | tuple[None, None]] = {}
    for family in ("useful", "fit"):
        answered = int(vector[SUMMARY_AT[f"{family}_answered"]])
        if key in snap.shown_cells(family) and answered:
            figures[family] = (vector[SUMMARY_AT[f"{family}_agreed"]] / answered, answered)
        else:
            figures[family] = (None, None)
    return MeasureSummary(*figures["useful"], *figures["fit"])


def warm_cache(app) -> list[int]:
    """Build the current release's snapshot of every version it holds, so that no
    request pays for the first build: gunicorn.conf.py calls it as a worker starts (tests
    and ``flask`` commands never do). Returns the versions built.

    It only reads the current release and never makes one: workers starting together
    would race to publish, and a release is made by a page that needs it, a scheduled
    ``flask releases publish`` or an admin."""
    with app.app_context():
        try:
            release = releases.current()
            if release is None:
                return []
            built = versions(release)
            for version in built:
                _snapshot_of(app, version, release=release)
            return built
        finally:
            db.session.remove()


__all__ = [
    "PERIOD_KINDS",
    "NATIONAL",
    "Snapshot",
    "snapshot",
    "measures",
    "measure_summary",
    "versions",
    "bridged",
]
