"""Moderation of free text: a queue of pending comments with the risks a machine finds
highlighted (``survey.domain.text_risks``); a moderator approves, redacts and approves, or
rejects. Only approved text reaches leaders and researchers (privacy.md, "Free text").

What is kept is only what may be shown: a redacted comment keeps only the edited text, a
rejected one keeps no text at all. The queue is ordered by period, then by the random id,
so nothing on the page reflects the order in which comments were written. Each decision
is audited in its own transaction, with the office and the month, never the text.

The queue holds only what the mixer has released (``survey.mixer``): a comment is
``held`` from when it is mixed in until at least k are held in its office and period or
the period has ended, and then its whole batch becomes ``pending`` at once. So the
moderator never sees a comment close to when it was written, never one alone in a
running period, and nothing finer than office and month (issue 11, point 6). Held
comments are not counted on any page either: a count that ticks up would date them.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import versions
from ..auth.access import admin_required
from ..dashboard.labels import period_label
from ..domain.periods import ReportingPeriod
from ..domain.redaction import redact
from ..domain.text_risks import find_risks, highlight
from ..extensions import db
from ..models import Comment, Office
from ..whole_numbers import whole_number
from . import bp
from .moderation_service import decide, status_counts

PAGE = 25
MAX_LENGTH = 2000  # the questionnaire allows 1000; room for "[fjernet]" markers


# --- counts for the admin start page -----------------------------------------------------


@bp.app_template_global("moderation_pending")
def pending_count() -> int:
    """Comments waiting for a moderator (shown on the admin start page)."""
    return db.session.scalar(select(func.count()).where(Comment.status == "pending")) or 0


# --- forms --------------------------------------------------------------------------------


class DecisionForm(FlaskForm):
    """Approve or reject: the CSRF token, and the queue page to return to."""

    side = HiddenField()


class RedactForm(DecisionForm):
    body = TextAreaField(
        _l("Teksten slik den skal godkjennes"),
        validators=[
            DataRequired(_l("Skriv teksten som skal godkjennes, eller avvis kommentaren.")),
            Length(
                max=MAX_LENGTH,
                message=_l("Teksten kan være høyst %(max)d tegn lang.", max=MAX_LENGTH),
            ),
        ],
    )


# --- views --------------------------------------------------------------------------------


def _page_number(raw) -> int:
    return whole_number(raw, low=1, high=100_000) or 1


def _extra_places(offices) -> list[str]:
    """The offices' names (also without "NAV "), municipalities and counties."""
    found = []
    for office in offices:
        found += [office.name, office.municipality, office.county]
        if office.name.upper().startswith("NAV "):
            found.append(office.name[4:])
    return [p for p in found if p and p.strip()]


def _item_label(known: dict, version: int, code: str, lang: str) -> str:
    questionnaire = known.get(version)
    if questionnaire is None or code not in {item.code for item in questionnaire.items}:
        return code
    return questionnaire.item(code).text(lang)


def _queue(page: int, failed: dict | None = None):
    """The queue page: counts, the legend and one page of pending comments."""
    offices = db.session.scalars(select(Office)).all()
    names = {office.id: office for office in offices}
    places = _extra_places(offices)
    labels = {"name": _("Mulig navn"), "place": _("Mulig sted"), "number": _("Tall")}
    lang = str(get_locale())
    known = versions.available()
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.status == "pending")
        .order_by(Comment.period_start, Comment.id)
        .limit(PAGE + 1)
        .offset((page - 1) * PAGE)
    ).all()
    entries = []
    for c in comments[:PAGE]:
        risks = find_risks(c.body, places)
        entries.append(
            {
                "comment": c,
                "office": names[c.office_id],
                "month": period_label(
                    ReportingPeriod.containing(c.period_start.replace(day=1), "month")
                ),
                "item": _item_label(known, c.questionnaire_version, c.item_code, lang),
                "html": highlight(c.body, risks, labels),
                # Something flagged: redacting is the main action, approving as is the lesser.
                "flagged": bool(risks),
            }
        )
    return render_template(
        "admin/moderation.html",
        entries=entries,
        counts=status_counts(),
        page=page,
        more=len(comments) > PAGE,
        failed=failed or {},
        labels=labels,
        max_length=MAX_LENGTH,
    )


def _comment(comment_id: uuid.UUID) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    return comment


def _back(page: int):
    return redirect(url_for("admin.moderation", side=page if page > 1 else None))


@bp.get("/moderering")
@admin_required
def moderation():
    """Pending comments, oldest period first, with the risks highlighted."""
    return _queue(_page_number(request.args.get("side")))


def _simple(comment_id: uuid.UUID, action: str, done: str):
    comment = _comment(comment_id)
    form = DecisionForm()
    page = _page_number(form.side.data)
    if not form.validate_on_submit():
        abort(400)
    if decide(comment, action):
        db.session.commit()
        flash(done)
    else:
        db.session.rollback()
        flash(_("Kommentaren var allerede behandlet."))
    return _back(page)


@bp.post("/moderering/<uuid:comment_id>/godkjenn")
@admin_required
def moderation_approve(comment_id: uuid.UUID):
    """Approve a comment as it stands."""
    return _simple(comment_id, "approve", _("Kommentaren er godkjent."))


@bp.post("/moderering/<uuid:comment_id>/avvis")
@admin_required
def moderation_reject(comment_id: uuid.UUID):
    """Reject a comment: it is never shown, and its text is blanked."""
    return _simple(comment_id, "reject", _("Kommentaren er avvist, og teksten er slettet."))


@bp.post("/moderering/<uuid:comment_id>/sladd")
@admin_required
def moderation_redact(comment_id: uuid.UUID):
    """Approve the moderator's edited text in place of the comment (the original is
    not kept). What a machine can strip is stripped again, as at submission."""
    comment = _comment(comment_id)
    form = RedactForm()
    page = _page_number(form.side.data)
    text = redact(form.body.data or "") if form.validate_on_submit() else ""
    if not text:
        if comment.status != "pending":
            flash(_("Kommentaren var allerede behandlet."))
            return _back(page)
        message = (
            form.body.errors[0]
            if form.body.errors
            else _("Skriv teksten som skal godkjennes, eller avvis kommentaren.")
        )
        if form.errors.get("csrf_token"):
            abort(400)
        return _queue(page, failed={comment.id: (form.body.data or "", message)})
    if decide(comment, "redact", body=text):
        db.session.commit()
        flash(_("Den redigerte teksten er godkjent."))
    else:
        db.session.rollback()
        flash(_("Kommentaren var allerede behandlet."))
    return _back(page)
