"""The response-level rows: selected, suppressed and shuffled as they stream.

- One JSON parse per row (orjson) and C-level lookups turn the stored answers into item
  cells (survey/export/spill.py, shared with the worker processes).
- Shuffled on every export without sorting a million rows or holding them in memory:
  rendered lines are scattered over temporary files at random, then the files are read
  back in random order, each shuffled (see survey/export/spill.py).
- Large selections render on every core (up to ``MAX_WORKERS``): small worker processes
  (``python spill.py``, the standard library and orjson only) each render a share of the
  rows into their own bucket files and then number a share of the buckets, while this
  process streams the numbered buckets in order. On SQLite each worker reads its own
  id range from the file; on PostgreSQL this process reads the selection with
  ``COPY … TO STDOUT`` (the server formats the rows) and hands blocks of it to the
  workers. Small selections, and in-memory databases, render here.
- Released data only: rows with ``period_start`` before the current release's end, so a
  download changes only when a release does (survey/export/released.py).
- Published labels and k-anonymity (survey/export/anonymity.py, decided once per release
  for the whole release, never per selection): every office-month has a published office
  ("andre" when small) and period (month, quarter or half-year); a selection holds whole
  published labels only, and quasi-identifier cells rarer than k are blanked. Every
  process counts the rows of each QI class it renders; the classes are checked (>= k)
  before the first row streams.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import IO, cast

import orjson

from ..domain.periods import ReportingPeriod
from ..questionnaire import Questionnaire
from . import spill as spilling
from .anonymity import POOLED, POOLED_OFFICE, Decisions, check, pack_kept
from .columns import BINARY, columns
from .csvfile import CsvFormat, guard, header_bytes, quote
from .spill import (
    BUCKETS,
    END,
    FRAME,
    Renderer,
    Spill,
    bucket_order,
    fresh_random,
    numbered_bucket,
)

PARALLEL_MIN_ROWS = 50_000  # below this, starting workers costs more than it saves
MAX_WORKERS = 2  # each worker adds ~20 MB (RSS); two keep the export under 150 MB in all
CHUNK_BYTES = 1 << 18  # the download's chunks
COPY_BLOCK = 1 << 18  # bytes of COPY text handed to a worker at a time


@dataclass(frozen=True)
class Selection:
    """What a researcher asked for: one questionnaire version, optional fixed periods and
    offices (no free date range); ``POOLED_OFFICE`` (0) stands for "andre"."""

    version: int
    periods: tuple[ReportingPeriod, ...] = ()
    office_ids: tuple[int, ...] = ()

    def describe(self, office_names: dict[int, str]) -> str:
        parts = [f"versjon {self.version}"]
        parts.append(", ".join(p.code for p in self.periods) if self.periods else "alle perioder")
        parts.append(
            ", ".join(
                POOLED if o == POOLED_OFFICE else office_names.get(o, str(o))
                for o in self.office_ids
            )
            if self.office_ids
            else "alle kontor"
        )
        return "; ".join(parts)


@dataclass
class WrittenCounts:
    """What an export wrote and held back."""

    rows: int = 0
    pooled: int = 0
    left_out: int = 0  # rows read but not written (other labels; data the rule never saw)


def _segments(questionnaire: Questionnaire) -> list:
    """The item columns as runs: ("singles", [codes]) for items with one value each, and
    ("multi", code, (options…)) for a multi-choice item's 0/1 columns; in column order."""
    segments: list = []
    for column in columns(questionnaire):
        if column.item is None:
            continue
        if column.kind == BINARY:
            if segments and segments[-1][0] == "multi" and segments[-1][1] == column.item.code:
                segments[-1] = ("multi", column.item.code, (*segments[-1][2], column.option))
            else:
                segments.append(("multi", column.item.code, (column.option,)))
        elif segments and segments[-1][0] == "singles":
            segments[-1][1].append(column.item.code)
        else:
            segments.append(("singles", [column.item.code]))
    return segments


