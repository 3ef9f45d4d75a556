"""Single sign-on for staff through OpenID Connect (issue 14), against a real OpenID
provider running locally (panva/oidc-provider under Node: tests/oidc_provider.py).

The provider signs with a key the tests made, so the tests can also hand Stigen tokens the
provider's published keys vouch for but that are wrong in one way each (another audience,
expired, another nonce or issuer) and tampered ones: Stigen's own verification must refuse
every one, and a token re-signed unchanged (the control) must pass."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from survey.auth import oidc
from survey.auth.oidc import config_problem, map_groups, parse_mapping, role_mapping, subject_key
from survey.extensions import db
from survey.models import Account, AuditEvent

from .oidc_provider import ACCOUNTS, claims_of, through_provider, with_claims
from .test_admin_users import csrf_token, post
from .test_dashboard import make_account, sign_in

OFFICE_PAGE = "/resultater/kontor/bodo"
NO_ROLE = "har ikke gitt deg en rolle i Stigen"
FAILED = "kunne ikke fullføres"


@pytest.fixture
def app_config(oidc_provider):
    oidc.forget()  # no metadata or keys of an earlier provider
    return oidc_provider.config()


def account_named(app, username: str) -> Account | None:
    with app.app_context():
        db.session.expire_all()
        found = db.session.scalar(select(Account).where(Account.username == username))
        if found is not None:
            found.office_slugs = sorted(o.slug for o in found.offices)
        return found


def signed_in(client) -> bool:
    return client.get(OFFICE_PAGE).status_code == 200


def signed_out(client) -> bool:
    response = client.get(OFFICE_PAGE)
    return response.status_code == 302 and response.headers["Location"].startswith("/logg-inn")


# --- pure rules ------------------------------------------------------------------------------


def test_the_mapping_gives_the_role_with_most_rights_and_every_mapped_office():
    roles = role_mapping("g-admin=admin, g-forsker=forsker,\n g-leder=leder")
    offices = parse_mapping("kontor-a=bodo, 1234-abcd=tromso")
    assert map_groups(["g-leder", "kontor-a"], roles, offices) == ("leder", ["bodo"])
    assert map_groups(["g-leder", "g-admin", "g-forsker"], roles, offices)[0] == "admin"
    assert map_groups(["g-leder", "g-forsker"], roles, offices)[0] == "forsker"
    assert map_groups(["1234-abcd", "x-oslo"], roles, offices, "x-") == (None, ["oslo", "tromso"])
    assert map_groups(["x-"], roles, offices, "x-") == (None, [])  # the bare prefix: no slug
    assert map_groups([], roles, offices) == (None, [])
    assert parse_mapping("a=b=c") == {"a=b": "c"}
    with pytest.raises(ValueError):
        role_mapping("g=superuser")
    with pytest.raises(ValueError):
        parse_mapping("just-a-group")


def test_sso_settings_are_checked_at_startup():
    good = {
        "STIGEN_OIDC_ISSUER": "https://idp.example",
        "STIGEN_OIDC_CLIENT_ID": "stigen",
        "STIGEN_OIDC_CLIENT_SECRET": "s",
        "STIGEN_OIDC_SCOPES": "openid groups",
        "STIGEN_OIDC_ROLES": "g=admin",
        "STIGEN_PRODUCTION": True,
    }
    assert config_problem({}) is None and config_problem(good) is None
    for change, says in (
        (dict(STIGEN_OIDC_ISSUER="http://idp.example"), "https"),
        (dict(STIGEN_OIDC_CLIENT_SECRET=""), "_CLIENT_SECRET"),
        (dict(STIGEN_OIDC_SCOPES="profile"), "openid"),
        (dict(STIGEN_OIDC_ROLES="g=root"), "unknown roles: root"),
        (dict(STIGEN_OIDC_ROLES=""), "at least one group"),
        (dict(STIGEN_OIDC_OFFICES="no-pair"), "group=value"),
    ):
        assert says in config_problem({**good, **change}), change


def test_sso_is_off_unless_configured(app, client):
    app.config["STIGEN_OIDC_ISSUER"] = ""
    assert client.get("/logg-inn/sso").status_code == 404
    assert client.get("/logg-inn/sso/tilbake?code=x&state=y").status_code == 404
    assert "/logg-inn/sso" not in client.get("/logg-inn").get_data(as_text=True)


# --- signing in ------------------------------------------------------------------------------


def test_sign_in_through_the_provider_maps_role_and_offices(app, client, oidc_provider):
    start = client.get("/logg-inn/sso?next=/resultater/kontor/tromso")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.headers["Location"].startswith(oidc_provider.issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["client_id"] == ["stigen"] and query["nonce"] and query["state"]
    assert query["scope"] == ["openid profile email groups"]
    client = app.test_client()
    response = through_provider(client, "kari", "/logg-inn/sso?next=/resultater/kontor/tromso")
    assert (
        response.status_code == 302 and response.headers["Location"] == "/resultater/kontor/tromso"
    )
    kari = account_named(app, "kari.leder")
    assert kari.role == "leder" and kari.office_slugs == ["bodo", "tromso"]
    assert kari.sso_subject == subject_key(oidc_provider.issuer, "kari")
    assert signed_in(client) and client.get("/admin/brukere").status_code == 404
    assert sign_in(app.test_client(), "kari.leder", "").status_code != 302  # no local password
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.sso_created"))
        assert event.details == {
            "username": "kari.leder",
            "role": "leder",
            "offices": ["bodo", "tromso"],
        }
    # Signing in again finds the same account, unchanged.
    assert through_provider(app.test_client(), "kari").status_code == 302
    with app.app_context():
        assert db.session.query(Account).count() == 1
    for who, username, role in (
        ("ola", "ola.admin", "admin"),
        ("frida", "frida.forsker", "forsker"),
    ):
        other = app.test_client()
        assert through_provider(other, who).status_code == 302
        assert account_named(app, username).role == role
        assert other.get("/resultater/", follow_redirects=True).request.path != "/logg-inn"
        assert other.get("/eksport/").status_code == 200  # researchers' and admins' page


def test_a_group_mapped_to_no_role_is_refused_with_a_clear_page(app, client):
    response = through_provider(client, "ukjent")
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and NO_ROLE in page and "uten.tilgang" in page
    assert signed_out(client) and account_named(app, "uten.tilgang") is None
    english = app.test_client()
    english.get("/logg-inn?lang=en")
    page = through_provider(english, "ukjent").get_data(as_text=True)
    assert "has not given you a role in Stigen" in page and NO_ROLE not in page


def test_a_leader_without_a_known_office_and_a_local_username_are_refused(app, client):
    response = through_provider(client, "kontorlos")
    assert response.status_code == 403
    assert "ikke knyttet til noe kontor" in response.get_data(as_text=True)
    with app.app_context():
        make_account("admin", "admin")
    before = account_named(app, "admin")
    response = through_provider(app.test_client(), "navnebror")  # calls itself "admin"
    assert response.status_code == 403
    assert "finnes allerede som en lokal konto" in response.get_data(as_text=True)
    after = account_named(app, "admin")
    assert after.sso_subject is None and after.session_version == before.session_version
    assert sign_in(app.test_client(), "admin").status_code == 302  # the local one still works


def test_a_deactivated_sso_account_stays_out(app, client):
    assert through_provider(client, "kari").status_code == 302
    with app.app_context():
        db.session.scalar(select(Account).where(Account.username == "kari.leder")).active = False
        db.session.commit()
    assert signed_out(client)
    response = through_provider(app.test_client(), "kari")
    assert response.status_code == 403 and "er deaktivert" in response.get_data(as_text=True)
    assert account_named(app, "kari.leder").active is False


# --- tokens Stigen must refuse -----------------------------------------------------------------


def swap_id_token(monkeypatch, change) -> dict:
    """Stigen's code exchange with the real provider, then the ID token changed by
    ``change`` before Stigen verifies it. Returns what passed (code, tokens)."""
    real, seen = oidc.exchange, {}

    def exchange(client, endpoint, code, verifier):
        tokens = real(client, endpoint, code, verifier)
        seen.update(code=code, original=tokens["id_token"], access=tokens.get("access_token"))
        tokens["id_token"] = change(tokens["id_token"])
        return tokens

    monkeypatch.setattr(oidc, "exchange", exchange)
    return seen


def refused(app, client, response) -> bool:
    return (
        response.status_code == 401
        and FAILED in response.get_data(as_text=True)
        and signed_out(client)
        and account_named(app, "kari.leder") is None
    )


def test_the_control_a_token_re_signed_unchanged_with_the_providers_key_passes(
    app, client, oidc_provider, monkeypatch
):
    seen = swap_id_token(monkeypatch, lambda token: oidc_provider.sign(claims_of(token)))
    assert through_provider(client, "kari").status_code == 302 and signed_in(client)
    assert claims_of(seen["original"])["aud"] == "stigen"


@pytest.mark.parametrize(
    "case",
    [
        "wrong_audience",
        "wrong_audience_naming_stigen_as_azp",
        "audiences_without_azp",
        "expired",
        "wrong_nonce",
        "wrong_issuer",
        "no_expiry",
    ],
)
def test_a_token_signed_by_the_provider_but_wrong_is_refused(
    app, client, oidc_provider, monkeypatch, case
):
    now = int(time.time())
    changes = {
        "wrong_audience": {"aud": "another-client"},
        "wrong_audience_naming_stigen_as_azp": {"aud": "another-client", "azp": "stigen"},
        "audiences_without_azp": {"aud": ["stigen", "another-client"]},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "wrong_nonce": {"nonce": "not-the-one-stigen-sent"},
        "wrong_issuer": {"iss": "https://idp.example"},
        "no_expiry": {"exp": None},
    }[case]

    def change(token):
        claims = {**claims_of(token), **changes}
        return oidc_provider.sign({k: v for k, v in claims.items() if v is not None})

    swap_id_token(monkeypatch, change)
    assert refused(app, client, through_provider(client, "kari"))


def test_a_real_token_after_its_expiry_is_refused(app, client, monkeypatch):
    seen = swap_id_token(monkeypatch, lambda token: token)  # the provider's own token
    monkeypatch.setattr(oidc, "clock", lambda: int(time.time()) + 2 * 3600)
    assert refused(app, client, through_provider(client, "kari"))
    assert claims_of(seen["original"])["exp"] < int(time.time()) + 2 * 3600 - oidc.LEEWAY


@pytest.mark.parametrize("case", ["payload", "signature", "other_key", "alg_none"])
def test_a_tampered_token_is_refused(app, client, oidc_provider, monkeypatch, case):
    stranger = RSAKey.generate_key(2048, private=True)

    def change(token):
        head, body, signature = token.split(".")
        if case == "payload":  # a leader makes themself admin
            return with_claims(token, groups=["stigen-admin"])
        if case == "signature":
            flipped = "A" if signature[10] != "A" else "B"
            return f"{head}.{body}.{signature[:10]}{flipped}{signature[11:]}"
        if case == "other_key":  # signed by someone else, under the provider's key id
            return oidc_provider.sign(claims_of(token), key=stranger)
        none = json.dumps({"alg": "none", "typ": "JWT"}).encode()
        import base64

        return base64.urlsafe_b64encode(none).rstrip(b"=").decode() + f".{body}."

    swap_id_token(monkeypatch, change)
    assert refused(app, client, through_provider(client, "kari"))


def test_a_forged_return_is_refused(app, client):
    """Another state than this browser's, a code used twice, an error from the provider."""
    client.get("/logg-inn/sso")
    response = client.get("/logg-inn/sso/tilbake?code=abc&state=not-mine")
    assert refused(app, client, response)
    fresh = app.test_client()
    start = fresh.get("/logg-inn/sso").headers["Location"]
    state = parse_qs(urlsplit(start).query)["state"][0]
    assert refused(
        app, fresh, fresh.get(f"/logg-inn/sso/tilbake?error=access_denied&state={state}")
    )
    # The real return, then the same again (a replayed code): the second is refused.
    other = app.test_client()
    back = []
    real = other.get

    def get(path, *args, **kwargs):
        if path.startswith("/logg-inn/sso/tilbake"):
            back.append(path)
        return real(path, *args, **kwargs)

    other.get = get
    assert through_provider(other, "kari").status_code == 302
    replay = app.test_client()
    replay.get("/logg-inn/sso")
    assert replay.get(back[0]).status_code == 401 and signed_out(replay)


