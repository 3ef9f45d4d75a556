"""Many young people answering at once, against real gunicorn processes on loopback.

Forty respondents, each a browser that reads the real forms, complete questionnaires for
at most 15 seconds or 400 submissions; one in five presses *Send inn* twice. Afterwards
the database holds exactly one response, with exactly the answers sent, per accepted
submission, and no request failed. Latency (p50/p95/max per step) and submissions per
second are printed (``pytest -s``) and attached to the test as the ``load`` property;
they are reported, never asserted.

1. one gunicorn (3 workers) on the test database: SQLite, or PostgreSQL with
   ``TEST_DATABASE_URL``;
2. two gunicorns sharing one PostgreSQL and one Redis, every request to either;
3. the submission limit left low (3 per minute) on two gunicorns sharing Redis: the
   fourth submission from one address is refused, whichever instance it reaches, with
   the respondent's own page and answers, and nothing more is stored.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Comment, MeasureTally, Office, Response, SubmissionReceipt, Tally

from ..forms import settle
from .runner import PAGES, QUESTIONNAIRE, LoadClient, LoadResult, fill_in, run_load

pytestmark = pytest.mark.load

THREADS, SECONDS, MAX_SUBMISSIONS = 40, 15, 400
EXPECTED_STATUS = {
    "start": 200,
    "page": 200,
    "back": 200,
    "submit": 303,
    "resubmit": 303,
    "takk": 200,
}
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
DATABASE = "PostgreSQL" if ON_POSTGRES else "SQLite"


def _canonical(slug: str, lang: str, answers: dict) -> str:
    return json.dumps([slug, lang, answers], sort_keys=True, ensure_ascii=False)


def stored(app) -> dict:
    """What the database holds, in the shape the respondents' records have, once every
    waiting submission is mixed into the counted tables."""
    settle(app)
    with app.app_context():
        responses = db.session.execute(
            select(Office.slug, Response.language, Response.answers).join(Office)
        ).all()
        comments = db.session.execute(
            select(Office.slug, Comment.language, Comment.body).join(Office)
        ).all()
        tally = dict(
            db.session.execute(
                select(Office.slug, func.sum(Tally.responses)).join(Office).group_by(Office.slug)
            ).all()
        )
        measures = {
            (slug, measure): n
            for slug, measure, n in db.session.execute(
                select(Office.slug, MeasureTally.measure, func.sum(MeasureTally.participants))
                .join(Office)
                .group_by(Office.slug, MeasureTally.measure)
            ).all()
        }
        receipts = db.session.scalar(select(func.count()).select_from(SubmissionReceipt))
        db.session.remove()
    return {
        "responses": Counter(_canonical(s, lang, answers) for s, lang, answers in responses),
        "comments": Counter(comments),
        "tally": {slug: n for slug, n in tally.items() if n},
        "measures": {key: n for key, n in measures.items() if n},
        "receipts": receipts,
    }


def expected(result: LoadResult) -> dict:
    accepted = result.accepted
    # "Ingen" and "vet ikke" are options of the item, not measures (survey.tally).
    measures = Counter(
        (q.slug, m)
        for q in accepted
        for m in q.answers.get("tilt_deltatt", [])
        if m not in ("ingen", "vet_ikke")
    )
    return {
        "responses": Counter(_canonical(q.slug, q.lang, q.answers) for q in accepted),
        "comments": Counter((q.slug, q.lang, q.text) for q in accepted if q.text),
        "tally": dict(Counter(q.slug for q in accepted)),
        "measures": dict(measures),
        "receipts": len(accepted),
    }


def report(result: LoadResult, record_property) -> None:
    table = result.table()
    print("\n" + table)
    record_property("load", table)


def assert_correct(result: LoadResult, app, servers) -> None:
    """Correctness only: no failure, no 5xx, every status as a browser expects, and the
    database holds exactly what was accepted, once."""
    assert not result.failures, f"{len(result.failures)} respondents failed, e.g.:\n" + "\n".join(
        result.failures[:3]
    )
    errors = result.server_errors()
    assert not errors, f"{len(errors)} responses with 5xx: {Counter(r.status for r in errors)}"
    wrong = Counter(
        (r.step, r.status) for r in result.records if r.status != EXPECTED_STATUS[r.step]
    )
    assert not wrong, f"unexpected statuses (step, status): {wrong}"

    accepted = result.accepted
    assert len(accepted) >= THREADS, "the load hardly ran"
    assert len({q.nonce for q in result.questionnaires}) == len(result.questionnaires)
    doubles = Counter(q.double for q in accepted)
    assert doubles["sequential"] and doubles["concurrent"], doubles
    # Every double-submit was answered 303 twice, and is stored once (below).
    assert all(q.submits == [303, 303] for q in accepted if q.double != "none")

    have, want = stored(app), expected(result)
    assert have["receipts"] == want["receipts"] == len(accepted)
    assert sum(have["responses"].values()) == len(accepted)
    assert have["responses"] == want["responses"], "stored answers differ from those sent"
    assert have["comments"] == want["comments"]
    assert have["tally"] == want["tally"], "the tallies lost or gained a response"
    assert have["measures"] == want["measures"]

    time.sleep(0.2)  # let the logs flush
    for server in servers:
        assert not server.problems(), "\n".join(server.problems()[:20])


def test_many_respondents_on_one_gunicorn(app, start_gunicorn, source_address, record_property):
    servers = start_gunicorn(1)
    result = run_load(
        [s.base for s in servers],
        source_address,
        f"{DATABASE}, 1 gunicorn x 3 workers",
        THREADS,
        SECONDS,
        MAX_SUBMISSIONS,
    )
    report(result, record_property)
    assert_correct(result, app, servers)


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason=(
        "needs PostgreSQL (set TEST_DATABASE_URL): two instances share one database server, "
        "which the per-test SQLite file is not meant to be"
    ),
)
def test_many_respondents_on_two_gunicorns_sharing_postgresql_and_redis(
    app, start_gunicorn, source_address, redis_url, record_property
):
    servers = start_gunicorn(2, STIGEN_RATELIMIT_STORAGE=redis_url)
    result = run_load(
        [s.base for s in servers],
        source_address,
        f"{DATABASE} + Redis, 2 gunicorns x 3 workers",
        THREADS,
        SECONDS,
        MAX_SUBMISSIONS,
    )
    report(result, record_property)
    assert_correct(result, app, servers)
    assert {r.server for r in result.records} == {0, 1}, "one instance got no requests"


def test_the_submission_limit_is_shared_between_instances(
    app, start_gunicorn, source_address, redis_url
):
    """3 per minute from one address: submissions 1–3 are stored (on instances A, B, A),
    the 4th (on B) and the 5th (on A, in English) are refused with the respondent's own
    last page, every answer still in it, and a note to wait; the pages in between are
    not limited. Nothing more is stored."""
    from redis import Redis

    servers = start_gunicorn(
        2, STIGEN_RATELIMIT_STORAGE=redis_url, STIGEN_SUBMIT_LIMIT="3 per minute"
    )
    bases = [s.base for s in servers]
    rng = random.Random(4)
    records: list = []
    statuses = []
    for n in range(5):
        lang = "en" if n == 4 else "nb"
        browser = LoadClient(bases, source_address, records, rng)  # pages on either
        last, chosen, nonce = fill_in(browser, "bodo", lang, rng)
        target = LoadClient([bases[n % 2]], source_address, records, rng, browser.jar)
        sent = last.values()
        for code, value in chosen.items():
            sent.poplist(code)
            for v in value if isinstance(value, list) else ([] if value is None else [value]):
                sent.add(code, str(v))
        page = last.submit(target, ("nav", "submit"), chosen)
        statuses.append(page.status)
        if n < 3:
            assert page.status == 303, page.html[:2000]
            continue
        assert page.status == 429, f"submission {n + 1} on instance {n % 2}: {page.status}"
        # A friendly page: the respondent's own last page, in their language, with a
        # note, every answer and the same nonce, so pressing again later stores it once.
        assert f'<html lang="{lang}">' in page.html
        assert 'role="alert"' in page.html and "Too Many Requests" not in page.html
        assert page.hidden("page") == [str(PAGES - 1)] and page.hidden("nonce") == [nonce]
        for item in QUESTIONNAIRE.items:
            # An empty free text is no answer: the form carries it as nothing.
            kept = [v for v in page.values().getlist(item.code) if v != ""]
            wanted = [v for v in sent.getlist(item.code) if v != ""]
            assert sorted(kept) == sorted(wanted), f"{item.code} lost"
    assert statuses == [303, 303, 303, 429, 429]
    assert {r.server for r in records if r.step == "page"} == {0, 1}
    assert not [r for r in records if r.status >= 500]

    settle(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 3
        assert db.session.scalar(select(func.count()).select_from(SubmissionReceipt)) == 3
        db.session.remove()
    with Redis.from_url(redis_url, socket_timeout=2) as redis:
        keys = [k.decode() for k in redis.scan_iter(match=f"*{source_address}*")]
    assert any("submission" in key for key in keys), f"no shared limit in Redis: {keys}"
    for server in servers:
        assert not server.problems(), "\n".join(server.problems()[:20])