def item_text(questionnaire: Questionnaire, separator: str):
    """A function from a response's stored answers (JSON text) to the CSV text of its
    item cells in column order (joined by ``separator``): scale and choice values as
    stored (-1 = vet ikke, empty = not answered), and one 1/0 per option of a
    multi-choice item (empty for all if it was skipped). The export's hot path, all of it
    C-level lookups and joins; a test holds it to the plain definition of the cells
    (``item_values`` in tests/export_reference.py) written by csv.writer."""
    return spilling.items_renderer(_segments(questionnaire), separator)


def score_sql(dialect: str) -> list[str]:
    """The score columns as the SELECT reads them: the rung and band, the theme indices as
    stored (JSON text: the renderer takes each theme out of it, one parse per row, instead
    of the database extracting once per theme and row), the scoring version. The CSV's
    cells follow ``columns.score_columns``."""
    indices = "CAST(theme_indices AS text)" if dialect == "postgresql" else "theme_indices"
    return ["rung", "band", indices, "scoring_version"]


def query(
    questionnaire: Questionnaire, selection: Selection, dialect: str, end=None
) -> tuple[str, dict]:
    """One SELECT for the released rows the selection may hold, read in storage order: the
    row's office-month key (``office_id|YYYY-MM-DD``), language, the answers as JSON text,
    the scores. It reads a superset (every office when "andre" is chosen, periods by their
    months): the plan keeps only whole published labels. Dates are ISO text on SQLite (as
    stored there), so the parameters also travel as JSON."""

    def day(value):
        return value if dialect == "postgresql" else value.isoformat()

    where = ["questionnaire_version = :version"]
    params: dict = {"version": selection.version}
    if end is not None:
        where.append("period_start < :released_end")
        params["released_end"] = day(end)
    if selection.periods:
        spans = []
        for n, period in enumerate(selection.periods):
            spans.append(f"(period_start >= :start{n} AND period_start < :end{n})")
            params[f"start{n}"], params[f"end{n}"] = day(period.start), day(period.end)
        where.append("(" + " OR ".join(spans) + ")")
    if selection.office_ids and POOLED_OFFICE not in selection.office_ids:
        names = [f":office{n}" for n in range(len(selection.office_ids))]
        where.append(f"office_id IN ({', '.join(names)})")
        params.update({f"office{n}": o for n, o in enumerate(selection.office_ids)})
    if dialect == "postgresql":
        key = "office_id || '|' || to_char(period_start, 'YYYY-MM-DD')"
        answers = "CAST(answers AS text)"
    else:
        key, answers = "office_id || '|' || period_start", "answers"
    sql = (
        f"SELECT {key}, language, {answers}, {', '.join(score_sql(dialect))} "
        "FROM response "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def export_plan(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions,
    office_codes: dict[int, str],
    fmt: CsvFormat,
) -> dict:
    """What a renderer needs, as plain data: the item segments, the format, the themes in
    column order, the published labels the selection holds (office code guarded and
    quoted, or "andre"; period code), each office-month's label, and the kept QI classes
    of those labels."""
    chosen = decisions.selected(selection.office_ids, selection.periods)
    labels: list = []
    for label_id, (office, period) in enumerate(decisions.labels):
        if label_id not in chosen:
            labels.append(None)
            continue
        code = quote(POOLED if office == POOLED else guard(office_codes.get(office, str(office))))
        labels.append([code.replace(END, ""), quote(guard(period.code))])
    cells = {
        f"{office}|{month.isoformat()[:7]}": label_id
        for (office, month), label_id in decisions.cells.items()
        if label_id in chosen
    }
    kept = (
        decisions.kept
        if len(chosen) == len(decisions.labels)
        else [cls for cls in decisions.kept if (cls >> spilling.LABEL_SHIFT) in chosen]
    )
    return {
        "segments": _segments(questionnaire),
        "separator": fmt.separator,
        "decimal": fmt.decimal,
        "version": selection.version,
        "labels": labels,
        "cells": cells,
        "kept": pack_kept(kept),
        "themes": list(questionnaire.themes),
        "k": decisions.k,
    }


def expected_rows(decisions: Decisions | None, selection: Selection) -> int:
    """The rows the selection's file will hold, by the release's decisions."""
    if decisions is None:
        return 0
    return decisions.summary(decisions.selected(selection.office_ids, selection.periods)).rows


def worker_count(connection, rows: int) -> int:
    """How many worker processes to render ``rows`` with: none for small selections, one
    core, or a database workers cannot reach (SQLite in memory)."""
    if rows < PARALLEL_MIN_ROWS or not _reachable(connection):
        return 0
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ) or 1
    return min(MAX_WORKERS, cores) if cores > 1 else 0


