"""``flask questionnaire``: the admin pages' questionnaire versions from the shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import versions
from ..extensions import db
from ..models import PublishedQuestionnaire
from ..questionnaire import QuestionnaireError, compare
from .questionnaire_service import response_counts


@click.group("questionnaire")
def questionnaire_command() -> None:
    """Questionnaire versions: list, show, publish, make live."""


def _echo_comparison(old: int, new: int, available) -> None:
    result = compare(available[old], available[new])
    click.echo(f"Compared with version {old}:")
    click.echo(f"  kept unchanged: {len(result.kept)}")
    for code, aspects in result.changed:
        click.echo(f"  changed: {code} ({', '.join(aspects)})")
    for code in result.added:
        click.echo(f"  added: {code}")
    for code in result.removed:
        click.echo(f"  removed: {code}")


@questionnaire_command.command("list")
@with_appcontext
def list_versions() -> None:
    """Every version: shipped or published, live, items, responses."""
    available = versions.available()
    live = versions.live_version(available)
    rows = {row.version: row for row in db.session.scalars(select(PublishedQuestionnaire))}
    counts = response_counts()
    for number, questionnaire in available.items():
        row = rows.get(number)
        source = (
            f"published by {row.published_by} {row.published_at:%Y-%m-%d %H:%M}"
            if row
            else "shipped"
        )
        click.echo(
            f"{number}{' (live)' if number == live else ''}\t{len(questionnaire.items)} "
            f"items\t{counts.get(number, 0)} responses\t{source}"
        )


@questionnaire_command.command("show")
@click.argument("number", type=int)
@with_appcontext
def show(number: int) -> None:
    """One version's pages and items, and how it compares with the live version."""
    available = versions.available()
    if number not in available:
        raise click.ClickException(f"There is no questionnaire version {number}.")
    questionnaire = available[number]
    live = versions.live_version(available)
    click.echo(f"Version {number}{' (live)' if number == live else ''}: {questionnaire.title.nb}")
    for page in questionnaire.pages:
        click.echo(f"\n[{page.code}] {page.title.nb}")
        for item in page.items:
            extra = [
                x
                for x in (
                    item.scale,
                    item.theme and f"theme={item.theme}",
                    item.reverse and "reverse",
                )
                if x
            ]
            click.echo(f"  {item.code}  {item.type}{' ' + ' '.join(extra) if extra else ''}")
            click.echo(f"      {item.text.nb}")
    if number != live:
        click.echo("")
        _echo_comparison(live, number, available)


@questionnaire_command.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def publish(path: Path) -> None:
    """Publish a questionnaire file (TOML) as a new version, after it validates. It is
    not live until ``flask questionnaire live N``."""
    try:
        source = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path.name} is not UTF-8 text.") from error
    try:
        questionnaire = versions.publish(source, "shell")
        db.session.commit()
    except QuestionnaireError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(f"- {problem}", err=True)
        raise click.ClickException(
            f"{len(error.problems)} problem(s): nothing was published."
        ) from error
    click.echo(f"Published version {questionnaire.version} (not live yet).")
    available = versions.available()
    _echo_comparison(versions.live_version(available), questionnaire.version, available)


@questionnaire_command.command("live")
@click.argument("number", type=int)
@with_appcontext
def make_live(number: int) -> None:
    """Make a version the one new respondents get."""
    try:
        previous = versions.make_live(number, "shell")
    except QuestionnaireError as error:
        raise click.ClickException(f"There is no questionnaire version {number}.") from error
    db.session.commit()
    click.echo(f"Version {number} is live (was {previous}).")
