"""What the logs say (issue 12, "Logs"; the rule is survey/log_filters.py): no line per
respondent request, whatever its status; no client address anywhere, gunicorn's error log
included; no query string. Read from the real servers: gunicorn with gunicorn.conf.py,
and werkzeug's development server as the demo runs it, for 200, 303, 400, 404, 429 and
500, with requests from a distinctive loopback address (127.0.0.2) and malformed requests
sent over a raw socket."""

from __future__ import annotations

import logging
import re
import socket
import sqlite3
import threading

import pytest
from flask_migrate import upgrade

from survey.extensions import db
from survey.log_filters import (
    NoAddressInErrors,
    RequestLineFilter,
    StaffAccessOnly,
    is_staff_path,
    scrub,
)
from survey.models import Office

from .conftest import make_app
from .test_gunicorn import running_gunicorn
from .test_respond import answer_all, send

SOURCE = "127.0.0.2"  # the client's address: it must appear nowhere
SECRET = "hemmelig"  # in every query string: it must appear nowhere


def raw(port: int, request: bytes) -> int:
    """Send ``request`` from ``SOURCE`` as is; the status code answered (0 if none)."""
    with socket.create_connection(
        ("127.0.0.1", port), timeout=20, source_address=(SOURCE, 0)
    ) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(match.group(1)) if match else 0


def get(port: int, path: str) -> int:
    return raw(port, f"GET {path} HTTP/1.1\r\nHost: stigen\r\nConnection: close\r\n\r\n".encode())


def post(port: int, path: str, body: str = "") -> int:
    return raw(
        port,
        (
            f"POST {path} HTTP/1.1\r\nHost: stigen\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        ).encode(),
    )


MALFORMED = (
    f"GET /k/bodo?{SECRET}=400 HTTP/9.9\r\nHost: stigen\r\n\r\n".encode(),
    f"GET /k/bodo?{SECRET}=400 HTTP/1.1 und mehr\r\n\r\n".encode(),
    f"\x01\x02 /k/bodo?{SECRET}=400\r\n\r\n".encode(),
)


def every_status(port: int, break_database) -> dict[str, list[int]]:
    """The requests of both tests, by the status each should get; the answers got."""
    got = {
        "200": [
            get(port, f"/k/bodo?invite={SECRET}"),
            get(port, f"/?q={SECRET}"),
            get(port, f"/logg-inn?next=/{SECRET}"),
        ],
        "303": [post(port, f"/k/bodo/kode?{SECRET}=303")],  # an open office: to its start
        "404": [get(port, f"/k/finnes-ikke?token={SECRET}")],
        "400": [raw(port, request) for request in MALFORMED],
    }
    # "Send inn" twice from one address, with STIGEN_SUBMIT_LIMIT at 1 per minute.
    sends = [post(port, f"/k/bodo/svar?{SECRET}=429", "nav=submit&page=0") for _ in range(2)]
    got["429"] = sends[-1:]
    break_database()
    got["500"] = [get(port, f"/k/bodo?{SECRET}=500")]
    return got


@pytest.fixture
def sqlite_url(tmp_path):
    """A migrated SQLite database of its own (on either test database: the 500 is made
    by dropping a table under the running server)."""
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    app = make_app(url, tmp_path / "setup")
    with app.app_context():
        upgrade()
        db.session.add(Office(slug="bodo", name="NAV Bodø"))
        db.session.commit()
        db.engine.dispose()
    return url


def dropper(url: str):
    def break_database():
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("PRAGMA foreign_keys = OFF")
            connection.execute("DROP TABLE office")

    return break_database


def assert_private(logged: str) -> None:
    assert SOURCE not in logged
    assert SECRET not in logged
    assert "ip=" not in logged and "invite" not in logged
    for line in logged.splitlines():
        # No line names a respondent's request with a status or a size.
        if re.search(r"/k/|\"(GET|POST) /[\" ]", line):
            assert not re.search(r"\b(200|303|400|404|429|500)\b|\d+ms", line), line


# --- gunicorn --------------------------------------------------------------------------------


def test_gunicorn_writes_no_line_per_respondent_and_no_address(sqlite_url, tmp_path):
    with running_gunicorn(
        tmp_path, sqlite_url, "--workers", "1", STIGEN_SUBMIT_LIMIT="1 per minute"
    ) as (_, client, log):
        port = int(client.base.rsplit(":", 1)[1])
        # A whole questionnaire, sent: the 303 that stores a response.
        assert send(client, answer_all(client)).status == 303
        got = every_status(port, dropper(sqlite_url))
    assert got == {
        "200": [200, 200, 200],
        "303": [303],
        "404": [404],
        "400": [400, 400, 400],
        "429": [429],
        "500": [500],
    }, got
    logged = log.read_text()
    assert_private(logged)
    access = [line for line in logged.splitlines() if line.startswith('"')]
    assert access == ['"GET /logg-inn" 200 ' + access[0].split(" 200 ", 1)[1]], access
    # The malformed requests are reported, by kind only.
    refused = [line for line in logged.splitlines() if "Invalid request refused" in line]
    assert len(refused) == 3, logged
    assert any("Invalid HTTP Version" in line for line in refused), refused
    # Only gunicorn's own listening address is an address in the log.
    for line in logged.splitlines():
        if "127.0.0.1" in line:
            assert "Listening at: http://127.0.0.1:" in line, line


# --- werkzeug's development and demo server ---------------------------------------------------


def test_the_development_server_writes_no_line_per_respondent_and_no_address(
    sqlite_url, tmp_path, caplog
):
    from werkzeug.serving import make_server

    from survey.log_filters import PrivateRequestHandler

    # As the demo runs it: not in testing mode, so a failure is the app's 500 page.
    app = make_app(sqlite_url, tmp_path / "dev", TESTING=False, STIGEN_SUBMIT_LIMIT="1 per minute")
    server = make_server("127.0.0.1", 0, app, request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.DEBUG)
    try:
        got = every_status(server.port, dropper(sqlite_url))
        staff = get(server.port, f"/logg-inn?next={SECRET}")
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()
    assert got["200"] == [200, 200, 200] and got["303"] == [303] and got["404"] == [404]
    assert got["429"] == [429] and got["500"] == [500] and staff == 200
    # http.server answers some malformed requests in HTTP/0.9 style, without a status line.
    assert all(status == 0 or 400 <= status < 600 for status in got["400"]), got
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert_private(logged)
    requests = [
        record.getMessage()
        for record in caplog.records
        if record.name == "werkzeug" and re.match(r"[A-Z]+ /", record.getMessage())
    ]
    assert requests and set(requests) == {"GET /logg-inn 200"}, requests
    assert "\x1b[" not in logged


# --- the filters, line by line ----------------------------------------------------------------


def werkzeug_record(request_line: str, status: str) -> logging.LogRecord:
    """The record werkzeug's request handler makes for a request, colours and all."""
    from werkzeug.serving import _ansi_style

    styles = {
        "200": (),
        "303": ("green",),
        "404": ("yellow",),
        "400": ("bold", "red"),
        "429": ("bold", "red"),
        "500": ("bold", "magenta"),
    }[status]
    message = _ansi_style(request_line, *styles) if styles else request_line
    return logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '198.51.100.23 - - [21/Nov/2026 14:03:11] "%s" %s %s',
        (message, status, "912"),
        None,
    )


