"""Questionnaire versions: see them and their items, publish a new one from a TOML file
after it validates, and choose which one is live. The rule itself is in ``survey.versions``."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import TextAreaField

from .. import versions
from ..auth.access import admin_required
from ..errors import error_page
from ..extensions import db
from ..models import PublishedQuestionnaire
from ..questionnaire import QuestionnaireError, compare
from . import bp
from .questionnaire_service import response_counts

ASPECT_LABELS = {
    "type": _l("type"),
    "text": _l("spørsmålstekst (bokmål)"),
    "scale": _l("skala"),
    "options": _l("svaralternativer"),
    "theme": _l("tema"),
    "reverse": _l("omvendt skåring"),
}
TYPE_LABELS = {
    "ladder": _l("stige"),
    "scale": _l("skala"),
    "choice": _l("ett valg"),
    "multi": _l("flere valg"),
    "text": _l("fritekst"),
}


class PublishForm(FlaskForm):
    file = FileField(
        _l("TOML-fil"), validators=[FileAllowed(["toml"], _l("Velg en fil som slutter på .toml."))]
    )
    source = TextAreaField(
        _l("… eller lim inn TOML-teksten"), render_kw={"rows": 16, "spellcheck": "false"}
    )


def limit_kb() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"] // 1024


def render_list(form: PublishForm, problems: list[str] | None = None, status: int = 200):
    available = versions.available()
    rows = {row.version: row for row in db.session.scalars(select(PublishedQuestionnaire))}
    return render_template(
        "admin/questionnaires.html",
        available=available,
        live=versions.live_version(available),
        published=rows,
        counts=response_counts(),
        form=form,
        problems=problems or [],
        limit_kb=limit_kb(),
    ), status


@bp.route("/sporreskjema", methods=["GET", "POST"])
@admin_required
def questionnaires():
    """Every version with who published it and how many have answered it, and the form
    to publish a new one."""
    form = PublishForm()
    if not form.is_submitted():
        return render_list(form)
    if not form.validate():
        return render_list(form, status=400)
    text = form.source.data or ""
    upload = form.file.data
    if upload and upload.filename:  # a chosen file wins over pasted text
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors.append(_("Filen må være tekst i UTF-8."))
            return render_list(form, status=400)
    text = text.replace("\r\n", "\n")
    form.source.data = text  # on a problem, the text stays in the box to be fixed there
    if not text.strip():
        form.source.errors.append(_("Velg en fil eller lim inn TOML-teksten."))
        return render_list(form, status=400)
    try:
        questionnaire = versions.publish(text, current_user)
        db.session.commit()
    except QuestionnaireError as error:
        db.session.rollback()
        return render_list(form, error.problems, status=400)
    except IntegrityError:  # another admin published the same number at the same moment
        db.session.rollback()
        return render_list(
            form,
            [
                _(
                    "Versjonsnummeret ble tatt i bruk akkurat nå. Gi den "
                    "nye versjonen et nytt nummer."
                )
            ],
            status=400,
        )
    flash(
        _(
            "Versjon %(number)d er publisert. Den er ikke aktiv før du gjør den aktiv.",
            number=questionnaire.version,
        )
    )
    return redirect(url_for("admin.questionnaire", number=questionnaire.version), code=303)


def too_large():
    """The publish form again, with a word on the size, when the upload was over the
    limit (the body was never read, so nothing of it can be kept). For admins only:
    anyone else gets the ordinary page."""
    if not (current_user.is_authenticated and current_user.role == "admin"):
        return None
    form = PublishForm(formdata=None)
    form.file.errors = [
        _(
            "Filen eller teksten er større enn %(kb)d kB og ble ikke lest. "
            "Del opp lange tekster, eller be en utvikler legge versjonen inn "
            "som fil.",
            kb=limit_kb(),
        )
    ]
    return render_list(form, status=413)


@bp.errorhandler(413)
def upload_too_large(error):
    """A body over ``MAX_CONTENT_LENGTH`` sent to an admin page. Werkzeug raises the 413
    where the body is first read: in the CSRF check (a ``before_request`` hook), after
    routing, so this blueprint's handler gets it. Only the publish form takes uploads;
    anywhere else it is the ordinary page."""
    if request.endpoint == "admin.questionnaires":
        return too_large() or error_page(413)
    return error_page(413)


@bp.get("/sporreskjema/<int:number>")
@admin_required
def questionnaire(number: int):
    """One version: its pages and items in every language, and how it compares with the
    live version (or, for the live one, with the version before it)."""
    available = versions.available()
    if number not in available:
        abort(404)
    live = versions.live_version(available)
    shown = available[number]
    other = live if number != live else max((v for v in available if v < number), default=None)
    comparison = compare(available[other], shown) if other is not None else None
    row = db.session.get(PublishedQuestionnaire, number)
    return render_template(
        "admin/questionnaire.html",
        questionnaire=shown,
        live=live,
        other=other,
        comparison=comparison,
        row=row,
        responses=response_counts().get(number, 0),
        aspect_labels=ASPECT_LABELS,
        type_labels=TYPE_LABELS,
    )


@bp.post("/sporreskjema/<int:number>/aktiv")
@admin_required
def questionnaire_live(number: int):
    """Make a version the one new respondents get."""
    available = versions.available()
    if number not in available:
        abort(404)
    if number == versions.live_version(available):
        flash(_("Versjon %(number)d er allerede aktiv.", number=number))
        return redirect(url_for("admin.questionnaire", number=number), code=303)
    try:
        versions.make_live(number, current_user)
        db.session.commit()
    except IntegrityError:  # two admins at the same moment: the other one's choice stands
        db.session.rollback()
        flash(_("En annen administrator endret aktiv versjon samtidig. Se over og prøv igjen."))
        return redirect(url_for("admin.questionnaire", number=number), code=303)
    flash(
        _(
            "Versjon %(number)d er nå aktiv. Nye svar gis denne versjonen; de som alt har "
            "begynt, svarer ferdig på versjonen de startet på.",
            number=number,
        )
    )
    return redirect(url_for("admin.questionnaire", number=number), code=303)
