"""Accounts administration: creating users with a one-time link, forced resets, roles and
offices, deactivation, the last-admin rule (web and shell), the audit events they write,
and the audit log's filters."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from survey.auth.accounts import (
    account_for_token,
    hash_token,
    leaves_no_admin,
    reset_state,
    start_reset,
)
from survey.extensions import db
from survey.models import Account, AuditEvent, Office

from .test_dashboard import make_account, sign_in

PASSWORD = "riktig-passord-1"
NEW_PASSWORD = "et-helt-nytt-passord"
LAST_ADMIN = "Det må alltid finnes minst én aktiv administrator"


# --- helpers ---------------------------------------------------------------------------------


def csrf_token(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def post(client, url: str, data: dict | None = None, page: str = "/admin/brukere"):
    """POST as the page's form would, with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **(data or {})})


def office_id(slug: str) -> int:
    return db.session.scalar(select(Office.id).where(Office.slug == slug))


def account(username: str) -> Account:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.username == username))


def account_id(app, username: str) -> int:
    with app.app_context():
        return account(username).id


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            statement = statement.where(AuditEvent.action == action)
        return list(db.session.scalars(statement))


def link_on(response) -> str:
    html = response.get_data(as_text=True)
    return re.search(r'id="reset-link" value="([^"]+)"', html).group(1)


def token_of(link: str) -> str:
    return link.rsplit("?lenke=", 1)[1]


def assert_no_secrets(app, *secrets: str) -> None:
    """No audit event holds a password, a token or a token's hash."""
    dumped = json.dumps([[e.action, e.details] for e in events(app)])
    for secret in secrets:
        assert secret not in dumped
        assert hashlib.sha256(secret.encode()).hexdigest() not in dumped
    assert "password_hash" not in dumped and "token" not in dumped


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
    assert sign_in(client, "admin").status_code == 302
    return client


def create(client, app, username: str, role: str = "leder", offices=("bodo",), **extra):
    with app.app_context():
        ids = [str(office_id(slug)) for slug in offices]
    data = {"username": username, "role": role, "offices": ids, "password_mode": "lenke", **extra}
    return post(client, "/admin/brukere/ny", data, page="/admin/brukere/ny")


# --- pure rules -------------------------------------------------------------------------------


def test_the_last_admin_rule_counts_only_active_admins():
    assert leaves_no_admin({1}, 1, "forsker", True)
    assert leaves_no_admin({1}, 1, "admin", False)
    assert not leaves_no_admin({1}, 1, "admin", True)
    assert not leaves_no_admin({1, 2}, 1, "leder", True)
    assert not leaves_no_admin(set(), 3, "admin", True)  # making someone admin always helps
    assert leaves_no_admin(set(), 3, "leder", True)


def test_reset_state_and_token_hash():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert reset_state(None, None, now) is None
    assert reset_state("x" * 64, now + timedelta(minutes=1), now) == "pending"
    assert reset_state("x" * 64, now, now) == "expired"
    assert reset_state("x" * 64, datetime(2026, 3, 2), now) == "pending"  # naive = UTC (SQLite)
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(hash_token("abc")) == 64


# --- creating a user with a one-time link ------------------------------------------------------