@pytest.mark.parametrize("status", ["200", "303", "400", "404", "429", "500"])
def test_werkzeug_lines_for_every_status(status):
    respondent = werkzeug_record(f"POST /k/bodo/svar?t={SECRET} HTTP/1.1", status)
    assert not RequestLineFilter().filter(respondent)
    staff = werkzeug_record(f"GET /logg-inn/ny-passord?lenke={SECRET} HTTP/1.1", status)
    assert RequestLineFilter().filter(staff)
    assert staff.getMessage() == f"GET /logg-inn/ny-passord {status}"


def test_werkzeug_error_lines_lose_the_request_they_quote():
    record = logging.LogRecord(
        "werkzeug",
        logging.ERROR,
        __file__,
        1,
        "- - - [21/Nov/2026 14:03:11] code %d, message %s",
        (400, f"Bad request syntax ('GET /k/bodo?{SECRET} HTTP/1.1 x')"),
        None,
    )
    assert RequestLineFilter().filter(record)
    assert record.getMessage() == "code 400, message Bad request syntax"


@pytest.mark.parametrize(
    "address", ["198.51.100.23", "2001:db8::1", "::1", "::ffff:10.0.0.1", "fe80::1%eth0"]
)
def test_gunicorn_error_lines_name_no_address(address):
    invalid = logging.LogRecord(
        "gunicorn.error",
        logging.WARNING,
        __file__,
        1,
        f"Invalid request from ip={address}: Invalid HTTP request line: 'GET /?{SECRET}'",
        (),
        None,
    )
    assert NoAddressInErrors().filter(invalid)
    assert invalid.getMessage() == "Invalid request refused: Invalid HTTP request line"
    failed = logging.LogRecord(
        "gunicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Error handling request %s",
        (f"/k/bodo/svar?t={SECRET}",),
        None,
    )
    assert NoAddressInErrors().filter(failed)
    assert failed.getMessage() == "Error handling request /k/bodo/svar"
    other = logging.LogRecord(
        "gunicorn.error", logging.ERROR, __file__, 1, "Connection from %s dropped", (address,), None
    )
    assert NoAddressInErrors().filter(other)
    assert address not in other.getMessage() and "Connection from" in other.getMessage()
    assert scrub(f"{address} and 12:30:45 and v1.2") == "- and 12:30:45 and v1.2"


def test_gunicorn_access_lines_only_for_staff_routes():
    def record(path):
        atoms = {"m": "GET", "U": path, "s": "200", "B": "123", "M": "4"}
        return logging.LogRecord(
            "gunicorn.access",
            logging.INFO,
            __file__,
            1,
            '"%(m)s %(U)s" %(s)s %(B)s %(M)sms',
            (atoms,),
            None,
        )

    for path in (
        "/",
        "/k/bodo",
        "/k/bodo/svar",
        "/k/bodo/takk",
        "/k/bodo/resultater",
        "/personvern",
        "/static/css/site.css",
        "/adminx",
        None,
    ):
        assert not StaffAccessOnly().filter(record(path)), path
        assert not is_staff_path(path)
    for path in (
        "/admin",
        "/admin/koder",
        "/resultater/",
        "/eksport/svar.csv",
        "/logg-inn",
        "/logg-ut",
    ):
        assert StaffAccessOnly().filter(record(path)), path


def test_the_rate_limiters_lines_name_no_address(app, client, caplog):
    """Flask-Limiter logs the key of a breached limit, the client's address, under any
    server: the filter ``install_log_filters`` puts on its logger blanks it."""
    caplog.set_level(logging.INFO)
    app.config["STIGEN_SUBMIT_LIMIT"] = "1 per minute"
    for _ in range(2):
        sent = client.post(
            "/k/bodo/svar",
            data={"nav": "submit", "page": "0"},
            environ_base={"REMOTE_ADDR": SOURCE},
        )
    assert sent.status_code == 429
    lines = [r.getMessage() for r in caplog.records if r.name == "flask-limiter"]
    assert any("exceeded" in line for line in lines), lines
    assert not any(SOURCE in line for line in lines), lines
