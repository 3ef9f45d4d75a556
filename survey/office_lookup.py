"""Finding an office by its slug: one lookup, with the two ways of saying it is missing;
and finding offices by what a respondent types (``fold``, ``matching``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import click
from flask import abort
from sqlalchemy import select

from .extensions import db
from .models import Office


def office_by_slug(slug: str) -> Office | None:
    return db.session.scalar(select(Office).where(Office.slug == slug))


def office_or_404(slug: str) -> Office:
    """For a page: the office, or the plain 404 page."""
    office = office_by_slug(slug)
    if office is None:
        abort(404)
    return office


def office_or_fail(slug: str) -> Office:
    """For a ``flask`` command: the office, or a message naming the slug."""
    office = office_by_slug(slug)
    if office is None:
        raise click.ClickException(f"No office with slug {slug!r}.")
    return office


# Norwegian letters as people type them without a Norwegian keyboard: "aalesund", "bodo",
# "tromso", "baerum". Folded the same way on both sides, so either spelling finds either.
_LETTERS = str.maketrans({"å": "a", "ø": "o", "æ": "ae", "ö": "o", "ä": "ae"})


def fold(text: str) -> str:
    """``text`` for matching: case-folded, å/aa -> a, ø -> o, æ -> ae, other accents
    dropped, runs of spaces and hyphens as one space. Pure."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_LETTERS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.replace("aa", "a")
    return " ".join(text.replace("-", " ").split())


def matching(query: str, offices: Iterable[Office]) -> list[Office]:
    """The offices whose name or municipality contains ``query``, folded (``fold``).
    Done in Python over the active offices (a few hundred at most), so SQLite and
    PostgreSQL find the same."""
    wanted = fold(query)
    return [
        office
        for office in offices
        if wanted in fold(office.name) or wanted in fold(office.municipality or "")
    ]