def test_create_user_with_a_link_that_sets_a_password_once(app, admin):
    page = admin.get("/admin/brukere/ny")
    assert page.status_code == 200
    assert "Administratorer og forskere ser alle kontor" in page.get_data(as_text=True)

    response = create(admin, app, "Kari ")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    link = link_on(response)
    assert link.startswith("http://localhost/logg-inn/ny-passord?lenke=")
    token = token_of(link)
    assert len(token) >= 43
    with app.app_context():
        kari = account("kari")  # stored lower-case, trimmed
        assert [o.slug for o in kari.offices] == ["bodo"] and kari.role == "leder"
        assert kari.reset_token_hash == hashlib.sha256(token.encode()).hexdigest()
        expires = kari.reset_expires.replace(tzinfo=kari.reset_expires.tzinfo or UTC)
        assert timedelta(hours=71, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=72)

    listing = admin.get("/admin/brukere").get_data(as_text=True)
    assert "kari" in listing and "lenke sendt" in listing and token not in listing

    visitor = app.test_client()
    form = visitor.get(link)
    assert form.status_code == 200 and "Velg et nytt passord" in form.get_data(as_text=True)
    path = "/logg-inn/ny-passord?lenke=" + token
    mismatch = post(
        visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, page=path
    )
    assert mismatch.status_code == 200 and "Passordene er ikke like." in mismatch.get_data(
        as_text=True
    )
    short = post(visitor, path, {"password": "kort", "confirm": "kort"}, page=path)
    assert "Passordet må ha mellom 10 og 200 tegn." in short.get_data(as_text=True)

    done = post(visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=path)
    assert done.status_code == 302 and done.headers["Location"] == "/logg-inn"
    assert "Passordet er lagret" in visitor.get("/logg-inn").get_data(as_text=True)
    with app.app_context():
        kari = account("kari")
        assert kari.reset_token_hash is None and kari.reset_expires is None
        assert kari.check_password(NEW_PASSWORD)
    assert sign_in(app.test_client(), "kari", NEW_PASSWORD).status_code == 302

    again = app.test_client().get(link)
    assert again.status_code == 404 and "Lenken virker ikke" in again.get_data(as_text=True)
    reused = post(
        app.test_client(), path, {"password": "x" * 12, "confirm": "x" * 12}, page="/logg-inn"
    )
    assert reused.status_code == 404  # used up

    created = events(app, "user.create")[-1]
    assert created.actor == "admin"
    assert created.details == {
        "username": "kari",
        "role": "leder",
        "offices": ["bodo"],
        "password": "link",
    }
    password_set = events(app, "user.password_set")[-1]
    assert password_set.actor == "kari" and password_set.details == {"username": "kari"}
    assert_no_secrets(app, token, NEW_PASSWORD)


def test_create_user_with_a_typed_password(app, admin):
    response = create(
        admin,
        app,
        "forsker1",
        role="forsker",
        offices=("bodo",),
        password_mode="passord",
        password="forskerens-passord",
    )
    assert response.status_code == 302
    with app.app_context():
        forsker = account("forsker1")
        assert forsker.offices == []  # a researcher sees every office: none kept
        assert forsker.reset_token_hash is None
    assert sign_in(app.test_client(), "forsker1", "forskerens-passord").status_code == 302
    assert events(app, "user.create")[-1].details["password"] == "set_by_admin"
    assert_no_secrets(app, "forskerens-passord")


def test_create_refuses_bad_input_and_keeps_it(app, admin):
    response = create(admin, app, "ola", offices=())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "En leder må ha minst ett kontor." in html
    assert 'value="ola"' in html  # typed input kept
    assert "En leder må ha minst ett kontor." in html

    missing = create(admin, app, "ola", password_mode="passord", password="")
    assert "Skriv passordet, eller velg engangslenke." in missing.get_data(as_text=True)
    short = create(admin, app, "ola", password_mode="passord", password="kort")
    assert "Passordet må ha mellom 10 og 200 tegn." in short.get_data(as_text=True)
    taken = create(admin, app, "LEDER")
    assert "Det finnes allerede en bruker med dette navnet." in taken.get_data(as_text=True)
    odd = create(admin, app, "ola nordmann")
    assert "Bruk bare små bokstaver" in odd.get_data(as_text=True)
    tampered = create(admin, app, "ola", role="leder", offices=())
    assert tampered.status_code == 200
    bogus = post(
        admin,
        "/admin/brukere/ny",
        {"username": "ola", "role": "leder", "offices": ["999999", "x"], "password_mode": "lenke"},
        page="/admin/brukere/ny",
    )
    assert bogus.status_code == 200 and "Velg blant kontorene i listen." in bogus.get_data(
        as_text=True
    )
    with app.app_context():
        assert account("ola") is None
    assert events(app, "user.create") == []


# --- editing role and offices ---------------------------------------------------------------


def test_edit_role_and_offices(app, admin):
    leder = account_id(app, "leder")
    url = f"/admin/brukere/{leder}"
    assert admin.get(url).status_code == 200
    assert admin.get("/admin/brukere/999999").status_code == 404
    with app.app_context():
        ids = [str(office_id("bodo")), str(office_id("tromso"))]
    response = post(admin, url, {"role": "leder", "offices": ids}, page=url)
    assert response.status_code == 302
    with app.app_context():
        assert [o.slug for o in account("leder").offices] == ["bodo", "tromso"]
    refused = post(admin, url, {"role": "leder"}, page=url)
    assert "En leder må ha minst ett kontor." in refused.get_data(as_text=True)
    to_researcher = post(admin, url, {"role": "forsker", "offices": ids}, page=url)
    assert to_researcher.status_code == 302
    with app.app_context():
        changed = account("leder")
        assert changed.role == "forsker" and changed.offices == []
    updates = [e.details for e in events(app, "user.update")]
    assert updates == [
        {
            "username": "leder",
            "role": "leder",
            "offices": ["bodo", "tromso"],
            "before": {"role": "leder", "offices": ["bodo"]},
        },
        {
            "username": "leder",
            "role": "forsker",
            "offices": [],
            "before": {"role": "leder", "offices": ["bodo", "tromso"]},
        },
    ]
    unchanged = post(admin, url, {"role": "forsker"}, page=url)
    assert unchanged.status_code == 302 and len(events(app, "user.update")) == 2


