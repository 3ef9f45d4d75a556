"""The audit log: one function that writes an event, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import current_user

from .extensions import db
from .models import AuditEvent


def record(action: str, details: dict, actor=None) -> AuditEvent:
    """Add an audit event for ``actor`` (the signed-in account by default; "shell" from a
    command). The caller commits."""
    if actor is None and current_user and current_user.is_authenticated:
        actor = current_user
    if isinstance(actor, str):  # "shell": a flask command, no account
        actor = type("Shell", (), {"id": None, "username": actor})()
    event = AuditEvent(
        at=datetime.now(UTC),  # staff actions are not anonymous: their time is kept
        account_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or "shell",
        action=action,
        details=details,
    )
    db.session.add(event)
    return event
