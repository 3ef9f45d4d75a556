"""Releases: the only figures anyone but a respondent ever sees (issue 11).

The release rule
----------------
Figures are published only for whole months that have ended and can no longer change
(``survey.domain.periods.complete_through``, the one statement of when a month is complete), and
for quarters and half-years only once all their months are in. A release covers every
month up to ``through`` (the first day of its last month):

* it copies the previous release's months VERBATIM (its frozen tallies and its decisions
  about which cells are shown): tallies of months already released are never read again,
  so nothing published ever moves, even if data under it changed (a late ISO week, a
  repair);
* it adds the newly complete months from the tallies, after the mixer has moved every
  waiting submission of those months into them (``survey.mixer.flush``);
* it audits the new cells against everything it and earlier releases publish, and stores
  its decisions.

So a cell of two consecutive releases is either unchanged or new, and a new cell is shown
only if its count passed the audit (at least k, and nothing small derivable from it):
the difference between two consecutive releases never describes fewer than k responses
in any shown cell. A release with no new month is made only to show comments approved
since the last one ("stamped" with the release that first shows them).

The audit, per questionnaire version and family of figures (``responses``; ``ladder``:
answers on the ladder; ``theme:<code>``: each theme's n; per office ``measure:<code>``:
participants; ``useful``/``fit``: answers to "var nyttig"/"passet" among those who took
part in a measure), over the reporting lattice (``survey.domain.suppression.lattice``) of the
released months, where months after ``through`` in the last half-year are known zeros:
``allowed`` = the cells of complete periods not decided hidden before, ``fixed`` = the
cells shown in the previous release, then ``protect``, the attacker audit
(``survey.domain.disclosure.audit``: linear programming with non-negativity and known zeros) and
the homogeneity rules (``protect_distributions`` for rung, band and usefulness
distributions; ``diverse_mean`` for theme means).

Pure of Flask except ``current``/``ensure_current`` (which cache per request in
``flask.g``) and the audit-log record.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from . import audit, mixer, versions
from .domain import disclosure, periods
from .domain.periods import ReportingPeriod
from .domain.suppression import NATIONAL, PublishedLeak, Shape, lattice, protect
from .extensions import db
from .models import (
    MEASURE_SUMMARY_COLUMNS,
    RUNGS,
    THEME_PARTS,
    Comment,
    MeasureTally,
    Release,
    ReleaseCell,
    ReleaseMeasure,
    ReleaseTheme,
    ThemeTally,
    release_tally_table,
    tally_table,
)

log = logging.getLogger(__name__)

NATIONAL_SCOPE = 0  # how the country is stored in ``release_cell.scope``
BANDS = {1: (1, 2), 2: (3, 4, 5), 3: (6, 7, 8)}
# Families shown for offices only (the measures table on the office page).
OFFICE_ONLY = ("measure:", "useful", "fit")


# --- reading ----------------------------------------------------------------------------


def latest() -> Release | None:
    """The newest release, read now (not cached)."""
    return db.session.scalar(select(Release).order_by(Release.id.desc()).limit(1))


def current() -> Release | None:
    """The release everything is read from: the newest one. One small query, kept for the
    rest of the request in ``flask.g``."""
    if not has_app_context():
        return latest()
    if "stigen_release" not in g:
        g.stigen_release = latest()
    return g.stigen_release


def forget_current() -> None:
    if has_app_context():
        g.pop("stigen_release", None)


def precision() -> str:
    return current_app.config.get("STIGEN_DATE_PRECISION", "month")


def next_update(release: Release | None, prec: str = "month") -> date:
    """The earliest day a release after ``release`` can come: the day the month after its
    last is complete. With no release yet (pages make the first one as soon as they are
    read, so only if that failed): the next day a month is completed."""
    if release is None:
        through = periods.complete_through(periods.today_in_norway(), prec)
        return periods.next_complete_on(through, prec)
    return periods.next_complete_on(release.through, prec)


# --- making one -------------------------------------------------------------------------


def publish(actor, today: date | None = None) -> Release | None:
    """Make and audit a new release, in the caller's transaction (the caller commits; on
    PostgreSQL two callers take turns on an advisory lock, and the second finds nothing
    new; on SQLite they collide on the release number and one gets IntegrityError). Returns
    None when there is nothing new: no newly complete month and no newly approved comment
    to show."""
    app = current_app
    k = app.config["STIGEN_K"]
    prec = precision()
    today = today or periods.today_in_norway()
    through = periods.complete_through(today, prec)
    # First, before this session reads: the mixer writes in sessions of its own.
    _flush_mixer(periods.add_months(through, 1))
    _one_publisher()
    previous = latest()
    if previous is not None and through <= previous.through:
        through = previous.through
        if not _comments_to_stamp(previous, _shown_cells(previous.id, "responses"), previous.end):
            return None
    end = periods.add_months(through, 1)

    # Read and audit first, write after: the audit takes seconds, and on SQLite a
    # transaction that has written holds the only write lock (submissions would wait).
    rows, measure_rows, theme_rows = _figures(previous, end)
    decisions, summary = _decide(rows, measure_rows, theme_rows, end, previous, k)
    release = Release(
        id=(previous.id + 1) if previous else 1,
        made_at=datetime.now(UTC),
        through=through,
        k=k,
        made_by=_name(actor),
        summary={},
    )
    db.session.add(release)
    db.session.flush()  # the release number is taken here (or IntegrityError)
    _store_figures(release, rows, measure_rows, theme_rows)
    cell_rows = [
        {
            "release_id": release.id,
            "questionnaire_version": version,
            "scope": NATIONAL_SCOPE if scope == NATIONAL else scope,
            "period": period.code,
            "family": family,
        }
        for (version, family), cells in decisions.items()
        for scope, period in cells
    ]
    if cell_rows:
        db.session.execute(insert(ReleaseCell.__table__), cell_rows)
    stamped = _stamp_comments(release, decisions, end)
    summary["comments_stamped"] = stamped
    release.summary = summary
    audit.record(
        "release.publish",
        {
            "release": release.id,
            "through": through.isoformat(),
            "k": k,
            "new_months": summary["new_months"],
            "families": summary["families"],
            "findings": summary["findings"],
            "comments_stamped": stamped,
        },
        actor=actor,
    )
    forget_current()
    return release


# The one lock every instance's ``publish`` takes on PostgreSQL (any fixed 64-bit key).
PUBLISH_LOCK = 0x5374_6967_656E  # "Stigen"


def _one_publisher() -> None:
    """With several instances on one PostgreSQL, one publishes at a time: a second waits
    for the first's transaction to end and then finds the release made (nothing new),
    instead of auditing for seconds only to lose on the release number. A transaction
    lock: it ends with the caller's commit or rollback. SQLite has one writer anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK})


