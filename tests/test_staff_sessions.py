"""Staff sessions that end (issue 14): a copy of a leader's cookie, taken while signed in,
stops working after sign-out, a forced reset, a new password, deactivation and a new role
or offices; sessions end after the idle timeout and the absolute lifetime, with a clear
word on the sign-in page; the cookie is Secure over HTTPS and in production."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey import create_app
from survey.auth import sessions
from survey.auth.sessions import EXPIRED, IDLE, REVOKED, why_ended
from survey.extensions import db
from survey.models import Account

from .test_admin_users import account_id, link_on, post
from .test_dashboard import make_account, sign_in
from .test_staff_cookie import cookie_session

OFFICE_PAGE = "/resultater/kontor/bodo"
ENDED = "Økten din er avsluttet"


@pytest.fixture
def people(app):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_out(client, path: str = OFFICE_PAGE) -> bool:
    response = client.get(path)
    return response.status_code == 302 and response.headers["Location"].startswith("/logg-inn")


def signed_in_leder(app):
    client = app.test_client()
    assert sign_in(client, "leder").status_code == 302
    assert client.get(OFFICE_PAGE).status_code == 200
    copy = copy_of(app, client)
    assert copy.get(OFFICE_PAGE).status_code == 200  # the copy works, until ...
    return client, copy


def version(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Account.session_version).where(Account.username == username)
        )


# --- the copied cookie ---------------------------------------------------------------------


def test_sign_out_ends_every_copy_of_the_cookie(app, people):
    client, copy = signed_in_leder(app)
    before = version(app, "leder")
    assert post(client, "/logg-ut", page=OFFICE_PAGE).status_code == 302
    assert version(app, "leder") == before + 1
    assert signed_out(copy)
    page = copy.get("/logg-inn").get_data(as_text=True)
    assert ENDED in page and "Logg inn for å se resultatene" not in page
    assert ENDED not in copy.get("/logg-inn").get_data(as_text=True)  # said once
    assert signed_out(copy)  # and it stays ended
    assert sign_in(client, "leder").status_code == 302  # signing in again works


def test_a_forced_reset_and_the_new_password_each_end_the_sessions(app, people):
    admin = app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    _, copy = signed_in_leder(app)
    link = link_on(post(admin, f"/admin/brukere/{account_id(app, 'leder')}/nytt-passord"))
    assert signed_out(copy)

    # Signed in again elsewhere before the reset link is used: the new password ends that.
    with app.app_context():
        db.session.scalar(select(Account).where(Account.username == "leder")).set_password(
            "riktig-passord-1"
        )
        db.session.commit()
    _, second = signed_in_leder(app)
    visitor = app.test_client()
    form = visitor.get(link).get_data(as_text=True)
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    done = visitor.post(
        link,
        data={
            "csrf_token": token,
            "password": "et-helt-nytt-passord",
            "confirm": "et-helt-nytt-passord",
        },
    )
    assert done.status_code == 302
    assert signed_out(second)


def test_a_password_set_from_the_shell_ends_the_sessions(app, runner, people):
    _, copy = signed_in_leder(app)
    result = runner.invoke(
        args=["users", "password", "leder"], input="et-helt-nytt-passord\net-helt-nytt-passord\n"
    )
    assert result.exit_code == 0, result.output
    assert signed_out(copy)


def test_deactivation_ends_the_sessions_from_the_web_and_the_shell(app, runner, people):
    admin = app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    _, copy = signed_in_leder(app)
    leder = account_id(app, "leder")
    assert post(admin, f"/admin/brukere/{leder}/deaktiver").status_code == 302
    assert post(admin, f"/admin/brukere/{leder}/aktiver").status_code == 302
    assert signed_out(copy)  # reactivating does not bring the old session back

    _, copy = signed_in_leder(app)
    assert runner.invoke(args=["users", "deactivate", "leder"]).exit_code == 0
    assert runner.invoke(args=["users", "activate", "leder"]).exit_code == 0
    assert signed_out(copy)


def test_a_new_role_or_new_offices_end_the_sessions(app, runner, people):
    admin = app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    leder = account_id(app, "leder")
    _, copy = signed_in_leder(app)
    with app.app_context():
        offices = list(
            db.session.execute(
                db.text("SELECT id FROM office WHERE slug IN ('bodo', 'tromso')")
            ).scalars()
        )
    changed = post(
        admin,
        f"/admin/brukere/{leder}",
        {"role": "leder", "offices": offices},
        page=f"/admin/brukere/{leder}",
    )
    assert changed.status_code == 302
    assert signed_out(copy)
    assert admin.get("/admin/brukere").status_code == 200  # the admin's own session goes on

    _, copy = signed_in_leder(app)
    moved = runner.invoke(args=["users", "role", "leder", "leder", "--office", "bodo"])
    assert moved.exit_code == 0
    assert signed_out(copy, "/resultater/")
    _, copy = signed_in_leder(app)
    assert runner.invoke(args=["users", "bind", "leder", "--office", "tromso"]).exit_code == 0
    assert signed_out(copy, "/resultater/")
    _, copy = signed_in_leder(app)
    assert runner.invoke(args=["users", "role", "leder", "forsker"]).exit_code == 0
    assert signed_out(copy, "/resultater/")


def test_an_admin_changing_their_own_offices_stays_signed_in_here_only(app, people):
    with app.app_context():
        make_account("admin2", "admin")
    me = account_id(app, "admin")
    admin = app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    elsewhere = copy_of(app, admin)
    changed = post(admin, f"/admin/brukere/{me}", {"role": "forsker"}, page=f"/admin/brukere/{me}")
    assert changed.status_code == 302
    assert admin.get("/resultater/oversikt").status_code == 200
    assert signed_out(elsewhere, "/resultater/oversikt")


def test_a_session_from_before_the_version_is_refused(app, people):
    client = app.test_client()
    assert sign_in(client, "leder").status_code == 302
    with client.session_transaction() as session:
        del session[sessions.VERSION]
    assert signed_out(client)


# --- idle timeout and lifetime ----------------------------------------------------------------


def test_idle_staff_sessions_end_with_a_message(app, people, monkeypatch):
    start = sessions.minute_now()
    clock = {"now": start}
    monkeypatch.setattr(sessions, "minute_now", lambda: clock["now"])
    client = app.test_client()
    assert sign_in(client, "leder").status_code == 302
    clock["now"] = start + 29
    assert client.get(OFFICE_PAGE).status_code == 200  # still fine, and seen again now
    assert cookie_session(app, client)[sessions.SEEN] == start + 29
    clock["now"] = start + 29 + 31
    assert signed_out(client)
    assert "etter 30 minutter uten aktivitet" in client.get("/logg-inn").get_data(as_text=True)


@pytest.mark.parametrize(
    "app_config", [{"STIGEN_STAFF_IDLE_MINUTES": 5, "STIGEN_STAFF_MAX_HOURS": 2}]
)
def test_staff_sessions_end_after_their_lifetime_however_busy(app, people, monkeypatch):
    start = sessions.minute_now()
    clock = {"now": start}
    monkeypatch.setattr(sessions, "minute_now", lambda: clock["now"])
    client = app.test_client()
    assert sign_in(client, "leder").status_code == 302
    for minutes in range(4, 120, 4):
        clock["now"] = start + minutes
        assert client.get(OFFICE_PAGE).status_code == 200, minutes
    clock["now"] = start + 120
    assert signed_out(client)
    assert "logget inn i 2 timer" in client.get("/logg-inn").get_data(as_text=True)
    clock["now"] = start + 120 + 6
    assert sign_in(client, "leder").status_code == 302
    clock["now"] += 6
    assert signed_out(client)
    assert "etter 5 minutter uten aktivitet" in client.get("/logg-inn").get_data(as_text=True)


def test_the_session_keeps_whole_minutes_and_respondents_keep_none(app, people):
    client = app.test_client()
    assert sign_in(client, "leder").status_code == 302
    stored = cookie_session(app, client)
    for key in (sessions.VERSION, sessions.SINCE, sessions.SEEN):
        assert isinstance(stored[key], int)
    assert abs(stored[sessions.SINCE] - sessions.minute_now()) <= 1
    respondent = app.test_client()
    respondent.get("/k/bodo")
    with respondent.session_transaction() as session:
        assert not {sessions.VERSION, sessions.SINCE, sessions.SEEN, sessions.ENDED} & set(session)


def test_why_ended_rules():
    assert why_ended(3, 3, 100, 120, 130, 30, 12) is None
    assert why_ended(2, 3, 100, 120, 130, 30, 12) == REVOKED
    assert why_ended(None, 1, 100, 120, 130, 30, 12) == REVOKED
    assert why_ended(1, 1, None, 120, 130, 30, 12) == REVOKED
    assert why_ended(1, 1, 100, 120, 151, 30, 12) == IDLE
    assert why_ended(1, 1, 100, 120, 150, 30, 12) is None
    assert why_ended(1, 1, 100, 100 + 719, 100 + 720, 30, 12) == EXPIRED
    assert why_ended(1, 1, 200, 200, 100, 30, 12) == EXPIRED  # from the future: not ours


# --- the Secure flag ----------------------------------------------------------------------------


def set_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert headers, response.headers
    return headers[-1]


def test_the_cookie_is_secure_over_https_and_not_over_plain_http(app, people):
    secure = app.test_client()
    page = secure.get("/logg-inn", base_url="https://localhost")
    assert "; Secure" in set_cookie_header(page)
    plain = app.test_client()
    assert "; Secure" not in set_cookie_header(plain.get("/logg-inn"))


@pytest.mark.parametrize("app_config", [{"STIGEN_TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy_its_https_makes_the_cookie_secure(app, people):
    client = app.test_client()
    page = client.get(
        "/logg-inn", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert "; Secure" in set_cookie_header(page)


def test_without_trusted_proxies_a_forwarded_https_is_not_believed(app, people):
    page = app.test_client().get("/logg-inn", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" not in set_cookie_header(page)


def test_production_always_sets_the_secure_flag(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STIGEN_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-secret-for-this-test")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    page = app.test_client().get("/logg-inn")
    assert "; Secure" in set_cookie_header(page) and "; HttpOnly" in set_cookie_header(page)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
