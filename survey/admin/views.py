"""Routes for administrators."""

from __future__ import annotations

from functools import wraps

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..numbers import whole_number
from ..models import AuditEvent
from . import bp

PAGE = 100


def admin_required(view):
    """Administrators only; anyone else signed in gets the same 404 as a missing page."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(404)
        return view(*args, **kwargs)
    return wrapped


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
