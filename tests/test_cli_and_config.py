"""Commands, configuration and migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from survey import create_app
from survey.config import normalise_url
from survey.domain.periods import today_in_norway
from survey.domain.scoring import band_of, score
from survey.extensions import db
from survey.models import Office, Response
from survey.questionnaire import get


def test_seed_demo_makes_offices_and_scored_responses(runner, app):
    result = runner.invoke(
        args=["seed-demo", "--offices", "12", "--responses", "600", "--months", "6"]
    )
    assert result.exit_code == 0, result.output
    assert "Added 600 synthetic responses" in result.output
    with app.app_context():
        offices = db.session.scalars(select(Office)).all()
        assert len(offices) == 13  # the fixture's closed office, plus 12 demo offices
        assert {"NAV Grünerløkka", "NAV Demo 012"} <= {o.name for o in offices}
        responses = db.session.scalars(select(Response)).all()
        assert len(responses) == 600
        months = {r.period_start for r in responses}
        today = today_in_norway()
        assert all(m.day == 1 for m in months) and len(months) == 6
        assert max(months) == today.replace(day=1)
        v1 = get(1)
        for response in responses[:100]:
            expected = score(v1, response.answers)
            assert response.rung == expected.rung
            assert response.band == band_of(response.rung)
            assert response.theme_indices.get("stigma") == expected.theme_indices["stigma"]
        assert len({r.rung for r in responses}) >= 6  # a spread of rungs, not a constant
        # Offices differ, as the charts need.
        means = db.session.execute(
            select(Response.office_id, func.avg(Response.rung)).group_by(Response.office_id)
        ).all()
        assert max(m for _, m in means) - min(m for _, m in means) > 0.5


def test_seed_demo_is_repeatable_for_offices(runner, app):
    counts = []
    for _ in range(2):
        assert runner.invoke(args=["seed-demo", "--offices", "4"]).exit_code == 0
        with app.app_context():
            counts.append(db.session.scalar(select(func.count()).select_from(Office)))
    assert counts == [3 + 4, 3 + 4]  # the fixture's three, and four demo offices once


def test_migrations_replay_down_and_up_and_match_the_models(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == []


def test_k_below_three_is_refused(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="never be below 3"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STIGEN_K": 2})


@pytest.mark.parametrize(
    "base_url",
    ["stigen.example.no", "https://stigen.example.no/sti", "javascript:alert(1)", "https://a b"],
)
def test_a_malformed_base_url_is_refused(database_url, tmp_path, monkeypatch, base_url):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="STIGEN_BASE_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STIGEN_BASE_URL": base_url})
    for good in ("https://stigen.example.no", "http://127.0.0.1:8000/"):
        assert (
            create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STIGEN_BASE_URL": good}).config[
                "STIGEN_BASE_URL"
            ]
            == good
        )


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STIGEN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app()


def test_outside_production_a_secret_key_is_made_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("STIGEN_ENV", raising=False)
    first = create_app().config["SECRET_KEY"]
    assert len(first) == 64 and create_app().config["SECRET_KEY"] == first


def test_embedded_default_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/stigen.db"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["timeout"] == 5.0


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("STIGEN_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/pragmas.db"})
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgresql://u@h:5432/d", "postgresql+psycopg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_means_psycopg_3(given, expected):
    assert normalise_url(given) == expected


def test_security_headers_on_every_page(client):
    for path in ("/", "/k/bodo", "/k/nowhere", "/personvern"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_asks_for_anything_from_elsewhere(client):
    import re

    for path in ("/", "/k/bodo", "/personvern", "/k/bodo/takk"):
        html = client.get(path).get_data(as_text=True)
        for attribute, url in re.findall(r'(src|href)="([^"]+)"', html):
            # A mailto: link (the survey's contacts) opens the reader's mail program when
            # clicked; the page itself loads nothing from it.
            local = ("/", "?", "#", "mailto:") if attribute == "href" else ("/", "?", "#")
            assert url.startswith(local), url


def test_oversized_request_gets_a_friendly_413(client):
    response = client.post("/k/bodo/svar", data={"hel_fritekst": "x" * 100_000})
    assert response.status_code == 413
    assert "for stort" in response.get_data(as_text=True)


def test_seeded_tallies_equal_a_rebuild_from_the_responses(runner, app):
    from survey import tally
    from survey.models import MeasureTally, ThemeTally, tally_table

    assert (
        runner.invoke(
            args=["seed-demo", "--offices", "3", "--responses", "400", "--months", "4"]
        ).exit_code
        == 0
    )
    # A second run adds to the tallies rather than replacing them.
    assert (
        runner.invoke(
            args=[
                "seed-demo",
                "--offices",
                "3",
                "--responses",
                "150",
                "--months",
                "4",
                "--seed",
                "2",
            ]
        ).exit_code
        == 0
    )

    def tallies():
        rows = db.session.execute(
            select(tally_table).order_by(tally_table.c.office_id, tally_table.c.period_start)
        ).all()
        measures = db.session.execute(
            select(MeasureTally.__table__).order_by(
                MeasureTally.office_id, MeasureTally.period_start, MeasureTally.measure
            )
        ).all()
        themes = db.session.execute(
            select(ThemeTally.__table__).order_by(
                ThemeTally.office_id, ThemeTally.period_start, ThemeTally.theme
            )
        ).all()
        return [tuple(r) for r in rows], [tuple(m) for m in measures], [tuple(t) for t in themes]

    with app.app_context():
        seeded = tallies()
        tally.rebuild(db.session)
        db.session.commit()
        rebuilt = tallies()
    assert sum(r[3] for r in rebuilt[0]) == 550
    assert seeded[1] == rebuilt[1]
    assert len(seeded[0]) == len(rebuilt[0])
    for a, b in zip(seeded[0], rebuilt[0], strict=True):
        assert a == pytest.approx(b)
    assert len(seeded[2]) == len(rebuilt[2]) and {t[3] for t in rebuilt[2]} == {
        "medvirkning",
        "stigma",
        "talmodighet",
        "relasjon",
    }
    for a, b in zip(seeded[2], rebuilt[2], strict=True):
        assert a == pytest.approx(b)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://stigen.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_demo_administration_content_is_added_once(app):
    from survey.demo.administration import seed_administration
    from survey.models import ActionNote, Comment, Office

    with app.app_context():
        offices = db.session.scalars(select(Office).order_by(Office.slug)).all()
        for _ in range(2):
            seed_administration(offices)
            db.session.commit()
        statuses = [c.status for c in db.session.scalars(select(Comment))]
        assert len(statuses) == 5 * len(offices)
        assert {"pending", "approved"} == set(statuses)
        assert db.session.scalar(select(func.count()).select_from(ActionNote)) == 2 * 3
