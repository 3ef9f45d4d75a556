"""Finding an office by its slug: one lookup, with the two ways of saying it is missing."""

from __future__ import annotations

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
