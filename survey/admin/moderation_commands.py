"""``flask moderation``: the moderation queue from the shell, audited as "shell"."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import Comment, Office
from .moderation_service import decide, status_counts


@click.group("moderation")
def moderation_command() -> None:
    """Moderate free-text answers: list, approve, reject."""


@moderation_command.command("status")
@with_appcontext
def status() -> None:
    """How many comments are pending, approved and rejected."""
    for name, count in status_counts().items():
        click.echo(f"{name}: {count}")


@moderation_command.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def list_pending(limit: int) -> None:
    """Pending comments, oldest period first (then by random id), with their ids."""
    rows = db.session.execute(
        select(Comment, Office.slug)
        .join(Office, Office.id == Comment.office_id)
        .where(Comment.status == "pending")
        .order_by(Comment.period_start, Comment.id)
        .limit(limit)
    ).all()
    for comment, slug in rows:
        text = " ".join(comment.body.split())
        click.echo(
            f"{comment.id}  {slug}  {comment.period_start:%Y-%m}  {comment.item_code}\n    {text}"
        )
    if not rows:
        click.echo("No comments are waiting.")


def _find(comment_id: str) -> Comment:
    try:
        key = uuid.UUID(comment_id)
    except ValueError:
        raise click.ClickException(f"{comment_id!r} is not a comment id (a UUID).") from None
    comment = db.session.get(Comment, key)
    if comment is None:
        raise click.ClickException(f"No comment with id {comment_id}.")
    return comment


@moderation_command.command("approve")
@click.argument("comment_id")
@with_appcontext
def approve(comment_id: str) -> None:
    """Approve a pending comment as it stands."""
    comment = _find(comment_id)
    if not decide(comment, "approve", actor="shell"):
        raise click.ClickException(f"Comment {comment_id} is {comment.status}, not pending.")
    db.session.commit()
    click.echo(f"Approved {comment_id}.")


@moderation_command.command("reject")
@click.argument("comment_id")
@with_appcontext
def reject(comment_id: str) -> None:
    """Reject a comment (pending, or approved to withdraw it): its text is blanked."""
    comment = _find(comment_id)
    if not decide(comment, "reject", actor="shell", allowed_from=("pending", "approved")):
        raise click.ClickException(f"Comment {comment_id} is already rejected.")
    db.session.commit()
    click.echo(f"Rejected {comment_id}; its text is deleted.")
