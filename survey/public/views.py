"""The office's public results page.

Every figure is a cell of the leaders' dashboard (``survey.dashboard.data``): the same
current release, its frozen figures and audited decisions (protected for an audience that
sees every office and the country at once), so this page shows a subset of what the
dashboard shows and never a number it hides, and changes only with a release. Anyone may open this page at any moment, so it shows only half-years
that are over, and a week more (a response dated by its ISO week can fall in the days
after its month). The suppression lattice's relations never cross a half-year, so once a
half-year is over, every count it holds is final and so is what may be shown of it: the
figures on this page never change, and nobody can compare the page before and after
someone in the waiting room answered, or a quarter shown earlier with a half-year shown
later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import abort, current_app, render_template
from flask_babel import get_locale
from sqlalchemy import select

from .. import releases
from ..dashboard import data
from ..dashboard.labels import BANDS, RUNGS, period_label
from ..dashboard.note_service import office_notes
from ..dashboard.views import theme_labels
from ..domain import periods
from ..extensions import db
from ..models import Office
from ..versions import available
from . import bp

PUBLIC_KIND = "half"
SETTLE = timedelta(days=7)


@dataclass(frozen=True)
class Shown:
    """What the public page shows: one dashboard cell and the version it comes from."""

    version: int
    cell: data.PeriodFigures


def settled(period, today: date) -> bool:
    """Whether ``period`` is over and no more responses can be dated inside it."""
    return period.end + SETTLE <= today


def latest_shown(snap: data.Snapshot, office_id: int, today: date) -> data.PeriodFigures | None:
    """The office's newest settled half-year whose ladder or a theme the dashboard
    shows, or None."""
    for period in snap.periods(PUBLIC_KIND):  # newest first
        if settled(period, today):
            cell = snap.cell(office_id, period)
            if cell.ladder or any(cell.themes.values()):
                return cell
    return None


def public_result(office_id: int, today: date) -> Shown | None:
    """The newest result that may be shown, over every questionnaire version with data
    (the newer version when two end on the same day)."""
    best = None
    for version in data.versions():  # newest first
        snap = data.snapshot(version, current_app.config["STIGEN_K"])
        cell = latest_shown(snap, office_id, today)
        if cell and (best is None or cell.period.end > best.cell.period.end):
            best = Shown(version, cell)
    return best


def theme_rows(version: int, cell: data.PeriodFigures) -> list[dict]:
    """The themes shown for ``cell``: label, index 0–100, and which way is better."""
    labels = theme_labels(version, cell.themes)
    known = available()
    themes = known[version].themes if version in known else {}
    return [
        {
            "code": code,
            "label": labels[code],
            "mean": figure.mean,
            "higher_is_better": themes[code].higher_is_better if code in themes else True,
        }
        for code, figure in cell.themes.items()
        if figure
    ]


@bp.get("/k/<slug>/resultater")
def office(slug: str):
    """An office's results and notes for anyone, without signing in."""
    office = db.session.scalar(select(Office).where(Office.slug == slug, Office.active.is_(True)))
    if office is None:
        abort(404)
    today = periods.today_in_norway()
    releases.ensure_current(today=today)
    shown = public_result(office.id, today)
    context = {
        "office": office,
        "shown": shown,
        "notes": office_notes(office.id),
        "k": current_app.config["STIGEN_K"],
        "open": office.is_open_on(today),
        "bands": {band: str(label) for band, label in BANDS.items()},
        "rungs": {rung: str(label) for rung, label in RUNGS.items()},
        "lang": str(get_locale()),
    }
    if shown:
        context.update(
            cell=shown.cell,
            period=period_label(shown.cell.period),
            themes=theme_rows(shown.version, shown.cell),
        )
    return render_template("public/office.html", **context)
