"""Retention and backups (issue 15; docs/deploy.md, "Retention" and "Backups").

Retention, configured by ``STIGEN_RETENTION_YEARS`` (default 5; 0 keeps everything) and
``STIGEN_FREE_TEXT_MONTHS`` (default 12; 0 keeps it):

- responses, comments and submission receipts of months more than N years before the
  current month are deleted. What they added up to stays: the monthly tallies and every
  release's frozen figures (``survey.releases`` never reads a released month again), so
  no published figure moves;
- free text is deleted N months after moderation: an approved comment N months after
  the release that first showed it (its ``release_id``: a comment keeps no moderation
  time of its own), a rejected one (which keeps no text anyway) N months after its
  period ended. Comments still waiting for moderation are kept.

``run`` is the one service: ``flask retention run`` (or ``stigen retention run``, the
nightly job in deploy/nais.yaml) calls it, and it writes one audit event with what it
deleted (counts only). Nothing here commits; the command does.

Backups: ``sqlite_backup`` copies a live SQLite database with SQLite's online backup
API (a consistent copy while Stigen runs); PostgreSQL is backed up with ``pg_dump`` and
restored with ``pg_restore`` (the commands are in docs/deploy.md, exercised by
tests/test_operations.py)."""

from __future__ import annotations

import calendar
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, true

from . import audit
from .domain import periods
from .extensions import db
from .models import Comment, Release, Response, SubmissionReceipt


@dataclass(frozen=True)
class Policy:
    years: int  # responses and comments of older months are deleted; 0: kept
    free_text_months: int  # free text this long after moderation is deleted; 0: kept

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(
            years=config["STIGEN_RETENTION_YEARS"],
            free_text_months=config["STIGEN_FREE_TEXT_MONTHS"],
        )


def response_cutoff(today: date, policy: Policy) -> date | None:
    """Rows of periods starting before this date are past retention (None: keep all)."""
    if policy.years <= 0:
        return None
    month = today.replace(day=1)
    return month.replace(year=month.year - policy.years)


def free_text_cutoff(today: date, policy: Policy) -> date | None:
    """Free text moderated (shown by a release, or its period over) before this day goes."""
    if policy.free_text_months <= 0:
        return None
    month = periods.add_months(today.replace(day=1), -policy.free_text_months)
    last_day = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=min(today.day, last_day))


def run(actor="shell", today: date | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete what the policy no longer keeps; the counts deleted (or, with ``dry_run``,
    that would be). Audited unless ``dry_run``; the caller commits."""
    policy = Policy.from_config(current_app.config)
    today = today or periods.today_in_norway()
    counts = {"responses": 0, "receipts": 0, "comments": 0, "free_text": 0}
    old = response_cutoff(today, policy)
    if old is not None:
        for key, model in (
            ("responses", Response),
            ("receipts", SubmissionReceipt),
            ("comments", Comment),
        ):
            counts[key] = _delete(model, model.period_start < old, dry_run)
    cutoff = free_text_cutoff(today, policy)
    if cutoff is not None:
        shown_before = select(Release.id).where(
            Release.made_at < datetime.combine(cutoff, datetime.min.time(), UTC)
        )
        # Rows already past retention above are not counted twice (a dry run deletes none).
        kept = Comment.period_start >= old if old is not None else true()
        counts["free_text"] = _delete(
            Comment,
            kept & (Comment.status == "approved") & Comment.release_id.in_(shown_before),
            dry_run,
        )
        # A rejected comment's period ended (at the latest) a month after it began.
        counts["free_text"] += _delete(
            Comment,
            kept
            & (Comment.status == "rejected")
            & (Comment.period_start < periods.add_months(cutoff.replace(day=1), -1)),
            dry_run,
        )
    if not dry_run:
        audit.record(
            "retention.run",
            {
                "today": today.isoformat(),
                "years": policy.years,
                "free_text_months": policy.free_text_months,
                "responses_before": old.isoformat() if old else None,
                "free_text_before": cutoff.isoformat() if cutoff else None,
                **counts,
            },
            actor=actor,
        )
    return counts


def _delete(model, condition, dry_run: bool) -> int:
    if dry_run:
        return len(db.session.execute(select(model).where(condition)).all())
    return db.session.execute(
        delete(model).where(condition).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult; typed as Result


def sqlite_backup(database: str | Path, destination: str | Path) -> Path:
    """A consistent copy of a live SQLite database (the online backup API: readers and
    the writer carry on), written to ``destination``, which must not exist yet."""
    destination = Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination} exists; choose a new file for the backup.")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    return destination
