"""CSV export: rows per second and peak memory of ``flask export responses`` (a process of
its own, so its memory is its own), beside the database's own CSV dump of the same table
(``sqlite3 -csv`` or ``COPY … TO STDOUT``) in the same run.

Both rates count the responses in the database per second of wall time, process start
included: the export reads every released one of them, even those it leaves out as
belonging to a group under k.

The export holds released data only, so a release is published first (``flask releases
publish``, not timed here: the release benchmark times it). The k-anonymity rule's
decisions are made once per release (``flask export prepare``, timed on a row of its
own); every export then applies them and checks every quasi-identifier class of the file
before a row streams (in the timed export).
"""

from __future__ import annotations

import re

from .common import FLASK, Database, Row, run_measured

FLOOR_SHARE = 0.3  # of the floor's rate (issue #7)
LABELLED_TIMES = 3  # a labelled file (.sav, .dta) within 3 × the CSV's time (issue #17)
LABELLED_MB = 300
RATE = 100_000  # rows per second at 1M (issue #4)
MEMORY_MB = 150


def measure(database: Database, size: int) -> list[Row]:
    published = run_measured([*FLASK, "releases", "publish"], database.env())
    if published.returncode:
        raise RuntimeError(f"flask releases publish failed:\n{published.output[-2000:]}")
    prepared = run_measured([*FLASK, "export", "prepare"], database.env())
    if prepared.returncode:
        raise RuntimeError(f"flask export prepare failed:\n{prepared.output[-2000:]}")
    out = database.folder / "svar.csv"
    done = run_measured([*FLASK, "export", "responses", "--out", str(out)], database.env())
    if done.returncode:
        raise RuntimeError(f"flask export responses failed:\n{done.output[-2000:]}")
    found = re.search(r"([\d,]+) rows", done.output)
    written = int(found.group(1).replace(",", "")) if found else 0
    size_mb = out.stat().st_size / 1e6
    out.unlink()
    floor_name, floor = database.floor_csv(database.folder / "floor.csv")
    (database.folder / "floor.csv").unlink(missing_ok=True)
    rate = size / done.seconds
    if floor is None or floor.returncode:
        floor_text, ratio, met = floor_name if floor is None else f"{floor_name} failed", None, None
        floor_mem = "–"
    else:
        floor_rate = size / floor.seconds
        floor_text = f"{floor_name}: {floor_rate:,.0f} rows/s"
        ratio = rate / floor_rate
        # The targets are for a million rows: below that, start-up outweighs the rows.
        met = ratio >= FLOOR_SHARE and rate >= RATE if size >= 1_000_000 else None
        floor_mem = f"{floor_name}: {floor.peak_mb:.0f} MB"
    return [
        *csv_rows(size, prepared, done, written, size_mb, rate, floor_text, ratio, met, floor_mem),
        *labelled_rows(database, size, done),
    ]


def labelled_rows(database: Database, size: int, csv_done) -> list[Row]:
    """``flask export responses --format sav`` and ``dta``: the same rows as the CSV, read
    from its bytes into compact columns, a part at a time; pyreadstat writes the
    dictionary and labels, NumPy the rows (survey/export/labelled.py)."""
    rows = []
    for kind in ("sav", "dta"):
        out = database.folder / f"svar.{kind}"
        done = run_measured(
            [*FLASK, "export", "responses", "--out", str(out), "--format", kind], database.env()
        )
        if done.returncode:
            raise RuntimeError(
                f"flask export responses --format {kind} failed:\n{done.output[-2000:]}"
            )
        size_mb = out.stat().st_size / 1e6
        out.unlink()
        times = done.seconds / csv_done.seconds
        at_scale = size >= 1_000_000
        rows.append(
            Row(
                size,
                f"Labelled export: `--format {kind}` ({size_mb:.0f} MB, {done.seconds:.1f} s)",
                f"{size / done.seconds:,.0f} rows/s",
                f"CSV: {size / csv_done.seconds:,.0f} rows/s",
                times,
                f"at 1M: ≤ {LABELLED_TIMES} × the CSV's time",
                times <= LABELLED_TIMES if at_scale else None,
            )
        )
        rows.append(
            Row(
                size,
                f"Labelled export: `--format {kind}` peak memory",
                f"{done.peak_mb:.0f} MB",
                f"CSV: {csv_done.peak_mb:.0f} MB",
                None,
                f"< {LABELLED_MB} MB",
                done.peak_mb < LABELLED_MB,
            )
        )
    return rows


def csv_rows(
    size, prepared, done, written, size_mb, rate, floor_text, ratio, met, floor_mem
) -> list[Row]:
    return [
        Row(
            size,
            f"CSV export: k-anonymity decisions once per release (`flask export prepare`, "
            f"{prepared.seconds:.1f} s)",
            f"{size / prepared.seconds:,.0f} rows/s",
            "–",
            None,
            "once per release (not per download)",
            None,
        ),
        Row(
            size,
            f"CSV export: `flask export responses` ({written:,} rows written, "
            f"{size_mb:.0f} MB, {done.seconds:.1f} s)",
            f"{rate:,.0f} rows/s",
            floor_text,
            ratio,
            f"at 1M: ≥ {FLOOR_SHARE} × floor and ≥ {RATE:,} rows/s",
            met,
            key="CSV export",
            number=done.seconds,
        ),
        Row(
            size,
            "CSV export: peak memory of the process tree (workers included)",
            f"{done.peak_mb:.0f} MB",
            floor_mem,
            None,
            f"< {MEMORY_MB} MB",
            done.peak_mb < MEMORY_MB,
        ),
    ]
