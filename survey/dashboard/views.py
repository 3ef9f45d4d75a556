"""Routes of the leaders' dashboards. Every figure comes from ``data``, read from the
current release (``survey.releases``); views only choose, label and draw."""

from __future__ import annotations

from pathlib import Path

from flask import abort, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import releases
from ..domain.periods import PERIOD_KINDS, ReportingPeriod
from ..extensions import db
from ..formatting import number, percent
from ..models import Office
from ..versions import available, live_version
from ..whole_numbers import whole_number
from . import bp, charts, data
from .labels import BAND_OF_RUNG, BANDS, KIND_LABELS, RUNGS, period_label, rung_label

# plotly.js's basic bundle (bars, markers, error bars), vendored: scripts/vendor_plotly.py.
PLOTLY_JS = (
    Path(__file__).resolve().parent.parent / "static" / "vendor" / "plotly" / "plotly-basic.min.js"
)
TREND_PERIODS = 8
SORT_KEYS = ("navn", "svar", "median", "reell")  # and each theme of the version shown


def accessible_offices() -> list[Office]:
    """Offices the signed-in account may see: all for admin and forsker, their own for
    a leder."""
    if current_user.sees_all_offices():
        return list(db.session.scalars(select(Office).order_by(Office.name)))
    return list(current_user.offices)


def chosen_version(versions: list[int]) -> int:
    """The version asked for if the release has figures of it, else the live version if
    it has, else the newest it has (or the live one when it has none)."""
    live = live_version()
    versions = versions or [live]
    raw = request.args.get("versjon", "")
    version = whole_number(raw)
    if version in versions:
        return version
    return live if live in versions else versions[0]


def release_context() -> dict:
    """The release the page shows and when the next one can come, for every dashboard
    page (published lazily here once a month is complete)."""
    release = releases.ensure_current()
    return {
        "released": {
            "release": release,
            "through_label": (
                period_label(ReportingPeriod.containing(release.through, "month"))
                if release
                else None
            ),
            "next_label": format_date(
                releases.next_update(release, releases.precision()), "d. MMMM y"
            ),
        }
    }


def chosen_period(snap: data.Snapshot) -> ReportingPeriod | None:
    """The period asked for if it is one of the fixed periods with data, else the
    newest quarter: there is no free date range."""
    try:
        period = ReportingPeriod.parse(request.args.get("periode", ""))
    except ValueError:
        return snap.default_period()
    return period if period in snap.periods(period.kind) else snap.default_period()


def period_choices(snap: data.Snapshot) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (str(KIND_LABELS[kind]), [(p.code, period_label(p)) for p in snap.periods(kind)])
        for kind in PERIOD_KINDS
    ]


def theme_labels(version: int, codes) -> dict[str, str]:
    """The label of each theme in ``codes`` (a snapshot's themes), in ``version``'s
    questionnaire."""
    lang = str(get_locale())
    known = available()
    themes = known[version].themes if version in known else {}
    return {code: (themes[code].label(lang) if code in themes else code) for code in codes}


def band_labels() -> dict[int, str]:
    return {band: str(label) for band, label in BANDS.items()}


@bp.get("/")
@login_required
def home():
    """Where a signed-in account starts: its office, or the overview."""
    offices = accessible_offices()
    if current_user.role == "leder" and len(offices) == 1:
        return redirect(url_for("dashboard.office", slug=offices[0].slug))
    return redirect(url_for("dashboard.overview"))


@bp.get("/oversikt")
@login_required
def overview():
    """All offices the account may see, side by side for one period, with the country."""
    offices = accessible_offices()
    if current_user.role == "leder" and len(offices) == 1:
        kept = {k: request.args[k] for k in ("periode", "versjon") if k in request.args}
        return redirect(url_for("dashboard.office", slug=offices[0].slug, **kept))
    released = release_context()
    versions = data.versions()
    version = chosen_version(versions)
    snap = data.snapshot(version)
    period = chosen_period(snap)
    lang = str(get_locale())
    rows, pool, national, figure, sketch = [], None, None, None, None
    if period:
        rows = [(office, snap.cell(office.id, period)) for office in offices]
        rows = _sorted(rows, request.args.get("sorter", "navn"), snap.themes)
        national = snap.cell(data.NATIONAL, period)
        if current_user.sees_all_offices():
            pool = snap.hidden_remainder(period)
        drawn = [(o.name, c.ladder) for o, c in rows if c.ladder]
        if pool and pool.ladder:
            drawn.append((_("Andre kontorer"), pool.ladder))
        if drawn:
            names = [name for name, _ in drawn]
            shares = {band: [ladder.band_share(band) for _, ladder in drawn] for band in BANDS}
            figure, sketch = snap.memo(
                ("overview-figure", period, lang, tuple(names)),
                lambda: (
                    charts.overview(names, shares, band_labels(), lang),
                    charts.stacked_rows(
                        names,
                        shares,
                        [
                            _("reell %(share)s", share=percent(ladder.band_share(3)))
                            for _name, ladder in drawn
                        ],
                    ),
                ),
            )
    return render_template(
        "dashboard/overview.html",
        snap=snap,
        period=period,
        version=version,
        versions=versions,
        choices=period_choices(snap) if period else [],
        rows=rows,
        pool=pool,
        national=national,
        figure=figure,
        sketch=sketch,
        themes=theme_labels(version, snap.themes),
        band_legend=[(label, charts.BAND_COLOURS[band]) for band, label in band_labels().items()],
        sort=request.args.get("sorter", "navn"),
        sort_keys=(*SORT_KEYS, *snap.themes),
        period_label=period_label,
        **released,
    )


