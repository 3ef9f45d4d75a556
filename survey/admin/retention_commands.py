"""``flask retention run`` and ``flask backup sqlite``: the commands over
``survey.retention`` (the nightly job runs ``stigen retention run``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import retention
from ..extensions import db


@click.group("retention")
def retention_command() -> None:
    """Delete what the retention policy no longer keeps (docs/deploy.md)."""


@retention_command.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Run as if on this day."
)
@with_appcontext
def run(dry_run: bool, today) -> None:
    """Delete responses and comments past STIGEN_RETENTION_YEARS and free text past
    STIGEN_FREE_TEXT_MONTHS after moderation; audited."""
    day: date | None = today.date() if today else None
    counts = retention.run("shell", today=day, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    said = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in counts.items())
    click.echo(("Would delete: " if dry_run else "Deleted: ") + said + ".")


@click.group("backup")
def backup_command() -> None:
    """Backups (PostgreSQL: pg_dump, see docs/deploy.md)."""


@backup_command.command("sqlite")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def sqlite(destination: Path) -> None:
    """Copy the running SQLite database to DESTINATION (SQLite's online backup API)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            "The database is not SQLite: back PostgreSQL up with pg_dump (docs/deploy.md)."
        )
    if not url.database:
        raise click.ClickException("The database is in memory: there is no file to copy.")
    try:
        retention.sqlite_backup(url.database, destination)
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {destination}.")
    current_app.logger.info("SQLite backup written")