# --- forced reset -------------------------------------------------------------------------------


def test_forced_reset_ends_the_old_password(app, admin):
    leder = account_id(app, "leder")
    session = app.test_client()
    assert sign_in(session, "leder").status_code == 302
    response = post(admin, f"/admin/brukere/{leder}/nytt-passord")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = link_on(response)
    assert sign_in(app.test_client(), "leder", PASSWORD).status_code == 401

    # A second reset replaces the first link.
    newer = link_on(post(admin, f"/admin/brukere/{leder}/nytt-passord"))
    assert app.test_client().get(link).status_code == 404
    assert app.test_client().get(newer).status_code == 200

    reset = events(app, "user.reset")
    assert [e.details["username"] for e in reset] == ["leder", "leder"]
    assert set(reset[0].details) == {"username", "expires"}
    assert_no_secrets(app, token_of(link), token_of(newer), PASSWORD)


def test_a_link_expires(app, admin):
    with app.app_context():
        leder = account("leder")
        token = start_reset(leder)
        db.session.commit()
    path = f"/logg-inn/ny-passord?lenke={token}"
    assert app.test_client().get(path).status_code == 200
    with app.app_context():
        leder = account("leder")
        leder.reset_expires = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
        assert account_for_token(token) is None
    expired = app.test_client().get(path)
    unknown = app.test_client().get("/logg-inn/ny-passord?lenke=" + "A" * 43)
    assert expired.status_code == unknown.status_code == 404
    # Every failure looks the same (but for the link itself, kept in the language links).
    assert expired.get_data(as_text=True).replace(token, "") == unknown.get_data(
        as_text=True
    ).replace("A" * 43, "")
    assert "lenken er utløpt" in admin.get("/admin/brukere").get_data(as_text=True)
    for nonsense in ("x" * 500, "%C3%A6%C3%B8", "a.b"):
        assert app.test_client().get("/logg-inn/ny-passord?lenke=" + nonsense).status_code == 404


def test_the_reset_page_switches_language(app, admin):
    with app.app_context():
        token = start_reset(account("leder"))
        db.session.commit()
    visitor = app.test_client()
    page = visitor.get(f"/logg-inn/ny-passord?lenke={token}&lang=nn").get_data(as_text=True)
    assert '<html lang="nn">' in page and 'hreflang="en"' in page
    # Still a working form afterwards, in the language chosen.
    path = f"/logg-inn/ny-passord?lenke={token}"
    done = post(visitor, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=path)
    assert done.status_code == 302
    assert '<html lang="nn">' in visitor.get("/logg-inn").get_data(as_text=True)


def test_the_link_does_not_work_for_a_deactivated_account(app, admin):
    with app.app_context():
        token = start_reset(account("leder"))
        db.session.commit()
    leder = account_id(app, "leder")
    post(admin, f"/admin/brukere/{leder}/deaktiver")
    assert app.test_client().get(f"/logg-inn/ny-passord?lenke={token}").status_code == 404
    refused = post(admin, f"/admin/brukere/{leder}/nytt-passord", page="/admin/brukere")
    assert refused.status_code == 302 and events(app, "user.reset") == []


def test_the_link_uses_the_configured_base_url(app, admin):
    app.config["STIGEN_BASE_URL"] = "https://stigen.example.no/"
    leder = account_id(app, "leder")
    link = link_on(post(admin, f"/admin/brukere/{leder}/nytt-passord"))
    assert link.startswith("https://stigen.example.no/logg-inn/ny-passord?lenke=")


# --- deactivation -------------------------------------------------------------------------------


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(app, admin):
    leder = account_id(app, "leder")
    session = app.test_client()
    assert sign_in(session, "leder").status_code == 302
    assert session.get("/resultater/kontor/bodo").status_code == 200

    assert post(admin, f"/admin/brukere/{leder}/deaktiver").status_code == 302
    signed_out = session.get("/resultater/kontor/bodo")
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/logg-inn")
    assert sign_in(app.test_client(), "leder").status_code == 401
    assert "deaktivert" in admin.get("/admin/brukere").get_data(as_text=True)

    assert post(admin, f"/admin/brukere/{leder}/aktiver").status_code == 302
    assert sign_in(app.test_client(), "leder").status_code == 302
    assert [e.details for e in events(app, "user.deactivate")] == [
        {"username": "leder", "role": "leder"}
    ]
    assert [e.details for e in events(app, "user.activate")] == [
        {"username": "leder", "role": "leder"}
    ]
    # Every staff action was the admin's (a release made by the pages themselves is not).
    assert all(e.actor == "admin" for e in events(app) if e.action != "release.publish")


