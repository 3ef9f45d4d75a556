"""Routes for signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from .. import audit
from ..extensions import db, limiter, login_manager
from ..numbers import whole_number
from ..models import Account
from . import bp
from .accounts import account_for_token, finish_reset
from .forms import LoginForm, ResetForm

# Failed sign-ins only count towards the limits; a successful one costs nothing.
FAILED = 401


def _failed(response) -> bool:
    return response.status_code == FAILED


def _username_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:80]


@login_manager.user_loader
def load_account(account_id: str) -> Account | None:
    number = whole_number(account_id, low=1, high=2**31 - 1)
    account = db.session.get(Account, number) if number else None
    return account if account and account.active else None


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after signing in, or None: never another host
    (no open redirect), never a scheme-relative or backslashed trick."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/logg-inn", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], deduct_when=_failed,
               key_func=_username_key)
def login():
    """Sign-in page for leaders, researchers and administrators."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("dashboard.home"))
    if form.validate_on_submit() and "\x00" not in form.username.data + form.password.data:
        username = form.username.data.strip().lower()
        account = db.session.scalar(select(Account).where(func.lower(Account.username) == username))
        if account and account.active and account.check_password(form.password.data):
            _fresh_session()  # nothing carried over into the signed-in session
            login_user(account)
            return redirect(safe_next(form.next.data) or url_for("dashboard.home"))
        return render_template("auth/login.html", form=form,
                               error=_("Feil brukernavn eller passord.")), FAILED
    return render_template("auth/login.html", form=form, error=None)


@bp.post("/logg-ut")
@login_required
def logout():
    """Sign out and forget the session."""
    logout_user()
    _fresh_session()
    return redirect(url_for("auth.login"))


@bp.route("/logg-inn/ny-passord", methods=["GET", "POST"])
def reset_password():
    """A one-time link from an administrator: choose a new password. Every kind of bad
    link (unknown, expired, used, deactivated account) gets the same page.

    The token travels in the query string (``?lenke=``), never in the path, because the
    access logs keep paths but drop query strings (gunicorn.conf.py, survey/privacy.py)."""
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
    return render_template("auth/reset.html", form=form, account=account), \
        {"Cache-Control": "no-store"}


def _fresh_session() -> None:
    """Forget the session, but not the language the visitor chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
