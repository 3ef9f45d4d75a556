"""Stigen's benchmark suite: every figure beside its floor, measured in the same run.

    .venv/bin/python -m bench                         # SQLite; 10k, 100k and 1M responses
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stigen_bench .venv/bin/python -m bench
    .venv/bin/python -m bench --quick                 # 10k only, while developing

With DATABASE_URL naming a PostgreSQL database the suite runs there too, in a schema of its
own (``stigen_bench``, dropped and made anew for every size; nothing else is touched).
SQLite runs in a temporary instance folder. Prints a table and writes docs/performance.md.
It measures; it never fails on a number (it exits non-zero only when a part could not run).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from . import audit, dashboard, demo, export, release, staff_weight, submissions, weight
from .common import ROOT, Database, PostgreSQL, Row, SQLite, markdown_table

PARTS = ("demo", "weight", "dashboard", "release", "audit", "export", "submissions")
DEFAULT_SIZES = "10k,100k,1M"


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"responses to measure at, comma-separated (default {DEFAULT_SIZES})",
    )
    parser.add_argument("--quick", action="store_true", help="10k responses only")
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"parts to run, comma-separated, of: {', '.join(PARTS)} (the "
        "demo data is made anyway, and reported only if asked for)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=4.0,
        help="length of the saturated submission phases; the paced ones "
        "take twice as long (default 4)",
    )
    parser.add_argument(
        "--repeat", type=int, default=10, help="requests per dashboard figure (default 10)"
    )
    parser.add_argument(
        "--sqlite-only", action="store_true", help="skip PostgreSQL even when DATABASE_URL names it"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "performance.md",
        help="where to write the report (default docs/performance.md)",
    )
    args = parser.parse_args(argv)
    args.sizes = [10_000] if args.quick else sorted({parse_size(s) for s in args.sizes.split(",")})
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    return args


# --- the machine ----------------------------------------------------------------------


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = next(
        (int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": f"{memory / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


class LoadWatch:
    """The 1-minute load average at the start, at every step, and at the end."""

    def __init__(self):
        self.samples = [os.getloadavg()[0]]

    def sample(self) -> None:
        self.samples.append(os.getloadavg()[0])


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the run --------------------------------------------------------------------------


def run_database(database: Database, args, watch: LoadWatch) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    problems: list[str] = []
    for size in args.sizes:

        def fresh(size=size) -> list[Row]:
            database.reset(size)
            database.migrate()
            return demo.seed(database, size)

        # Each step runs within this iteration; binding ``size`` keeps it so if one ever is not.
        steps = [("demo", fresh)]
        if "weight" in args.only and size == args.sizes[0]:
            steps.append(("weight", lambda size=size: weight.measure(database, size)))
            steps.append(("staff weight", lambda size=size: staff_weight.measure(database, size)))
        if "dashboard" in args.only:
            steps.append(
                ("dashboard", lambda size=size: dashboard.measure(database, size, args.repeat))
            )
        if "release" in args.only:
            steps.append(
                ("release", lambda size=size: release.measure(database, size, args.repeat))
            )
        if "audit" in args.only and isinstance(database, SQLite):  # no database: once
            steps.append(("audit", lambda size=size: audit.measure(size)))
        if "export" in args.only:
            steps.append(("export", lambda size=size: export.measure(database, size)))
        if "submissions" in args.only:
            steps.append(
                (
                    "submissions",
                    lambda size=size: submissions.measure(
                        database, size, seconds=args.seconds, paced=size == args.sizes[-1]
                    ),
                )
            )
        for part, step in steps:
            say(f"{database.name}, {size:,} responses: {part} …")
            started = time.perf_counter()
            try:
                found = step()
            except Exception:  # noqa: BLE001 - reported; the other parts still run
                trace = traceback.format_exc()
                say(trace)
                last = trace.strip().splitlines()[-1]
                problems.append(f"{database.name}, {size:,}, {part}: {last}")
                rows.append(Row(size, f"{part}: could not run", last))
                if part == "demo":
                    break  # nothing to measure without the data
                continue
            finally:
                watch.sample()
            say(f"  {time.perf_counter() - started:.1f} s")
            if part != "demo" or "demo" in args.only:
                rows.extend(found)
    rows.extend(growth(rows, args.sizes))
    return rows, problems


def growth(rows: list[Row], sizes: list[int]) -> list[Row]:
    """Each figure at every size over the smallest: dashboard and submission time flat or
    logarithmic in the number of responses (at most 1.1 × log n / log n₀), export and
    seeding at most linear (1.2 × n / n₀). Dashboard and submission figures are compared
    as ratios to their floor (a busier spell of the machine weighs on both alike); export
    and seeding, whose floors grow with the data too, as seconds."""
    if len(sizes) < 2:
        return []
    small = sizes[0]
    found = []
    for key in dict.fromkeys(r.key for r in rows if r.key):
        at = {r.size: r.number for r in rows if r.key == key and r.number}
        if small not in at or len(at) < 2:
            continue
        linear = key in ("CSV export", "demo data")
        ratios, met = [], True
        for size in sorted(at):
            ratio = at[size] / at[small]
            limit = 1.2 * size / small if linear else 1.1 * math.log(size) / math.log(small)
            met = met and ratio <= limit
            ratios.append(f"{ratio:.2f}×")
        found.append(
            Row(
                None,
                f"growth: {key} ({' → '.join(f'{s:,}' for s in sorted(at))})",
                " → ".join(ratios),
                "–",
                None,
                "at most linear" if linear else "flat or log n",
                met,
            )
        )
    return found


def report(
    results: list[tuple[Database, list[Row]]],
    info: dict,
    watch: LoadWatch,
    started: datetime,
    seconds: float,
    args,
    kept: str = "",
) -> str:
    loads = watch.samples
    lines = [
        "# Performance",
        "",
        "Written by `.venv/bin/python -m bench` (see README, *Benchmarks*). Every figure stands "
        "beside a floor measured in the same run on the same machine, so the ratio means "
        "something even on a busy machine; targets are those of issue #7 (and #4 for the "
        "export rate). The suite measures: it never fails on a number.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; whole run {seconds / 60:.1f} min "
        f"(sizes {', '.join(f'{s:,}' for s in args.sizes)}; parts {', '.join(args.only)})",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['system']}",
        f"- Load average (1 min): {loads[0]:.2f} at the start, {max(loads):.2f} at most, "
        f"{loads[-1]:.2f} at the end",
        f"- Python {info['python']}; " + "; ".join(d.version() for d, _ in results),
        "",
        "How each figure is taken:",
        "",
        "- **Demo data**: the whole `flask seed-demo --offices 250 --months 24` command, a "
        "fresh database for every size. Every other figure is taken on that data.",
        "- **Page weight**: one questionnaire walked through Flask's test client; CSS and JS "
        "are those the page links; gzip at level 6, as a reverse proxy would send it. The "
        "floor is the page's question fieldsets alone, whitespace collapsed.",
        "- **Staff page weight**: the office page and the overview as a first visit "
        "transfers them, static files compressed as Stigen serves them (brotli), the page "
        "gzipped at level 6; the floor is the same page without its charts. Time to the "
        "first chart on 1.6 Mbit/s and 150 ms is modelled from the bytes "
        "(`bench/staff_weight.py`); tests/browser/test_staff_phone.py measures it in Chromium.",
        f"- **Dashboard**: server time through the test client (no network), the median of "
        f"{args.repeat} requests ({max(2, args.repeat // 5)} with a cold cache). The floor "
        "reads the version's tallies and their theme rows with raw SQL: the aggregate every dashboard page is "
        "built from.",
        "- **Disclosure audit**: `bench/audit.py`, no database: counts drawn for 250 offices "
        "× 24 months at the size's number of responses (one office in ten small, or nine in "
        "ten), six measures each protected (`survey.domain.suppression`) and audited against the LP "
        "attacker (`survey.domain.disclosure`); also one monthly release against all earlier ones. "
        "Measured once per size, in this process.",
        "- **CSV export**: `flask export responses` as a process of its own, wall time "
        "including start-up, memory the peak resident memory of its whole process tree "
        "(render workers included; summed, so shared pages count twice); both rates count "
        "every response in the database (the export reads them all, even those it leaves out "
        "under k).",
        "- **Submissions**: gunicorn with `gunicorn.conf.py` (2 workers) over loopback; 100 "
        "client threads in one process on the same machine replay what a respondent walking "
        "the real form sent (a fresh nonce each round, so each round stores a new "
        "questionnaire); Send inn alone sends the last page again, a fresh nonce each "
        "time. The floor is `bench/floor_app.py`, a bare Flask endpoint inserting one row, "
        "under the same settings and clients, taken for half as long before and after "
        "Stigen's saturated phases. Saturated: no pause; paced: each respondent pauses "
        "2–6 s before each request (largest size only).",
        "- **Growth**: each figure at every size over the same figure at the smallest; "
        "dashboard and submission figures as their ratio to the floor (so that a busier "
        "spell of the machine does not read as growth), export and seeding as seconds. "
        "Flat or log n: at most 1.1 × log n / log n₀; linear: at most 1.2 × n / n₀.",
    ]
    for database, rows in results:
        lines += ["", f"## {database.name}", "", markdown_table(rows)]
    return "\n".join(lines) + "\n" + kept


NOTES = "\n## Notes (kept between runs)\n"


def kept_notes(path: Path) -> str:
    """The hand-written notes at the end of the previous report, which a run keeps."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    return NOTES + text.split(NOTES, 1)[1] if NOTES in text else ""


def main(argv=None) -> int:
    args = parse_args(argv)
    watch = LoadWatch()
    info = machine()
    started, began = datetime.now(UTC), time.perf_counter()
    url = os.environ.get("DATABASE_URL", "").strip()
    results, problems = [], []
    with tempfile.TemporaryDirectory(prefix="stigen-bench-") as folder:
        os.environ["STIGEN_INSTANCE_PATH"] = folder  # for the app made in this process
        databases: list[Database] = [SQLite(Path(folder) / "sqlite")]
        if url.startswith(("postgres://", "postgresql")) and not args.sqlite_only:
            databases.append(PostgreSQL(Path(folder) / "postgresql", url))
        for database in databases:
            database.folder.mkdir()
            try:
                rows, trouble = run_database(database, args, watch)
            finally:
                database.close()
            results.append((database, rows))
            problems += trouble
            print(f"\n{database.name}\n\n{markdown_table(rows)}", flush=True)
    watch.sample()
    text = report(
        results, info, watch, started, time.perf_counter() - began, args, kept_notes(args.out)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    say(f"\nwritten to {args.out} in {(time.perf_counter() - began) / 60:.1f} min")
    for problem in problems:
        say(f"could not run: {problem}")
    return 1 if problems else 0