# --- the last admin -------------------------------------------------------------------------------


def test_the_last_admin_cannot_remove_themself(app, admin):
    me = account_id(app, "admin")
    refused = post(admin, f"/admin/brukere/{me}/deaktiver")
    assert LAST_ADMIN in admin.get(refused.headers["Location"]).get_data(as_text=True)
    demoted = post(admin, f"/admin/brukere/{me}", {"role": "forsker"}, page=f"/admin/brukere/{me}")
    assert demoted.status_code == 200 and LAST_ADMIN in demoted.get_data(as_text=True)
    with app.app_context():
        me_now = account("admin")
        assert me_now.active and me_now.role == "admin"
    assert events(app) == []

    # An inactive admin does not count.
    with app.app_context():
        make_account("admin2", "admin")
        account("admin2").active = False
        db.session.commit()
    demoted = post(admin, f"/admin/brukere/{me}", {"role": "forsker"}, page=f"/admin/brukere/{me}")
    assert LAST_ADMIN in demoted.get_data(as_text=True)

    # With another active admin, stepping down is allowed (and leaves the admin pages).
    other = account_id(app, "admin2")
    post(admin, f"/admin/brukere/{other}/aktiver")
    stepped_down = post(
        admin, f"/admin/brukere/{me}", {"role": "forsker"}, page=f"/admin/brukere/{me}"
    )
    assert stepped_down.status_code == 302 and stepped_down.headers["Location"] == "/resultater/"
    assert admin.get("/admin/brukere").status_code == 404

    # And now admin2 is the last one.
    second = app.test_client()
    assert sign_in(second, "admin2").status_code == 302
    refused = post(second, f"/admin/brukere/{other}/deaktiver")
    assert LAST_ADMIN in second.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert account("admin2").active


def test_the_last_admin_rule_in_the_shell(app, runner):
    with app.app_context():
        make_account("admin", "admin")
    refused = runner.invoke(args=["users", "deactivate", "admin"])
    assert refused.exit_code != 0 and "at least one active admin" in refused.output
    refused = runner.invoke(args=["users", "role", "admin", "forsker"])
    assert refused.exit_code != 0 and "at least one active admin" in refused.output
    assert events(app) == []
    assert runner.invoke(args=["users", "create", "sjef", "--role", "admin"]).exit_code == 0
    assert runner.invoke(args=["users", "role", "admin", "forsker"]).exit_code == 0
    refused = runner.invoke(args=["users", "deactivate", "sjef"])
    assert refused.exit_code != 0
    with app.app_context():
        assert account("admin").role == "forsker" and account("sjef").active


# --- the shell ------------------------------------------------------------------------------------


