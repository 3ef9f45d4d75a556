"""Operations (issue 15): retention (survey/retention.py, `flask retention run`), backups
restored into an empty database with the same releases and export (SQLite's online
backup API; PostgreSQL's pg_dump and pg_restore, as docs/deploy.md says), and one
publisher at a time on PostgreSQL (an advisory lock in survey/releases.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from datetime import UTC, date, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from survey import releases, retention
from survey.domain import periods
from survey.extensions import db
from survey.models import (
    AuditEvent,
    Comment,
    Office,
    Release,
    ReleaseCell,
    Response,
    SubmissionReceipt,
)

from .conftest import POSTGRES_URL, make_app, on_postgres
from .test_dashboard import add_varied, make_account, sign_in

TODAY = date(2026, 3, 10)


# --- retention -----------------------------------------------------------------------------


def test_the_cutoffs():
    policy = retention.Policy(years=5, free_text_months=12)
    assert retention.response_cutoff(TODAY, policy) == date(2021, 3, 1)
    assert retention.free_text_cutoff(TODAY, policy) == date(2025, 3, 10)
    short_month = retention.free_text_cutoff(date(2026, 3, 31), retention.Policy(5, 1))
    assert short_month == date(2026, 2, 28)
    assert retention.response_cutoff(TODAY, retention.Policy(0, 0)) is None
    assert retention.free_text_cutoff(TODAY, retention.Policy(0, 0)) is None


def _comment(office_id, month, status, release_id=None, body="Mer tid."):
    return Comment(
        office_id=office_id,
        period_start=month,
        questionnaire_version=1,
        language="nb",
        item_code="hel_fritekst",
        body=body,
        status=status,
        release_id=release_id,
    )


def test_retention_deletes_old_rows_and_moderated_free_text_keeps_figures(app, runner, monkeypatch):
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)
    with app.app_context():
        bodo = db.session.scalar(select(Office.id).where(Office.slug == "bodo"))
        add_varied("bodo", date(2020, 5, 1), 6)  # older than 5 years: goes
        add_varied("bodo", date(2025, 5, 1), 6)  # stays
        db.session.add_all(
            [
                SubmissionReceipt(
                    nonce_hash="a" * 64, office_id=bodo, period_start=date(2020, 5, 1)
                ),
                SubmissionReceipt(
                    nonce_hash="b" * 64, office_id=bodo, period_start=date(2025, 5, 1)
                ),
                Release(
                    id=1,
                    made_at=datetime(2024, 1, 5, tzinfo=UTC),
                    through=date(2023, 12, 1),
                    k=5,
                    made_by="test",
                    summary={},
                ),
                Release(
                    id=2,
                    made_at=datetime(2026, 1, 5, tzinfo=UTC),
                    through=date(2025, 12, 1),
                    k=5,
                    made_by="test",
                    summary={},
                ),
            ]
        )
        db.session.flush()
        db.session.add_all(
            [
                _comment(bodo, date(2020, 5, 1), "approved", 1, "gammel"),  # past 5 years
                _comment(bodo, date(2023, 11, 1), "approved", 1, "vist 2024"),  # shown > 12 months
                _comment(bodo, date(2025, 11, 1), "approved", 2, "vist 2026"),  # shown recently
                _comment(bodo, date(2023, 11, 1), "pending", None, "venter"),  # not moderated
                _comment(bodo, date(2023, 11, 1), "rejected", None, ""),  # rejected long ago
            ]
        )
        db.session.commit()
        tallies = db.session.execute(text("SELECT * FROM tally ORDER BY 1, 2, 3")).all()

    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would delete: 6 responses, 1 receipts, 1 comments, 2 free text." in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 12
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0

    done = runner.invoke(args=["retention", "run"])
    assert done.exit_code == 0, done.output
    assert "Deleted: 6 responses, 1 receipts, 1 comments, 2 free text." in done.output
    with app.app_context():
        assert {r.period_start for r in db.session.scalars(select(Response))} == {date(2025, 5, 1)}
        assert [r.nonce_hash[0] for r in db.session.scalars(select(SubmissionReceipt))] == ["b"]
        assert sorted(c.body for c in db.session.scalars(select(Comment))) == [
            "venter",
            "vist 2026",
        ]
        # What the deleted rows added up to stays.
        assert db.session.execute(text("SELECT * FROM tally ORDER BY 1, 2, 3")).all() == tallies
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.run"))
        assert event.details["responses"] == 6 and event.details["free_text"] == 2
        assert event.details["responses_before"] == "2021-03-01"

    again = runner.invoke(args=["retention", "run"])
    assert "Deleted: 0 responses, 0 receipts, 0 comments, 0 free text." in again.output


def test_retention_zero_keeps_everything(app, runner, monkeypatch):
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)
    app.config.update(STIGEN_RETENTION_YEARS=0, STIGEN_FREE_TEXT_MONTHS=0)
    with app.app_context():
        add_varied("bodo", date(2001, 5, 1), 3)
    result = runner.invoke(args=["retention", "run"])
    assert "Deleted: 0 responses, 0 receipts, 0 comments, 0 free text." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 3


# --- backups -------------------------------------------------------------------------------


def seed_and_publish(app) -> None:
    """Figures worth comparing: two offices over two months, a release, a researcher."""
    with app.app_context():
        for slug in ("bodo", "tromso"):
            add_varied(slug, date(2026, 1, 1), 24)
            add_varied(slug, date(2026, 2, 1), 21, index=55.0)
        releases.publish("test", today=date(2026, 3, 10))
        db.session.commit()
        make_account("forsker", "forsker")


def what_is_published(app) -> tuple:
    """The releases (rows and cells) and the researchers' aggregate export."""
    with app.app_context():
        made = [
            (r.id, r.through, r.k, r.made_by, r.summary)
            for r in db.session.scalars(select(Release).order_by(Release.id))
        ]
        cells = sorted(
            tuple(c)
            for c in db.session.execute(
                select(
                    ReleaseCell.release_id,
                    ReleaseCell.questionnaire_version,
                    ReleaseCell.scope,
                    ReleaseCell.period,
                    ReleaseCell.family,
                )
            ).all()
        )
        db.session.remove()
    client = app.test_client()
    assert sign_in(client, "forsker").status_code == 302
    export = client.get("/eksport/aggregert.csv?inndeling=month")
    assert export.status_code == 200
    assert made and cells
    return made, cells, export.get_data(as_text=True)


