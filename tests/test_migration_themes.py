"""Migration 0009 on a database that already holds responses, tallies and a release: the
theme indices and the per-theme tallies move from columns into ``response.theme_indices``
and the ``theme_tally`` / ``release_theme`` rows and back, figure for figure, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import Uuid, column, select, table, text

from survey import releases, tally
from survey.extensions import db
from survey.models import ReleaseTheme, Response, ThemeTally

THEMES = ("medvirkning", "stigma", "talmodighet", "relasjon")


def _stored() -> tuple[dict, list, list]:
    """Every response's theme indices, and every theme-tally and released theme row."""
    indices = dict(db.session.execute(select(Response.id, Response.theme_indices)).all())
    themes = sorted(tuple(r) for r in db.session.execute(select(ThemeTally.__table__)))
    released = sorted(tuple(r) for r in db.session.execute(select(ReleaseTheme.__table__)))
    return indices, themes, released


def test_0009_moves_the_theme_figures_out_of_columns_and_back(app, runner):
    result = runner.invoke(
        args=["seed-demo", "--offices", "3", "--responses", "600", "--months", "3"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        tally.rebuild(db.session)
        assert releases.publish("test") is not None
        db.session.commit()
        indices, themes, released = _stored()
        assert released and {row[4] for row in released} == set(THEMES)
        assert any(len(value) < len(THEMES) for value in indices.values()), "some lack a theme"
        db.session.remove()

        downgrade(revision="0008")
        old = table("response", column("id", Uuid), *(column(f"{t}_index") for t in THEMES))
        for row in db.session.execute(select(old)):
            assert {
                t: v for t, v in zip(THEMES, row[1:], strict=False) if v is not None
            } == indices[row[0]]
        for source, rows, head in (("tally", themes, 0), ("release_tally", released, 1)):
            keys = ["release_id"] * head + ["office_id", "period_start", "questionnaire_version"]
            parts = [f"{t}_{p}" for t in THEMES for p in ("n", "sum", "sumsq")]
            wide = db.session.execute(text(f"SELECT {', '.join(keys + parts)} FROM {source}"))
            from_columns = []
            for row in wide.all():
                key, values = tuple(row[: len(keys)]), row[len(keys) :]
                for n, theme in enumerate(THEMES):
                    if values[3 * n]:
                        from_columns.append((*key, theme, *values[3 * n : 3 * n + 3]))
            from_columns.sort()
            assert [tuple(map(str, r)) for r in from_columns] == [
                tuple(map(str, r)) for r in rows
            ], source
        db.session.remove()

        upgrade()
        assert _stored() == (indices, themes, released)
