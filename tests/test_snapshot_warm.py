"""A gunicorn worker builds the dashboards' snapshots as it starts (gunicorn.conf.py
``post_worker_init`` → ``data.warm_cache``), so that no request pays for the first build;
the app itself never does (tests and ``flask`` commands)."""

from __future__ import annotations

import logging
import runpy
from datetime import date
from pathlib import Path

from survey import releases
from survey.dashboard import data

from .test_dashboard import accounts, add_responses, sign_in  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
MONTH = date(2026, 1, 1)


def counting_loads(monkeypatch) -> list[int]:
    loads: list[int] = []
    load = data._load

    def counted(release, version):
        loads.append(version)
        return load(release, version)

    monkeypatch.setattr(data, "_load", counted)
    return loads


def test_warm_cache_builds_every_version_so_the_first_request_does_not(
    app, client, accounts, monkeypatch
):  # noqa: F811 - fixture
    with app.app_context():
        add_responses("bodo", MONTH, 12)
        add_responses("tromso", MONTH, 7)
        releases.ensure_current()  # warming reads the current release, it makes none
    loads = counting_loads(monkeypatch)
    assert len(data.SNAPSHOTS.of(app)) == 0  # creating the app built nothing
    assert data.warm_cache(app) == [1]
    assert loads == [1]
    entries = data.SNAPSHOTS.of(app)
    assert entries.keys() == [(1, 1)]  # (release, version)
    snap = entries.get((1, 1))
    assert snap.__dict__.get("visible_themes") is not None  # decisions read, not later

    sign_in(client, "admin")
    page = client.get("/resultater/kontor/bodo?periode=2026-Q1")
    assert page.status_code == 200
    assert client.get("/resultater/oversikt?periode=2026-Q1").status_code == 200
    assert loads == [1]  # served from the warmed snapshot


def test_warm_cache_never_makes_a_release(app, monkeypatch):
    """Workers starting together must not race to publish (and a release's time must not
    follow from a worker's start): warming only reads."""
    with app.app_context():
        add_responses("bodo", MONTH, 12)
    loads = counting_loads(monkeypatch)
    assert data.warm_cache(app) == []
    assert loads == []
    with app.app_context():
        assert releases.current() is None


def test_warm_cache_with_no_responses_builds_nothing(app, monkeypatch):
    loads = counting_loads(monkeypatch)
    assert data.warm_cache(app) == []
    assert loads == []


def test_post_worker_init_warms_the_workers_app(app, monkeypatch):
    warmed = []
    monkeypatch.setattr(data, "warm_cache", warmed.append)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    class Worker:
        wsgi = app
        log = logging.getLogger("test-worker")

    hooks["post_worker_init"](Worker())
    assert warmed == [app]


def test_a_failed_warm_up_is_logged_and_the_worker_starts(app, monkeypatch, caplog):
    def broken(_app):
        raise RuntimeError("database away")

    monkeypatch.setattr(data, "warm_cache", broken)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    class Worker:
        wsgi = app
        log = logging.getLogger("test-worker")

    with caplog.at_level(logging.ERROR, logger="test-worker"):
        hooks["post_worker_init"](Worker())  # does not raise
    assert "could not build the dashboard snapshots" in caplog.text
