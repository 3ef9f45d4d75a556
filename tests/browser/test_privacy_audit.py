"""A privacy audit that cannot be fooled: a respondent answers through a real browser,
through gunicorn, with a distinctive user agent and forwarded address; then the database
(its file, or a full pg_dump), every line gunicorn and the app wrote, and the browser's
cookies are searched for the address, the user agent and the time of day."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from survey.domain.periods import OSLO
from survey.extensions import db
from survey.models import Response

from ..forms import settle
from ..test_anonymity import database_bytes
from ..test_gunicorn import running_gunicorn
from ..test_respond import FULL
from .conftest import answer_page, page_count, press

AGENT = "Mozilla/5.0 (Linux; Android 14; StigenAuditPhone) AuditBrowser/77.7"
FORWARDED = "203.0.113.199"
# Enough answered to count as a response (survey.domain.scoring.counts_as_response).
ANSWERS = {
    **FULL,
    "med_stige": 6,
    "sti_rundt": 2,
    "rel_antall": 3,
    "bak_alder": 2,
    "hel_fritekst": "Møtene var for korte.",
}


def times_of_day(moment: datetime) -> set[str]:
    """The submission's time of day as logs and dumps would write it, in UTC and Oslo."""
    found = set()
    for zone in (UTC, OSLO):
        local = moment.astimezone(zone)
        found |= {local.strftime("%H:%M"), local.strftime("%H%M%S"), local.strftime("%H:%M:%S")}
    return found


def test_nothing_of_the_respondent_is_left_anywhere(browser, app, database_url, tmp_path):
    with running_gunicorn(tmp_path, database_url, STIGEN_WORKERS="2") as (_, server, log_path):
        context = browser.new_context(
            viewport={"width": 360, "height": 740},
            is_mobile=True,
            has_touch=True,
            locale="nb-NO",
            user_agent=AGENT,
            extra_http_headers={"X-Forwarded-For": FORWARDED},
        )
        try:
            page = context.new_page()
            page.set_default_timeout(15000)
            page.goto(f"{server.base}/k/bodo")
            press(page, "Start")
            for index in range(page_count()):
                answer_page(page, index, ANSWERS)
                if index < page_count() - 1:
                    press(page, "Neste")
            press(page, "Se over svarene")  # the check-your-answers page has Send inn
            submitted = {datetime.now(UTC)}
            press(page, "Send inn")
            submitted.add(datetime.now(UTC))
            assert page.url.endswith("/k/bodo/takk")
            cookies = context.cookies()
        finally:
            context.close()

    settle(app)  # the mixer moves it from the inbox, as a release would
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    traces = {AGENT, "StigenAuditPhone", "AuditBrowser", FORWARDED}
    clock = set().union(*(times_of_day(moment) for moment in submitted))

    stored = database_bytes(app, database_url).decode("utf-8", "replace")
    assert "Møtene var for korte" in stored  # the search does see the data
    for trace in traces | clock | {"127.0.0.1"}:
        assert trace not in stored, trace

    logged = log_path.read_text()
    assert "Booting worker" in logged  # the search does see the log
    assert "/k/bodo" not in logged  # and no line per respondent request (test_logs.py)
    for trace in traces | clock:
        assert trace not in logged, trace
    for line in logged.splitlines():
        if line.startswith('"'):  # an access line
            assert "127.0.0.1" not in line, line

    assert cookies, "the browser kept a session cookie"
    for cookie in cookies:
        raw = cookie["value"]
        payload = raw.split(".")[0]
        compressed = payload.startswith(".")
        decoded = (
            ""
            if compressed
            else base64.urlsafe_b64decode(payload + "==").decode("utf-8", "replace")
        )
        for trace in traces | clock | {"127.0.0.1"}:
            assert trace not in raw and trace not in decoded, (cookie["name"], trace)
        if decoded:
            assert set(json.loads(decoded)) <= {"csrf_token", "lang"}
