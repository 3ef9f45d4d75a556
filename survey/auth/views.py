"""Routes for signing in and out."""

from __future__ import annotations

import secrets
from functools import cache
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..errors import error_page
from ..extensions import db
from ..models import Account
from . import bp, oidc, sessions, throttle
from .accounts import account_for_token, end_sessions, finish_reset
from .forms import LoginForm, ResetForm, unusable_password

FAILED = 401


@cache
def dummy_hash() -> str:
    """A password hash nobody knows the password of, made once per process: an unknown
    username is checked against it, so it takes the same work as a known one and timing
    tells nobody which usernames exist."""
    return generate_password_hash(secrets.token_urlsafe(32))


def password_matches(account: Account | None, password: str) -> bool:
    """One password hash check whoever is named: a known active account's own, or the
    dummy's for an unknown or deactivated one."""
    if account is not None and account.active:
        return account.check_password(password)
    check_password_hash(dummy_hash(), password)
    return False


def ended_message(reason: str | None) -> str | None:
    """What the sign-in page says when a staff session has ended by itself."""
    if reason == sessions.IDLE:
        return _(
            "Du ble logget ut etter %(minutes)s minutter uten aktivitet. Logg inn på nytt.",
            minutes=sessions.idle_minutes(),
        )
    if reason == sessions.EXPIRED:
        return _(
            "Du ble logget ut fordi du har vært logget inn i %(hours)s timer. Logg inn på nytt.",
            hours=sessions.max_hours(),
        )
    if reason == sessions.REVOKED:
        return _(
            "Økten din er avsluttet, for eksempel fordi du logget ut et annet sted "
            "eller passordet eller tilgangen din ble endret. Logg inn på nytt."
        )
    return None


def held_back(form: LoginForm, seconds: float):
    """The sign-in page while this address must wait: friendly, in the visitor's
    language, with how long."""
    message = _(
        "For mange mislykkede forsøk. Vent %(minutes)s min og prøv igjen.",
        minutes=throttle.whole_minutes(seconds),
    )
    return (
        render_template("auth/login.html", form=form, error=message),
        429,
        {"Retry-After": str(max(1, int(seconds + 0.999)))},
    )


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after signing in, or None: never another host
    (no open redirect), never a scheme-relative or backslashed trick."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """A staff form whose token expired or is missing: the sign-in form again, with a word
    on why; any other form of this blueprint, the plain 400 page. (Flask-WTF raises this
    in its ``before_request`` check, after routing, so this blueprint's handler gets it.
    The questionnaire checks its own token and never gets here.)"""
    if request.endpoint == "auth.login":
        message = _("Siden var åpen lenge. Logg inn på nytt.")
        return render_template("auth/login.html", form=LoginForm(), error=message), 400
    return error_page(400)


@bp.route("/logg-inn", methods=["GET", "POST"])
def login():
    """Sign-in page for leaders, researchers and administrators. Failed attempts are
    throttled by ``survey.auth.throttle`` (never a lockout anybody else can aim)."""
    form = LoginForm()
    signed_in = current_user.is_authenticated  # first: this is where a stale session ends
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if signed_in:
            return redirect(url_for("dashboard.home"))
        notice = ended_message(sessions.ended_reason())
        if notice:  # says more than Flask-Login's "sign in to see the results"
            session.pop("_flashes", None)
        return render_template("auth/login.html", form=form, error=None, notice=notice)
    if not oidc.local_passwords():  # SSO only (STIGEN_OIDC_LOCAL_PASSWORDS=off)
        return render_template(
            "auth/login.html",
            form=form,
            error=_("Innlogging med passord er slått av. Logg inn med organisasjonskontoen din."),
        ), 403
    if form.validate_on_submit() and not unusable_password(form.username.data + form.password.data):
        username = form.username.data.strip().lower()
        wait = throttle.wait_for(username)
        if wait:
            return held_back(form, wait)
        account = db.session.scalar(select(Account).where(func.lower(Account.username) == username))
        if password_matches(account, form.password.data):
            throttle.succeeded(username)
            _fresh_session()  # nothing carried over into the signed-in session
            login_user(account)
            sessions.start(account)
            return redirect(safe_next(form.next.data) or url_for("dashboard.home"))
        throttle.failed(username)
        return render_template(
            "auth/login.html", form=form, error=_("Feil brukernavn eller passord.")
        ), FAILED
    return render_template("auth/login.html", form=form, error=None)


@bp.post("/logg-ut")
@login_required
def logout():
    """Sign out: every session of this account ends (also a copy of this cookie kept
    elsewhere), and this one is forgotten."""
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    _fresh_session()
    return redirect(url_for("auth.login"))


@bp.route("/logg-inn/ny-passord", methods=["GET", "POST"])
def reset_password():
    """A one-time link from an administrator: choose a new password. Every kind of bad
    link (unknown, expired, used, deactivated account) gets the same page.

    The token travels in the query string (``?lenke=``), never in the path, because the
    access logs keep paths but drop query strings (gunicorn.conf.py, survey/log_filters.py)."""
    token = request.args.get("lenke", "").replace("\x00", "")
    account = account_for_token(token, lock=request.method == "POST")
    if account is None:
        response = render_template("auth/reset.html", form=None)
        return response, 404, {"Cache-Control": "no-store"}
    form = ResetForm()
    if form.validate_on_submit():
        finish_reset(account, form.password.data)
        audit.record("user.password_set", {"username": account.username}, actor=account)
        db.session.commit()
        if current_user.is_authenticated:  # whoever was signed in here, sign in afresh
            logout_user()
        _fresh_session()
        flash(_("Passordet er lagret. Logg inn med det nye passordet."))
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, account=account), {
        "Cache-Control": "no-store"
    }


def _fresh_session() -> None:
    """Forget the session, but not the language the visitor chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
