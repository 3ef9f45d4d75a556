"""The worker's mixing thread (``STIGEN_MIX_IN_BACKGROUND``, the default): Send inn is the
one durable write and its thank-you never waits for a mix; what the thread is handed is
mixed once, whole, while more submissions arrive. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from survey import mixer
from survey.extensions import db
from survey.models import Inbox, Response

from .test_mixer import WAITING, assert_settled, submit
from .test_storage_order import prepared

BACKGROUND = WAITING | {"STIGEN_MIX_BATCH": 5, "STIGEN_MIX_IN_BACKGROUND": True}


@pytest.mark.parametrize("app_config", [BACKGROUND])
def test_the_thank_you_does_not_wait_for_the_mix_and_the_batch_is_mixed_after(
    app, client, monkeypatch
):
    release, started, mixed = threading.Event(), threading.Event(), []
    real_mix = mixer.mix

    def held_mix(office_id, period_start):
        started.set()
        assert release.wait(30)
        mixed.append(real_mix(office_id, period_start))
        return mixed[-1]

    monkeypatch.setattr(mixer, "mix", held_mix)
    submit(client, range(4))
    assert not started.is_set()  # four wait: no batch yet
    action, data = prepared(client, 4)
    assert client.post(action, data=data).status_code == 303  # answered while the mix waits
    assert started.wait(30)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 5
        db.session.rollback()
    release.set()
    mixer.drain(app)
    assert mixed == [5]
    assert_settled(app, range(5))


@pytest.mark.parametrize("app_config", [BACKGROUND])
def test_submissions_arriving_while_the_thread_mixes_are_each_stored_once(app, client):
    submit(client, range(23))
    mixer.drain(app)
    with app.app_context():
        # Every full batch was mixed by the thread; fewer than a batch may still wait.
        assert db.session.scalar(select(func.count()).select_from(Inbox)) < 5
        assert db.session.scalar(select(func.count()).select_from(Response)) >= 19
        db.session.rollback()
    with app.app_context():
        mixer.flush()
    assert_settled(app, range(23))


@pytest.mark.parametrize("app_config", [BACKGROUND])
def test_a_failing_mix_in_the_thread_is_logged_by_kind_and_left_waiting(
    app, client, monkeypatch, caplog
):
    def broken(office_id, period_start):
        raise RuntimeError("row values 1 2 3")

    monkeypatch.setattr(mixer, "mix", broken)
    submit(client, range(5))
    mixer.drain(app)
    assert "Mixing in the background failed (RuntimeError)" in caplog.text
    assert "row values" not in caplog.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inbox)) == 5
        db.session.rollback()
    monkeypatch.undo()
    with app.app_context():
        mixer.flush()
    assert_settled(app, range(5))
