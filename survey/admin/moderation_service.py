"""The decisions on free text, for the moderation queue (``admin/moderation.py``) and
``flask moderation`` (``admin/moderation_commands.py``): approve, redact or reject a
comment, each audited with the office and the month, never the text; and the counts by
status. The risks a machine finds are in ``survey.domain.text_risks``.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from .. import audit
from ..domain.periods import ReportingPeriod
from ..extensions import db
from ..models import Comment, Office

STATUSES = ("pending", "approved", "rejected")


# --- the one place where a comment changes ------------------------------------------------


def audit_details(comment: Comment, office: Office) -> dict:
    """What the audit log keeps of a decision: the office and the month, never the text."""
    month = ReportingPeriod.containing(comment.period_start.replace(day=1), "month")
    return {"office": office.slug, "period": month.code}


def decide(
    comment: Comment,
    action: str,
    body: str | None = None,
    actor=None,
    allowed_from: tuple[str, ...] = ("pending",),
) -> bool:
    """Approve, redact (approve ``body`` in place of the text) or reject ``comment``, if
    its status is still one of ``allowed_from``: checked in the UPDATE itself, so two
    moderators deciding the same comment cannot both win. Writes the audit event; the
    caller commits. Returns whether the comment changed."""
    choices: dict[str, dict[str, str | None]] = {
        "approve": {"status": "approved"},
        "redact": {"status": "approved", "body": body},
        "reject": {"status": "rejected", "body": ""},  # keep nothing never to be shown
    }
    values = choices[action]
    if action == "redact" and not (body and body.strip()):
        raise ValueError("a redacted comment needs its text")
    office = db.session.get_one(Office, comment.office_id)  # a comment's office is there
    result = db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status.in_(allowed_from))
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult; typed as Result
        return False
    audit.record(f"comment.{action}", audit_details(comment, office), actor=actor)
    return True


def status_counts() -> dict[str, int]:
    counts = dict(
        db.session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all()
    )
    return {status: counts.get(status, 0) for status in STATUSES}
