"""The response file's rows rendered, scattered at random and numbered: the same code in
the exporting process and in its worker processes.

Pure: the standard library and orjson only, and nothing from the package, because a
worker runs this file as a script (``python -I -S spill.py``: no ``site`` either; the job
says where orjson is) and so starts small and fast (about 20 MB) instead of loading the
whole application.

How a million rows are shuffled with flat memory: every rendered line goes to one of
``BUCKETS`` temporary files picked at random (phase 1), then the buckets are taken in a
random order, each read back whole, shuffled and numbered (phase 2). A random bucket and
an in-bucket shuffle make every order of the rows equally likely, and nothing of the
storage (or submission) order survives. Both phases split over processes: each worker
renders its share of the rows into its own bucket files, then numbers its share of the
buckets; bucket ``b`` is the union of every worker's files for ``b``.

Rows come as tuples ``(key, language, answers, rung, band, theme_indices,
scoring_version)`` from a DBAPI cursor, or as PostgreSQL ``COPY … TO STDOUT`` text with
the same fields; ``key`` is ``office_id|YYYY-MM-DD`` (the period's first day), the answers
and theme indices are JSON text.
"""

from __future__ import annotations

import base64
import json
import os
import random
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, pairwise
from operator import methodcaller

try:
    from orjson import loads
except ImportError:  # a worker, started without ``site``: ``work`` imports it by the job
    loads = None  # type: ignore[assignment]  # set by work() from the job's orjson path

BUCKET_BITS = 8
BUCKETS = 1 << BUCKET_BITS  # a power of two, so random bits pick a file directly
END = "\0"  # ends a record in a spill file: no cell can hold a NUL
END_BYTES = END.encode()
FLUSH_ROWS = 4096  # rendered lines held before they are written to their files
POOLED = "andre"
POOLED_CELL = '"andre"'  # as the office cell holds it: every text cell is quoted
FRAME = struct.Struct(">Q")  # length prefix of a block of COPY text on a worker's stdin
MEMO_LIMIT = 100_000  # distinct values remembered per score column
# Distinct theme-index texts remembered, with their cells (about 320 bytes each with long
# floats: 5 MB at most per process). Few occur (each index takes few values: 11,600 in
# the 1M-row benchmark), so nearly every row's theme cells are one lookup.
THEMES_MEMO_LIMIT = 16_000


# The language cell as written: quoted, as every text cell (survey/export/csvfile.py); empty
# when the row's language is blanked. Anything else (never stored) goes through ``_text``.
LANGUAGE_CELLS = {"nb": '"nb"', "nn": '"nn"', "en": '"en"', "": "", None: ""}

# Every value an item cell can hold, as text: answers are small integers (-1 = vet ikke).
SMALL: dict[object, str] = {None: "", **{n: str(n) for n in range(-1, 100)}, True: "1", False: "0"}


def items_renderer(segments: list, separator: str):
    """A function from a response's stored answers (JSON text, or a dict) to the CSV text
    of its item cells, joined by ``separator``: for ("singles", [codes]) the stored values,
    for ("multi", code, options) one 1/0 per option (empty cells if the item was skipped).
    All C-level lookups and joins; a multi-choice answer's text is remembered, since few
    combinations of options occur."""
    small = SMALL.__getitem__
    join = separator.join
    code_list: list[str] = []
    multi_list: list[tuple[int, str, Callable]] = []
    for segment in segments:
        if segment[0] == "singles":
            code_list += segment[1]
        else:  # a slot, filled in after the singles (no answer has a key with a NUL)
            multi = _multi_renderer(tuple(segment[2]), separator)
            multi_list.append((len(code_list), segment[1], multi))
            code_list.append("\0" + segment[1])
    codes, multis = tuple(code_list), tuple(multi_list)

    def text_of(answers) -> str:
        get = (loads(answers) if isinstance(answers, (str, bytes)) else answers).get
        cells = list(map(small, map(get, codes)))
        for at, code, multi in multis:
            cells[at] = multi(get(code))
        return join(cells)

    return text_of


