"""Demo data: the time ``flask seed-demo`` takes to generate N responses over 250 offices
and 24 months (the data every other part then measures). The target is for a million;
below that the process's start-up weighs too much for the rate to say anything."""

from __future__ import annotations

from .common import FLASK, Database, Row, run_measured

OFFICES = 250
MONTHS = 24
TARGET_PER_SECOND = 1_000_000 / 60  # a million in under a minute (issue #7: on SQLite)


def seed(database: Database, size: int) -> list[Row]:
    done = run_measured(
        [
            *FLASK,
            "seed-demo",
            "--offices",
            str(OFFICES),
            "--responses",
            str(size),
            "--months",
            str(MONTHS),
        ],
        database.env(),
    )
    if done.returncode:
        raise RuntimeError(f"flask seed-demo failed:\n{done.output[-2000:]}")
    rate = size / done.seconds
    return [
        Row(
            size,
            "demo data: `flask seed-demo` (whole command)",
            f"{done.seconds:.1f} s ({rate:,.0f}/s)",
            target="1M in < 60 s",
            met=rate >= TARGET_PER_SECOND if size >= 1_000_000 else None,
            key="demo data",
            number=done.seconds,
        )
    ]