def _reachable(connection) -> bool:
    """Whether workers can read the selection: PostgreSQL (through this process's COPY)
    or a SQLite file."""
    return connection.dialect.name == "postgresql" or (
        connection.dialect.name == "sqlite" and _sqlite_file(connection) is not None
    )


def _sqlite_file(connection) -> str | None:
    path = connection.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:") or "mode=memory" in path:
        return None
    return os.path.abspath(path)


def _driver_batches(connection, sql: str, params: dict, size: int = 5000) -> Iterator[list]:
    """Rows as plain tuples from the driver's own cursor, a batch at a time: a server-side
    cursor on PostgreSQL, so neither side holds the whole selection."""
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        sql = _pyformat(sql)
        cursor = raw.cursor(name="stigen_export")
        cursor.itersize = size
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        cursor.close()


def _pyformat(sql: str) -> str:
    return re.sub(r":(\w+)", r"%(\1)s", sql)


def response_file(
    connection,
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
    tally: WrittenCounts,
    fmt: CsvFormat,
    rng: random.Random | None = None,
    workers: int | None = None,
) -> Generator[bytes, None, None]:
    """The whole response CSV as UTF-8 chunks: the header at once (so a download starts
    straight away), then the shuffled, numbered rows of the released data the selection
    holds (none before the first release). ``workers``: worker processes to render with
    (0 = this process only); by default as many as suit the selection's size
    (``worker_count``). ``tally`` is filled in once every row is rendered; no row streams
    unless every QI class in the file holds k rows (``anonymity.AnonymityError``)."""
    yield header_bytes([c.name for c in columns(questionnaire)], fmt)
    if decisions is None:
        return
    plan = export_plan(questionnaire, selection, decisions, office_codes, fmt)
    if not plan["cells"]:
        return
    sql, params = query(questionnaire, selection, connection.dialect.name, decisions.end)
    rng = rng or fresh_random()
    if workers is None:
        workers = worker_count(connection, expected_rows(decisions, selection))
    elif not _reachable(connection):
        workers = 0
    with tempfile.TemporaryDirectory(prefix="stigen-export-") as folder:
        if workers:
            chunks = _in_workers(
                connection, plan, sql, params, folder, workers, tally, rng, decisions
            )
        else:
            chunks = _in_process(connection, plan, sql, params, folder, tally, rng, decisions)
        try:
            yield from _coalesced(chunks)
        finally:
            chunks.close()  # a download stopped halfway: stop the workers before the files go


def _coalesced(chunks: Iterable[bytes]) -> Iterator[bytes]:
    held, size = [], 0
    for chunk in chunks:
        held.append(chunk)
        size += len(chunk)
        if size >= CHUNK_BYTES:
            yield b"".join(held)
            held, size = [], 0
    if held:
        yield b"".join(held)


def _add(tally: WrittenCounts, counted: dict, written: dict[int, list[int]]) -> None:
    tally.rows += counted["rows"]
    tally.pooled += counted["pooled"]
    tally.left_out += counted["left_out"]
    for label, rows, first, second in counted["labels"]:
        sums = written.setdefault(label, [0, 0, 0])
        sums[0] += rows
        sums[1] += first
        sums[2] += second


def _in_process(
    connection,
    plan: dict,
    sql: str,
    params: dict,
    folder: str,
    tally: WrittenCounts,
    rng: random.Random,
    decisions: Decisions,
) -> Generator[bytes, None, None]:
    renderer = Renderer(plan)
    spill = Spill(folder, 0, rng)
    try:
        renderer.spill_tuples(_driver_batches(connection, sql, params), spill)
    finally:
        counts = spill.close()
    written: dict[int, list[int]] = {}
    _add(tally, renderer.tally(), written)
    check(decisions, written)  # before the first row streams
    for bucket, first in bucket_order(counts, rng):
        yield numbered_bucket(folder, 1, bucket, first, plan["separator"], rng)


