"""Migration 0006 on a database that already holds responses: the tally columns it adds
("took part in a measure", "var nyttig" and "passet" once per such response) are computed
from the responses, exactly as the tally rebuild computes them, and the measure rows of
options that are not measures go."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from survey import tally
from survey.extensions import db
from survey.models import MeasureTally, tally_table


def _tallies() -> tuple[list, list]:
    t, m = tally_table.c, MeasureTally.__table__.c
    rows = db.session.execute(
        select(tally_table).order_by(t.office_id, t.period_start, t.questionnaire_version)
    ).all()
    measures = db.session.execute(
        select(MeasureTally.__table__).order_by(
            m.office_id, m.period_start, m.questionnaire_version, m.measure
        )
    ).all()
    return [tuple(row) for row in rows], [tuple(row) for row in measures]


def test_upgrading_past_0006_backfills_the_tallies_from_the_responses(app, runner):
    result = runner.invoke(
        args=["seed-demo", "--offices", "3", "--responses", "600", "--months", "3"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        tally.rebuild(db.session)
        db.session.commit()
        expected = _tallies()
        assert any(row[-5] for row in expected[0]), "the seeded data take part in measures"
        db.session.remove()
        downgrade(revision="0005")
        # Before 0006, "ingen" and "vet ikke" were tallied as measures.
        db.session.execute(
            text(
                "INSERT INTO measure_tally (office_id, period_start, questionnaire_version, "
                "measure, participants, useful_answered, useful_agreed) "
                "SELECT office_id, period_start, questionnaire_version, 'ingen', 1, 0, 0 "
                "FROM tally"
            )
        )
        db.session.commit()
        db.session.remove()
        upgrade()
        assert _tallies() == expected
