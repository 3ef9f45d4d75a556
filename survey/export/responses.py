"""The response-level rows: selected, suppressed and shuffled as they stream.

- One JSON parse per row (orjson) and C-level lookups turn the stored answers into item
  cells; a million rows take seconds.
- Shuffled on every export without sorting a million rows or holding them in memory:
  rows are read in storage order and scattered over temporary files at random, then
  read back file by file in random order (see ``shuffled_lines``).
- An office-month too small to show on the dashboards is too small here: its rows go into
  "andre" (other offices) when all offices are exported and the whole month may be shown,
  and are left out otherwise (survey.suppression decides, through the dashboard snapshot).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from orjson import loads

from ..periods import ReportingPeriod
from ..questionnaire import Questionnaire
from ..suppression import NATIONAL
from .columns import BINARY, columns
from .csvfile import CsvFormat, guard, header_bytes, quote

BUCKET_BITS = 8
BUCKETS = 1 << BUCKET_BITS  # a power of two, so random bits pick a file directly
POOLED = "andre"


@dataclass(frozen=True)
class Selection:
    """What a researcher asked for: one questionnaire version, optional fixed periods and
    offices (no free date range)."""

    version: int
    periods: tuple[ReportingPeriod, ...] = ()
    office_ids: tuple[int, ...] = ()

    def describe(self, office_names: dict[int, str]) -> str:
        parts = [f"versjon {self.version}"]
        parts.append(", ".join(p.code for p in self.periods) if self.periods else "alle perioder")
        parts.append(", ".join(office_names.get(o, str(o)) for o in self.office_ids)
                     if self.office_ids else "alle kontor")
        return "; ".join(parts)


@dataclass
class Tally:
    """What an export wrote and held back."""

    rows: int = 0
    pooled: int = 0
    left_out: int = 0


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


def item_values(questionnaire: Questionnaire):
    """A function from a response's stored answers (JSON text) to its item cells, in
    column order: scale and choice values as stored (-1 = vet ikke, None = not answered),
    and one 1/0 per option of a multi-choice item (None for all if it was skipped). The
    plain definition of the cells; the export writes them with ``item_text``, which a
    test holds to this."""
    segments = _segments(questionnaire)

    def values(answers_json) -> list:
        answers = loads(answers_json) if isinstance(answers_json, (str, bytes)) else answers_json
        get = answers.get
        cells: list = []
        for segment in segments:
            if segment[0] == "singles":
                cells.extend(map(get, segment[1]))
            else:
                chosen = get(segment[1])
                options = segment[2]
                cells.extend([None] * len(options) if chosen is None
                             else [int(option in chosen) for option in options])
        return cells

    return values


# Every value an item cell can hold, as text: answers are small integers (-1 = vet ikke).
_SMALL = {None: "", **{n: str(n) for n in range(-1, 100)}, True: "1", False: "0"}


def item_text(questionnaire: Questionnaire, separator: str):
    """Like ``item_values``, but straight to the CSV text of those cells (joined by
    ``separator``): the export's hot path, all of it C-level lookups and joins. A test
    holds it to ``item_values`` written by csv.writer."""
    segments = _segments(questionnaire)
    small = _SMALL.__getitem__
    empty = {code: separator.join([""] * len(options))
             for kind, code, *rest in segments if kind == "multi" for options in rest}

    def text_of(answers_json) -> str:
        answers = loads(answers_json) if isinstance(answers_json, (str, bytes)) else answers_json
        get = answers.get
        parts = []
        for segment in segments:
            if segment[0] == "singles":
                parts.append(separator.join(map(small, map(get, segment[1]))))
            else:
                chosen = get(segment[1])
                parts.append(empty[segment[1]] if chosen is None else separator.join(
                    ["1" if option in chosen else "0" for option in segment[2]]))
        return separator.join(parts)

    return text_of


SCORES = ("rung", "band", "medvirkning_index", "stigma_index", "talmodighet_index",
          "relasjon_index", "scoring_version")


def query(questionnaire: Questionnaire, selection: Selection, dialect: str) -> tuple[str, dict]:
    """One SELECT for the whole selection, read in storage order: the leading columns,
    the answers as JSON text, the scores."""
    where = ["questionnaire_version = :version"]
    params: dict = {"version": selection.version}
    if selection.periods:
        spans = []
        for n, period in enumerate(selection.periods):
            spans.append(f"(period_start >= :start{n} AND period_start < :end{n})")
            params[f"start{n}"], params[f"end{n}"] = period.start, period.end
        where.append("(" + " OR ".join(spans) + ")")
    if selection.office_ids:
        names = [f":office{n}" for n in range(len(selection.office_ids))]
        where.append(f"office_id IN ({', '.join(names)})")
        params.update({f"office{n}": o for n, o in enumerate(selection.office_ids)})
    answers = "CAST(answers AS text)" if dialect == "postgresql" else "answers"
    sql = (f"SELECT office_id, period_start, questionnaire_version, language, {answers}, "
           f"{', '.join(SCORES)} FROM response WHERE {' AND '.join(where)}")
    return sql, params


def _month(period_start) -> date:
    if isinstance(period_start, str):  # SQLite hands dates back as ISO text here
        period_start = date.fromisoformat(period_start)
    return period_start.replace(day=1)


def selected_rows(connection, questionnaire: Questionnaire, selection: Selection, snap,
                  office_codes: dict[int, str], tally: Tally, separator: str = ","
                  ) -> Iterator[tuple]:
    """The selection's rows in storage order, without row numbers, each office-month
    under k pooled as "andre" or left out; ``tally`` counts what was kept and held back.
    The leading text cells come guarded and quoted for ``separator``."""
    sql, params = query(questionnaire, selection, connection.dialect.name)
    text_of = item_text(questionnaire, separator)
    pool_allowed = not selection.office_ids
    visible = snap.visible_responses if snap else frozenset()
    month_key: dict = {}  # (office_id, period_start) -> exported office code or None
    for office_id, period_start, version, language, answers, *scores in _driver_rows(
            connection, sql, params):
        key = (office_id, period_start)
        code = month_key.get(key, False)
        if code is False:
            month = ReportingPeriod.containing(_month(period_start), "month")
            if (office_id, month) in visible:
                code = quote(guard(office_codes.get(office_id, str(office_id))), separator)
            elif pool_allowed and (NATIONAL, month) in visible:
                code = POOLED
            else:
                code = None
            month_key[key] = code
        if code is None:
            tally.left_out += 1
            continue
        if code == POOLED:
            tally.pooled += 1
        tally.rows += 1
        # period (ISO date) and language (nb, nn or en, by constraint) never need quoting;
        # the items come as their CSV text.
        yield (code, str(period_start), str(version), language, text_of(answers), *scores)


def selected_lines(connection, questionnaire: Questionnaire, selection: Selection, snap,
                   office_codes: dict[int, str], tally: Tally, fmt: CsvFormat) -> Iterator[str]:
    """``selected_rows`` rendered straight to CSV lines (without the row number): the
    export's hot loop, with no tuple per row in between. A test holds it to the rows
    written by csv.writer."""
    separator, decimal = fmt.separator, fmt.decimal
    for code, period, version, language, items, *scores in selected_rows(
            connection, questionnaire, selection, snap, office_codes, tally, separator):
        numbers = separator.join(map(str, scores)).replace("None", "")
        if decimal != ".":
            numbers = numbers.replace(".", decimal)
        yield f"{code}{separator}{period}{separator}{version}{separator}{language}{separator}{items}{separator}{numbers}\r\n"


def _driver_rows(connection, sql: str, params: dict, size: int = 5000) -> Iterator[tuple]:
    """Rows as plain tuples from the driver's own cursor, a batch at a time: a server-side
    cursor on PostgreSQL, so neither side holds the whole selection."""
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
        cursor = raw.cursor(name="stigen_export")
        cursor.itersize = size
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield from batch
    finally:
        cursor.close()


def shuffled_lines(rows: Iterable, line_of, separator: str,
                   rng: random.Random | None = None, spill_dir: str | None = None
                   ) -> Iterator[str]:
    """The rows as numbered CSV lines in a fresh random order, with flat memory: each
    rendered line goes to one of ``BUCKETS`` temporary files picked at random, then the
    files are read back in random order, each shuffled in memory. Random bucket and
    in-bucket shuffle make every order equally likely, and nothing of the storage (or
    submission) order survives."""
    rng = rng or random.Random(secrets.randbits(128))  # unpredictable seed, fast draws
    with tempfile.TemporaryDirectory(prefix="stigen-export-", dir=spill_dir) as folder:
        files = [open(os.path.join(folder, str(n)), "w+", encoding="utf-8", newline="")
                 for n in range(BUCKETS)]
        try:
            pick = rng.getrandbits
            writes = [spill.write for spill in files]
            for row in rows:
                writes[pick(BUCKET_BITS)](line_of(row))
            order = list(range(BUCKETS))
            rng.shuffle(order)
            number = 0
            for bucket in order:
                spill = files[bucket]
                spill.seek(0)
                lines = spill.readlines()
                rng.shuffle(lines)
                for line in lines:
                    number += 1
                    yield f"{number}{separator}{line}"
        finally:
            for spill in files:
                spill.close()


def response_file(connection, questionnaire: Questionnaire, selection: Selection, snap,
                  office_codes: dict[int, str], tally: Tally, fmt: CsvFormat,
                  rng: random.Random | None = None, chunk_lines: int = 2000) -> Iterator[bytes]:
    """The whole response CSV as UTF-8 chunks: the header at once (so a download starts
    straight away), then the shuffled, numbered rows."""
    cols = columns(questionnaire)
    yield header_bytes([c.name for c in cols], fmt)
    lines = selected_lines(connection, questionnaire, selection, snap, office_codes, tally, fmt)
    chunk: list[str] = []
    for line in shuffled_lines(lines, _same, fmt.separator, rng):
        chunk.append(line)
        if len(chunk) == chunk_lines:
            yield "".join(chunk).encode("utf-8")
            chunk.clear()
    if chunk:
        yield "".join(chunk).encode("utf-8")


def _same(line: str) -> str:
    return line