SPILL_SCRIPT = spilling.__file__
ORJSON_PATH = os.path.dirname(os.path.dirname(orjson.__file__))  # where a worker finds it


def _in_workers(
    connection,
    plan: dict,
    sql: str,
    params: dict,
    folder: str,
    count: int,
    tally: WrittenCounts,
    rng: random.Random,
    decisions: Decisions,
) -> Generator[bytes, None, None]:
    """Phase 1 in ``count`` workers (each renders a share of the rows into its own
    buckets), then phase 2 (each numbers every ``count``-th bucket of the random order
    into a file), while this process streams the numbered files in order."""
    postgres = connection.dialect.name == "postgresql"
    workers = _Workers(folder)
    try:
        workers.start(_jobs(connection, plan, sql, params, folder, count), wide_pipes=postgres)
        if postgres:
            workers.feed_copy(connection, sql, params)
        counts = [0] * BUCKETS
        written: dict[int, list[int]] = {}
        for result in workers.tallies():
            _add(tally, result, written)
            counts = [a + b for a, b in zip(counts, result["counts"], strict=True)]
        check(decisions, written)  # before the first row streams
        yield from workers.numbered(bucket_order(counts, rng))
        workers.wait()
    finally:
        workers.close()  # also when the download stops halfway: no process is left


def _jobs(connection, plan: dict, sql: str, params: dict, folder: str, count: int) -> list[dict]:
    """Each worker's job: the plan, where to write, and on SQLite the file and its share
    of the ids to read (on PostgreSQL this process reads, and feeds the workers)."""
    jobs = [
        {"folder": folder, "part": part, "plan": plan, "orjson": ORJSON_PATH}
        for part in range(count)
    ]
    if connection.dialect.name != "postgresql":
        for job, (low, high) in zip(jobs, _id_ranges(count), strict=True):
            job.update(
                sqlite=_sqlite_file(connection),
                sql=f"{sql} AND id >= :low AND id < :high",
                params={**params, "low": low, "high": high},
            )
    return jobs


