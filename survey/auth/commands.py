"""``flask users``: accounts from the shell."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import ROLES, Account, Office
from ..office_lookup import office_or_fail
from .accounts import (
    clear_reset,
    end_sessions,
    reset_state,
    reset_url,
    start_reset,
    would_leave_no_admin,
)

SHELL = "shell"
LAST_ADMIN = "There must always be at least one active admin: make another account admin first."


def find_offices(slugs) -> list[Office]:
    return [office_or_fail(slug) for slug in slugs]


def find_account(username: str) -> Account:
    account = db.session.scalar(
        select(Account).where(func.lower(Account.username) == username.strip().lower())
    )
    if account is None:
        raise click.ClickException(f"No account {username!r}.")
    return account


@click.group("users")
def users() -> None:
    """Accounts: create, list, bind leaders to offices, roles, deactivate, reset."""


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
    account = Account(
        username=username, role=role, offices=find_offices(offices) if role == "leder" else []
    )
    if password:
        generated = None
    else:
        password = generated = secrets.token_urlsafe(12)
    account.set_password(password)
    db.session.add(account)
    db.session.flush()
    audit.record(
        "user.create",
        {
            "username": username,
            "role": role,
            "offices": [o.slug for o in account.offices],
            "password": "generated" if generated else "set_by_admin",
        },
        actor=SHELL,
    )
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
    account = find_account(username)
    before = [o.slug for o in account.offices]
    for office in find_offices(offices):
        if office not in account.offices:
            account.offices.append(office)
    after = [o.slug for o in account.offices]
    if after != before:
        end_sessions(account)  # signs in again to see the new offices
        audit.record(
            "user.update",
            {
                "username": account.username,
                "role": account.role,
                "offices": after,
                "before": {"offices": before},
            },
            actor=SHELL,
        )
    db.session.commit()
    click.echo(f"{username} sees {', '.join(o.slug for o in account.offices)}")


@users.command("password")
@click.argument("username")
@click.password_option()
@with_appcontext
def set_password(username: str, password: str) -> None:
    """Set an account's password."""
    account = find_account(username)
    account.set_password(password)
    clear_reset(account)  # a pending link would otherwise overwrite this password
    end_sessions(account)
    audit.record("user.password_set", {"username": account.username}, actor=SHELL)
    db.session.commit()
    click.echo(f"Password set for {username}.")


@users.command("list")
@with_appcontext
def list_accounts() -> None:
    """List accounts: name, role, state, offices, pending reset."""
    now = datetime.now(UTC)
    for account in db.session.scalars(select(Account).order_by(Account.username)):
        offices = (
            "all offices"
            if account.sees_all_offices()
            else ",".join(o.slug for o in account.offices) or "-"
        )
        reset = reset_state(account.reset_token_hash, account.reset_expires, now)
        click.echo(
            "\t".join(
                [
                    account.username,
                    account.role,
                    "active" if account.active else "inactive",
                    offices,
                    f"reset {reset}" if reset else "",
                ]
            ).rstrip()
        )


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate(username: str) -> None:
    """Deactivate an account: it can no longer sign in, and is signed out."""
    account = find_account(username)
    if not account.active:
        click.echo(f"{account.username} is already inactive.")
        return
    if would_leave_no_admin(account, account.role, False):
        raise click.ClickException(LAST_ADMIN)
    account.active = False
    clear_reset(account)
    end_sessions(account)
    audit.record(
        "user.deactivate", {"username": account.username, "role": account.role}, actor=SHELL
    )
    db.session.commit()
    click.echo(f"{account.username} deactivated.")


@users.command("activate")
@click.argument("username")
@with_appcontext
def activate(username: str) -> None:
    """Reactivate an account."""
    account = find_account(username)
    if account.active:
        click.echo(f"{account.username} is already active.")
        return
    account.active = True
    audit.record("user.activate", {"username": account.username, "role": account.role}, actor=SHELL)
    db.session.commit()
    click.echo(f"{account.username} activated.")


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option(
    "--office",
    "offices",
    multiple=True,
    help="Office slug for a leder (repeat for more); replaces the offices.",
)
@with_appcontext
def set_role(username: str, role: str, offices: tuple[str, ...]) -> None:
    """Change an account's role. A leder keeps its offices unless --office is given, and
    needs at least one; admins and researchers see every office."""
    account = find_account(username)
    before = {"role": account.role, "offices": [o.slug for o in account.offices]}
    if role == "leder":
        chosen = find_offices(offices) if offices else list(account.offices)
        if not chosen:
            raise click.ClickException("A leder needs at least one --office.")
    else:
        chosen = []
    if account.active and would_leave_no_admin(account, role, True):
        raise click.ClickException(LAST_ADMIN)
    account.role, account.offices = role, chosen
    after = {"role": role, "offices": [o.slug for o in account.offices]}
    if after != before:
        end_sessions(account)
        audit.record(
            "user.update", {"username": account.username, **after, "before": before}, actor=SHELL
        )
    db.session.commit()
    click.echo(
        f"{account.username} is {role}"
        + (f" for {', '.join(after['offices'])}" if after["offices"] else "")
    )


@users.command("reset")
@click.argument("username")
@click.option(
    "--base-url",
    help="The site's address, e.g. https://stigen.example.no (default: STIGEN_BASE_URL).",
)
@with_appcontext
def reset(username: str, base_url: str | None) -> None:
    """End an account's password and print a one-time link (72 hours) to choose a new one."""
    account = find_account(username)
    if not account.active:
        raise click.ClickException(f"{account.username} is inactive: activate it first.")
    token = start_reset(account)
    assert account.reset_expires is not None  # start_reset has just set it
    audit.record(
        "user.reset",
        {
            "username": account.username,
            "expires": account.reset_expires.isoformat(timespec="minutes"),
        },
        actor=SHELL,
    )
    db.session.commit()
    link = reset_url(token, base_url)
    click.echo(
        f"One-time link for {account.username} (shown once, valid until "
        f"{account.reset_expires:%Y-%m-%d %H:%M} UTC):"
    )
    click.echo(link)
    if link.startswith("/"):
        click.echo(
            "Put the site's address in front (or set STIGEN_BASE_URL, or pass --base-url).",
            err=True,
        )