def ensure_current(app=None, today: date | None = None) -> Release | None:
    """The current release, after publishing one first if a month has been completed since
    the newest (a cheap check: one query and a date). Safe against two workers: the one
    that loses the race on the release number rolls back and reads the winner's."""
    release = current()
    today = today or periods.today_in_norway()
    through = periods.complete_through(today, precision())
    if release is not None and release.through >= through:
        return release
    session = db.session
    if not (session.new or session.dirty or session.deleted):
        session.rollback()  # end this request's read, so the mixer may write (SQLite)
    try:
        publish("auto", today=today)
        db.session.commit()
    except IntegrityError:  # another worker published it first
        db.session.rollback()
    except PublishedLeak:  # cannot happen after audited releases; pages keep the last one
        db.session.rollback()
        log.exception("the release could not be made: its audit found a published leak")
    forget_current()
    return current()


def _name(actor) -> str:
    if isinstance(actor, str):
        return actor
    return getattr(actor, "username", None) or "shell"


def _flush_mixer(end: date) -> None:
    """Move waiting submissions of the months being released into the tallies first."""
    mixer.flush(before=end)


KEY_COLUMNS = ("office_id", "period_start", "questionnaire_version")
MEASURE_COLUMNS = (*KEY_COLUMNS, "measure", "participants")
THEME_COLUMNS = (*KEY_COLUMNS, "theme", *THEME_PARTS)


def _figures(previous: Release | None, end: date) -> tuple[list[dict], list[tuple], list[tuple]]:
    """What a release up to ``end`` holds: the previous release's rows verbatim (months
    once released are never read from the tallies again), then the tallies of the newly
    complete months. Tally rows as mappings of the tally's columns; measure rows as
    (office_id, period_start, version, measure, participants); theme rows as
    (office_id, period_start, version, theme, n, sum, sumsq)."""
    rt, t = release_tally_table.c, tally_table.c
    values = [c.name for c in tally_table.columns]
    rows: list[dict] = []
    start = previous.end if previous else None
    keyed: dict[tuple, list[tuple]] = {MEASURE_COLUMNS: [], THEME_COLUMNS: []}
    sources = {
        MEASURE_COLUMNS: (ReleaseMeasure.__table__.c, MeasureTally.__table__.c),
        THEME_COLUMNS: (ReleaseTheme.__table__.c, ThemeTally.__table__.c),
    }
    if previous is not None:
        rows += [
            dict(r._mapping)
            for r in db.session.execute(
                select(*(rt[name] for name in values)).where(rt.release_id == previous.id)
            )
        ]
        for names, (released, _) in sources.items():
            keyed[names] += [
                tuple(r)
                for r in db.session.execute(
                    select(*(released[n] for n in names)).where(released.release_id == previous.id)
                )
            ]
    if start is None or start < end:
        where = [t.period_start < end] + ([t.period_start >= start] if start else [])
        rows += [
            dict(r._mapping)
            for r in db.session.execute(select(*(t[name] for name in values)).where(*where))
        ]
        for names, (_, live) in sources.items():
            where = [live.period_start < end] + ([live.period_start >= start] if start else [])
            keyed[names] += [
                tuple(r)
                for r in db.session.execute(select(*(live[n] for n in names)).where(*where))
            ]
    return rows, keyed[MEASURE_COLUMNS], keyed[THEME_COLUMNS]