def _multi_renderer(options: tuple, separator: str):
    empty = separator.join([""] * len(options))
    memo: dict = {}

    def text_of(chosen) -> str:
        if chosen is None:
            return empty
        key = tuple(chosen) if type(chosen) is list else None
        try:
            return memo[key]
        except (KeyError, TypeError):
            text = separator.join(["1" if option in chosen else "0" for option in options])
            if key is not None and len(memo) < MEMO_LIMIT:
                # Per row on a memo miss: a bare try costs less than suppress(); an
                # unhashable answer inside the key is simply not memoised.
                try:  # noqa: SIM105
                    memo[key] = text
                except TypeError:
                    pass
            return text

    return text_of


def fresh_random() -> random.Random:
    """A generator with an unpredictable seed (from the OS) and fast draws."""
    return random.Random(int.from_bytes(os.urandom(32), "big"))


class _Memo(dict):
    """A cell's text by value, worked out once per distinct value (the first ``limit``
    distinct values are remembered)."""

    def __init__(self, convert, limit: int = MEMO_LIMIT):
        super().__init__()
        self.convert = convert
        self.limit = limit

    def __missing__(self, value):
        text = self.convert(value)
        if len(self) < self.limit:
            self[value] = text
        return text


def decimal_text(value: float, decimal: str) -> str:
    """A float as Python writes it (``repr``: the shortest text that reads back the same),
    with ``decimal`` as its decimal mark: the one place a score's text is made, for the
    export's workers (``themes_renderer``) and the single-process writer (``csvfile``)."""
    text = repr(value)
    return text if decimal == "." else text.replace(".", decimal)


def whole_memo() -> _Memo:
    """A whole-number score cell's text (rung, band, scoring version) by value: a Python
    value from a cursor or COPY text; NULL (None, or COPY's empty field) an empty cell."""
    memo = _Memo(str)
    memo[None] = memo[""] = ""
    return memo


def themes_renderer(themes: list[str], decimal: str, separator: str):
    """A function from a response's stored theme indices (JSON text; None, or COPY's empty
    field, for NULL) to its theme cells, each led by ``separator``, in ``themes``' order:
    each index written as Python writes the float (``decimal_text``), an empty cell for a
    theme the response has no index for. A text is parsed once (orjson) and its cells
    remembered (``THEMES_MEMO_LIMIT``)."""
    names = tuple(themes)
    if not names:
        return lambda indices: ""
    join = separator.join
    empty = separator * len(names)
    real = _Memo(lambda value: decimal_text(float(value), decimal))
    real[None] = ""
    cell = real.__getitem__

    def cells(indices) -> str:
        if indices:
            found = loads(indices)
            if found:  # not JSON null, not {}
                return separator + join(map(cell, map(found.get, names)))
        return empty

    return _Memo(cells, THEMES_MEMO_LIMIT).__getitem__


# The k-anonymity rule's QIs besides office and period, as survey/export/anonymity.py
# packs them (repeated here: a worker imports nothing from the package; a test holds the
# two to each other): the blanking order, the level masks and the value codes.
BLANK_ORDER = ("rel_antall", "bak_varighet", "bak_alder", "language")
LEVEL_MASKS = (0xFFFF, 0xFFF0, 0xFF00, 0xF000, 0x0000)
LABEL_SHIFT = 16
LANGUAGE_CODES = {None: 0, "nb": 1, "nn": 2, "en": 3}
OTHER = 15


# An item answer's 4-bit code: 0 = empty, 1 = -1 (vet ikke), 2.. = 0..12, OTHER for
# anything else. By hash, so 2.0 and True code as 2 and 1 do (both sides read the answers
# with orjson and look them up here, so they agree on every value).
VALUE_CODES: dict[object, int] = {None: 0, **{value: value + 2 for value in range(-1, 13)}}


def value_code(value) -> int:
    try:
        return VALUE_CODES.get(value, OTHER)
    except TypeError:  # a list or dict where a number belongs
        return OTHER


def kept_lookup(packed: str, labels: int) -> tuple[array, bytearray]:
    """The kept classes (8-byte codes, base64: anonymity.pack_kept) as a lookup that is
    small in memory: the classes whose counsellor cell is answered (full-detail classes)
    as a sorted array, 8 bytes each (a set would take about 60; a row's class is found by
    bisection), and a bitmap of all others, 4 096 bits per label, bit
    ``label << 12 | code >> 4`` (a class with the counsellor cell empty, the only kind a
    level above 0 looks up)."""
    kept = array("Q")
    kept.frombytes(base64.b64decode(packed))
    detail = array("Q", (cls for cls in kept if cls & 0xF))  # sorted as a release keeps them
    if any(a > b for a, b in pairwise(detail)):  # kept as a set: freshly decided
        detail = array("Q", sorted(detail))
    bits = bytearray(max(labels, 1) << 9)
    for cls in kept:
        if not cls & 0xF:
            at = cls >> 4
            bits[at >> 3] |= 1 << (at & 7)
    return detail, bits


