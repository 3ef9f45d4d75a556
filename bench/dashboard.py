"""Office dashboard: server time for one office's page and for the overview (Flask's test
client, in this process: no network), beside the floor of the aggregate the dashboard
reads, the tallies of the questionnaire version, read with raw SQL.

Three situations: warm (the snapshot is built), just after a new response (served from
the previous snapshot while the next is built in a background thread), and a process's
first request (the snapshot is built inside the request).
"""

from __future__ import annotations

import statistics

from .common import Database, Row, ms, staff_pages, timed

TARGET = 0.300  # seconds, each page
FLOOR_TIMES = 2.0  # at most this many times the raw query


def measure(database: Database, size: int, repeat: int = 10) -> list[Row]:
    from sqlalchemy import select, text

    from survey import caching, create_app, tally
    from survey.dashboard import data
    from survey.extensions import db
    from survey.models import Office, Response

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        office = db.session.scalars(select(Office).order_by(Office.id)).first()
        offices = db.session.scalar(select(db.func.count()).select_from(Office))
        snap = data.snapshot(1, app.config["STIGEN_K"])
        quarter = snap.default_period()
        office_id, slug = office.id, office.slug

    get = staff_pages(app)

    def first(path):
        def call():
            with app.app_context():
                caching.clear(app)  # a first request: no snapshot built yet
            get(path)()

        return call

    def add_response():
        response = Response(
            office_id=office_id,
            period_start=quarter.start,
            questionnaire_version=1,
            language="nb",
            answers={},
            scoring_version=1,
            rung=None,
            band=None,
        )
        db.session.add(response)
        tally.add(db.session, response)
        db.session.commit()

    def after_new_response(path):
        def call():
            with app.app_context():
                add_response()
            get(path)()

        return call

    with app.app_context():
        engine = db.engine

        def raw(*sqls, **params):
            def call():
                with engine.connect() as connection:
                    for sql in sqls:
                        connection.execute(text(sql), params).all()

            return call

        # What data._load reads: every tally row of the version (all offices, all months)
        # and its theme rows (themes are rows since issue 18).
        floor = statistics.median(
            timed(
                raw(
                    "SELECT * FROM tally WHERE questionnaire_version = 1",
                    "SELECT * FROM theme_tally WHERE questionnaire_version = 1",
                ),
                repeat,
            )
        )
        national = statistics.median(
            timed(
                raw(
                    "SELECT office_id, rung, count(*) FROM response WHERE period_start >= :start "
                    "AND period_start < :end GROUP BY office_id, rung",
                    start=quarter.start,
                    end=quarter.end,
                ),
                max(3, repeat // 5),
            )
        )

    office_path = f"/resultater/kontor/{slug}?periode={quarter.code}"
    overview_path = f"/resultater/oversikt?periode={quarter.code}"
    rows = []
    floor_text = f"tally read, raw SQL: {ms(floor)}"
    target = f"< {TARGET * 1000:.0f} ms; < {FLOOR_TIMES:g} × floor"
    for label, path in (("office page", office_path), ("overview", overview_path)):
        for situation, call, times in (
            ("warm", get(path), repeat),
            ("just after a new response", after_new_response(path), repeat),
            (
                "cold cache: snapshot built in the request (gunicorn workers build it at start)",
                first(path),
                max(2, repeat // 5),
            ),
        ):
            get(path)()  # the snapshot is built (and, for "warm", the page once served)
            value = statistics.median(timed(call, times))
            ratio = value / floor
            rows.append(
                Row(
                    size,
                    f"dashboard: {label}, {situation}",
                    ms(value),
                    floor_text,
                    ratio,
                    target,
                    value < TARGET and ratio < FLOOR_TIMES,
                    key=f"dashboard: {label}, {situation}",
                    number=ratio,
                )
            )
    rows.append(
        Row(
            size,
            f"dashboard: reference, one quarter of all {offices} offices "
            "aggregated straight from the responses",
            ms(national),
        )
    )

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows
