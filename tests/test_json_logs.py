"""JSON logs (issue 15; survey/logs.py): gunicorn's error and access logs and the app's
lines, one JSON object per line, with the privacy rules of survey/log_filters.py on every
field; and /metrics summed over gunicorn's workers (prometheus multiprocess mode)."""

from __future__ import annotations

import json
import logging
import sys

from prometheus_client.parser import text_string_to_metric_families

from survey.logs import JsonFormatter

from .test_gunicorn import running_gunicorn
from .test_logs import (
    SECRET,
    SOURCE,
    assert_private,
    dropper,
    every_status,
    get,
    sqlite_url,  # noqa: F401 - fixture
)
from .test_respond import answer_all, send


def parsed(logged: str) -> list[dict]:
    """Every line as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in logged.splitlines() if line.strip()]


def test_gunicorn_json_lines_hold_no_respondent_request_and_no_address(sqlite_url, tmp_path):
    with running_gunicorn(
        tmp_path,
        sqlite_url,
        "--workers",
        "2",
        STIGEN_LOG_FORMAT="json",
        STIGEN_SUBMIT_LIMIT="1 per minute",
    ) as (_, client, log):
        port = int(client.base.rsplit(":", 1)[1])
        assert send(client, answer_all(client)).status == 303
        for path in ("/isalive", "/isready", f"/isready?{SECRET}=1"):
            assert get(port, path) == 200
        # Requests to "/" spread over both workers; a scrape of either sums them all.
        for _ in range(6):
            assert client.get("/").status_code == 200
        scraped = [client.get("/metrics").get_data(as_text=True) for _ in range(4)]
        got = every_status(port, dropper(sqlite_url))
    assert got["303"] == [303] and got["500"] == [500], got
    logged = log.read_text()
    lines = parsed(logged)
    assert_private(logged)
    assert "isready" not in logged and "isalive" not in logged and "metrics" not in logged
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [("GET", "/logg-inn", 200)]
    assert isinstance(access[0]["duration_ms"], int) and "date" not in access[0]
    errors = [line for line in lines if line["logger"] != "gunicorn.access"]
    assert all(set(line) >= {"level", "logger", "message", "date"} for line in errors), errors
    assert all(len(line["date"]) == 10 for line in errors)  # the date, no time of day
    refused = [line for line in errors if "Invalid request refused" in line["message"]]
    assert len(refused) == 3, errors
    # The 500 is logged by the app, its traceback in a field of its own, scrubbed too.
    assert any(line.get("exception") for line in errors), errors
    for line in errors:
        if "127.0.0.1" in line["message"]:
            assert line["message"].startswith("Listening at: http://127.0.0.1:"), line
    # Every scrape, whichever worker answers it, counts all six (and the front page
    # requests of answer_all and the first wait for the server, if any, before them).
    totals = [
        {
            sample.labels["status"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "stigen_http_requests_total"
            and sample.labels["route"] == "/"
            and sample.labels["method"] == "GET"
        }
        for text in scraped
    ]
    assert len({total["200"] for total in totals}) == 1, totals
    assert totals[0]["200"] >= 6, totals


def test_the_formatter_scrubs_every_field():
    record = logging.LogRecord(
        "survey",
        logging.WARNING,
        __file__,
        1,
        "refused %s",
        (f"{SOURCE} /k/bodo?{SECRET}=1",),
        None,
    )
    record.client = SOURCE  # an ``extra=`` field
    record.where = f"/svar?token={SECRET}"
    try:
        raise ValueError(f"from {SOURCE}")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert SOURCE not in line and SECRET not in line
    assert entry["message"] == "refused - /k/bodo" and entry["client"] == "-"
    assert entry["where"] == "/svar"
    assert entry["level"] == "WARNING" and entry["logger"] == "survey"
    assert "ValueError" in entry["exception"]


def test_access_fields_come_from_the_atoms_path_without_query():
    atoms = {
        "m": "GET",
        "U": f"/eksport/svar.csv?{SECRET}=1",
        "s": "200",
        "B": "12",
        "M": "5",
        "h": SOURCE,
        "a": "Mozilla",
        "t": "[01/Dec/2026:10:11:12 +0000]",
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"%(m)s %(U)s" %(s)s', (atoms,), None
    )
    entry = json.loads(JsonFormatter(access=True).format(record))
    assert entry == {
        "level": "INFO",
        "logger": "gunicorn.access",
        "method": "GET",
        "path": "/eksport/svar.csv",
        "status": 200,
        "bytes": 12,
        "duration_ms": 5,
        "message": "GET /eksport/svar.csv 200",
    }
