"""The mixer (survey.mixer) stopped anywhere loses and duplicates nothing: after the
next mix every submission is stored exactly once, the tallies equal a GROUP BY of the
responses, and the inbox is empty. A double submit racing a mix is stored once. On
SQLite and on PostgreSQL; at least one real process killed per database."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from survey import mixer, tally
from survey.extensions import db
from survey.models import (
    Comment,
    Inbox,
    MeasureTally,
    MixBatch,
    Response,
    SubmissionReceipt,
    tally_table,
)

from .conftest import on_postgres
from .forms import settle
from .test_storage_order import UNLIMITED, number_of_answers, number_of_text, prepared

ROOT = Path(__file__).resolve().parent.parent
# Submissions wait until a test mixes them (no batch is ever big enough by itself).
WAITING = {**UNLIMITED, "STIGEN_MIX_BATCH": 10_000}
# The three transactions (T1 takes the claim, T3 clears the inbox and the journal).
STEPS = {
    "responses": mixer.RESPONSES,
    "comments": mixer.COMMENTS,
    "receipts": mixer.RECEIPTS,
}


def journal_step():
    """The journal's step of the one batch, or None when no batch is journalled."""
    return db.session.scalar(select(MixBatch.step))


@pytest.fixture
def app_config():
    return WAITING


def submit(client, numbers) -> None:
    for number in numbers:
        action, data = prepared(client, number)
        assert client.post(action, data=data).status_code == 303


def tallies():
    rows = db.session.execute(
        select(tally_table).order_by(
            tally_table.c.office_id, tally_table.c.period_start, tally_table.c.questionnaire_version
        )
    ).all()
    measures = db.session.execute(
        select(MeasureTally.__table__).order_by(
            MeasureTally.office_id, MeasureTally.period_start, MeasureTally.measure
        )
    ).all()
    return [tuple(r) for r in rows], [tuple(m) for m in measures]


def assert_settled(app, numbers) -> None:
    """Every submission in ``numbers`` stored exactly once (response, comment, receipt),
    nothing waiting, and the tallies what a rebuild from the responses gives."""
    with app.app_context():
        answers = db.session.scalars(select(Response.answers)).all()
        assert sorted(number_of_answers(a) for a in answers) == sorted(numbers)
        bodies = db.session.scalars(select(Comment.body)).all()
        assert sorted(number_of_text(b) for b in bodies) == sorted(numbers)
        assert db.session.scalar(select(func.count()).select_from(SubmissionReceipt)) == len(
            numbers
        )
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 0
        assert db.session.scalar(select(func.count()).select_from(MixBatch)) == 0
        kept = tallies()
        assert sum(row[3] for row in kept[0]) == len(numbers)
        tally.rebuild(db.session)
        rebuilt = tallies()
        db.session.rollback()
        assert kept[1] == rebuilt[1]
        assert len(kept[0]) == len(rebuilt[0])
        for a, b in zip(kept[0], rebuilt[0], strict=True):
            assert a == pytest.approx(b)


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", list(STEPS))
def test_a_mixer_stopped_after_any_step_is_finished_by_the_next(app, client, monkeypatch, step):
    submit(client, range(6))
    settle(app)  # rows already mixed, which every later mix rewrites
    submit(client, range(6, 13))

    def crash(number):
        if number == STEPS[step]:
            raise Crash

    monkeypatch.setattr(mixer, "after_step", crash)
    with app.app_context(), pytest.raises(Crash):
        mixer.flush()
    with app.app_context():
        # Stopped between steps: the journal says how far it came (after the last, the
        # batch is done and the journal row gone with the inbox rows).
        assert journal_step() == (None if step == "receipts" else STEPS[step])
        waiting = db.session.scalar(select(func.count()).select_from(Inbox))
        assert waiting == (0 if step == "receipts" else 7)
        db.session.rollback()
    monkeypatch.setattr(mixer, "after_step", None)
    assert settle(app) == 0  # recovery finished the batch; nothing else waited
    assert_settled(app, range(13))


def test_a_mixer_stopped_inside_a_step_leaves_that_step_undone(app, client, monkeypatch):
    submit(client, range(4))
    settle(app)
    submit(client, range(4, 9))

    def half_way(session, new, known):
        raise Crash  # responses deleted and inserted again, tallies not yet: rolled back

    monkeypatch.setattr(mixer, "_add_to_tallies", half_way)
    with app.app_context(), pytest.raises(Crash):
        mixer.flush()
    with app.app_context():
        # The claim was in the step that failed: nothing journalled, the rows wait as
        # they did, unclaimed.
        assert journal_step() is None
        assert db.session.scalar(select(func.count()).select_from(Response)) == 4
        assert db.session.scalars(select(Inbox.batch_id)).all() == [None] * 5
        db.session.rollback()
    monkeypatch.undo()
    settle(app)
    assert_settled(app, range(9))


