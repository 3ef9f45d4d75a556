"""Dashboard speed at national scale: server time for one office page and for the
overview, beside the floor of the same aggregate read straight from the database.

    DATABASE_URL=sqlite:///instance/bench.db .venv/bin/python bench/dashboard.py --seed 1000000

--seed N fills an empty database first (250 offices, 24 months). Prints a table; it
measures, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from survey import create_app, tally  # noqa: E402
from survey.dashboard import data  # noqa: E402
from survey.demo.commands import ensure_offices, seed_responses  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import Account, Office, Response  # noqa: E402


def timed(call, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, times: list[float], floor: list[float] | None) -> str:
    p50 = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    floor_p50 = statistics.median(floor) if floor else None
    ratio = f"{p50 / floor_p50:5.1f}×" if floor_p50 else "     "
    floor_text = f"{floor_p50:8.1f}" if floor_p50 else "        "
    return f"| {name:34} | {p50:8.1f} | {p95:8.1f} | {floor_text} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="responses to add if empty")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("STIGEN_INSTANCE_PATH", str(Path(__file__).parent / ".instance"))
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        total = db.session.scalar(select(func.count()).select_from(Response))
        if not total and args.seed:
            offices = ensure_offices(250)
            seconds = seed_responses(offices, args.seed, months=24)
            print(f"seeded {args.seed:,} responses in {seconds:.1f} s")
            total = args.seed
        if not db.session.scalar(select(Account).where(Account.username == "bench")):
            account = Account(username="bench", role="admin")
            account.set_password("bench-password")
            db.session.add(account)
            db.session.commit()
        office = db.session.scalars(select(Office).order_by(Office.id)).first()
        offices = db.session.scalar(select(func.count()).select_from(Office))
        dialect = db.engine.dialect.name
    client = app.test_client()
    client.post("/logg-inn", data={"username": "bench", "password": "bench-password"})

    def get(path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, response.status_code
        return call

    def first(path):
        def call():
            with app.app_context():
                data.clear_cache()
            get(path)()
        return call

    def after_new_response(path):
        """A response arrives, then the page is asked for: served from the previous
        snapshot while the next is built in a background thread."""
        def call():
            with app.app_context():
                add_response()
            get(path)()
        return call

    def add_response():
        response = Response(office_id=office.id, period_start=quarter.start,
                            questionnaire_version=1, language="nb", answers={},
                            scoring_version=1, rung=None, band=None)
        db.session.add(response)
        tally.add(db.session, response)
        db.session.commit()

    def refresh_time():
        with app.app_context():
            started = time.perf_counter()
            data._load(1, app.config["STIGEN_K"]).warm()
            return [(time.perf_counter() - started) * 1000]

    with app.app_context():
        snap = data.snapshot(1, app.config["STIGEN_K"])
        period = snap.default_period().code
        quarter = snap.default_period()
        engine = db.engine

        def raw(sql, **params):
            def call():
                with engine.connect() as connection:
                    connection.execute(text(sql), params).all()
            return call

        tally_query = raw("SELECT * FROM tally WHERE questionnaire_version = 1")
        response_query = raw(
            "SELECT rung, count(*), avg(medvirkning_index) FROM response "
            "WHERE office_id = :office AND period_start >= :start AND period_start < :end "
            "GROUP BY rung", office=office.id, start=quarter.start, end=quarter.end)
        national_query = raw(
            "SELECT office_id, rung, count(*) FROM response WHERE period_start >= :start "
            "AND period_start < :end GROUP BY office_id, rung", start=quarter.start, end=quarter.end)
        floors = {name: timed(q, args.repeat) for name, q in
                  (("tally", tally_query), ("office", response_query), ("national", national_query))}

    office_path = f"/resultater/kontor/{office.slug}?periode={period}"
    overview_path = f"/resultater/oversikt?periode={period}"
    lines = [
        f"Dashboard, {dialect}, {total:,} responses, {offices} offices, period {period}, "
        f"{args.repeat} requests each (ms)",
        "",
        "| what                               |      p50 |      p95 | floor p50 | ratio |",
        "|---|---:|---:|---:|---:|",
        row("office page, warm", timed(get(office_path), args.repeat), floors["tally"]),
        row("overview, warm", timed(get(overview_path), args.repeat), floors["tally"]),
        row("office page, just after a response", timed(after_new_response(office_path),
                                                         args.repeat), floors["tally"]),
        row("overview, just after a response", timed(after_new_response(overview_path),
                                                      args.repeat), floors["tally"]),
        row("office page, first request", timed(first(office_path), max(3, args.repeat // 5)),
            floors["tally"]),
        row("overview, first request", timed(first(overview_path), max(3, args.repeat // 5)),
            floors["tally"]),
        row("snapshot build (background)", refresh_time(), floors["tally"]),
        row("floor: tally rows, raw SQL", floors["tally"], None),
        row("ref: one office-quarter from responses", floors["office"], None),
        row("ref: all offices' quarter from responses", floors["national"], None),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
