"""Every id in a URL is range-checked (issue 14): ``/admin/brukere/99999999999999999999``
was a 500 on PostgreSQL ("integer out of range"). Every route with an ``<int:…>`` in the
app's URL map, whatever blueprint added it, gives 404 for an id no INTEGER column can
hold, and for the largest one that can (2**31-1) but does not exist. Runs on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from survey import DatabaseId

from .test_dashboard import make_account, sign_in
from .test_notes import add_note

OTHER_ARGUMENTS = {"slug": "bodo"}
TOO_BIG = ["99999999999999999999", str(2**31), str(2**63), "9" * 5000]
NOT_ASCII = ["\u0663", "\uff11"]  # Arabic-Indic three, full-width one


def id_routes(app) -> list:
    rules = []
    for rule in app.url_map.iter_rules():
        ids = [
            name
            for name, converter in rule._converters.items()
            if isinstance(converter, IntegerConverter)
        ]
        if ids:
            rules.append((rule, ids))
    return rules


def url_with(rule, ids, value: str) -> str:
    """The rule's path with ``value`` for every id (written in, so that no converter
    checks it on the way out)."""
    path = rule.rule
    for name in ids:
        path = re.sub(rf"<int(?:\([^)]*\))?:{name}>", value, path)
    for name, given in OTHER_ARGUMENTS.items():
        path = path.replace(f"<{name}>", given)
    assert "<" not in path, path
    return path


@pytest.fixture
def admin(app):
    with app.app_context():
        make_account("admin", "admin")
        add_note("bodo")
    client = app.test_client()
    assert sign_in(client, "admin").status_code == 302
    return client


def csrf_token(client) -> str:
    html = client.get("/admin/brukere").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_the_id_routes_are_found(app):
    endpoints = {rule.endpoint for rule, _ in id_routes(app)}
    assert {
        "admin.user_edit",
        "admin.user_deactivate",
        "admin.questionnaire",
        "dashboard.note_edit",
    } <= endpoints
    for rule, ids in id_routes(app):
        for name in ids:
            converter = rule._converters[name]
            assert isinstance(converter, DatabaseId) and converter.max == 2**31 - 1, rule


def test_every_id_out_of_range_is_a_404_for_an_admin(app, admin):
    token = csrf_token(admin)
    seen = []
    for rule, ids in id_routes(app):
        method = "GET" if "GET" in rule.methods else "POST"
        for value in [*TOO_BIG, *NOT_ASCII, str(2**31 - 1)]:
            url = url_with(rule, ids, value)
            response = admin.open(
                url, method=method, data={"csrf_token": token} if method == "POST" else None
            )
            seen.append((rule.endpoint, method, value[:24], response.status_code))
    wrong = [s for s in seen if s[3] != 404]
    assert not wrong, wrong
    assert len(seen) >= 7 * len(id_routes(app))


def test_the_issues_address_is_a_404(app, admin):
    assert admin.get("/admin/brukere/99999999999999999999").status_code == 404
    assert admin.get("/admin/brukere/-1").status_code == 404
    assert admin.get("/admin/brukere/0").status_code == 404


def test_ids_in_range_still_work(app, admin):
    html = admin.get("/admin/brukere").get_data(as_text=True)
    link = re.search(r'href="(/admin/brukere/(\d+))"', html)
    assert link and admin.get(link.group(1)).status_code == 200
    assert admin.get("/admin/brukere/0" + link.group(2)).status_code == 200  # leading zero