def _store_figures(
    release: Release, rows: list[dict], measure_rows: list[tuple], theme_rows: list[tuple]
) -> None:
    """The figures the release was audited on, exactly as they were read."""
    if rows:
        db.session.execute(
            insert(release_tally_table), [{"release_id": release.id, **row} for row in rows]
        )
    for table, names, keyed in (
        (ReleaseMeasure.__table__, MEASURE_COLUMNS, measure_rows),
        (ReleaseTheme.__table__, THEME_COLUMNS, theme_rows),
    ):
        if keyed:
            db.session.execute(
                insert(table),
                [
                    {"release_id": release.id, **dict(zip(names, row, strict=False))}
                    for row in keyed
                ],
            )


def _shown_cells(release_id: int, family: str | None = None) -> dict:
    """(version, family) -> the cells (scope, period) a release shows."""
    c = ReleaseCell
    query = select(c.questionnaire_version, c.family, c.scope, c.period).where(
        c.release_id == release_id
    )
    if family is not None:
        query = query.where(c.family == family)
    shown: dict[tuple[int, str], set] = defaultdict(set)
    parsed: dict[str, ReportingPeriod] = {}
    for version, fam, scope, code in db.session.execute(query):
        period = parsed.get(code) or parsed.setdefault(code, ReportingPeriod.parse(code))
        shown[(version, fam)].add((NATIONAL if scope == NATIONAL_SCOPE else scope, period))
    return shown


# --- the audit ----------------------------------------------------------------------------


def _month(day: date) -> date:
    return day.replace(day=1)


