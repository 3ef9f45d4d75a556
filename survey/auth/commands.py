"""``flask users``: accounts from the shell."""

from __future__ import annotations

import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import ROLES, Account, Office


def find_offices(slugs) -> list[Office]:
    offices = []
    for slug in slugs:
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        if office is None:
            raise click.ClickException(f"No office with slug {slug!r}.")
        offices.append(office)
    return offices


@click.group("users")
def users() -> None:
    """Create accounts and bind leaders to offices."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--office", "offices", multiple=True, help="Office slug (leder); repeat for more.")
@click.option("--password", help="Leave out to get a generated one, printed once.")
@with_appcontext
def create(username: str, role: str, offices: tuple[str, ...], password: str | None) -> None:
    """Create an account."""
    username = username.strip().lower()
    if db.session.scalar(select(Account).where(Account.username == username)):
        raise click.ClickException(f"There is already an account {username!r}.")
    if role == "leder" and not offices:
        raise click.ClickException("A leder needs at least one --office.")
    account = Account(username=username, role=role, offices=find_offices(offices))
    generated = None if password else secrets.token_urlsafe(12)
    account.set_password(password or generated)
    db.session.add(account)
    db.session.commit()
    click.echo(f"Created {role} {username!r}" + (f" for {', '.join(offices)}" if offices else ""))
    if generated:
        click.echo(f"Generated password (shown once): {generated}")


@users.command("bind")
@click.argument("username")
@click.option("--office", "offices", multiple=True, required=True)
@with_appcontext
def bind(username: str, offices: tuple[str, ...]) -> None:
    """Bind a leader to more offices."""
    account = db.session.scalar(select(Account).where(Account.username == username.lower()))
    if account is None:
        raise click.ClickException(f"No account {username!r}.")
    for office in find_offices(offices):
        if office not in account.offices:
            account.offices.append(office)
    db.session.commit()
    click.echo(f"{username} sees {', '.join(o.slug for o in account.offices)}")


@users.command("password")
@click.argument("username")
@click.password_option()
@with_appcontext
def set_password(username: str, password: str) -> None:
    """Set an account's password."""
    account = db.session.scalar(select(Account).where(Account.username == username.lower()))
    if account is None:
        raise click.ClickException(f"No account {username!r}.")
    account.set_password(password)
    db.session.commit()
    click.echo(f"Password set for {username}.")
