"""Every route × every kind of visitor, generated from the app's URL map: a route added
without an expectation here fails this test, so none slips through untested."""

from __future__ import annotations

import plotly
import pytest
from flask import url_for

from .forms import start
from .test_dashboard import APRIL, add_responses, make_account, sign_in
from .test_notes import add_note

ROLES = ("anonymous", "respondent", "leder_other", "leder_own", "forsker", "admin")

# endpoint -> expected status per role, in ROLES order. 302 to the login page for
# anonymous staff routes; 404 (not 403) where a role may not know the page exists.
EXPECTED = {
    "static": (200,) * 6,
    "respond.front": (200,) * 6,
    "respond.start": (200,) * 6,
    "respond.questionnaire_get": (302,) * 6,
    "respond.questionnaire_post": (200,) * 6,  # no token: the same page back, nothing lost
    "respond.thanks": (200,) * 6,
    "respond.privacy": (200,) * 6,
    "respond.code_post": (303,) * 6,  # Bodø takes its open link: to the start page
    "auth.login": (200, 200, 302, 302, 302, 302),
    "auth.logout": (400,) * 6,  # a POST without its CSRF token
    "dashboard.home": (302,) * 6,
    "dashboard.overview": (302, 302, 302, 302, 200, 200),
    "dashboard.office": (302, 302, 404, 200, 200, 200),
    "dashboard.notes": (302, 302, 404, 200, 200, 200),  # forsker reads, never writes
    "dashboard.note_edit": (302, 302, 404, 200, 404, 200),
    "dashboard.note_delete": (302, 302, 404, 200, 404, 200),
    "public.office": (200,) * 6,
    "export.index": (302, 302, 404, 404, 200, 200),
    "export.responses_csv": (302, 302, 404, 404, 200, 200),
    "export.responses_info": (302, 302, 404, 404, 200, 200),
    "export.comments_csv": (302, 302, 404, 404, 404, 404),  # 404 without the confirmation
    "export.aggregate_csv": (302, 302, 404, 404, 200, 200),
    "export.codebook": (302, 302, 404, 404, 200, 200),
    "export.codebook_csv": (302, 302, 404, 404, 200, 200),
    "export.responses_labelled": (302, 302, 404, 404, 200, 200),
    "export.measurement_page": (302, 302, 404, 404, 200, 200),
    "export.measurement_csv": (302, 302, 404, 404, 200, 200),
    "admin.index": (302, 302, 404, 404, 404, 200),
    "admin.audit_log": (302, 302, 404, 404, 404, 200),
    "admin.codes_overview": (302, 302, 404, 404, 404, 200),
    "admin.codes_page": (302, 302, 404, 404, 404, 200),
    "admin.codes_mode": (400,) * 6,  # POSTs without their CSRF token
    "admin.codes_generate": (400,) * 6,
    "admin.codes_delete": (400,) * 6,
    "admin.offices": (302, 302, 404, 404, 404, 200),
    "admin.office_new": (302, 302, 404, 404, 404, 200),
    "admin.office": (302, 302, 404, 404, 404, 200),
    "admin.office_edit": (302, 302, 404, 404, 404, 200),
    "admin.office_qr_svg": (302, 302, 404, 404, 404, 200),
    "admin.office_qr_png": (302, 302, 404, 404, 404, 200),
    "admin.office_poster": (302, 302, 404, 404, 404, 200),
    "admin.office_poster_svg": (302, 302, 404, 404, 404, 200),
    "admin.periods": (302, 302, 404, 404, 404, 200),
    # POSTs without their CSRF token (with one, non-admins get 404: test_admin_offices.py)
    "admin.office_deactivate": (400,) * 6,
    "admin.office_activate": (400,) * 6,
    "admin.office_period": (400,) * 6,
    "admin.office_open_now": (400,) * 6,
    "admin.office_close_now": (400,) * 6,
    "admin.periods_open_now": (400,) * 6,
    "admin.periods_close_now": (400,) * 6,
    "admin.questionnaires": (302, 302, 404, 404, 404, 200),
    "admin.questionnaire": (302, 302, 404, 404, 404, 200),
    "admin.questionnaire_live": (400,) * 6,  # a POST without its CSRF token
    "admin.releases_page": (302, 302, 404, 404, 404, 200),
    "admin.releases_publish": (400,) * 6,  # a POST without its CSRF token
    "admin.users": (302, 302, 404, 404, 404, 200),
    "admin.user_new": (302, 302, 404, 404, 404, 200),
    "admin.user_edit": (302, 302, 404, 404, 404, 200),
    "admin.user_deactivate": (400,) * 6,  # POSTs without their CSRF token
    "admin.user_activate": (400,) * 6,
    "admin.user_reset": (400,) * 6,
    "admin.moderation": (302, 302, 404, 404, 404, 200),
    "admin.moderation_approve": (400,) * 6,  # POSTs without their CSRF token
    "admin.moderation_reject": (400,) * 6,
    "admin.moderation_redact": (400,) * 6,
    "auth.reset_password": (404,) * 6,  # an unknown link: the friendly "link does not work" page
    # Single sign-on is off unless STIGEN_OIDC_ISSUER is set; with it on, tests/test_sso.py
    # runs this matrix for SSO-mapped accounts.
    "auth.sso_start": (404,) * 6,
    "auth.sso_callback": (404,) * 6,
    # Probes and Prometheus (docs/deploy.md): for everyone; /metrics only from the allowed
    # addresses (the test client is 127.0.0.1) or with the token: tests/test_health_metrics.py.
    "health.isalive": (200,) * 6,
    "health.isready": (200,) * 6,
    "metrics.metrics": (200,) * 6,
}
ARGUMENTS = {
    "slug": "bodo",
    "version": plotly.__version__,
    "filename": "css/stigen.css",
    "note_id": 1,
    "account_id": 1,
    "number": 1,
    "comment_id": "00000000-0000-4000-8000-000000000000",
    "kind": "sav",
}


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), (
        f"routes without an expectation: {sorted(endpoints - set(EXPECTED))}; "
        f"expectations without a route: {sorted(set(EXPECTED) - endpoints)}"
    )