@pytest.mark.parametrize("left_at", ["claim", "receipts"])
def test_a_batch_journalled_by_an_older_stigen_is_finished(app, client, monkeypatch, left_at):
    """Stigen claimed in a transaction of its own and cleared the inbox in a fourth one
    before T1 took the claim and T3 the clearing: a journal left at either of those
    points by a stopped mixer is still finished, nothing lost or doubled."""
    submit(client, range(3))
    settle(app)
    submit(client, range(3, 8))
    with app.app_context():
        if left_at == "claim":
            batch_id = uuid.uuid4()
            for row in db.session.scalars(select(Inbox)):
                row.batch_id = batch_id
                office_id, period_start = row.office_id, row.period_start
            db.session.add(
                MixBatch(
                    id=batch_id,
                    office_id=office_id,
                    period_start=period_start,
                    step=mixer.CLAIMED,
                )
            )
            db.session.commit()
    if left_at == "receipts":

        def crash(number):
            if number == mixer.COMMENTS:
                raise Crash

        monkeypatch.setattr(mixer, "after_step", crash)
        with app.app_context(), pytest.raises(Crash):
            mixer.flush()
        monkeypatch.setattr(mixer, "after_step", None)
        with app.app_context():
            # What the older receipts step left: receipts stored, inbox rows not cleared.
            for row in db.session.scalars(select(Inbox)):
                db.session.add(
                    SubmissionReceipt(
                        nonce_hash=row.nonce_hash,
                        office_id=row.office_id,
                        period_start=row.period_start,
                    )
                )
            db.session.execute(MixBatch.__table__.update().values(step=mixer.RECEIPTS))
            db.session.commit()
    with app.app_context():
        assert mixer.recover() == 1
    assert_settled(app, range(8))


KILLER = textwrap.dedent("""
    import os, sys
    from survey import create_app, mixer
    url, where = sys.argv[1], sys.argv[2]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    if where == "inside":
        mixer._add_to_tallies = lambda session, new, known: os._exit(9)
    else:
        mixer.after_step = lambda number: number == int(where) and os._exit(9)
    with app.app_context():
        mixer.flush()
    sys.exit(0)
""")


@pytest.mark.parametrize("where", ["inside", *map(str, STEPS.values())])
def test_a_killed_mixer_process_loses_and_duplicates_nothing(
    app, client, database_url, tmp_path, where
):
    submit(client, range(5))
    settle(app)
    submit(client, range(5, 11))
    with app.app_context():
        db.session.remove()
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, database_url, where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STIGEN_INSTANCE_PATH": str(tmp_path / "killer")},
    )
    assert killed.returncode == 9, killed.stderr
    with app.app_context():
        step = journal_step()
        db.session.rollback()
    assert step == (None if where in ("inside", str(mixer.RECEIPTS)) else int(where))
    settle(app)
    assert_settled(app, range(11))


def test_a_double_submit_racing_every_step_of_a_mix_is_stored_once(app, client, monkeypatch):
    submit(client, range(3))
    action, data = prepared(client, 3)
    assert client.post(action, data=data).status_code == 303
    resent = []

    def resend(number):
        # The same form again, between two steps of the mix that is moving it.
        resent.append(client.post(action, data=data).status_code)

    monkeypatch.setattr(mixer, "after_step", resend)
    assert settle(app) == 4
    assert resent == [303] * 3  # after T1 (with the claim), T2 and T3 (with the clearing)
    monkeypatch.setattr(mixer, "after_step", None)
    assert client.post(action, data=data).status_code == 303  # and after it all
    assert settle(app) == 0
    assert_settled(app, range(4))


@pytest.mark.parametrize("app_config", [WAITING | {"STIGEN_MIX_BATCH": 5}])
def test_a_batch_mixes_itself_after_the_submission_that_completes_it(app, client):
    with app.app_context():
        assert mixer.batch_size() == 5
    submit(client, range(4))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 4
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        db.session.rollback()
    submit(client, [4])
    assert_settled(app, range(5))


@pytest.mark.parametrize("app_config", [WAITING | {"STIGEN_MIX_BATCH": 5}])
def test_every_response_gets_a_random_uuid4_and_postgres_renumbers_at_every_mix(app, client):
    """Every response's id is a valid version-4 UUID made at its mix. On PostgreSQL each
    mix renumbers the whole office × period (the database makes the ids: none seen
    before); on SQLite a random key is already a random place, so ids stay."""
    seen: set[uuid.UUID] = set()
    for first in range(0, 30, 5):
        submit(client, range(first, first + 5))  # the fifth completes a batch: a mix
        with app.app_context():
            ids = set(db.session.scalars(select(Response.id)))
            db.session.rollback()
        assert len(ids) == first + 5
        assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
        if on_postgres():
            assert not ids & seen
        else:
            assert seen <= ids and len(ids - seen) == 5
        seen |= ids


