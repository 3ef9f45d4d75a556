"""privacy.md as tests: what a submission leaves behind holds nothing that could tie it
to a person. Each test submits with a distinctive address, user agent and referrer,
then looks where they could have gone."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import DateTime, Interval, Time, inspect, make_url, select, text

from survey.domain.periods import today_in_norway
from survey.extensions import db
from survey.models import Response

from .forms import settle
from .test_respond import FULL, answer_all, send

ADDRESS = "198.51.100.23"
FORWARDED = "203.0.113.77"
AGENT = "Mozilla/5.0 (StigenPrivacyProbe; Pixel 7a) Probe/31.337"
REFERRER = "https://sms.example.no/invite?person=ola-nordmann"
FREE_TEXT = "Veilederen min var fin. Ring meg på 912 34 567."
CLIENT = {
    "environ_base": {"REMOTE_ADDR": ADDRESS},
    "headers": {
        "User-Agent": AGENT,
        "Referer": REFERRER,
        "X-Forwarded-For": FORWARDED,
        "Accept-Language": "nn-NO,nn;q=0.9",
    },
}
TRACES = (ADDRESS, FORWARDED, AGENT, "StigenPrivacyProbe", "ola-nordmann", "912 34 567")


def submit_with_traces(client):
    last = answer_all(client, answers=FULL | {"hel_fritekst": FREE_TEXT}, **CLIENT)
    assert send(client, last, **CLIENT).status == 303


def every_row_as_text(app) -> str:
    with app.app_context():
        dump = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                dump.append(json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False))
        return "\n".join(dump)


def test_no_trace_in_any_row(client, app):
    submit_with_traces(client)
    dump = every_row_as_text(app)  # waiting in the inbox
    assert "NAV Bodø" in dump and "avklaring" in dump  # the dump does hold the data
    for trace in TRACES:
        assert trace not in dump
    settle(app)
    dump = every_row_as_text(app)  # mixed into the counted tables
    assert "avklaring" in dump
    for trace in TRACES:
        assert trace not in dump
    now = today_in_norway()
    assert now.isoformat() not in dump or now.day == 1


def database_bytes(app, database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite file with its WAL, or a full
    ``pg_dump`` of the PostgreSQL database."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        raw = b""
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(path + suffix, "rb") as fh:
                    raw += fh.read()
            except FileNotFoundError:
                pass
        return raw
    url = make_url(database_url)
    return subprocess.run(
        ["pg_dump", "-h", url.host, "-p", str(url.port or 5432), "-U", url.username, url.database],
        check=True,
        capture_output=True,
    ).stdout


def test_no_trace_in_the_database_files(client, app, database_url):
    submit_with_traces(client)
    raw = database_bytes(app, database_url)
    assert b"avklaring" in raw
    for trace in TRACES:
        assert trace.encode() not in raw


def test_submission_is_dated_by_its_month_only(client, app):
    submit_with_traces(client)
    settle(app)
    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        today = today_in_norway()
        assert response.period_start == date(today.year, today.month, 1)


@pytest.mark.parametrize("app_config", [{"STIGEN_DATE_PRECISION": "week"}])
def test_week_precision_dates_by_the_monday(client, app):
    submit_with_traces(client)
    settle(app)
    with app.app_context():
        start = db.session.scalars(select(Response.period_start)).one()
        assert start.weekday() == 0
        assert start.isocalendar()[:2] == today_in_norway().isocalendar()[:2]


def test_ids_are_random_uuid4(client, app):
    for _ in range(3):
        submit_with_traces(client)
    settle(app)
    with app.app_context():
        ids = db.session.scalars(select(Response.id)).all()
    assert len(set(ids)) == 3
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)


FORBIDDEN_COLUMN = re.compile(
    r"(^|_)(ip|addr|address|agent|ua|referr?er|time|timestamp|created|updated|submitted_at|"
    r"token|session|cookie|code_id|user|person|email|phone)($|_)"
)


ANSWER_TABLES = {
    "response",
    "comment",
    "submission_receipt",
    "tally",
    "measure_tally",
    "theme_tally",
    "inbox",
    "mix_batch",
}


def test_the_schema_has_no_place_for_a_trace(app):
    with app.app_context():
        inspector = inspect(db.engine)
        tables = inspector.get_table_names()
        assert ANSWER_TABLES | {"office", "account"} <= set(tables)
        for table in ANSWER_TABLES:
            for column in inspector.get_columns(table):
                assert not FORBIDDEN_COLUMN.search(column["name"]), (table, column["name"])
                assert not isinstance(column["type"], (DateTime, Time, Interval)), (table, column)
        # Free text and receipts cannot be joined to a response.
        for table in ("comment", "submission_receipt", "inbox", "mix_batch"):
            targets = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
            assert "response" not in targets
        response_fks = {fk["referred_table"] for fk in inspector.get_foreign_keys("response")}
        assert response_fks == {"office"}
        # No table outside the answer tables points into them: accounts never meet answers.
        for table in set(tables) - ANSWER_TABLES:
            targets = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
            assert not targets & ANSWER_TABLES, table


def test_ids_do_not_come_from_a_sequence(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            sequences = (
                db.session.execute(text("SELECT sequence_name FROM information_schema.sequences"))
                .scalars()
                .all()
            )
            assert not any("response" in s or "comment" in s for s in sequences)
        column = inspect(db.engine).get_columns("response")[0]
        assert column["name"] == "id" and column.get("autoincrement") is not True


def test_session_cookie_holds_no_answers_and_is_locked_down(client, app):
    submit_with_traces(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)
    session = serializer.loads(cookie.value)
    assert set(session) <= {"csrf_token", "lang"}
    for value in map(str, FULL.values()):
        assert value not in json.dumps(session).replace(session.get("csrf_token", ""), "")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_answers_never_enter_the_session_while_answering(client, app):
    page = answer_all(client, **CLIENT)
    assert page.status == 200
    serializer = app.session_interface.get_signing_serializer(app)
    assert set(serializer.loads(client.get_cookie("session").value)) <= {"csrf_token", "lang"}


def test_app_logs_hold_no_address_agent_or_form_content(client, app, caplog):
    caplog.set_level(logging.DEBUG)
    submit_with_traces(client)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for trace in (*TRACES, "Veilederen min var fin", "avklaring"):
        assert trace not in logged


def test_development_server_logs_no_address_and_no_query(app, caplog):
    """The demo server's request lines, through the real werkzeug server on loopback."""
    import urllib.request

    from werkzeug.serving import make_server

    from survey.log_filters import PrivateRequestHandler

    server = make_server("127.0.0.1", 0, app, request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/k/bodo?invite=secret-token-42",
            headers={"User-Agent": AGENT, "Referer": REFERRER},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        staff = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/logg-inn?next=secret-token-42",
            headers={"User-Agent": AGENT, "Referer": REFERRER},
        )
        with urllib.request.urlopen(staff) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    # No line per respondent request; a staff request's line without its query.
    assert "GET /logg-inn 200" in lines and not any("/k/bodo" in line for line in lines), lines
    joined = "\n".join(lines)
    for trace in ("127.0.0.1", "secret-token-42", "invite", AGENT, "ola-nordmann"):
        assert trace not in joined


def test_log_filter_strips_address_time_and_query_from_werkzeug_lines():
    from survey.log_filters import RequestLineFilter

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [21/Nov/2026 14:03:11] "%s" %s %s',
        ("198.51.100.23", "POST /logg-inn?t=abc HTTP/1.1", "303", "-"),
        None,
    )
    assert RequestLineFilter().filter(record)
    assert record.getMessage() == "POST /logg-inn 303"