def family_counts(rows, measure_rows, theme_rows=()) -> dict[int, dict[str, dict]]:
    """version -> family -> {(office, month): count}: the counts each family is protected
    on, from release-tally rows (mappings of the tally's columns), release-measure rows
    (office_id, period_start, version, measure, participants) and release-theme rows
    (office_id, period_start, version, theme, n, sum, sumsq). Weeks fold into months."""
    out: dict[int, dict[str, dict]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in rows:
        families = out[row["questionnaire_version"]]
        key = (row["office_id"], _month(row["period_start"]))
        families["responses"][key] += row["responses"]
        families["ladder"][key] += sum(row[f"rung_{r}"] for r in RUNGS)
        families["useful"][key] += row["useful_answered"]
        families["fit"][key] += row["fit_answered"]
    for office_id, period_start, version, measure, participants in measure_rows:
        out[version][f"measure:{measure}"][(office_id, _month(period_start))] += participants
    for office_id, period_start, version, theme, n, *_ in theme_rows:
        out[version][f"theme:{theme}"][(office_id, _month(period_start))] += n
    return out


def _extra_counts(rows, theme_rows) -> dict[int, dict[str, dict]]:
    """version -> name -> {(office, month): value}: the parts of distributions and means
    (each rung, agreed answers, theme sums) that the homogeneity rules look at."""
    out: dict[int, dict[str, dict]] = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    names = [f"rung_{r}" for r in RUNGS] + ["useful_agreed", "fit_agreed"]
    for row in rows:
        parts = out[row["questionnaire_version"]]
        key = (row["office_id"], _month(row["period_start"]))
        for name in names:
            parts[name][key] += row[name]
    for office_id, period_start, version, theme, _, total, total_sq in theme_rows:
        key = (office_id, _month(period_start))
        out[version][f"{theme}_sum"][key] += total
        out[version][f"{theme}_sumsq"][key] += total_sq
    return out


def themes_of(version: int, found: Iterable[str]) -> tuple[str, ...]:
    """The themes of a version's figures, in order: those its questionnaire declares (each
    audited and shown, with nothing to show where no one has its index), then any other
    ``found`` in the figures, so that no figure goes unaudited."""
    known = versions.available().get(version)
    declared = tuple(known.themes) if known is not None else ()
    return declared + tuple(sorted(set(found) - set(declared)))


def decide(
    counts: Mapping,
    relations,
    k: int,
    allowed: set,
    fixed: frozenset,
    known: Mapping,
    distributions: Sequence[Mapping] = (),
    shape: Shape | None = None,
) -> tuple[frozenset, int]:
    """The cells shown of one family: ``protect`` with the previous release's cells fixed
    (they are published and stay so) and the months after the release known to be zero,
    then the attacker audit, then homogeneity (each of ``distributions``: per cell its
    counts per category, for ``protect_distributions``). Hiding a cell only widens what
    the attacker can say of the hidden ones, so the later steps never undo the earlier.
    Returns the cells and the number of audit findings. ``shape``: ``Shape(counts,
    relations)``, made once for every family over the same cells."""
    shown = protect(counts, relations, k, allowed | fixed, fixed=fixed, known=known, shape=shape)
    result = disclosure.audit(counts, relations, k, shown, fixed=fixed, known=known, shape=shape)
    shown = frozenset(result.visible)
    for category_counts in distributions:
        shown = disclosure.protect_distributions(
            category_counts, relations, k, shown, fixed=fixed, known=known
        )
    return frozenset(shown), len(result.findings)


def _lattice_of(month_counts: Mapping, offices) -> tuple[dict, list]:
    return lattice({key: int(n) for key, n in month_counts.items()}, offices)


def _decide(
    rows: list[dict],
    measure_rows: list[tuple],
    theme_rows: list[tuple],
    end: date,
    previous: Release | None,
    k: int,
):
    """Decide every family of every version of a release up to ``end`` holding ``rows``,
    ``measure_rows`` and ``theme_rows`` (see ``_figures``); returns ({(version, family):
    cells}, summary)."""
    counts_by_version = family_counts(rows, measure_rows, theme_rows)
    extras = _extra_counts(rows, theme_rows)
    before = _shown_cells(previous.id) if previous else {}
    previous_end = previous.end if previous else None
    decisions: dict[tuple[int, str], frozenset] = {}
    summary: dict[str, Any] = {
        "new_months": _months_between(previous_end, end, rows),
        "families": {},
        "findings": 0,
    }

    for version, families in sorted(counts_by_version.items()):
        offices = sorted({office for fam in families.values() for office, _ in fam})
        base_counts, relations = _lattice_of(families["responses"], offices)
        cells = list(base_counts)
        shape = Shape(cells, relations)  # every family's counts are on these cells, in order
        children_of: dict = {}
        for parent, children in relations:
            children_of.setdefault(parent, children)

        def on_lattice(month_counts: Mapping) -> dict:
            """Counts of every lattice cell for one family, on the very cell objects (and
            in the order) of the responses' lattice, so that ``protect`` reuses its shape:
            months from ``month_counts``, every other cell the sum of its parts (which
            the lattice lists before their whole)."""
            counts: dict = {}
            for cell in cells:
                parts = children_of.get(cell)
                counts[cell] = (
                    sum(map(counts.__getitem__, parts))
                    if parts
                    else month_counts.get((cell[0], cell[1].start), 0)
                )
            return counts

        complete = {c for c in cells if c[1].end <= end}
        known = {c: 0 for c in cells if c[1].start >= end}
        decided_before = {c for c in complete if previous_end and c[1].end <= previous_end}

        def allowed_for(family: str, within: AbstractSet | None = None) -> tuple[set, frozenset]:
            fixed = frozenset(before.get((version, family), ()))
            allowed = (complete - decided_before) | fixed
            if within is not None:
                allowed &= within | fixed
            if family.startswith(OFFICE_ONLY):
                allowed = {c for c in allowed if c[0] != NATIONAL}
            return allowed, fixed

        def run(
            family: str, counts: Mapping, allowed: set, fixed: frozenset, distributions=()
        ) -> frozenset:
            shown, findings = decide(
                counts, relations, k, allowed, fixed, known, distributions, shape
            )
            decisions[(version, family)] = shown
            considered = {
                c for c in complete if not family.startswith(OFFICE_ONLY) or c[0] != NATIONAL
            }
            summary["families"].setdefault(str(version), {})[family] = {
                "shown": len(shown),
                "hidden": len(considered - shown),
            }
            summary["findings"] += findings
            return shown

        def split(*lattices: Mapping) -> dict:
            """Per cell, its counts in each of ``lattices`` (one per category)."""
            return {c: [int(part.get(c, 0)) for part in lattices] for c in cells}

        allowed, fixed = allowed_for("responses")
        responses = run("responses", base_counts, allowed, fixed)
        parts = extras[version]

        # The ladder: its n, then homogeneity of rungs and of bands.
        ladder_counts = on_lattice(families["ladder"])
        allowed, fixed = allowed_for("ladder", responses)
        rungs = {r: on_lattice(parts[f"rung_{r}"]) for r in RUNGS}
        bands = [
            {c: sum(rungs[r].get(c, 0) for r in members) for c in cells}
            for members in BANDS.values()
        ]
        run("ladder", ladder_counts, allowed, fixed, [split(*rungs.values()), split(*bands)])

        found = [f.removeprefix("theme:") for f in families if f.startswith("theme:")]
        for theme in themes_of(version, found):
            family = f"theme:{theme}"
            theme_counts = on_lattice(families[family])
            allowed, fixed = allowed_for(family, responses)
            total = on_lattice(parts[f"{theme}_sum"])
            total_sq = on_lattice(parts[f"{theme}_sumsq"])
            allowed = {
                c
                for c in allowed
                if c in fixed
                or disclosure.diverse_mean(
                    theme_counts.get(c, 0), total.get(c, 0.0), total_sq.get(c, 0.0)
                )
            }
            run(family, theme_counts, allowed, fixed)

        # Measures: a row only where its count passes, and where it does not give away
        # that (nearly) everyone, or nearly no one, at the office took part in it.
        for family in sorted(f for f in families if f.startswith("measure:")):
            measure_counts = on_lattice(families[family])
            allowed, fixed = allowed_for(family, responses)
            rest = {c: base_counts.get(c, 0) - measure_counts.get(c, 0) for c in cells}
            run(family, measure_counts, allowed, fixed, [split(measure_counts, rest)])

        for family in ("useful", "fit"):
            answered = on_lattice(families[family])
            allowed, fixed = allowed_for(family, responses)
            agreed = on_lattice(parts[f"{family}_agreed"])
            rest = {c: answered.get(c, 0) - agreed.get(c, 0) for c in cells}
            run(family, answered, allowed, fixed, [split(agreed, rest)])
    return decisions, summary


def _months_between(start: date | None, end: date, rows) -> int:
    months = {_month(r["period_start"]) for r in rows}
    return sum(1 for m in months if m < end and (start is None or m >= start))


# --- comments -----------------------------------------------------------------------------


def _covering(month: date) -> list[ReportingPeriod]:
    return [ReportingPeriod.containing(month, kind) for kind in ("month", "quarter", "half")]


def _comments_to_stamp(release: Release, shown: Mapping, end: date) -> list:
    """Approved comments not yet in a release whose office's figures a release shows for a
    complete period that holds the comment's month."""
    c = Comment
    candidates = db.session.execute(
        select(c.id, c.office_id, c.period_start, c.questionnaire_version).where(
            c.status == "approved", c.release_id.is_(None), c.period_start < end
        )
    ).all()
    chosen = []
    for comment_id, office_id, period_start, version in candidates:
        cells = shown.get((version, "responses"), ())
        if any((office_id, p) in cells and p.end <= end for p in _covering(_month(period_start))):
            chosen.append(comment_id)
    return chosen


def _stamp_comments(release: Release, decisions: Mapping, end: date) -> int:
    chosen = _comments_to_stamp(release, decisions, end)
    for at in range(0, len(chosen), 500):
        db.session.execute(
            update(Comment)
            .where(Comment.id.in_(chosen[at : at + 500]))
            .values(release_id=release.id)
        )
    return len(chosen)


# --- listing --------------------------------------------------------------------------------


def all_releases() -> list[Release]:
    return list(db.session.scalars(select(Release).order_by(Release.id.desc())))


def shown_counts(release: Release) -> dict[int, int]:
    """Responses per questionnaire version in ``release`` (all its months)."""
    rt = release_tally_table.c
    return dict(
        db.session.execute(
            select(rt.questionnaire_version, func.sum(rt.responses))
            .where(rt.release_id == release.id)
            .group_by(rt.questionnaire_version)
        ).all()
    )


def drop_all() -> None:
    """Remove every release (tests and the demo's reseeding), in the caller's transaction."""
    db.session.execute(update(Comment).values(release_id=None))
    for table in (
        ReleaseCell.__table__,
        ReleaseMeasure.__table__,
        ReleaseTheme.__table__,
        release_tally_table,
        Release.__table__,
    ):
        db.session.execute(delete(table))
    forget_current()


__all__ = [
    "current",
    "ensure_current",
    "publish",
    "next_update",
    "family_counts",
    "decide",
    "MEASURE_SUMMARY_COLUMNS",
]
