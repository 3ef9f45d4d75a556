"""The staff cookie holds no hash of the address and user agent (issue 12, "Staff
cookie"): Flask-Login's ``login_user`` stores ``_id`` from its session identifier
generator, an unsalted SHA-512 of both, even with session protection off; Stigen's
generator gives a constant instead. Checked on the signed cookie itself, decoded as the
server would, after every step a staff member takes."""

from __future__ import annotations

import hashlib
import json
import re

from flask_login.utils import _create_identifier

from .forms import Page
from .test_dashboard import make_account, sign_in

ADDRESS = "198.51.100.77"
AGENT = "Mozilla/5.0 (StigenCookieProbe; Leder-PC 4711)"
TRACES = {"environ_base": {"REMOTE_ADDR": ADDRESS}, "headers": {"User-Agent": AGENT}}


def flask_logins_hash(app) -> str:
    """What Flask-Login's own generator makes of this address and user agent."""
    with app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT}
    ):
        return _create_identifier()


def cookie_session(app, client) -> dict:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def assert_nothing_of_the_client(app, session: dict) -> None:
    dumped = json.dumps(session, default=str)
    known = flask_logins_hash(app)
    assert len(known) == 128 and known not in dumped
    for text in (ADDRESS, AGENT, "StigenCookieProbe"):
        assert text not in dumped
        for digest in (hashlib.sha512, hashlib.sha256, hashlib.sha1, hashlib.md5):
            assert digest(text.encode()).hexdigest() not in dumped
    # No long hex string at all, whatever it might be a hash of, but the CSRF token
    # (Flask-WTF's: a SHA-1 of random bytes, nothing of the client).
    others = json.dumps({k: v for k, v in session.items() if k != "csrf_token"}, default=str)
    assert not re.search(r"[0-9a-f]{40,}", others), session
    assert session.get("_id") in (None, "-")


def test_the_signed_in_cookie_holds_no_hash_of_address_or_user_agent(app, client):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("admin", "admin")
    # Sent home to the login page first (Flask-Login's "unauthorized" path).
    assert client.get("/resultater/", **TRACES).status_code in (302, 303)
    page = Page(client.get("/logg-inn", **TRACES))
    data = page.values()
    data["username"], data["password"] = "leder", "riktig-passord-1"
    assert client.post("/logg-inn", data=data, **TRACES).status_code in (302, 303)
    session = cookie_session(app, client)
    assert session.get("_user_id")  # signed in: the cookie is the signed-in one
    assert_nothing_of_the_client(app, session)
    assert client.get("/resultater/", **TRACES).status_code in (200, 302, 303)
    assert_nothing_of_the_client(app, cookie_session(app, client))

    admin = app.test_client()
    sign_in(admin, "admin")
    assert admin.get("/admin/", **TRACES).status_code == 200
    assert_nothing_of_the_client(app, cookie_session(app, admin))


def test_flask_logins_generator_is_replaced(app):
    """The hook the app sets: a constant, not the address and user agent's hash."""
    assert app.login_manager._session_identifier_generator() == "-"
    assert app.login_manager.session_protection is None
