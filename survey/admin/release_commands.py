"""``flask releases``: publish and list releases from the shell (``survey.releases``)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from .. import releases
from ..extensions import db


@click.group("releases")
def releases_command() -> None:
    """Releases of figures: publish, list."""


@releases_command.command("publish")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Publish as if on this day (for rebuilding a demo or test data).",
)
@with_appcontext
def publish(today) -> None:
    """Publish a release of every complete month not yet released."""
    day: date | None = today.date() if today else None
    release = releases.publish("shell", today=day)
    if release is None:
        click.echo("Nothing new to publish.")
        return
    db.session.commit()
    click.echo(
        f"Release {release.id} published: months through {release.through:%Y-%m}, "
        f"{release.summary.get('findings', 0)} audit findings."
    )


@releases_command.command("list")
@with_appcontext
def list_releases() -> None:
    """Every release, newest first."""
    for release in releases.all_releases():
        families = release.summary.get("families", {})
        shown = sum(f["shown"] for version in families.values() for f in version.values())
        hidden = sum(f["hidden"] for version in families.values() for f in version.values())
        click.echo(
            f"{release.id}\tthrough {release.through:%Y-%m}\t{release.made_at:%Y-%m-%d %H:%M}"
            f"\t{release.made_by}\t{shown} cells shown, {hidden} hidden"
        )