def _sorted(rows, key: str, themes: tuple[str, ...]):
    def value(row):
        office, cell = row
        if key == "svar":
            return cell.responses
        if key == "median":
            return cell.ladder.median if cell.ladder else None
        if key == "reell":
            return cell.ladder.real_share if cell.ladder else None
        if key in themes:
            figure = cell.themes[key]
            return figure.mean if figure else None
        return None

    if key not in (*SORT_KEYS, *themes) or key == "navn":
        return rows
    # Highest first; cells too small to show go last and look the same as empty ones.
    return sorted(rows, key=lambda row: (value(row) is None, -(value(row) or 0)))


@bp.get("/kontor/<slug>")
@login_required
def office(slug: str):
    """One office: the ladder, the themes beside the country and the previous period,
    the trend, and the measures, for one fixed period."""
    office = next((o for o in accessible_offices() if o.slug == slug), None)
    if office is None:
        abort(404)  # another office's page does not reveal that it exists
    released = release_context()
    versions = data.versions()
    version = chosen_version(versions)
    snap = data.snapshot(version)
    period = chosen_period(snap)
    lang = str(get_locale())
    context = {
        **released,
        "office": office,
        "snap": snap,
        "period": period,
        "version": version,
        "versions": versions,
        "period_label": period_label,
        "choices": period_choices(snap) if period else [],
        "themes": theme_labels(version, snap.themes),
        "rung_label": rung_label,
        "band_labels": band_labels(),
        "band_of_rung": BAND_OF_RUNG,
    }
    if period is None:
        return render_template("dashboard/office.html", cell=None, **context)

    cell = snap.cell(office.id, period)
    national = snap.cell(data.NATIONAL, period)
    # Across a version change, earlier periods come from the version the crosswalk names,
    # with only the scores it calls comparable (data.bridged); the rest stay empty.
    questionnaire = available().get(version)
    earlier = (
        data.snapshot(questionnaire.crosswalk_from)
        if questionnaire and questionnaire.crosswalk_from in versions
        else None
    )

    def across(p: ReportingPeriod):
        own = snap.cell(office.id, p)
        if earlier is None:
            return own
        return data.bridged(own, earlier.cell(office.id, p), questionnaire, earlier.version)

    previous = across(period.previous())
    periods = set(snap.periods(period.kind))
    # ``earlier`` is there only with a questionnaire naming it.
    if (
        earlier is not None
        and questionnaire is not None
        and questionnaire.comparable("rung", earlier.version)
    ):
        periods |= set(earlier.periods(period.kind))  # the ladder's trend goes on
    trend = [period]
    while len(trend) < TREND_PERIODS and trend[-1].previous() in periods:
        trend.append(trend[-1].previous())
    trend_cells = [across(p) for p in reversed(trend)]
    # Scores of an earlier version's period that are not comparable: said so, not "hidden".
    incomparable = {
        (c.period, code)
        for c in [previous, *trend_cells]
        if earlier is not None
        and questionnaire is not None
        and snap.cell(office.id, c.period).responses is None
        and c.responses is not None
        for code in snap.themes
        if not questionnaire.comparable(code, earlier.version)
    }
    measure_labels = _measure_labels(version, lang)
    measures = [m for m in data.measures(snap, office.id, period) if m.measure in measure_labels]
    measures.sort(key=lambda m: list(measure_labels).index(m.measure))
    measure_summary = data.measure_summary(snap, office.id, period)
    comments = _approved_comments(office, period, version, cell, snap)

    series = [
        (office.name, cell),
        (_("Hele landet"), national),
        (_("Forrige periode (%(period)s)", period=period_label(period.previous())), previous),
    ]
    figures, sketches = snap.memo(
        ("office-figures", office.id, period, lang),
        lambda: _office_figures(
            office, period, cell, series, trend_cells, measures, measure_labels, context, lang
        ),
    )
    return render_template(
        "dashboard/office.html",
        cell=cell,
        national=national,
        previous=previous,
        series=series,
        trend_cells=trend_cells,
        measures=measures,
        measure_labels=measure_labels,
        measure_summary=measure_summary,
        figures=figures,
        sketches=sketches,
        legends=_legends(series),
        comments=comments,
        incomparable=incomparable,
        bridged_from=earlier.version if earlier else None,
        **context,
    )