class Renderer:
    """Rows to CSV lines (without the row number) by a plan, keeping count of the rows
    written, pooled and left out, and of the rows in every quasi-identifier class (for the
    k-anonymity check before a row streams). The plan (plain data, so it can go to a
    worker) holds the item segments, the separator and decimal mark, the version's themes
    in column order, the questionnaire version, every published label the selection
    holds (office code, guarded and quoted, or "andre"; period code), each office-month's
    label, and the kept QI classes."""

    def __init__(self, plan: dict):
        self.separator = plan["separator"]
        self.version = str(plan["version"])
        self.labels = plan["labels"]  # label id -> [office text, period text] or None
        self.cells = plan["cells"]  # "office|YYYY-MM" -> label id
        self.detail, self.bits = kept_lookup(plan["kept"], len(self.labels))
        self.items = items_renderer(plan["segments"], self.separator)
        self.themes = themes_renderer(plan["themes"], plan["decimal"], self.separator)
        self.heads: dict = {}
        # Per label id: rows written, and the sums of their class codes and squares.
        self.labels_written: dict[int, list[int]] = {}
        self.rows = self.pooled = self.left_out = 0

    def head(self, key: str):
        """The leading cells (office, period, version) for ``office_id|period``, whether
        they pool, and the label's id; None when the row is not in the file."""
        found = self.heads.get(key, False)
        if found is not False:
            return found
        office, period = key.split("|")
        label_id = self.cells.get(f"{office}|{period[:7]}")
        label = None if label_id is None else self.labels[label_id]
        sep = self.separator
        found = (
            None
            if label is None
            else (
                f"{label[0]}{sep}{label[1]}{sep}{self.version}",
                label[0] == POOLED_CELL,
                label_id << LABEL_SHIFT,
                self.labels_written.setdefault(label_id, [0, 0, 0]),
            )
        )
        self.heads[key] = found
        return found

    def spill_tuples(self, batches: Iterable[list], spill: Spill) -> None:
        """Render cursor rows ``(key, language, answers, rung, band, theme_indices,
        scoring_version)``, a batch at a time, into ``spill``."""
        self._spill(chain.from_iterable(batches), spill)

    def spill_copy(self, blocks: Iterable[str], spill: Spill) -> None:
        """Render blocks of whole lines of COPY text (NULL written as an empty field)
        into ``spill``."""
        self._spill(chain.from_iterable(map(_copy_rows, blocks)), spill)

    def _spill(self, rows, spill: Spill) -> None:
        heads, head, items = self.heads, self.head, self.items
        sep = self.separator
        whole = whole_memo().__getitem__
        themes = self.themes
        pending, pick = spill.pending, spill.pick
        detail, bits = self.detail, self.bits
        bisect, size = bisect_left, len(detail)
        languages = LANGUAGE_CODES.get
        language_cell = LANGUAGE_CELLS.__getitem__
        code_of = VALUE_CODES.get
        first, second, third = BLANK_ORDER[:3]
        levels = [
            (level, mask, BLANK_ORDER[: min(level, 3)])
            for level, mask in enumerate(LEVEL_MASKS[1:], 1)
        ]
        written = pooled = left_out = held = 0
        for key, language, answers, rung, band, indices, scoring in rows:
            found = heads.get(key, False)
            if found is False:
                found = head(key)
            if found is None:
                left_out += 1
                continue
            lead, pool, base, sums = found
            answers = loads(answers) if type(answers) is not dict else dict(answers)
            get = answers.get
            try:
                code = (
                    languages(language, OTHER) << 12
                    | code_of(get(third), OTHER) << 8
                    | code_of(get(second), OTHER) << 4
                    | code_of(get(first), OTHER)
                )
            except TypeError:  # an unhashable answer: the slow, exact way
                code = (
                    languages(language, OTHER) << 12
                    | value_code(get(third)) << 8
                    | value_code(get(second)) << 4
                    | value_code(get(first))
                )
            cls = base | code
            # Is the row's class kept at level 0 (as it is)? With the counsellor cell
            # empty, a level-0 class is also a level-1 one: in the bitmap.
            if code & 0xF:
                at = bisect(detail, cls)
                found = at < size and detail[at] == cls
            else:
                at = base >> 4 | code >> 4
                found = bits[at >> 3] >> (at & 7) & 1
            if not found:
                # The first level whose class the rule kept (see anonymity.py).
                # ``level`` and ``blanked`` are used after the break.
                for level, mask, blanked in levels:  # noqa: B007
                    at = base >> 4 | (code & mask) >> 4
                    if bits[at >> 3] >> (at & 7) & 1:
                        cls = base | (code & mask)
                        break
                else:
                    left_out += 1  # a row the rule never saw (data changed since): not written
                    continue
                pop = answers.pop  # this row's own dict
                for name in blanked:
                    pop(name, None)
                if level == 4:
                    language = ""
            sums[0] += 1
            sums[1] += cls
            sums[2] += cls * cls
            pooled += pool
            written += 1
            try:  # a plain dict's own lookup: the cheapest per row
                language = language_cell(language)
            except KeyError:
                language = _text(language)
            pending[pick(BUCKET_BITS)].append(
                f"{lead}{sep}{language}{sep}{items(answers)}{sep}{whole(rung)}{sep}{whole(band)}"
                f"{themes(indices)}{sep}{whole(scoring)}{END}"
            )
            held += 1
            if held == FLUSH_ROWS:
                spill.flush()
                held = 0
        spill.flush()
        self.rows += written
        self.pooled += pooled
        self.left_out += left_out

    def tally(self) -> dict:
        return {
            "rows": self.rows,
            "pooled": self.pooled,
            "left_out": self.left_out,
            "labels": [[label, *sums] for label, sums in self.labels_written.items()],
        }


