"""The production server, for real: gunicorn with ``gunicorn.conf.py`` on loopback.
A submission with a distinctive user agent, referrer, forwarded address and query token
leaves none of them in gunicorn's access or error log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Response

from .forms import settle
from .http import HttpClient
from .test_anonymity import AGENT, CLIENT, FORWARDED, FREE_TEXT, REFERRER
from .test_respond import FULL, answer_all, send

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_gunicorn(tmp_path, database_url: str, *options: str, **env: str):
    """gunicorn with gunicorn.conf.py on a free loopback port, serving ``database_url``,
    until it answers; yields (process, client, log path) and stops it afterwards."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STIGEN_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "gunicorn-test",
        "STIGEN_BIND": f"127.0.0.1:{port}",
        **env,
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *options, "app:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        client = HttpClient(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.get("/").status_code == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield process, client, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def gunicorn(app, database_url, tmp_path):
    with running_gunicorn(tmp_path, database_url) as (_, client, log):
        yield client, log


def test_gunicorn_logs_hold_no_trace_of_the_respondent(gunicorn, app):
    client, log = gunicorn
    headers = CLIENT["headers"]
    assert client.get("/k/bodo?invite=secret-token-42", headers=headers).status_code == 200
    last = answer_all(client, answers=FULL | {"hel_fritekst": FREE_TEXT}, headers=headers)
    done = send(client, last, headers=headers)
    assert done.status == 303
    settle(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    time.sleep(0.3)  # let the access log flush
    logged = log.read_text()
    access = [line for line in logged.splitlines() if line.startswith('"')]
    # No line per respondent request (survey/log_filters.py; more in tests/test_logs.py).
    assert not any("/k/bodo" in line for line in access), logged
    for trace in (
        AGENT,
        "StigenPrivacyProbe",
        REFERRER,
        "ola-nordmann",
        FORWARDED,
        "secret-token-42",
        "invite=",
        "Veilederen",
        "912 34 567",
    ):
        assert trace not in logged
    for line in access:
        assert "127.0.0.1" not in line


def _gunicorn_once(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "STIGEN_INSTANCE_PATH": str(tmp_path / "instance"),
            "STIGEN_BIND": f"127.0.0.1:{free_port()}",
            "SECRET_KEY": "x",
            **env,
        },
    )


def test_gunicorn_refuses_an_unmigrated_database(tmp_path):
    done = _gunicorn_once(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    assert done.returncode != 0
    assert "Stigen will not start" in done.stderr and "flask db upgrade" in done.stderr


def test_gunicorn_refuses_an_unreachable_database(tmp_path):
    done = _gunicorn_once(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    assert done.returncode != 0
    assert "cannot reach its database" in done.stderr and "DATABASE_URL" in done.stderr


def test_gunicorn_refuses_production_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **env,
            "STIGEN_ENV": "production",
            "STIGEN_INSTANCE_PATH": str(tmp_path),
            "STIGEN_BIND": f"127.0.0.1:{free_port()}",
        },
    )
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def test_a_worker_killed_mid_submission_leaves_nothing_half_written(app, database_url, tmp_path):
    """The submitting worker is SIGKILLed while its transaction waits on a lock (on
    PostgreSQL while it writes the submission's one row, to the inbox): nothing of it
    remains, and the respondent's resent form is then stored exactly once, and counted
    once when mixed."""
    import signal
    import threading

    from sqlalchemy import create_engine, text

    from survey.models import Comment, Inbox, SubmissionReceipt

    blocker = create_engine(database_url)
    try:
        with running_gunicorn(tmp_path, database_url, "--timeout", "60", STIGEN_WORKERS="1") as (
            master,
            client,
            _,
        ):
            last = answer_all(client, answers=FULL | {"hel_fritekst": "Skrevet før krasjet"})
            with blocker.connect() as lock:
                if database_url.startswith("sqlite"):
                    lock.exec_driver_sql("BEGIN EXCLUSIVE")
                else:
                    lock.execute(text("BEGIN"))
                    lock.execute(text("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE"))
                outcome = {}
                sender = threading.Thread(target=lambda: outcome.update(r=_try_send(client, last)))
                sender.start()
                time.sleep(1.5)  # the worker is now inside its transaction, waiting
                if not database_url.startswith("sqlite"):
                    with blocker.connect() as probe:  # proof: it waits on the inbox, mid-write
                        waiting = (
                            probe.execute(
                                text(
                                    "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE 'INSERT INTO inbox%'"
                                )
                            )
                            .scalars()
                            .all()
                        )
                    assert waiting, "the worker is not waiting inside its transaction"
                workers = subprocess.run(
                    ["pgrep", "-P", str(master.pid)], capture_output=True, text=True
                ).stdout.split()
                assert len(workers) == 1
                os.kill(int(workers[0]), signal.SIGKILL)
                sender.join(timeout=30)
                lock.rollback()
            assert outcome["r"] is None or outcome["r"] >= 500  # the connection died
            with app.app_context():
                for model in (Inbox, Response, Comment, SubmissionReceipt):
                    assert db.session.scalar(select(func.count()).select_from(model)) == 0
            # The master starts a new worker; the same form, sent again, is stored once.
            deadline = time.monotonic() + 20
            while (status := _try_send(client, last)) is None and time.monotonic() < deadline:
                time.sleep(0.3)
            assert status == 303
            assert _try_send(client, last) == 303  # sent twice: stored once
            settle(app)
            with app.app_context():
                db.session.remove()
                for model in (Response, Comment, SubmissionReceipt):
                    assert db.session.scalar(select(func.count()).select_from(model)) == 1
    finally:
        blocker.dispose()


def _try_send(client, page) -> int | None:
    try:
        return send(client, page).status
    except OSError:
        return None
