"""Accounts: create, change role and offices, deactivate and reactivate, force a password
reset with a one-time link shown to the admin once. There is always an active admin."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit
from ..auth import sessions
from ..auth.access import admin_required
from ..auth.accounts import (
    clear_reset,
    end_sessions,
    reset_state,
    reset_url,
    start_reset,
    would_leave_no_admin,
)
from ..extensions import db
from ..models import Account, Office
from . import bp
from .user_forms import AccountCreateForm, AccountRolesForm

NO_STORE = {"Cache-Control": "no-store"}


def last_admin_message() -> str:
    return _(
        "Det må alltid finnes minst én aktiv administrator. "
        "Gjør en annen bruker til administrator først."
    )


def _offices() -> list[Office]:
    return list(db.session.scalars(select(Office).order_by(Office.name)))


def _account(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        abort(404)
    return account


def _chosen_offices(form: AccountRolesForm, offices: list[Office]) -> list[Office]:
    """A leder's chosen offices; none for roles that see every office."""
    if form.role.data != "leder":
        return []
    chosen = set(form.offices.data or ())
    return [office for office in offices if office.id in chosen]


def _link_page(account: Account, token: str, created: bool):
    """The one-time link, shown once: not in a flash message (that would put it in the
    session cookie), never cached."""
    return render_template(
        "admin/user_link.html",
        account=account,
        link=reset_url(token),
        expires=account.reset_expires,
        created=created,
    ), NO_STORE


@bp.get("/brukere")
@admin_required
def users():
    """Every account with its role, offices, state and any pending reset."""
    accounts = db.session.scalars(select(Account).order_by(Account.username)).all()
    now = datetime.now(UTC)
    resets = {a.id: reset_state(a.reset_token_hash, a.reset_expires, now) for a in accounts}
    return render_template("admin/users.html", accounts=accounts, resets=resets)


@bp.route("/brukere/ny", methods=["GET", "POST"])
@admin_required
def user_new():
    """Create an account, with a one-time link (or a password the admin types)."""
    offices = _offices()
    form = AccountCreateForm()
    form.set_office_choices(offices)
    if form.validate_on_submit():
        username = form.username.data
        taken = db.session.scalar(
            select(Account.id).where(func.lower(Account.username) == username)
        )
        if taken is not None:
            form.username.errors.append(_("Det finnes allerede en bruker med dette navnet."))
        else:
            account = Account(
                username=username, role=form.role.data, offices=_chosen_offices(form, offices)
            )
            token = None
            if form.password.data:
                account.set_password(form.password.data)
            else:
                token = start_reset(account)  # no password at all until the link is used
            db.session.add(account)
            db.session.flush()
            audit.record(
                "user.create",
                {
                    "username": username,
                    "role": account.role,
                    "offices": [o.slug for o in account.offices],
                    "password": "link" if token else "set_by_admin",
                },
            )
            db.session.commit()
            if token:
                return _link_page(account, token, created=True)
            flash(_("Brukeren %(username)s er opprettet.", username=username))
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, account=None)


@bp.route("/brukere/<int:account_id>", methods=["GET", "POST"])
@admin_required
def user_edit(account_id: int):
    """Change an account's role and offices; the buttons to deactivate, reactivate or
    reset its password."""
    account = _account(account_id)
    offices = _offices()
    form = AccountRolesForm(data={"role": account.role, "offices": [o.id for o in account.offices]})
    form.set_office_choices(offices)
    if form.validate_on_submit():
        before = {"role": account.role, "offices": [o.slug for o in account.offices]}
        chosen = _chosen_offices(form, offices)
        after = {"role": form.role.data, "offices": [o.slug for o in chosen]}
        if after == before:
            flash(_("Ingen endringer å lagre."))
            return redirect(url_for("admin.user_edit", account_id=account.id))
        if account.active and would_leave_no_admin(account, form.role.data, True):
            form.role.errors.append(last_admin_message())
        else:
            account.role, account.offices = form.role.data, chosen
            end_sessions(account)  # other sessions sign in again to get the new access
            sessions.carry_over(account)  # an admin editing themselves stays signed in here
            audit.record("user.update", {"username": account.username, **after, "before": before})
            db.session.commit()
            flash(_("Endringene for %(username)s er lagret.", username=account.username))
            if account.id == current_user.id and account.role != "admin":
                return redirect(url_for("dashboard.home"))  # no longer sees the admin pages
            return redirect(url_for("admin.users"))
    now = datetime.now(UTC)
    return render_template(
        "admin/user_form.html",
        form=form,
        account=account,
        reset=reset_state(account.reset_token_hash, account.reset_expires, now),
    )


@bp.post("/brukere/<int:account_id>/deaktiver")
@admin_required
def user_deactivate(account_id: int):
    """Deactivate: the account can no longer sign in and is signed out on its next
    request; a pending reset link stops working."""
    account = _account(account_id)
    if not account.active:
        return redirect(url_for("admin.user_edit", account_id=account.id))
    if would_leave_no_admin(account, account.role, False):
        flash(last_admin_message())
        return redirect(url_for("admin.user_edit", account_id=account.id))
    account.active = False
    clear_reset(account)
    end_sessions(account)
    audit.record("user.deactivate", {"username": account.username, "role": account.role})
    db.session.commit()
    flash(_("%(username)s er deaktivert og kan ikke lenger logge inn.", username=account.username))
    return redirect(url_for("admin.users"))


@bp.post("/brukere/<int:account_id>/aktiver")
@admin_required
def user_activate(account_id: int):
    """Reactivate: the old password works again (unless a reset ended it)."""
    account = _account(account_id)
    if not account.active:
        account.active = True
        audit.record("user.activate", {"username": account.username, "role": account.role})
        db.session.commit()
        flash(_("%(username)s er aktiv igjen.", username=account.username))
    return redirect(url_for("admin.users"))


@bp.post("/brukere/<int:account_id>/nytt-passord")
@admin_required
def user_reset(account_id: int):
    """Force a password reset: the old password stops working now, and a one-time link
    valid for 72 hours is shown once."""
    account = _account(account_id)
    if not account.active:
        flash(_("Aktiver brukeren før du lager en lenke for nytt passord."))
        return redirect(url_for("admin.user_edit", account_id=account.id))
    token = start_reset(account)
    assert account.reset_expires is not None  # start_reset has just set it
    audit.record(
        "user.reset",
        {
            "username": account.username,
            "expires": account.reset_expires.isoformat(timespec="minutes"),
        },
    )
    db.session.commit()
    return _link_page(account, token, created=False)
