"""Routes for single sign-on (survey.auth.oidc does the work): off (404) unless
``STIGEN_OIDC_ISSUER`` is set."""

from __future__ import annotations

import logging

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import login_user

from ..extensions import db
from ..links import absolute_url
from . import bp, oidc, sessions
from .views import _fresh_session, safe_next

log = logging.getLogger(__name__)


@bp.context_processor
def _sign_in_choices() -> dict:
    """What the sign-in page offers: the provider's button, the password form, or both."""
    return {"sso_enabled": oidc.enabled(), "local_passwords": oidc.local_passwords()}


def _return_address() -> str:
    return absolute_url("auth.sso_callback")


def refused(reason: str, username: str = ""):
    """The page for a sign-in Stigen does not let in, saying why and what to do."""
    status = 401 if reason == oidc.FAILED else 403
    return (
        render_template("auth/sso_refused.html", reason=reason, username=username),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.get("/logg-inn/sso")
def sso_start():
    """Off to the organisation's identity provider."""
    if not oidc.enabled():
        abort(404)
    try:
        url, flow = oidc.begin(_return_address())
    except (oidc.unreachable(), ValueError, KeyError) as error:
        log.warning("SSO provider unreachable or misconfigured: %s", type(error).__name__)
        return refused(oidc.FAILED)
    flow["next"] = safe_next(request.args.get("next")) or ""
    session[oidc.FLOW_KEY] = flow  # used once, when the provider sends the visitor back
    return redirect(url)


@bp.get("/logg-inn/sso/tilbake")
def sso_callback():
    """Back from the provider: verify, map the groups, sign in like any staff session
    (survey.auth.sessions), so signing out ends it like any other."""
    if not oidc.enabled():
        abort(404)
    flow = session.pop(oidc.FLOW_KEY, None)
    try:
        claims = oidc.finish(flow, request.args, _return_address())
        account = oidc.account_for(claims)
    except oidc.Refused as refusal:
        db.session.rollback()
        return refused(refusal.reason, refusal.username)
    except (oidc.unreachable(), ValueError, KeyError) as error:
        db.session.rollback()
        log.warning("SSO provider unreachable or misconfigured: %s", type(error).__name__)
        return refused(oidc.FAILED)
    db.session.commit()
    _fresh_session()  # nothing carried over into the signed-in session
    login_user(account)
    sessions.start(account)
    return redirect(safe_next(flow.get("next")) or url_for("dashboard.home"))
