"""Routes for administrators."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..auth.access import admin_required
from ..extensions import db
from ..models import AuditEvent
from ..whole_numbers import whole_number
from . import bp

PAGE = 100


@bp.get("/")
@admin_required
def index():
    """The administrator's start page: one link per task."""
    return render_template("admin/index.html")


@bp.get("/revisjon")
@admin_required
def audit_log():
    """The audit log: who did what and when, newest first, filterable by action, by who
    did it and by a range of days (UTC, like the times shown)."""
    actions = list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
    actors = list(
        db.session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor))
    )
    filters, errors = audit_filters(request.args, actions)
    statement = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters["handling"]:
        statement = statement.where(AuditEvent.action == filters["handling"])
    if filters["hvem"]:
        statement = statement.where(func.lower(AuditEvent.actor) == filters["hvem"].lower())
    if filters["fra"]:
        statement = statement.where(AuditEvent.at >= _midnight(filters["fra"]))
    if filters["til"]:
        statement = statement.where(AuditEvent.at < _midnight(filters["til"] + timedelta(days=1)))
    page = whole_number(request.args.get("side"), low=1, high=10_000) or 1
    events = db.session.scalars(statement.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    # The filters as typed, for the form and the paging links (a bad date stays in the
    # form to be corrected, but filters nothing).
    shown = {
        key: request.args.get(key, "").replace("\x00", "")[:80]
        for key in ("handling", "hvem", "fra", "til")
    }
    kept = {key: value for key, value in shown.items() if value}
    return render_template(
        "admin/audit.html",
        events=events[:PAGE],
        more=len(events) > PAGE,
        page=page,
        actions=actions,
        actors=actors,
        shown=shown,
        kept=kept,
        errors=errors,
    )


DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(raw: str) -> date | None:
    """A date typed as YYYY-MM-DD, else None."""
    if not DAY.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def audit_filters(args, actions: list[str]) -> tuple[dict, dict]:
    """The audit log's filters from a query string, and a message per bad one."""
    errors = {}
    action = args.get("handling", "")
    actor = args.get("hvem", "").replace("\x00", "").strip()[:80]
    days = {}
    for key in ("fra", "til"):
        raw = args.get(key, "").strip()
        days[key] = parse_day(raw) if raw else None
        if raw and days[key] is None:
            errors[key] = _("Skriv datoen som ÅÅÅÅ-MM-DD, for eksempel 2026-03-01.")
    if days["fra"] and days["til"] and days["fra"] > days["til"]:
        errors["til"] = _("Til-datoen kan ikke være før fra-datoen.")
        days["til"] = None
    return {"handling": action if action in actions else "", "hvem": actor, **days}, errors


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
