"""Demo data made fast: ids from one read of the OS's random source, tallies summed from
the distinct synthetic respondents, the seeding connection's pragmas put back."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from survey import tally
from survey.demo.commands import seed_responses
from survey.demo.synthetic import random_ids
from survey.extensions import db
from survey.models import Office, Response

from .conftest import on_postgres


def test_random_ids_are_distinct_version_4_uuids():
    ids = random_ids(20_000)
    assert len(set(ids)) == 20_000 and all(len(i) == 32 for i in ids)
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in parsed)
    # Every other bit varies: not a counter, not a constant.
    assert len({i[:8] for i in ids}) > 19_900 and len({i[-8:] for i in ids}) > 19_900


def test_seeded_rows_have_random_ids_and_the_connection_gets_its_pragmas_back(app, monkeypatch):
    from survey.demo import commands

    seen = []  # the driver connections the pragmas were set on, and what they were then
    real = commands._sqlite_pragmas

    def spy(connection, pragmas):
        raw = connection.connection.driver_connection
        seen.append((raw, {n: raw.execute(f"PRAGMA {n}").fetchone()[0] for n in pragmas}))
        return real(connection, pragmas)

    monkeypatch.setattr(commands, "_sqlite_pragmas", spy)
    with app.app_context():
        offices = db.session.scalars(
            select(Office).where(Office.slug.in_(["bodo", "tromso"]))
        ).all()
        seed_responses(offices, 3000, months=2, seed=7)
        ids = db.session.scalars(select(Response.id)).all()
    assert len(ids) == 3000 and all(i.version == 4 for i in ids)
    if on_postgres():
        assert seen == []
        return
    (raw, original), (same, during) = seen
    assert same is raw and during == {"cache_size": -65536, "synchronous": 0}
    assert {n: raw.execute(f"PRAGMA {n}").fetchone()[0] for n in original} == original


def test_summer_adds_up_like_increments_one_by_one():
    people = [
        {
            "answers": {"tilt_deltatt": ["kurs", "mentor"], "tilt_nyttig": 5},
            "rung": 3,
            "theme_indices": {"medvirkning": 50.0, "talmodighet": 12.5, "relasjon": 100 / 3},
        },
        {
            "answers": {"tilt_deltatt": ["kurs"], "tilt_nyttig": -1},
            "rung": None,
            "theme_indices": {"stigma": 75.0, "talmodighet": 0.0, "relasjon": 20.0},
        },
        {
            "answers": {},
            "rung": 8,
            "theme_indices": {"medvirkning": 100.0, "stigma": 0.0},
        },
    ]
    from types import SimpleNamespace

    distinct = [tally.increments(SimpleNamespace(**p)) for p in people]
    chosen = [0, 1, 1, 2, 0, 0, 2]
    summer = tally.Summer()
    assert [summer.add(d) for d in distinct] == [0, 1, 2]
    row, measures, themes = summer.sum(chosen)
    expected = {name: sum(distinct[c][0][name] for c in chosen) for name in distinct[0][0]}
    assert row == expected and row["responses"] == 7 and row["rung_3"] == 3
    by_measure = {m["measure"]: m for m in measures}
    assert set(by_measure) == {"kurs", "mentor"}
    assert by_measure["kurs"] == {"measure": "kurs", "participants": 5}
    # "Var nyttig" once per response that took part: 3 × person 0 (5), 2 × person 1 (-1).
    assert (row["measured"], row["useful_answered"], row["useful_agreed"]) == (5, 3, 3)
    assert by_measure["mentor"]["participants"] == 3
    # Each theme: summed over the chosen responses that have its index, none for others.
    by_theme = {t["theme"]: t for t in themes}
    for theme in ("medvirkning", "stigma", "talmodighet", "relasjon"):
        rows = [r for c in chosen for r in distinct[c][2] if r["theme"] == theme]
        assert by_theme[theme] == {
            "theme": theme,
            "n": len(rows),
            "sum": sum(r["sum"] for r in rows),
            "sumsq": sum(r["sumsq"] for r in rows),
        }
    assert by_theme["medvirkning"]["n"] == 5 and by_theme["stigma"]["n"] == 4


def test_a_failed_seed_leaves_nothing_and_the_pragmas_back(app, monkeypatch):
    import pytest

    from survey.demo import commands

    calls = []
    real_insert = commands._insert_rows

    def failing(connection, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_insert(connection, rows)

    monkeypatch.setattr(commands, "_insert_rows", failing)
    monkeypatch.setattr(commands, "BATCH", 500)
    with app.app_context():
        offices = db.session.scalars(select(Office)).all()
        with pytest.raises(RuntimeError, match="disk full"):
            seed_responses(offices, 2000, months=2)
        assert db.session.scalar(select(text("count(*)")).select_from(Response)) == 0
        assert db.session.scalar(select(text("count(*)")).select_from(tally.tally_table)) == 0
