"""The benchmark suite still runs: its smallest path on SQLite writes the table it
promises. Rows and their shape are checked, never a timing value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.common import Row, markdown_table
from bench.run import growth, parse_args, parse_size

ROOT = Path(__file__).resolve().parent.parent


def test_sizes_read_as_people_write_them():
    assert [parse_size(s) for s in ("10k", "100K", "1M", "2500", "1_000")] == [
        10_000,
        100_000,
        1_000_000,
        2_500,
        1_000,
    ]
    assert parse_args(["--quick"]).sizes == [10_000]
    assert parse_args([]).sizes == [10_000, 100_000, 1_000_000]
    assert parse_args(["--sizes", "1M,10k"]).sizes == [10_000, 1_000_000]


def test_growth_compares_the_largest_size_with_the_smallest():
    rows = [
        Row(10_000, "x", "1", key="dashboard: overview, warm", number=0.010),
        Row(1_000_000, "x", "1", key="dashboard: overview, warm", number=0.012),
        Row(10_000, "x", "1", key="CSV export", number=1.0),
        Row(1_000_000, "x", "1", key="CSV export", number=200.0),
    ]
    found = {r.figure.split(" (")[0]: r for r in growth(rows, [10_000, 1_000_000])}
    assert found["growth: dashboard: overview, warm"].met is True  # flat
    assert found["growth: dashboard: overview, warm"].value == "1.00× → 1.20×"
    assert found["growth: CSV export"].met is False  # worse than linear
    assert growth(rows, [10_000]) == []


def test_a_cell_cannot_break_the_table():
    table = markdown_table([Row(5, "a | b", "1\n2")])
    assert table.splitlines()[-1] == "| 5 | a \\| b | 1 2 | – | – | – | – |"


def test_the_smallest_run_writes_every_expected_row(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = tmp_path / "performance.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "300",
            "--only",
            "demo,weight,dashboard",
            "--repeat",
            "3",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert "## SQLite" in text and "## PostgreSQL" not in text
    for fact in ("Machine:", "cores", "Load average", "Python 3.", "SQLite 3."):
        assert fact in text
    figures = [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| 300 |")]
    assert figures[0] == "demo data: `flask seed-demo` (whole command)"
    pages = [f for f in figures if f.startswith("page weight: ")]
    assert pages[0] == "page weight: start page"
    assert pages[-1] == "page weight: thank-you page"
    assert len(pages) >= 4 and "page weight: questionnaire page 1" in pages
    for page in ("office page", "overview"):
        for situation in (
            "warm",
            "just after a new response",
            "cold cache: snapshot built in the request (gunicorn workers build it at start)",
        ):
            assert f"dashboard: {page}, {situation}" in figures
    assert not [f for f in figures if "could not run" in f]
    # What it prints is the table it writes.
    assert "| 300 | page weight: start page |" in done.stdout


def test_a_new_report_keeps_the_hand_written_notes(tmp_path):
    from bench.run import NOTES, kept_notes

    report = tmp_path / "performance.md"
    assert kept_notes(report) == ""
    report.write_text("# Performance\n\nold table\n" + NOTES + "\nWhy a target is missed.\n")
    assert kept_notes(report) == NOTES + "\nWhy a target is missed.\n"
    assert "old table" not in kept_notes(report)