def _approved_comments(office, period, version: int, cell, snap) -> list[str] | None:
    """The office's approved free text from every month of ``period`` that a release has
    shown (stamped with it, ``survey.releases``), in a random order fixed per release (sorted
    first, so the order the database keeps tells nothing; fixed, so a reload shows nothing new);
    None when the office's figures for the period are hidden (the same rule as the
    figures: too few responses, so nothing of theirs is shown). A comment approved since
    the release waits for the next one, so leaders never see one appear between two
    releases. Pending and rejected comments never leave the moderation queue."""
    import random

    from ..models import Comment

    if cell.responses is None or snap.release is None:
        return None
    bodies = list(
        db.session.scalars(
            select(Comment.body).where(
                Comment.release_id.is_not(None),
                Comment.release_id <= snap.release.id,
                Comment.office_id == office.id,
                Comment.status == "approved",
                Comment.body != "",
                Comment.questionnaire_version == version,
                Comment.period_start >= period.start,
                Comment.period_start < period.end,
            )
        )
    )
    bodies.sort()
    random.Random(f"{snap.release.id}:{office.id}:{period.code}:{version}").shuffle(bodies)
    return bodies


def _legends(series) -> dict[str, list[tuple[str, str]]]:
    """Colour keys for the server-drawn charts: the bands, and the themes' series."""
    bands = [(label, charts.BAND_COLOURS[band]) for band, label in band_labels().items()]
    return {
        "bands": bands,
        "series": [
            (name, colour)
            for (name, _c), colour in zip(series, charts.SERIES_COLOURS, strict=False)
        ],
    }


def _office_figures(
    office, period, cell, series, trend_cells, measures, measure_labels, context, lang
) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """The office page's plotly figures as JSON, and the same charts as rows for the
    server-drawn SVG (built once per snapshot and language)."""
    figures, sketches = {}, {}
    labels = context["themes"]
    themes = list(labels)
    if cell.ladder:
        figures["ladder"] = charts.ladder(
            {r: cell.ladder.share(r) for r in RUNGS},
            cell.ladder.counts,
            {r: rung_label(r) for r in RUNGS},
            BAND_OF_RUNG,
            band_labels(),
            lang,
        )
        top_down = list(range(8, 0, -1))
        sketches["ladder"] = charts.bar_rows(
            [rung_label(r) for r in top_down],
            [cell.ladder.share(r) for r in top_down],
            [charts.BAND_COLOURS[BAND_OF_RUNG[r]] for r in top_down],
            [percent(cell.ladder.share(r)) for r in top_down],
        )
    theme_values = [
        (name, [(f.mean, f.low, f.high) if (f := c.themes.get(t)) else None for t in themes])
        for name, c in series
    ]
    if any(v for _, values in theme_values for v in values):
        figures["themes"] = charts.themes([labels[t] for t in themes], theme_values, lang)
        sketches["themes"] = charts.mark_rows(
            [labels[t] for t in themes], [values for _, values in theme_values]
        )
    if any(c.ladder for c in trend_cells):
        shares = {
            b: [c.ladder.band_share(b) if c.ladder else None for c in trend_cells] for b in BANDS
        }
        medians = [c.ladder.median if c.ladder else None for c in trend_cells]
        figures["trend"] = charts.trend(
            [period_label(c.period) for c in trend_cells],
            shares,
            band_labels(),
            medians,
            _("Median trinn"),
            lang,
        )
        sketches["trend"] = charts.stacked_rows(
            [period_label(c.period) for c in trend_cells],
            shares,
            [_("median %(rung)s", rung=number(m, 1)) if m is not None else "" for m in medians],
        )
    shown_measures = [m for m in measures if m.participants]
    if shown_measures:
        figures["measures"] = charts.measures(
            [measure_labels[m.measure] for m in shown_measures],
            [m.participants for m in shown_measures],
            lang,
        )
        sketches["measures"] = charts.bar_rows(
            [measure_labels[m.measure] for m in shown_measures],
            [m.participants for m in shown_measures],
            ["#0072B2"] * len(shown_measures),
            [number(m.participants) for m in shown_measures],
        )
    return figures, sketches


def _measure_labels(version: int, lang: str) -> dict[int | str, str]:
    known = available()
    if version not in known:
        return {}
    questionnaire = known[version]
    code = questionnaire.scoring.measures_item
    if code not in {i.code for i in questionnaire.items}:
        return {}
    item = questionnaire.item(code)
    return {o.value: o.label(lang) for o in item.options}
