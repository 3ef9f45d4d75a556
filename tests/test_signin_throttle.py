"""Lockouts nobody can aim (issue 14): failed sign-ins slow down the address that fails,
never a named account for everybody; X-Forwarded-For counts only behind trusted proxies;
and an unknown username costs the same password-hash work as a known one."""

from __future__ import annotations

import hashlib
import secrets
import time

import pytest

from survey.auth import views
from survey.auth.throttle import ADDRESS, PAIR, USERNAME, pair_wait, wait_after, whole_minutes
from survey.extensions import db, limiter
from survey.models import Account

from .forms import Page
from .test_dashboard import make_account

A, B = "198.51.100.10", "203.0.113.20"
PASSWORD = "riktig-passord-1"


@pytest.fixture
def people(app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
        make_account("admin", "admin")


def attempt(client, username: str, password: str, address: str = A, headers=None):
    """One sign-in, as a browser at ``address`` sends it (the form first, for its token)."""
    environ = {"REMOTE_ADDR": address}
    page = Page(client.get("/logg-inn", environ_base=environ, headers=headers))
    data = page.values()
    data["username"], data["password"] = username, password
    return client.post("/logg-inn", data=data, environ_base=environ, headers=headers)


def held(response) -> bool:
    return response.status_code == 429 and "For mange mislykkede forsøk" in response.get_data(
        as_text=True
    )


# --- the cases from the issue ------------------------------------------------------------------


def test_ten_wrong_passwords_from_one_address_do_not_lock_out_the_right_one_from_another(
    app, people
):
    attacker = app.test_client()
    statuses = [attempt(attacker, "leder", f"gjett-{i}").status_code for i in range(10)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert held(attempt(attacker, "leder", PASSWORD))  # the attacker's address waits
    assert attempt(app.test_client(), "leder", PASSWORD, address=B).status_code == 302


def test_random_usernames_from_one_address_lock_nobody_else_out(app, people):
    attacker = app.test_client()
    statuses = [attempt(attacker, secrets.token_hex(6), "gjett").status_code for _ in range(45)]
    assert statuses.count(401) == ADDRESS.free and statuses.count(429) == 45 - ADDRESS.free
    assert attempt(app.test_client(), "forsker", PASSWORD, address=B).status_code == 302
    assert attempt(app.test_client(), "leder", PASSWORD, address=B).status_code == 302


def test_a_username_under_attack_from_many_addresses_stays_open_to_a_clean_address(app, people):
    for i in range(30):  # a botnet: 30 addresses, one guess each
        assert (
            attempt(app.test_client(), "leder", "gjett", address=f"192.0.2.{i}").status_code == 401
        )
    assert attempt(app.test_client(), "leder", PASSWORD, address=B).status_code == 302
    # An address that failed for it while it was under attack now waits (a slow-down,
    # capped at USERNAME.cap): the botnet's second round is held back.
    second = attempt(app.test_client(), "leder", "gjett", address="192.0.2.29")
    assert held(second) and int(second.headers["Retry-After"]) <= USERNAME.cap


# --- slowing down: growing, capped, and forgotten after success -------------------------------


def test_the_wait_grows_and_is_capped():
    assert [wait_after(PAIR, n) for n in range(PAIR.free)] == [0.0] * PAIR.free
    waits = [wait_after(PAIR, n) for n in range(PAIR.free, PAIR.free + 10)]
    assert waits == sorted(waits) and waits[0] == PAIR.first and waits[-1] == PAIR.cap
    assert wait_after(ADDRESS, 10_000) == ADDRESS.cap
    assert pair_wait(1, USERNAME.free) == USERNAME.first  # under attack: a short wait
    assert pair_wait(1, 10_000) == USERNAME.cap < PAIR.cap
    assert whole_minutes(1) == 1 and whole_minutes(61) == 2 and whole_minutes(900) == 15


def test_waiting_lets_the_address_try_again_and_the_wait_grows(app, people, monkeypatch):
    clock = {"offset": 0.0}
    real_time = time.time
    # The rate limiter's storage and the throttle read the same clock.
    monkeypatch.setattr(time, "time", lambda: real_time() + clock["offset"])
    client = app.test_client()
    for i in range(PAIR.free):
        assert attempt(client, "leder", f"gjett-{i}").status_code == 401
    first = attempt(client, "leder", PASSWORD)
    assert held(first) and "Vent 1 min" in first.get_data(as_text=True)
    assert 25 <= int(first.headers["Retry-After"]) <= 30
    clock["offset"] += PAIR.first + 1
    assert attempt(client, "leder", "gjett-igjen").status_code == 401  # tried, and wrong
    second = attempt(client, "leder", PASSWORD)
    assert held(second) and 55 <= int(second.headers["Retry-After"]) <= 60
    clock["offset"] += 2 * PAIR.first + 1
    assert attempt(client, "leder", PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_that_addresss_failures_for_the_username(app, people):
    client = app.test_client()
    for i in range(PAIR.free - 1):
        assert attempt(client, "leder", f"gjett-{i}").status_code == 401
    assert attempt(client, "leder", PASSWORD).status_code == 302
    other = app.test_client()
    for i in range(PAIR.free - 1):
        assert attempt(other, "leder", f"gjett-{i}").status_code == 401
    assert attempt(other, "leder", PASSWORD).status_code == 302


def test_the_wait_page_is_friendly_and_in_the_visitors_language(app, people):
    client = app.test_client()
    client.get("/logg-inn?lang=nn", environ_base={"REMOTE_ADDR": A})
    for i in range(PAIR.free):
        attempt(client, "leder", f"gjett-{i}")
    response = attempt(client, "leder", PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and '<html lang="nn">' in html
    assert "For mange mislukka forsøk. Vent 1 min og prøv igjen." in html
    assert 'name="username"' in html  # the form is there to try again later


# --- which address counts -------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_without_trusted_proxies(app, people):
    """Every request comes from the proxy's address; a made-up header changes nothing."""
    client = app.test_client()
    for i in range(ADDRESS.free):
        response = attempt(
            client, secrets.token_hex(6), "gjett", headers={"X-Forwarded-For": f"192.0.2.{i}"}
        )
        assert response.status_code == 401
    assert held(attempt(client, "forsker", PASSWORD, headers={"X-Forwarded-For": B}))


@pytest.mark.parametrize("app_config", [{"STIGEN_TRUSTED_PROXIES": 1}])
def test_x_forwarded_for_is_honoured_behind_one_trusted_proxy(app, people):
    proxy = "10.0.0.1"
    client = app.test_client()
    for _ in range(ADDRESS.free):
        response = attempt(
            client, secrets.token_hex(6), "gjett", address=proxy, headers={"X-Forwarded-For": A}
        )
        assert response.status_code == 401
    assert held(attempt(client, "forsker", PASSWORD, address=proxy, headers={"X-Forwarded-For": A}))
    # Another client behind the same proxy is not held back ...
    assert (
        attempt(
            app.test_client(), "forsker", PASSWORD, address=proxy, headers={"X-Forwarded-For": B}
        ).status_code
        == 302
    )
    # ... and only the nearest hop counts: a client cannot pick its address by prepending.
    assert held(
        attempt(
            app.test_client(),
            "forsker",
            PASSWORD,
            address=proxy,
            headers={"X-Forwarded-For": f"{B}, {A}"},
        )
    )


@pytest.fixture
def limits_back_on():
    """Flask-Limiter keeps ``enabled`` on its one global object and hands it to every later
    app as their default (``config.setdefault``): switch it back for the tests after this."""
    yield
    limiter.enabled = True


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": False}])
def test_the_throttle_is_off_with_the_rate_limits(limits_back_on, app, people):
    client = app.test_client()
    for i in range(PAIR.free + 3):
        assert attempt(client, "leder", f"gjett-{i}").status_code == 401
    assert attempt(client, "leder", PASSWORD).status_code == 302


# --- no enumeration by timing ---------------------------------------------------------------------


def test_known_and_unknown_usernames_take_one_password_hash_check_each(app, people, monkeypatch):
    with app.app_context():
        views.dummy_hash()  # made once per process, before counting
        inactive = Account(username="sluttet", role="forsker", active=False)
        inactive.set_password(PASSWORD)
        db.session.add(inactive)
        db.session.commit()
    calls = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args, **kwargs):
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    counts = {}
    for username, password, status in (
        ("leder", "galt-passord", 401),
        ("finnes-ikke", "galt-passord", 401),
        ("sluttet", PASSWORD, 401),
        ("forsker", PASSWORD, 302),
    ):
        calls.clear()
        address = f"192.0.2.{len(counts) + 1}"
        assert attempt(app.test_client(), username, password, address=address).status_code == status
        counts[username] = len(calls)
    assert counts == {"leder": 1, "finnes-ikke": 1, "sluttet": 1, "forsker": 1}


def test_the_dummy_hash_is_made_once_and_uses_the_same_method(app):
    with app.app_context():
        account = Account(username="x", role="admin")
        account.set_password("noe")
        assert views.dummy_hash() is views.dummy_hash()
        assert views.dummy_hash().split("$")[0] == account.password_hash.split("$")[0]