@pytest.fixture
def published_sqlite(tmp_path, monkeypatch):
    """A SQLite database of its own (in either pass), seeded and released."""
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)
    url = "sqlite:///" + str(tmp_path / "live.db")
    app = make_app(url, tmp_path / "live")
    with app.app_context():
        upgrade()
        db.session.add_all(
            [Office(slug="bodo", name="NAV Bodø"), Office(slug="tromso", name="NAV Tromsø")]
        )
        db.session.commit()
    seed_and_publish(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_sqlite_backup_restored_into_an_empty_database_publishes_the_same(
    published_sqlite, tmp_path
):
    app = published_sqlite
    before = what_is_published(app)
    backup = tmp_path / "backup.db"
    result = app.test_cli_runner().invoke(args=["backup", "sqlite", str(backup)])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["backup", "sqlite", str(backup)])
    assert again.exit_code != 0 and "exists" in again.output  # never overwrites a backup
    # Restore as docs/deploy.md says: the backup API again, into an empty file.
    restored = tmp_path / "restored.db"
    with sqlite3.connect(backup) as source, sqlite3.connect(restored) as target:
        source.backup(target)
    other = make_app("sqlite:///" + str(restored), tmp_path / "restored")
    try:
        assert what_is_published(other) == before
        assert other.test_client().get("/isready").status_code == 200
    finally:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def empty_postgres():
    if not on_postgres():
        pytest.skip("needs TEST_DATABASE_URL (the PostgreSQL pass of .ci/run)")
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def libpq(url) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_pg_dump_restored_into_an_empty_database_publishes_the_same(
    empty_postgres, app, tmp_path, monkeypatch
):
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)
    seed_and_publish(app)
    before = what_is_published(app)
    dump = tmp_path / "stigen.dump"
    # docs/deploy.md, "Backups": these two commands.
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--file",
            str(dump),
            libpq(make_url(POSTGRES_URL)),
        ],
        check=True,
    )
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            libpq(empty_postgres),
            str(dump),
        ],
        check=True,
    )
    other = make_app(empty_postgres.render_as_string(hide_password=False), tmp_path / "other")
    try:
        assert what_is_published(other) == before
        assert other.test_client().get("/isready").status_code == 200
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# --- one publisher at a time ---------------------------------------------------------------


@pytest.mark.postgres
def test_a_second_publisher_waits_for_the_first_on_postgres(app):
    if not on_postgres():
        pytest.skip("needs TEST_DATABASE_URL (the PostgreSQL pass of .ci/run)")
    holder = create_engine(POSTGRES_URL)
    finished = threading.Event()

    def publish():
        with app.app_context():
            releases.publish("test", today=date(2026, 3, 10))
            db.session.rollback()
        finished.set()

    with holder.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": releases.PUBLISH_LOCK})
        worker = threading.Thread(target=publish)
        worker.start()
        time.sleep(1.5)
        assert not finished.is_set(), "publish did not wait for the lock"
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": releases.PUBLISH_LOCK})
        connection.commit()
    worker.join(timeout=60)
    assert finished.is_set()
    holder.dispose()
