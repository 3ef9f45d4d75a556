"""Routes for administrators."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from ..auth.access import admin_required
from ..extensions import db
from ..numbers import whole_number
from ..models import AuditEvent
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
    """The audit log: who did what and when, newest first, filterable by action."""
    actions = list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    chosen = request.args.get("handling", "")
    statement = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if chosen in actions:
        statement = statement.where(AuditEvent.action == chosen)
    page = whole_number(request.args.get("side"), low=1, high=10_000) or 1
    events = db.session.scalars(statement.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    return render_template("admin/audit.html", events=events[:PAGE], more=len(events) > PAGE,
                           page=page, actions=actions, chosen=chosen)
