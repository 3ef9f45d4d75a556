"""/isalive, /isready and /metrics (issue 15): cheap, private, and no series that a
submission moves except the request counters by route template."""

from __future__ import annotations

from datetime import date

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, text

from survey import health, metrics, releases
from survey.domain import periods
from survey.extensions import db, limiter
from survey.models import Inbox, Office

from .conftest import make_app
from .forms import settle
from .test_dashboard import accounts, add_varied, sign_in  # noqa: F401 - fixture
from .test_respond import answer_all, send

RESPONDENT_TABLES = ("response", "comment", "submission_receipt")


def series(client, **kwargs) -> dict[tuple, float]:
    """Every exported sample: (name, sorted labels) -> value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


# --- health --------------------------------------------------------------------------------


def test_isalive_answers_without_a_cookie(client):
    response = client.get("/isalive")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers


def test_isready_on_a_migrated_database_reads_no_respondent_data(client, app):
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement.lower())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            response = client.get("/isready")
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
    assert response.status_code == 200, response.json
    assert response.json == {"ready": True, "failed": []}
    assert "Set-Cookie" not in response.headers
    assert statements, "the check asked the database nothing"
    for statement in statements:
        for table in RESPONDENT_TABLES:
            assert f" {table}" not in statement and f"{table}." not in statement, statement
        if "inbox" in statement:  # only whether a long-ended period still waits
            assert "answers" not in statement and "texts" not in statement, statement
            assert "inbox.office_id" in statement and "limit" in statement, statement


def test_isready_says_what_is_wrong(client, app):
    def set_version(version):
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})

    set_version("old")
    try:
        assert client.get("/isready").status_code == 503
        assert client.get("/isready").json["failed"] == ["migrations"]
        assert client.get("/isalive").status_code == 200
    finally:  # the PostgreSQL pass keeps one migrated schema for every test
        set_version(health.migration_head())
    assert client.get("/isready").status_code == 200


def test_isready_refuses_an_unreachable_database(tmp_path):
    app = make_app("sqlite:///" + str(tmp_path / "missing" / "nowhere.db"), tmp_path / "i")
    response = app.test_client().get("/isready")
    assert response.status_code == 503 and response.json["failed"] == ["database"]


def test_isready_fails_on_submissions_left_waiting_long_after_their_period(
    client, app, monkeypatch
):
    monkeypatch.setattr(periods, "today_in_norway", lambda: date(2026, 3, 10))
    with app.app_context():
        office_id = db.session.query(Office.id).filter_by(slug="bodo").scalar()
        db.session.add(
            Inbox(
                nonce_hash="a" * 64,
                office_id=office_id,
                period_start=date(2026, 3, 1),
                questionnaire_version=1,
                language="nb",
                answers={},
                texts={},
            )
        )
        db.session.commit()
    assert client.get("/isready").status_code == 200  # the running month: waiting is normal
    with app.app_context():
        db.session.add(
            Inbox(
                nonce_hash="b" * 64,
                office_id=office_id,
                period_start=date(2026, 2, 1),
                questionnaire_version=1,
                language="nb",
                answers={},
                texts={},
            )
        )
        db.session.commit()
    # February ended 9 days ago, more than STIGEN_READY_MIX_DAYS (3).
    assert client.get("/isready").json["failed"] == ["mixer"]


def test_the_overdue_rules():
    # The release after one through January 2026 is due on 1 March 2026.
    assert health.release_overdue_days(None, date(2026, 6, 1), "month") == 0
    assert health.release_overdue_days(date(2026, 1, 1), date(2026, 3, 1), "month") == 0
    assert health.release_overdue_days(date(2026, 1, 1), date(2026, 3, 9), "month") == 8
    # Three days back from 2 March is February: its rows are not yet overdue; from 10 March
    # February rows are.
    assert health.mixer_cutoff(date(2026, 3, 2), 3, "month") == date(2026, 2, 1)
    assert health.mixer_cutoff(date(2026, 3, 10), 3, "month") == date(2026, 3, 1)


def test_health_and_metrics_are_never_rate_limited(database_url, tmp_path):
    # A limit on every route of the app: the probes and the scrape are exempt from it.
    app = make_app(database_url, tmp_path / "limited", RATELIMIT_APPLICATION="2 per minute")
    try:
        client = app.test_client()
        statuses = [client.get("/").status_code for _ in range(3)]
        assert statuses[-1] == 429, statuses  # the limit is on
        for _ in range(5):
            assert client.get("/isready").status_code == 200
            assert client.get("/isalive").status_code == 200
            assert client.get("/metrics").status_code == 200
    finally:
        # Flask-Limiter keeps application limits on the shared extension object.
        limiter.limit_manager.set_application_limits([])
        with app.app_context():
            limiter.reset()
            db.engine.dispose()


# --- metrics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("10.1.2.3", {}, 404),
        ("10.1.2.3", {"Authorization": "Bearer skrape-nokkel"}, 200),
        ("10.1.2.3", {"Authorization": "Bearer feil"}, 404),
        ("10.9.0.7", {}, 200),  # in the allowed network
    ],
)
def test_metrics_only_for_allowed_addresses_or_the_token(app, remote, headers, status):
    app.config.update(
        STIGEN_METRICS_TOKEN="skrape-nokkel", STIGEN_METRICS_ALLOW="127.0.0.1, 10.9.0.0/16"
    )
    response = app.test_client().get(
        "/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == status
    if status == 404:
        assert b"stigen_http" not in response.data


def test_requests_are_counted_by_route_template_never_by_path(client):
    before = series(client)
    assert client.get("/k/bodo?lang=en").status_code == 200
    after = series(client)
    key = (
        "stigen_http_requests_total",
        (("method", "GET"), ("route", "/k/<slug>"), ("status", "200")),
    )
    assert after[key] == before.get(key, 0) + 1
    body = client.get("/metrics").get_data(as_text=True)
    assert "bodo" not in body and "lang" not in body
    assert 'stigen_db_pool_connections{state="checked_out"}' in body
    assert "stigen_release_overdue_days" in body and "stigen_mixer_overdue_days" in body


def test_a_submission_changes_no_series_but_the_request_counters(client, app):
    """The before/after attack on /metrics: scrape, one person submits, scrape."""
    app.config["STIGEN_MIX_BATCH"] = 1  # the submission is mixed at once, tallies move
    with app.app_context():
        add_varied("bodo", date(2026, 1, 1), 30)
        releases.publish("test")
        db.session.commit()
    page = answer_all(client)  # every page but the last request, before the first scrape
    before = series(client)
    assert send(client, page).status == 303
    settle(app)
    after = series(client)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed, "the submission request itself is not counted"
    assert [key for key in changed if not key[0].startswith("stigen_http_request")] == []
    # The counters move by the one request, on the submission route.
    routes = {dict(labels).get("route") for _, labels in changed}
    assert routes == {"/k/<slug>/svar"}, routes
    assert any(name == "stigen_release_made_timestamp_seconds" for name, _ in after)


def test_export_durations_are_measured(client, app, accounts):
    sign_in(client, "forsker")
    before = series(client)
    response = client.get("/eksport/kodebok.csv")
    assert response.status_code == 200
    response.get_data()
    response.close()
    after = series(client)
    key = ("stigen_export_duration_seconds_count", (("endpoint", "export.codebook_csv"),))
    assert after.get(key, 0) == before.get(key, 0) + 1


def test_route_labels_and_access_rule_pure():
    class Rule:
        rule = "/k/<slug>/svar"

    assert metrics.route_of(Rule(), "POST") == ("/k/<slug>/svar", "POST")
    assert metrics.route_of(None, "BREW") == ("<unmatched>", "other")
    assert metrics.allowed("::1", "127.0.0.1,::1", "", None)
    assert not metrics.allowed("not an address", "0.0.0.0/0", "", None)
    assert not metrics.allowed("10.0.0.1", "127.0.0.1", "", "Bearer ")
