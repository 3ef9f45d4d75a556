"""Releases on the admin pages: which months each release covers and what its audit
decided (counts of cells shown and hidden, never a hidden figure), and a button that
publishes a release now. The rule itself is in ``survey.releases``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from .. import releases
from ..auth.access import admin_required
from ..dashboard.labels import period_label
from ..domain.periods import ReportingPeriod
from ..extensions import db
from . import bp


class PublishForm(FlaskForm):
    """Only the CSRF token: the button publishes."""


def describe(release) -> dict:
    """One release as the page lists it."""
    families = release.summary.get("families", {})
    return {
        "release": release,
        "through": period_label(ReportingPeriod.containing(release.through, "month")),
        "shown": sum(f["shown"] for version in families.values() for f in version.values()),
        "hidden": sum(f["hidden"] for version in families.values() for f in version.values()),
        "findings": release.summary.get("findings", 0),
        "comments": release.summary.get("comments_stamped", 0),
    }


@bp.get("/utgivelser")
@admin_required
def releases_page():
    """Every release, newest first, with the months it covers."""
    return render_template(
        "admin/releases.html",
        rows=[describe(r) for r in releases.all_releases()],
        form=PublishForm(),
    )


@bp.post("/utgivelser")
@admin_required
def releases_publish():
    """Publish a release now: the newly complete months, and comments approved since."""
    form = PublishForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.releases_page"), code=303)
    try:
        release = releases.publish(current_user)
        db.session.commit()
    except IntegrityError:  # someone else published at the same moment: theirs stands
        db.session.rollback()
        release = None
    if release is None:
        flash(
            _("Ingenting nytt å publisere: ingen ny hel måned og ingen nye godkjente kommentarer.")
        )
    else:
        flash(_("Utgivelse %(n)d er publisert.", n=release.id))
    return redirect(url_for("admin.releases_page"), code=303)
