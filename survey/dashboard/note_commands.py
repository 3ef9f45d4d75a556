"""``flask notes``: an office's "Dette gjør vi" notes from the shell."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..office_lookup import office_or_fail
from . import note_service  # its add_note by module: the command below is add_note too
from .note_service import NOTE_MAX, clean_text, office_notes


def _text(value: str, option: str) -> str:
    text = clean_text(value)
    if not text:
        raise click.ClickException(f"{option} may not be empty.")
    if len(text) > NOTE_MAX:
        raise click.ClickException(f"{option} is {len(text)} characters; at most {NOTE_MAX}.")
    return text


@click.group("notes")
def notes() -> None:
    """List and add an office's "Dette gjør vi" notes (shown on its public page)."""


@notes.command("list")
@click.option("--office", "slug", required=True, help="Office slug.")
@with_appcontext
def list_notes(slug: str) -> None:
    """An office's notes, newest first."""
    found = office_notes(office_or_fail(slug).id)
    if not found:
        click.echo(f"No notes for {slug}.")
    for note in found:
        click.echo(f"#{note.id} {note.written_on.isoformat()}")
        click.echo(f"  Dere sa: {note.you_said}")
        click.echo(f"  Vi gjør: {note.we_do}")


@notes.command("add")
@click.option("--office", "slug", required=True, help="Office slug.")
@click.option("--you-said", required=True, help='What the young people said ("Dere sa …").')
@click.option("--we-do", required=True, help='What the office does about it ("Vi gjør …").')
@with_appcontext
def add_note(slug: str, you_said: str, we_do: str) -> None:
    """Add a note, dated today; audited as "shell"."""
    office = office_or_fail(slug)
    note = note_service.add_note(
        office, _text(you_said, "--you-said"), _text(we_do, "--we-do"), actor="shell"
    )
    db.session.commit()
    click.echo(f"Added note #{note.id} for {office.slug}.")