def test_user_commands_work_and_are_audited(app, runner):
    with app.app_context():
        make_account("admin", "admin")
    created = runner.invoke(args=["users", "create", "kari", "--role", "leder", "--office", "bodo"])
    assert created.exit_code == 0
    generated = created.output.rsplit(": ", 1)[1].strip()
    assert runner.invoke(args=["users", "bind", "kari", "--office", "tromso"]).exit_code == 0
    assert (
        runner.invoke(
            args=["users", "password", "kari"], input="kommando-passord\nkommando-passord\n"
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(args=["users", "role", "kari", "leder", "--office", "tromso"]).exit_code == 0
    )
    refused = runner.invoke(args=["users", "role", "admin", "leder"])
    assert refused.exit_code != 0 and "needs at least one --office" in refused.output
    assert runner.invoke(args=["users", "deactivate", "kari"]).exit_code == 0
    assert runner.invoke(args=["users", "activate", "kari"]).exit_code == 0
    missing = runner.invoke(args=["users", "deactivate", "nobody"])
    assert missing.exit_code != 0 and "No account" in missing.output

    reset = runner.invoke(
        args=["users", "reset", "kari", "--base-url", "https://stigen.example.no"]
    )
    assert reset.exit_code == 0
    link = reset.output.strip().splitlines()[-1]
    assert link.startswith("https://stigen.example.no/logg-inn/ny-passord?lenke=")
    bare = runner.invoke(args=["users", "reset", "kari"])
    assert bare.output.splitlines()[1].startswith("/logg-inn/ny-passord?lenke=")
    assert app.test_client().get(link).status_code == 404  # the newer link replaced it

    listing = runner.invoke(args=["users", "list"]).output
    assert "kari\tleder\tactive\ttromso\treset pending" in listing
    assert "admin\tadmin\tactive\tall offices" in listing

    seen = [(e.actor, e.action) for e in events(app)]
    assert seen == [
        ("shell", "user.create"),
        ("shell", "user.update"),
        ("shell", "user.password_set"),
        ("shell", "user.update"),
        ("shell", "user.deactivate"),
        ("shell", "user.activate"),
        ("shell", "user.reset"),
        ("shell", "user.reset"),
    ]
    assert_no_secrets(app, generated, "kommando-passord", token_of(link))


# --- the audit log's filters ------------------------------------------------------------------------


def add_event(at: datetime, actor: str, action: str, **details) -> None:
    db.session.add(AuditEvent(at=at, actor=actor, action=action, details=details))


@pytest.fixture
def logged(app, admin):
    with app.app_context():
        add_event(datetime(2026, 1, 31, 23, 59, tzinfo=UTC), "kari", "office.create", slug="a")
        add_event(datetime(2026, 2, 1, 0, 0, tzinfo=UTC), "kari", "user.create", username="x1")
        add_event(datetime(2026, 2, 15, 12, tzinfo=UTC), "ola", "user.create", username="x2")
        add_event(datetime(2026, 2, 28, 23, 59, tzinfo=UTC), "shell", "user.reset", username="x3")
        add_event(datetime(2026, 3, 1, 0, 0, tzinfo=UTC), "ola", "office.create", slug="b")
        db.session.commit()
    return admin


def rows(client, query: str) -> list[str]:
    response = client.get("/admin/revisjon?" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.findall(r"<li><span class=\"muted\">\w+:</span> ([^<]+)</li>", html)


def test_audit_log_filters(app, logged):
    assert rows(logged, "") == ["b", "x3", "x2", "x1", "a"]
    assert rows(logged, "handling=user.create") == ["x2", "x1"]
    assert rows(logged, "handling=no.such") == ["b", "x3", "x2", "x1", "a"]  # unknown: all
    assert rows(logged, "hvem=OLA") == ["b", "x2"]
    assert rows(logged, "hvem=nobody") == []
    assert rows(logged, "fra=2026-02-01&til=2026-02-28") == ["x3", "x2", "x1"]
    assert rows(logged, "fra=2026-03-01") == ["b"]
    assert rows(logged, "til=2026-01-31") == ["a"]
    assert rows(logged, "handling=user.create&hvem=kari&fra=2026-02-01") == ["x1"]


def test_audit_log_bad_dates_get_a_message(app, logged):
    for query in ("fra=2026-13-01", "til=1.2.2026", "fra=20260201", "fra=%00", "hvem=%00"):
        response = logged.get("/admin/revisjon?" + query)
        assert response.status_code == 200, query
    html = logged.get("/admin/revisjon?fra=2026-13-01").get_data(as_text=True)
    assert "Skriv datoen som ÅÅÅÅ-MM-DD" in html and 'value="2026-13-01"' in html
    assert rows(logged, "fra=2026-13-01") == ["b", "x3", "x2", "x1", "a"]  # filters nothing
    reversed_range = logged.get("/admin/revisjon?fra=2026-03-01&til=2026-02-01").get_data(
        as_text=True
    )
    assert "Til-datoen kan ikke være før fra-datoen." in reversed_range


def test_audit_log_pages_keep_the_filters(app, admin):
    with app.app_context():
        start = datetime(2026, 2, 1, tzinfo=UTC)
        for n in range(105):
            add_event(start + timedelta(minutes=n), "kari", "user.update", n=n)
        add_event(start, "ola", "office.create", n=999)
        db.session.commit()
    first = admin.get("/admin/revisjon?handling=user.update&hvem=kari&fra=2026-02-01")
    html = first.get_data(as_text=True)
    older = (
        re.search(r'href="(/admin/revisjon\?[^"]*side=2[^"]*)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    assert "handling=user.update" in older and "hvem=kari" in older and "fra=2026-02-01" in older
    second = admin.get(older).get_data(as_text=True)
    shown = re.findall(r'<span class="muted">n:</span> (\d+)<', second)
    assert shown == ["4", "3", "2", "1", "0"]  # the oldest five, and not the other actor's
