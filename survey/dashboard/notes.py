""" "Dette gjør vi": office leaders write what their office changes in response to the
results ("Dere sa … – vi gjør …"). The notes are shown on the office's public page.

Leaders write for their own offices, admins for every office; researchers may read the
list but not write. Anyone else gets the same 404 as for an office that does not exist.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..audit import record
from ..extensions import db
from ..models import ActionNote, Office
from . import bp
from .note_service import NOTE_MAX, add_note, clean_text, office_notes
from .views import accessible_offices

WRITERS = ("leder", "admin")
TOO_LONG = _l("Teksten kan være høyst %(max)d tegn lang. Nå er den %(length)d tegn.")


class NoteForm(FlaskForm):
    you_said = TextAreaField(
        _l("Dere sa …"),
        description=_l(
            "Hva de unge har svart, med egne ord. For eksempel: «Vi får for lite "
            "informasjon om hvilke tiltak som finnes.»"
        ),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Skriv hva de unge sa.")),
            Length(max=NOTE_MAX, message=TOO_LONG),
        ],
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
    )
    we_do = TextAreaField(
        _l("Vi gjør …"),
        description=_l(
            "Hva kontoret gjør med det. For eksempel: «Alle får en oversikt over "
            "tiltakene i første samtale.»"
        ),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Skriv hva kontoret gjør.")),
            Length(max=NOTE_MAX, message=TOO_LONG),
        ],
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
    )


def _office(slug: str, write: bool = False) -> Office:
    """The office named by ``slug`` if the signed-in account may see it (and write its
    notes, with ``write``); otherwise 404, the same as for a missing office."""
    office = next((o for o in accessible_offices() if o.slug == slug), None)
    if office is None or (write and current_user.role not in WRITERS):
        abort(404)
    return office


def _note(office: Office, note_id: int) -> ActionNote:
    note = db.session.get(ActionNote, note_id)
    if note is None or note.office_id != office.id:
        abort(404)
    return note


def _render_list(office: Office, form: NoteForm | None, status: int = 200):
    return render_template(
        "dashboard/notes.html",
        office=office,
        notes=office_notes(office.id),
        form=form,
        max_length=NOTE_MAX,
        mode="list",
    ), status


@bp.route("/kontor/<slug>/dette-gjor-vi", methods=["GET", "POST"])
@login_required
def notes(slug: str):
    """The office's notes, and a form to add one (for leaders of the office and admins)."""
    office = _office(slug, write=request.method == "POST")
    if current_user.role not in WRITERS:
        return _render_list(office, None)  # researchers read
    form = NoteForm()
    if not form.is_submitted():
        return _render_list(office, form)
    if not form.validate():
        return _render_list(office, form, 400)
    add_note(office, form.you_said.data, form.we_do.data, account_id=current_user.id)
    db.session.commit()
    flash(_("Notatet er lagt til."))
    return redirect(url_for("dashboard.notes", slug=office.slug))


@bp.route("/kontor/<slug>/dette-gjor-vi/<int:note_id>", methods=["GET", "POST"])
@login_required
def note_edit(slug: str, note_id: int):
    """Change a note's text (its date stays the day it was written)."""
    office = _office(slug, write=True)
    note = _note(office, note_id)
    form = NoteForm(obj=note)
    if form.validate_on_submit():
        note.you_said, note.we_do = form.you_said.data, form.we_do.data
        record("note.update", {"office": office.slug, "note": note.id})
        db.session.commit()
        flash(_("Notatet er endret."))
        return redirect(url_for("dashboard.notes", slug=office.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "dashboard/notes.html",
        office=office,
        note=note,
        form=form,
        max_length=NOTE_MAX,
        mode="edit",
    ), status


@bp.route("/kontor/<slug>/dette-gjor-vi/<int:note_id>/slett", methods=["GET", "POST"])
@login_required
def note_delete(slug: str, note_id: int):
    """Delete a note, after a confirmation page (a plain form: no JavaScript needed)."""
    office = _office(slug, write=True)
    note = _note(office, note_id)
    form = FlaskForm()
    if form.validate_on_submit():
        record("note.delete", {"office": office.slug, "note": note.id})
        db.session.delete(note)
        db.session.commit()
        flash(_("Notatet er slettet."))
        return redirect(url_for("dashboard.notes", slug=office.slug))
    return render_template(
        "dashboard/notes.html", office=office, note=note, form=form, mode="delete"
    )