def test_no_code_or_token_is_ever_logged(app, client, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    seen = swap_id_token(monkeypatch, lambda token: token)
    assert through_provider(client, "kari").status_code == 302
    secrets = [seen["code"], seen["original"], seen["access"]]
    swap_id_token(monkeypatch, lambda token: with_claims(token, aud="x"))
    assert through_provider(app.test_client(), "ola").status_code == 401
    assert "SSO sign-in failed" in caplog.text
    with app.app_context():
        audit = json.dumps([e.details for e in db.session.scalars(select(AuditEvent))])
    for secret in secrets + [seen["code"], seen["original"]]:
        assert secret and secret not in caplog.text and secret not in audit


# --- a session like any other ------------------------------------------------------------------


def test_sign_out_ends_the_sso_session_and_every_copy(app, client):
    assert through_provider(client, "kari").status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert signed_in(copy)
    version = account_named(app, "kari.leder").session_version
    assert post(client, "/logg-ut", page=OFFICE_PAGE).status_code == 302
    assert signed_out(client) and signed_out(copy)
    assert account_named(app, "kari.leder").session_version == version + 1
    assert through_provider(client, "kari").status_code == 302 and signed_in(client)


def test_new_groups_at_the_provider_end_the_old_sessions(app, client, oidc_provider):
    assert through_provider(client, "kari").status_code == 302
    with app.app_context():  # the next sign-in brings other groups: leader of Bodø only
        claims = {"sub": "kari", **ACCOUNTS["kari"], "groups": ["stigen-leder", "kontor-bodo"]}
        account = oidc.account_for(claims)
        db.session.commit()
        assert sorted(o.slug for o in account.offices) == ["bodo"]
        again = oidc.account_for(claims)  # the same groups again: nothing changes
        assert again.session_version == account.session_version
    assert signed_out(client)


def test_local_passwords_can_be_switched_off(app, client):
    with app.app_context():
        make_account("leder", "leder", "bodo")
    page = client.get("/logg-inn").get_data(as_text=True)
    assert "/logg-inn/sso" in page and 'name="password"' in page  # both, by default
    token = csrf_token(client, "/logg-inn")  # a form kept from before the switch
    app.config["STIGEN_OIDC_LOCAL_PASSWORDS"] = False
    page = client.get("/logg-inn").get_data(as_text=True)
    assert "/logg-inn/sso" in page and 'name="password"' not in page
    response = client.post(
        "/logg-inn", data={"csrf_token": token, "username": "leder", "password": "riktig-passord-1"}
    )
    assert response.status_code == 403 and signed_out(client)
    assert "Innlogging med passord er slått av" in response.get_data(as_text=True)
    assert through_provider(client, "kari").status_code == 302 and signed_in(client)


# --- the authorization matrix, for SSO-mapped accounts ------------------------------------------


@pytest.mark.parametrize(
    "who, role", [("kari", "leder_own"), ("frida", "forsker"), ("ola", "admin")]
)
def test_every_route_for_sso_mapped_accounts(app, who, role):
    """tests/test_authorization.py's matrix, signed in through the provider: an SSO
    account may do what a local account of its mapped role may, and no more (Kari leads
    Bodø, whose pages the matrix opens, and Tromsø)."""
    from .test_authorization import matrix_data, wrong_statuses

    matrix_data(app)
    client = app.test_client()
    assert through_provider(client, who).status_code == 302
    sso_on = {
        "auth.sso_start": (302,) * 6,  # off to the provider, signed in or not
        "auth.sso_callback": (401,) * 6,
    }  # no sign-in under way: refused
    if who == "kari":  # a leader of two offices gets the overview, not a redirect to one
        sso_on["dashboard.overview"] = (200,) * 6
    wrong = wrong_statuses(app, client, role, sso_on)
    assert not wrong, f"{who}: (endpoint, method, got, expected) {wrong}"
    assert signed_in(client)  # the whole matrix, and the session still holds


def test_the_servers_log_the_return_address_without_its_code():
    """The provider's return carries the code and state in its query string: werkzeug's
    and gunicorn's lines keep the path only (survey/log_filters.py)."""
    from survey import gunicorn_conf
    from survey.log_filters import RequestLineFilter, StaffAccessOnly

    from .test_logs import werkzeug_record

    line = "GET /logg-inn/sso/tilbake?code=SECRET-CODE&state=SECRET-STATE HTTP/1.1"
    record = werkzeug_record(line, "303")
    assert RequestLineFilter().filter(record)
    assert record.getMessage() == "GET /logg-inn/sso/tilbake 303"
    atoms = {
        "m": "GET",
        "U": "/logg-inn/sso/tilbake",
        "q": "code=SECRET-CODE",
        "s": "302",
        "B": "0",
        "M": "4",
    }
    access = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        gunicorn_conf.access_log_format,
        (atoms,),
        None,
    )
    assert StaffAccessOnly().filter(access) and "SECRET" not in access.getMessage()