def _text(value) -> str:
    """A text cell the fast paths do not know, guarded and quoted as
    ``survey.export.csvfile.text_cell`` does (this file imports nothing from the package)."""
    if not value:
        return ""
    import re  # rarely needed

    guarded = re.sub(r"(^|[,;\t\r\n])([\" ]*)(?=[=+\-@\t\r])", r"\1\2'", str(value))
    return '"' + guarded.replace('"', '""') + '"'


_split_fields = methodcaller("split", "\t")


def _copy_rows(block: str):
    """The rows of a block of COPY text (lines ended by a newline) as lists of fields.
    Only an escape holds a backslash (NULL is an empty field), and only stored answers
    could need one: the rare block with a backslash is unescaped field by field."""
    lines = block.split("\n")
    lines.pop()  # after the last newline
    if "\\" not in block:
        return map(_split_fields, lines)
    return [
        [copy_unescape(field) if "\\" in field else field for field in line.split("\t")]
        for line in lines
    ]


_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_unescape(text: str) -> str:
    """A field of COPY's text format as it was stored (backslash escapes undone)."""
    import re  # rarely needed: stored answers hardly ever hold a backslash

    def one(match) -> str:
        code = match.group(1)
        if code[0] in "01234567":
            return chr(int(code, 8))
        if code[0] == "x":
            return chr(int(code[1:], 16))
        return _COPY_ESCAPES.get(code, code)

    return re.sub(r"\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)", one, text)


class Spill:
    """One process's share of the buckets: records (each ended by ``END``) go to a file
    per bucket, ``<part>-<bucket>`` in ``folder``, picked at random."""

    def __init__(self, folder: str, part: int, rng: random.Random | None = None):
        rng = rng or fresh_random()
        self.pick = rng.getrandbits
        self.folder, self.part = folder, part
        self.pending: list[list[str]] = [[] for _ in range(BUCKETS)]
        self.counts = [0] * BUCKETS
        self.files: list = [None] * BUCKETS  # opened on first use: small exports open few

    def add(self, record: str) -> None:
        self.pending[self.pick(BUCKET_BITS)].append(record + END)

    def flush(self) -> None:
        files = self.files
        for bucket, records in enumerate(self.pending):
            if records:
                if files[bucket] is None:  # unbuffered: a flush writes big blocks anyway
                    # Kept open across flushes; closed by close().
                    files[bucket] = open(  # noqa: SIM115
                        os.path.join(self.folder, f"{self.part}-{bucket}"), "wb", buffering=0
                    )
                files[bucket].write("".join(records).encode("utf-8"))
                self.counts[bucket] += len(records)
                records.clear()

    def close(self) -> list[int]:
        """Write what is held, close the files and return the records per bucket."""
        self.flush()
        for file in self.files:
            if file is not None:
                file.close()
        return self.counts


