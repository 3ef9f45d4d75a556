"""Account rules shared by the admin pages and ``flask users``: one-time reset links and
"there is always an active administrator". Nothing here commits; the caller does, with its
audit event in the same transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..links import absolute_url
from ..models import Account

RESET_VALID_FOR = timedelta(hours=72)
TOKEN_MAX_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything much longer is noise


# --- pure rules (no database, no Flask) --------------------------------------------------


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for a reset token: the token itself is never kept.
    Looking up the digest instead of comparing tokens leaves no timing to learn from."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def reset_state(token_hash: str | None, expires: datetime | None, now: datetime) -> str | None:
    """None when no reset is pending, else "pending" or "expired"."""
    if not token_hash:
        return None
    expires = as_utc(expires)
    return "pending" if expires is not None and expires > now else "expired"


def leaves_no_admin(active_admin_ids: set[int], account_id: int, role: str, active: bool) -> bool:
    """Whether giving account ``account_id`` this role and state leaves no active admin,
    given the ids of the accounts that are active admins now."""
    remaining = set(active_admin_ids) - {account_id}
    if role == "admin" and active:
        remaining.add(account_id)
    return not remaining


# --- with the database ---------------------------------------------------------------------


def would_leave_no_admin(account: Account, role: str, active: bool) -> bool:
    """The rule above for ``account``, read under a row lock on PostgreSQL so that two
    admins demoting each other at once cannot both succeed (the second waits, then sees the
    first's change)."""
    ids = set(
        db.session.scalars(
            select(Account.id)
            .where(Account.role == "admin", Account.active.is_(True))
            .with_for_update()
        )
    )
    return leaves_no_admin(ids, account.id, role, active)


def end_sessions(account: Account) -> None:
    """End every session of ``account`` at its next request (survey.auth.sessions):
    for sign-out, a new password, a reset, deactivation, a new role or offices."""
    account.session_version = (account.session_version or 1) + 1


def scramble_password(account: Account) -> None:
    """Make every old password stop working: the hash of a secret nobody ever sees."""
    account.set_password(secrets.token_urlsafe(32))


def start_reset(account: Account, now: datetime | None = None) -> str:
    """Give ``account`` a one-time reset link valid for 72 hours and end its old password.
    Returns the token, to show once; only its hash is stored."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    account.reset_token_hash = hash_token(token)
    account.reset_expires = now + RESET_VALID_FOR
    scramble_password(account)
    end_sessions(account)
    return token


def account_for_token(
    token: str, now: datetime | None = None, lock: bool = False
) -> Account | None:
    """The active account whose unexpired reset link this is, else None (the same None for
    every kind of failure). ``lock`` holds the row until commit (PostgreSQL), so a link
    sent twice at once is used once."""
    if not token or len(token) > TOKEN_MAX_LENGTH or not token.isascii():
        return None
    now = now or datetime.now(UTC)
    statement = select(Account).where(Account.reset_token_hash == hash_token(token))
    account = db.session.scalar(statement.with_for_update() if lock else statement)
    if account is None or not account.active:
        return None
    if reset_state(account.reset_token_hash, account.reset_expires, now) != "pending":
        return None
    return account


def finish_reset(account: Account, password: str) -> None:
    """Set the new password and use the link up."""
    account.set_password(password)
    clear_reset(account)
    end_sessions(account)


def clear_reset(account: Account) -> None:
    account.reset_token_hash = None
    account.reset_expires = None


def reset_url(token: str, base_url: str | None = None) -> str:
    """The link to give the account's owner (see ``survey.links.absolute_url``)."""
    return absolute_url("auth.reset_password", base_url, lenke=token)