class _Workers:
    """One export's worker processes (``python spill.py``), spoken to a JSON line at a
    time: started with their jobs, fed COPY text (PostgreSQL), asked for their tallies,
    handed their buckets to number, and always stopped, their pipes closed (``close``).
    Their error output goes to one file, quoted when a worker fails."""

    def __init__(self, folder: str):
        self.processes: list[subprocess.Popen] = []
        # Closed by close(), after the workers writing to it.
        self.errors = open(os.path.join(folder, "errors"), "w+b")  # noqa: SIM115
        self.folder = folder

    def start(self, jobs: list[dict], wide_pipes: bool) -> None:
        for job in jobs:
            worker = subprocess.Popen(
                [sys.executable, "-I", "-S", SPILL_SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors,
                close_fds=True,
            )
            self.processes.append(worker)
            if wide_pipes and hasattr(fcntl, "F_SETPIPE_SZ"):
                # Room for a few blocks, so a busy worker does not hold up the reading; where
                # the system's limit is lower, the default will do.
                with contextlib.suppress(OSError):
                    fcntl.fcntl(_stdin(worker).fileno(), fcntl.F_SETPIPE_SZ, 4 * COPY_BLOCK)
            _stdin(worker).write((json.dumps(job) + "\n").encode())
            _stdin(worker).flush()

    def feed_copy(self, connection, sql: str, params: dict) -> None:
        """Read the selection with COPY and hand it to the workers (``_feed_copy``)."""
        try:
            _feed_copy(connection, sql, params, self.processes)
        except BrokenPipeError:
            gone = next((w for w in self.processes if w.poll() is not None), self.processes[0])
            gone.wait()
            raise self.failure(gone) from None

    def tallies(self) -> Iterator[dict]:
        """Each worker's report once its rows are rendered: its tally and bucket sizes."""
        for worker in self.processes:
            yield json.loads(self.reply(worker))

    def numbered(self, order: list[tuple[int, int]]) -> Iterator[bytes]:
        """Phase 2: worker ``n`` numbers every ``n``-th bucket of ``order`` into a file;
        the files are read (and removed) in order, as their workers say they are done."""
        count = len(self.processes)
        for n, worker in enumerate(self.processes):
            share = [
                [position, bucket, first]
                for position, (bucket, first) in enumerate(order)
                if position % count == n
            ]
            _stdin(worker).write((json.dumps({"parts": count, "buckets": share}) + "\n").encode())
            _stdin(worker).close()
        for position in range(len(order)):
            done = self.reply(self.processes[position % count])
            if int(done) != position:
                raise RuntimeError(
                    f"export worker numbered bucket {done.strip()!r}, not {position}"
                )
            path = os.path.join(self.folder, f"out-{position}")
            with open(path, "rb") as numbered:
                data = numbered.read()
            os.remove(path)
            yield data

    def wait(self) -> None:
        """Every worker ended well, or the export fails with what the failing one said."""
        for worker in self.processes:
            if worker.wait() != 0:
                raise self.failure(worker)

    def reply(self, worker: subprocess.Popen) -> bytes:
        assert worker.stdout is not None  # stdout=PIPE
        line = worker.stdout.readline()
        if not line:
            worker.wait()
            raise self.failure(worker)
        return line

    def failure(self, worker: subprocess.Popen) -> RuntimeError:
        self.errors.seek(0)
        said = self.errors.read()[-2000:].decode(errors="replace")
        return RuntimeError(f"export worker stopped ({worker.returncode}): {said}")

    def close(self) -> None:
        for worker in self.processes:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            for stream in (worker.stdin, worker.stdout):
                if stream and not stream.closed:
                    # A broken pipe to a worker that is already gone.
                    with contextlib.suppress(OSError):
                        stream.close()
        self.errors.close()


def _stdin(worker: subprocess.Popen) -> IO[bytes]:
    return cast(IO[bytes], worker.stdin)  # stdin=PIPE


def _id_ranges(count: int) -> list[tuple[str, str]]:
    """``count`` ranges of about equal size over the response table's random ids (SQLite,
    where they are stored as 32 hex digits and the table has no rowid: issue 12). The
    ids are uniform, so equal slices of the id space hold about equal shares; "g" sorts
    after every hex digit, so the last range ends past every id."""
    bounds = [f"{n * 16**32 // count:032x}" for n in range(count)] + ["g"]
    return list(pairwise(bounds))


def _feed_copy(connection, sql: str, params: dict, workers: list[subprocess.Popen]) -> None:
    """Read the selection as COPY text (the server formats the rows) and hand it to the
    workers in blocks of whole lines, each block to a worker ready to take it."""
    raw = connection.connection.driver_connection
    pipes = [_stdin(worker) for worker in workers]
    with raw.cursor() as cursor:
        # Floats as their shortest exact text (the default since PostgreSQL 12, made sure).
        cursor.execute("SET LOCAL extra_float_digits = 1")
        with cursor.copy(f"COPY ({_pyformat(sql)}) TO STDOUT WITH (NULL '')", params) as copy:
            block = bytearray()
            turn = 0
            for row in copy:
                block += row
                if len(block) >= COPY_BLOCK:
                    turn = _send(pipes, block, turn)
                    block = bytearray()
            if block:
                _send(pipes, block, turn)
    for pipe in pipes:
        pipe.write(FRAME.pack(0))
        pipe.flush()


def _send(pipes: list, block: bytearray, turn: int) -> int:
    """Write ``block`` (framed) to the next pipe with room, starting at ``turn``."""
    _, ready, _ = select.select([], pipes, [])
    ordered = pipes[turn:] + pipes[:turn]
    pipe = next(p for p in ordered if p in ready)
    pipe.write(FRAME.pack(len(block)))
    pipe.write(block)
    pipe.flush()
    return (pipes.index(pipe) + 1) % len(pipes)
