"""Releases: building and auditing a release of the whole country (every office, every
complete month of the demo data: 250 offices × 24 months), and the dashboard pages served
from it when warm, beside the floor of reading the release's own rows with raw SQL.

The release is made as ``flask releases publish`` makes it (``survey.releases.publish``):
mixer flush, the frozen copy, the audit of every family of every version, the decisions
and the audit-log record, committed.
"""

from __future__ import annotations

import statistics
import time

from .common import Database, Row, ms, staff_pages, timed

AUDIT_TARGET = 60.0  # seconds, the whole country on 2 cores
PAGE_TARGET = 0.300  # seconds, each warm page
FLOOR_TIMES = 2.0  # at most this many times the raw read of the release


def measure(database: Database, size: int, repeat: int = 10) -> list[Row]:
    from sqlalchemy import func, select, text

    from survey import create_app, releases
    from survey.dashboard import data
    from survey.extensions import db
    from survey.models import Office, ReleaseCell

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        releases.drop_all()
        db.session.commit()
        offices = db.session.scalar(select(func.count()).select_from(Office))
        started = time.perf_counter()
        release = releases.publish("bench")
        db.session.commit()
        build = time.perf_counter() - started
        release_id, through = release.id, release.through
        months = release.summary.get("new_months", 0)
        cells = db.session.scalar(
            select(func.count())
            .select_from(ReleaseCell)
            .where(ReleaseCell.release_id == release_id)
        )
        findings = release.summary.get("findings", 0)
        snap = data.snapshot(1)
        quarter = snap.default_period()
        slug = db.session.scalars(select(Office.slug).order_by(Office.id)).first()
        engine = db.engine

        def raw_release():
            with engine.connect() as connection:
                connection.execute(
                    text(
                        "SELECT * FROM release_tally WHERE release_id = :r "
                        "AND questionnaire_version = 1"
                    ),
                    {"r": release_id},
                ).all()
                connection.execute(
                    text(
                        "SELECT scope, period, family FROM release_cell WHERE release_id = :r "
                        "AND questionnaire_version = 1"
                    ),
                    {"r": release_id},
                ).all()

        floor = statistics.median(timed(raw_release, repeat))

    get = staff_pages(app)

    rows = [
        Row(
            size,
            f"release: build and audit, {offices} offices × {months} months "
            f"(through {through:%Y-%m}; {cells:,} cells shown, {findings} findings)",
            f"{build:.1f} s",
            target=f"< {AUDIT_TARGET:.0f} s on 2 cores",
            met=build < AUDIT_TARGET,
            key="release: build and audit",
            number=build,
        )
    ]
    floor_text = f"release rows read, raw SQL: {ms(floor)}"
    for label, path in (
        ("office page", f"/resultater/kontor/{slug}?periode={quarter.code}"),
        ("overview", f"/resultater/oversikt?periode={quarter.code}"),
    ):
        get(path)()  # the snapshot of the release is built, the page served once
        value = statistics.median(timed(get(path), repeat))
        ratio = value / floor
        rows.append(
            Row(
                size,
                f"release: {label}, warm, served from the release",
                ms(value),
                floor_text,
                ratio,
                f"< {PAGE_TARGET * 1000:.0f} ms; < {FLOOR_TIMES:g} × floor",
                value < PAGE_TARGET and ratio < FLOOR_TIMES,
                key=f"release: {label}, warm",
                number=ratio,
            )
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows
