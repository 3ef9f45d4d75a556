"""Every route × every kind of visitor, generated from the app's URL map: a route added
without an expectation here fails this test, so none slips through untested."""

from __future__ import annotations

import plotly
import pytest
from flask import url_for

from .forms import start
from .test_dashboard import APRIL, add_responses, make_account, sign_in

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
    "auth.login": (200, 200, 302, 302, 302, 302),
    "auth.logout": (400,) * 6,  # a POST without its CSRF token
    "dashboard.home": (302,) * 6,
    "dashboard.overview": (302, 302, 302, 302, 200, 200),
    "dashboard.office": (302, 302, 404, 200, 200, 200),
    "dashboard.plotly_js": (200,) * 6,
    "dashboard.plotly_css": (200,) * 6,
    "export.index": (302, 302, 404, 404, 200, 200),
    "export.responses_csv": (302, 302, 404, 404, 200, 200),
    "export.responses_info": (302, 302, 404, 404, 200, 200),
    "export.comments_csv": (302, 302, 404, 404, 404, 404),  # 404 without the confirmation
    "export.aggregate_csv": (302, 302, 404, 404, 200, 200),
    "export.codebook": (302, 302, 404, 404, 200, 200),
    "export.codebook_csv": (302, 302, 404, 404, 200, 200),
    "admin.index": (302, 302, 404, 404, 404, 200),
    "admin.audit_log": (302, 302, 404, 404, 404, 200),
}
ARGUMENTS = {"slug": "bodo", "version": plotly.__version__, "filename": "css/stigen.css"}


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), (
        f"routes without an expectation: {sorted(endpoints - set(EXPECTED))}; "
        f"expectations without a route: {sorted(set(EXPECTED) - endpoints)}")


def visitor(app, role: str):
    client = app.test_client()
    if role == "respondent":
        start(client)  # a session with a CSRF token and a questionnaire under way
    elif role != "anonymous":
        sign_in(client, {"leder_other": "leder2", "leder_own": "leder"}.get(role, role))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app, role):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("leder2", "leder", "tromso")
        make_account("forsker", "forsker")
        make_account("admin", "admin")
        add_responses("bodo", APRIL, 6)
    client = visitor(app, role)
    seen = []
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else "POST"
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: ARGUMENTS[arg] for arg in rule.arguments})
        with client.open(url, method=method) as response:
            expected = EXPECTED[rule.endpoint][ROLES.index(role)]
            seen.append((rule.endpoint, method, response.status_code, expected))
            if response.status_code == 302 and role == "anonymous" and \
                    rule.endpoint.split(".")[0] in ("dashboard", "export", "admin"):
                assert response.headers["Location"].startswith("/logg-inn")
    wrong = [s for s in seen if s[2] != s[3]]
    assert not wrong, f"{role}: (endpoint, method, got, expected) {wrong}"