def test_flask_mix_mixes_ended_periods_by_default_and_everything_with_all(app, client, runner):
    submit(client, range(3))
    with app.app_context():
        # One of them from last month's (ended) period, as if it had waited since then.
        old = db.session.scalars(select(Inbox)).first()
        old.period_start = old.period_start.replace(year=old.period_start.year - 1)
        db.session.commit()
    result = runner.invoke(args=["mix"])
    assert result.exit_code == 0 and "Mixed 1 waiting" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 2
        # The ended period's comment went to the queue at once; the running one's waits.
        statuses = db.session.execute(select(Comment.period_start, Comment.status)).all()
        assert [status for _, status in statuses] == ["pending"]
        db.session.rollback()
    result = runner.invoke(args=["mix", "--all"])
    assert result.exit_code == 0 and "Mixed 2 waiting" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 0
        held = db.session.scalar(text("SELECT count(*) FROM comment WHERE status = 'held'"))
        assert held == 2  # fewer than k in a running period: not yet in the queue


@pytest.mark.parametrize("app_config", [{"STIGEN_MIX_BATCH": 0}])
def test_the_default_batch_follows_what_waiting_rows_show(app):
    """Where waiting rows show their arrival order (PostgreSQL's transaction ids) they are
    mixed in batches of max(k, 10), and at least a tenth of the office × period, which
    each mix rewrites; where they do not (SQLite: keyed by the nonce's hash), max(k, 50)."""
    from datetime import date

    with app.app_context():
        k = app.config["STIGEN_K"]
        group = (1, date(2026, 1, 1))
        if on_postgres():
            assert mixer.batch_size() == max(k, 10)
            mixer._group_sizes()[group] = 400
            assert mixer.batch_size(group) == 40
            assert mixer.batch_size((2, date(2026, 1, 1))) == max(k, 10)
        else:
            assert mixer.batch_size() == max(k, 50)
            assert mixer.batch_size(group) == max(k, 50)  # nothing rewritten, no tenth


INSERT_INTO_INBOX = "INSERT INTO inbox%"


def _waits_for_a_lock(query_like: str) -> bool:
    """Whether a statement like ``query_like`` comes to wait for a lock within 5 s."""
    import time

    with db.engine.connect() as watching:
        for _ in range(200):
            waiting = watching.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE :like"
                ),
                {"like": query_like},
            )
            if waiting:
                return True
            watching.rollback()  # a fresh view of the activity each time
            time.sleep(0.025)
    return False


@pytest.mark.skipif(not on_postgres(), reason="a statement's snapshot is PostgreSQL's")
def test_a_resend_racing_the_receipts_step_is_not_stored_again(app, client):
    """The resend's INSERT begins while the mixer's last step (its receipt written, its
    inbox row deleted) is not yet committed, so the statement's own snapshot sees no
    receipt and its key check waits for the deletion. When the step commits, the row
    goes in, and the trigger of migration 0010, reading a fresh snapshot, finds the
    receipt and refuses it: thanked as stored before, stored once."""
    import hashlib
    import threading

    action, data = prepared(client, 1)
    assert client.post(action, data=data).status_code == 303
    nonce_hash = hashlib.sha256(data["nonce"].encode()).hexdigest()
    with app.app_context():
        row = db.session.get(Inbox, nonce_hash)
        office_id, period_start = row.office_id, row.period_start
        db.session.remove()
        mixing = db.engine.connect()
        mixing.execute(
            text(
                "INSERT INTO submission_receipt (nonce_hash, office_id, period_start) "
                "VALUES (:h, :o, :p)"
            ),
            {"h": nonce_hash, "o": office_id, "p": period_start},
        )
        mixing.execute(text("DELETE FROM inbox WHERE nonce_hash = :h"), {"h": nonce_hash})
        statuses = []
        resend = threading.Thread(
            target=lambda: statuses.append(client.post(action, data=data).status_code)
        )
        resend.start()
        try:
            waiting = _waits_for_a_lock(INSERT_INTO_INBOX)
        finally:
            # Whatever happened, the step ends (committed: the race as it would run).
            mixing.commit()
            mixing.close()
            resend.join(timeout=30)
        assert waiting, "the resend never waited for the mixer's step"
        assert statuses == [303]
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 0
        receipts = select(func.count()).select_from(SubmissionReceipt)
        assert db.session.scalar(receipts) == 1