def visitor(app, role: str):
    client = app.test_client()
    if role == "respondent":
        start(client)  # a session with a CSRF token and a questionnaire under way
    elif role != "anonymous":
        sign_in(client, {"leder_other": "leder2", "leder_own": "leder"}.get(role, role))
    return client


def matrix_data(app) -> None:
    """The accounts, answers and note the matrix needs (account 1 is "leder", note 1 Bodø's)."""
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("leder2", "leder", "tromso")
        make_account("forsker", "forsker")
        make_account("admin", "admin")
        add_responses("bodo", APRIL, 6)
        add_note("bodo")  # note 1, for the note pages


def wrong_statuses(app, client, role: str, expected: dict | None = None) -> list:
    """Every route opened by ``client``, as ``role`` (a column of EXPECTED): the ones whose
    status is not the expected one, as (endpoint, method, got, expected)."""
    expected = {**EXPECTED, **(expected or {})}
    seen = []
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else "POST"
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: ARGUMENTS[arg] for arg in rule.arguments})
        with client.open(url, method=method) as response:
            wanted = expected[rule.endpoint][ROLES.index(role)]
            seen.append((rule.endpoint, method, response.status_code, wanted))
            if (
                response.status_code == 302
                and role == "anonymous"
                and rule.endpoint.split(".")[0] in ("dashboard", "export", "admin")
            ):
                assert response.headers["Location"].startswith("/logg-inn")
    return [s for s in seen if s[2] != s[3]]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app, role):
    matrix_data(app)
    client = visitor(app, role)
    wrong = wrong_statuses(app, client, role)
    assert not wrong, f"{role}: (endpoint, method, got, expected) {wrong}"