def bucket_order(counts: list[int], rng: random.Random) -> list[tuple[int, int]]:
    """The non-empty buckets in a random order, each with the number of its first row."""
    order = list(range(BUCKETS))
    rng.shuffle(order)
    numbered, first = [], 1
    for bucket in order:
        if counts[bucket]:
            numbered.append((bucket, first))
            first += counts[bucket]
    return numbered


def numbered_bucket(
    folder: str, parts: int, bucket: int, first: int, separator: str, rng: random.Random
) -> bytes:
    """One bucket as numbered CSV lines (UTF-8), its first row numbered ``first``: every
    part's records of ``bucket``, shuffled (the files are removed once read), kept as bytes
    (no decoding and encoding again: two copies of the bucket fewer, and less time). A test
    holds it to ``bucket_records`` in tests/export_reference.py, which reads them as text."""
    found = []
    for part in range(parts):
        path = os.path.join(folder, f"{part}-{bucket}")
        try:
            with open(path, "rb") as file:
                found.append(file.read())
        except FileNotFoundError:
            continue  # this part had no record for the bucket
        os.remove(path)
    records = b"".join(found).split(END_BYTES)
    del found
    records.pop()  # what follows the last END
    rng.shuffle(records)
    line = b"%d" + separator.encode("utf-8").replace(b"%", b"%%") + b"%b\r\n"
    return b"".join([line % (number, record) for number, record in enumerate(records, first)])


# --- a worker process -------------------------------------------------------------------


def _read_exact(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the exporting process went away")
    return data


def copy_blocks(stream) -> Iterator[str]:
    """Framed blocks of COPY text from ``stream`` until an empty frame."""
    while size := FRAME.unpack(_read_exact(stream, FRAME.size))[0]:
        yield _read_exact(stream, size).decode("utf-8")


def sqlite_batches(path: str, sql: str, params: dict, size: int = 1000) -> Iterator[list]:
    import sqlite3  # only workers that read SQLite need it

    connection = sqlite3.connect(path, timeout=5.0)
    connection.execute("PRAGMA cache_size = -512")  # one pass in storage order: 512 KB do
    try:
        cursor = connection.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        connection.close()


def work(stdin, stdout) -> None:
    """A worker: read a job (one JSON line), render its share of the rows into its own
    buckets (from the SQLite file, or from COPY text framed on stdin), report the tally
    and bucket sizes (one JSON line); then read its share of the buckets to number (one
    JSON line) and say each one's position when its file is written."""
    job = json.loads(stdin.readline())
    global loads
    if loads is None:
        sys.path.append(job["orjson"])
        from orjson import loads
    folder, part = job["folder"], job["part"]
    renderer = Renderer(job["plan"])
    del job["plan"]["kept"]  # held as an array and a bitmap by the renderer
    spill = Spill(folder, part)
    try:
        if "sqlite" in job:
            renderer.spill_tuples(sqlite_batches(job["sqlite"], job["sql"], job["params"]), spill)
        else:
            renderer.spill_copy(copy_blocks(stdin), spill)
    finally:
        counts = spill.close()
    stdout.write((json.dumps({**renderer.tally(), "counts": counts}) + "\n").encode())
    stdout.flush()
    # Phase 2 needs nothing of the renderer: its memos and lookups go before the buckets
    # are read, so the two phases' memory is not added up.
    del renderer, spill
    line = stdin.readline()
    if not line:
        return  # nothing to number: the export stopped
    task = json.loads(line)
    rng = fresh_random()
    for position, bucket, first in task["buckets"]:
        data = numbered_bucket(folder, task["parts"], bucket, first, job["plan"]["separator"], rng)
        with open(os.path.join(folder, f"out-{position}"), "wb") as out:
            out.write(data)
        stdout.write(f"{position}\n".encode())
        stdout.flush()


if __name__ == "__main__":
    work(sys.stdin.buffer, sys.stdout.buffer)
