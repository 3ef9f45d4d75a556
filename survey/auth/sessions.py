"""Staff sessions that end (issue 14).

A signed cookie cannot be taken back, so what it holds is checked against the database on
every request: the account's ``session_version`` as it was at sign-in, and when the
session began and was last used. Signing out, a new password, a forced reset,
deactivation and a new role or offices raise the version
(``survey.auth.accounts.end_sessions``), so every copy
of the cookie stops working at its next request; a session also ends after
``STIGEN_STAFF_IDLE_MINUTES`` without a request and ``STIGEN_STAFF_MAX_HOURS`` after
signing in.

The times are whole minutes: staff are not anonymous, and nothing here is ever set for a
respondent (only ``start`` sets them, at a staff sign-in).
"""

from __future__ import annotations

import time

from flask import current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

from ..extensions import db, login_manager
from ..models import Account
from ..whole_numbers import whole_number

VERSION, SINCE, SEEN, ENDED = "staff_version", "staff_since", "staff_seen", "staff_ended"
# What Flask-Login keeps for a signed-in session, dropped with ours when a session ends.
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")

REVOKED, IDLE, EXPIRED = "revoked", "idle", "expired"


def minute_now() -> int:
    """Minutes since the epoch: the only clock a staff session keeps."""
    return int(time.time() // 60)


# --- pure rules (no Flask) ---------------------------------------------------------------


def why_ended(
    stored_version, account_version: int, since, seen, now: int, idle_minutes: int, max_hours: int
) -> str | None:
    """None while the session may go on, else why it ended. A session without the
    values (signed in before sessions had them, or tampered with) has ended too."""
    if not isinstance(stored_version, int) or stored_version != account_version:
        return REVOKED
    if not isinstance(since, int) or not isinstance(seen, int):
        return REVOKED
    if now - since >= max_hours * 60 or since > now:
        return EXPIRED
    if now - seen > idle_minutes:
        return IDLE
    return None


# --- with Flask ----------------------------------------------------------------------------


def idle_minutes() -> int:
    return max(1, int(current_app.config["STIGEN_STAFF_IDLE_MINUTES"]))


def max_hours() -> int:
    return max(1, int(current_app.config["STIGEN_STAFF_MAX_HOURS"]))


def start(account: Account) -> None:
    """After ``login_user``: the version and the minute of signing in."""
    now = minute_now()
    session[VERSION] = account.session_version
    session[SINCE] = now
    session[SEEN] = now


def carry_over(account: Account) -> None:
    """This request's own session survives a change its account just made to itself (an
    admin editing their own role): every other copy ends."""
    if session.get("_user_id") == str(account.id):
        session[VERSION] = account.session_version


def ended_reason() -> str | None:
    """Why the last staff session in this browser ended (once), for the sign-in page."""
    return session.pop(ENDED, None)


def _end(reason: str) -> None:
    for key in (*LOGIN_KEYS, VERSION, SINCE, SEEN):
        session.pop(key, None)
    session[ENDED] = reason


@login_manager.user_loader
def load_account(account_id: str) -> Account | None:
    """The signed-in account, if its session is still good; else the session is
    ended here (Flask-Login then treats the visitor as signed out)."""
    number = whole_number(account_id, low=1, high=2**31 - 1)
    account = db.session.get(Account, number) if number else None
    now = minute_now()
    if account is None or not account.active:
        _end(REVOKED)
        return None
    reason = why_ended(
        session.get(VERSION),
        account.session_version,
        session.get(SINCE),
        session.get(SEEN),
        now,
        idle_minutes(),
        max_hours(),
    )
    if reason:
        _end(reason)
        return None
    if session.get(SEEN) != now:
        session[SEEN] = now  # at most one new cookie a minute
    return account


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag on every response to a
    request that came over HTTPS (with ``STIGEN_TRUSTED_PROXIES``, as the proxy says), and
    always in production (``SESSION_COOKIE_SECURE``)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app)) or (has_request_context() and request.is_secure)
