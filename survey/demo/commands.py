"""``flask seed-demo`` and ``flask demo``."""

from __future__ import annotations

import json
import logging
import random
import time
from array import array
from datetime import date, timedelta
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import tally
from ..domain.periods import today_in_norway
from ..domain.scoring import SCORING_VERSION
from ..extensions import db
from ..models import Account, Office, Response
from ..versions import live as live_questionnaire
from .administration import seed_administration
from .synthetic import answer_pool, demo_offices, random_ids

BATCH = 20_000
TALLY_CELLS = 500  # office-months whose tally rows are written at a time
POOL_SIZE = 2_000
POOL_MEANS = (-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9)


def months_back(count: int, today: date) -> list[date]:
    """The first day of the ``count`` months up to and including this one, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def ensure_offices(count: int) -> list[Office]:
    existing = {o.slug: o for o in db.session.scalars(select(Office))}
    for slug, name, municipality, county in demo_offices(count):
        if slug not in existing:
            office = Office(slug=slug, name=name, municipality=municipality, county=county)
            db.session.add(office)
            existing[slug] = office
    db.session.commit()
    wanted = {slug for slug, *_ in demo_offices(count)}
    return [o for o in existing.values() if o.slug in wanted]


# Bulk inserts go to the driver directly (executemany on SQLite, COPY on PostgreSQL):
# a million rows then cost the database's time, not per-row ORM work. SQLite stores a
# Uuid as its 32 hex digits and a Date as ISO text; COPY reads both as they are.
COLUMNS = (
    "id",
    "office_id",
    "period_start",
    "questionnaire_version",
    "language",
    "answers",
    "scoring_version",
    "rung",
    "band",
    "theme_indices",
)


def _insert_rows(connection, rows: list[tuple]) -> None:
    """Rows ready for the driver: the id as 32 hex digits, the month as ISO text."""
    raw = connection.connection.driver_connection
    names = ", ".join(COLUMNS)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY response ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO response ({names}) VALUES ({', '.join('?' * len(COLUMNS))})", rows
        )
    finally:
        cursor.close()


def _sqlite_pragmas(connection, pragmas: dict) -> dict:
    """Set pragmas on this connection; return what they were."""
    raw = connection.connection.driver_connection
    before = {}
    for name, value in pragmas.items():
        before[name] = raw.execute(f"PRAGMA {name}").fetchone()[0]
        raw.execute(f"PRAGMA {name} = {value}")
    return before


# For the seeding connection only: a page cache big enough for the indexes of a million
# random ids, and no fsync (a crash of the machine mid-seed may lose the demo data).
SEED_PRAGMAS = {"cache_size": -65536, "synchronous": 0}


def seed_responses(
    offices: list[Office],
    responses: int,
    months: int,
    seed: int = 1,
    questionnaire=None,
    periods: list[date] | None = None,
) -> float:
    """Insert ``responses`` synthetic responses spread over ``offices`` and the last
    ``months`` months (or the months ``periods``), in the live questionnaire version (or
    ``questionnaire``), and add them to the tallies in the same transaction (summed here
    from the few thousand distinct respondents they are drawn from, not by a GROUP BY over
    every response). Returns the seconds taken."""
    started = time.perf_counter()
    questionnaire = questionnaire or live_questionnaire()
    rng = random.Random(seed)
    periods = periods or months_back(months, today_in_norway())
    # Offices differ: each draws from one of a few pools of respondents, each pool
    # around its own mean, so that a million rows need only a few thousand made one by one.
    size = min(POOL_SIZE, max(responses, 50))
    stored = []  # per respondent: the stored values; ``summer`` keeps its tally increments
    summer = tally.Summer()
    for n, mean in enumerate(POOL_MEANS):
        for person in answer_pool(questionnaire, mean, size, seed + n):
            stored.append(
                (
                    questionnaire.version,
                    person.language,
                    json.dumps(person.answers),
                    SCORING_VERSION,
                    person.scores.rung,
                    person.scores.band,
                    json.dumps(person.scores.stored_indices),
                )
            )
            summer.add(tally.increments(_as_response(person), questionnaire.scoring))
    pool_of = [rng.randrange(len(POOL_MEANS)) for _ in offices]
    # A cell is an office and a month; its rows draw from the office's pool.
    cells = [(office, month) for office in offices for month in periods]
    heads = [(office.id, month.isoformat()) for office, month in cells]
    base = [pool_of[n // len(periods)] * size for n in range(len(cells))]
    members = [array("I") for _ in cells]  # the respondents drawn for each cell

    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        before = _sqlite_pragmas(connection, SEED_PRAGMAS) if sqlite else {}
        try:
            for first in range(0, responses, BATCH):
                count = min(BATCH, responses - first)
                rows = []
                for ident, cell, person in zip(
                    random_ids(count),
                    rng.choices(range(len(cells)), k=count),
                    rng.choices(range(size), k=count),
                    strict=True,
                ):
                    drawn = base[cell] + person
                    members[cell].append(drawn)
                    rows.append((ident, *heads[cell], *stored[drawn]))
                _insert_rows(connection, rows)
            with Session(bind=connection) as session:
                for at in range(0, len(cells), TALLY_CELLS):
                    tally_rows, measure_rows, theme_rows = [], [], []
                    for (office, month), cell_members in zip(
                        cells[at : at + TALLY_CELLS], members[at : at + TALLY_CELLS], strict=True
                    ):
                        if cell_members:
                            row, measures, themes = summer.sum(cell_members)
                            key = {
                                "office_id": office.id,
                                "period_start": month,
                                "questionnaire_version": questionnaire.version,
                            }
                            tally_rows.append(key | row)
                            measure_rows += [key | measure for measure in measures]
                            theme_rows += [key | theme for theme in themes]
                    tally.add_rows(session, tally_rows, measure_rows, theme_rows)
                session.commit()
        finally:
            if sqlite:
                # Nothing half-written stays (a no-op after the commit), and SQLite will not
                # change the pragmas back inside a transaction.
                # An open connection always has its driver's connection.
                connection.connection.driver_connection.rollback()  # type: ignore[union-attr]
                _sqlite_pragmas(connection, before)
    return time.perf_counter() - started


def seed_two_versions(offices: list[Office], responses: int, months: int) -> float:
    """The demo's responses over ``months`` months: version 2 since the start of the last
    complete quarter (so the dashboards' default quarter has version 2 figures), version 1
    before it, and version 2 made live, so the dashboards show both versions and the
    crosswalk between them. Returns the seconds taken."""
    from .. import versions
    from ..domain.periods import ReportingPeriod
    from ..questionnaire import get

    today = today_in_norway()
    periods = months_back(months, today)
    this_quarter = ReportingPeriod.containing(today, "quarter").start
    since = ReportingPeriod.containing(this_quarter - timedelta(days=1), "quarter").start
    older = [m for m in periods if m < since] or periods[:1]
    newer = [m for m in periods if m not in older]
    share = round(responses * len(older) / len(periods))
    seconds = seed_responses(offices, share, months, questionnaire=get(1), periods=older)
    seconds += seed_responses(
        offices, responses - share, months, seed=2, questionnaire=get(2), periods=newer
    )
    versions.make_live(2, "demo")
    db.session.commit()
    return seconds


def _as_response(person) -> SimpleNamespace:
    """What ``tally.increments`` reads of a response, for a synthetic respondent."""
    return SimpleNamespace(
        answers=person.answers,
        rung=person.scores.rung,
        theme_indices=person.scores.stored_indices,
    )


# Demo accounts, printed when the demo server starts. Never use these outside a demo.
DEMO_ACCOUNTS = (
    # username, password, role, office slugs
    ("admin", "stigen-admin", "admin", ()),
    ("leder", "stigen-leder", "leder", ("bodo",)),
    ("leder2", "stigen-leder2", "leder", ("tromso", "bergenhus")),
    ("forsker", "stigen-forsker", "forsker", ()),
)


def ensure_demo_accounts() -> None:
    existing = set(db.session.scalars(select(Account.username)))
    offices = {o.slug: o for o in db.session.scalars(select(Office))}
    for username, password, role, slugs in DEMO_ACCOUNTS:
        if username in existing:
            continue
        account = Account(
            username=username, role=role, offices=[offices[s] for s in slugs if s in offices]
        )
        account.set_password(password)
        db.session.add(account)
    db.session.commit()


@click.command("seed-demo")
@click.option(
    "--offices", default=len(demo_offices(10)), show_default=True, help="How many offices."
)
@click.option("--responses", default=0, show_default=True, help="Synthetic responses to add.")
@click.option("--months", default=24, show_default=True, help="Spread over this many months.")
@click.option("--seed", default=1, show_default=True, help="Random seed, for repeatable data.")
@with_appcontext
def seed_demo_command(offices: int, responses: int, months: int, seed: int) -> None:
    """Create demo offices and, optionally, synthetic responses."""
    created = ensure_offices(offices)
    click.echo(f"{len(created)} demo offices ready.")
    if responses:
        seconds = seed_responses(created, responses, months, seed)
        click.echo(
            f"Added {responses:,} synthetic responses in {seconds:.1f} s "
            f"({responses / seconds:,.0f} per second)."
        )


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--responses",
    default=3000,
    show_default=True,
    help="Synthetic responses to seed when the database has none.",
)
@with_appcontext
def demo_command(host: str, port: int, responses: int) -> None:
    """Migrate the database, seed demo data if it is empty, and serve Stigen."""
    upgrade()
    logging.getLogger("werkzeug").disabled = False  # Alembic's log set-up turned it off
    offices = ensure_offices(len(demo_offices(10)))
    ensure_demo_accounts()
    seed_administration(offices)
    db.session.commit()
    if not db.session.scalar(select(func.count()).select_from(Response)):
        seconds = seed_two_versions(offices, responses, months=12)
        click.echo(
            f"Seeded {responses:,} synthetic responses in {seconds:.1f} s "
            "(questionnaire version 1, then version 2 since the last whole quarter)."
        )
    from .. import releases

    releases.ensure_current()  # the figures shown come from a release: make the first now
    base = f"http://{host}:{port}"
    click.echo(f"\nStigen runs on {base}/  (a survey: {base}/k/bodo)")
    click.echo(f"Results: {base}/resultater/ — demo accounts (username / password):")
    for username, password, role, slugs in DEMO_ACCOUNTS:
        click.echo(
            f"  {username:8} / {password:15} {role}" + (f" for {', '.join(slugs)}" if slugs else "")
        )
    click.echo("")
    from werkzeug.serving import run_simple

    from ..log_filters import PrivateRequestHandler

    run_simple(
        host,
        port,
        current_app._get_current_object(),  # type: ignore[attr-defined]  # a proxy, typed as Flask
        threaded=True,
        request_handler=PrivateRequestHandler,
    )
