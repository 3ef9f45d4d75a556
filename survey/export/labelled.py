"""Labelled files for SPSS (.sav) and Stata (.dta), written with pyreadstat from the very
bytes of the response CSV (``responses.response_file``): the same rows, labels, pooling,
blanked cells and k-check as ``svar.csv``, in the same shuffled order and numbering.

What they add to the CSV: a variable label per column (the question in the chosen
language), value labels for every scale and choice (and for office, period and language,
which are written as labelled numbers), the don't-know code as a user-missing value, and a
measurement level (SPSS). An empty CSV cell (not answered, or a blanked quasi-identifier)
is system-missing. The questionnaire has no branching, so there is no "skipped by
branching" code.

- SPSS: -1 stays -1, labelled "vet ikke / vil ikke svare" and declared user-missing.
- Stata has no user-missing values: -1 is written as the extended missing value ``.a``,
  labelled the same way. Stata names are at most 32 characters and its variable labels 80:
  longer ones are shortened (``stata_names``); the codebook keeps the full ones.

Memory: the CSV is read in parts of ``CHUNK_ROWS`` rows into compact nullable integer
columns; each part is written by pyreadstat as a file of its own and the parts' data are
joined under one dictionary (``write_labelled``), so no more than one part is ever held.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..questionnaire import DONT_KNOW, LANGUAGES, Questionnaire, Text
from .columns import BINARY, CATEGORY, CHOICE, ID, SCALE, SCORE, Column, DONT_KNOW_LABEL, columns

STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
DONT_KNOW_TAG = "a"  # Stata's extended missing value .a stands for -1
CHUNK_ROWS = 20_000  # rows a part: a few MB of cells, however large the file
LANGUAGE_VALUES = {"nb": 1, "nn": 2, "en": 3}
LANGUAGE_NAMES = {
    "nb": Text("bokmål", "bokmål", "Norwegian Bokmål"),
    "nn": Text("nynorsk", "nynorsk", "Norwegian Nynorsk"),
    "en": Text("engelsk", "engelsk", "English"),
}
FLOAT_KINDS = ("medvirkning_index", "stigma_index", "talmodighet_index", "relasjon_index")


@dataclass(frozen=True)
class Variable:
    """One column as a labelled variable."""

    name: str
    label: str
    values: dict[int, str] = field(default_factory=dict)  # value labels (user-missing too)
    missing: tuple[int, ...] = ()                          # user-missing values
    measure: str = "nominal"                               # SPSS: nominal, ordinal, scale
    numeric: str = "integer"                               # integer or float
    codes: dict[str, int] = field(default_factory=dict)    # CSV text -> number (office...)


def _measure(column: Column) -> str:
    if column.kind == SCALE or column.name in ("rung", "band"):
        return "ordinal"
    if column.kind == ID or (column.kind == SCORE and column.name in FLOAT_KINDS):
        return "scale"
    return "nominal"


def variables(questionnaire: Questionnaire, lang: str, offices: Iterable[str],
              periods: Iterable[str]) -> list[Variable]:
    """Every CSV column as a labelled variable, in the CSV's order. ``offices`` and
    ``periods`` are the published codes the file may hold: office, period and language
    become numbers 1.. with the codes as value labels (sorted; "andre" is a code too)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown label language {lang!r}")
    result = []
    for column in columns(questionnaire):
        label = column.label(lang) if column.label else column.name
        if column.name in ("office", "period"):
            found = sorted(set(offices if column.name == "office" else periods))
            codes = {code: n for n, code in enumerate(found, 1)}
            result.append(Variable(column.name, label, {n: c for c, n in codes.items()},
                                   measure="nominal", codes=codes))
            continue
        if column.name == "language":
            result.append(Variable(column.name, label,
                                   {n: LANGUAGE_NAMES[c](lang) for c, n in LANGUAGE_VALUES.items()},
                                   measure="nominal", codes=dict(LANGUAGE_VALUES)))
            continue
        values = {int(v): text(lang) for v, text in column.values}
        missing: tuple[int, ...] = ()
        if column.item is not None and column.item.dont_know and column.kind in (SCALE, CHOICE):
            values[DONT_KNOW] = DONT_KNOW_LABEL(lang)
            missing = (DONT_KNOW,)
        result.append(Variable(column.name, label, values, missing, _measure(column),
                               "float" if column.name in FLOAT_KINDS else "integer"))
    return result


def stata_names(names: Iterable[str]) -> dict[str, str]:
    """Each name as Stata allows it (at most 32 characters), unique: a longer one is cut,
    and a clash gets a number at the end."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        short = name[:STATA_NAME_MAX]
        n = 1
        while short in taken:
            suffix = f"_{n}"
            short = name[:STATA_NAME_MAX - len(suffix)] + suffix
            n += 1
        taken.add(short)
        result[name] = short
    return result


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- the frame --------------------------------------------------------------------------

class _ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks (the streamed CSV), for pandas."""

    def __init__(self, chunks: Iterable[bytes]):
        self.chunks = iter(chunks)
        self.held = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.held:
            try:
                self.held = next(self.chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.held))
        buffer[:size] = self.held[:size]
        self.held = self.held[size:]
        return size


def iter_frames(chunks: Iterable[bytes], variables_: list[Variable], rows: int,
                only: Iterable[str] | None = None) -> Iterator:
    """The response CSV (RFC 4180 bytes) as DataFrames of ``CHUNK_ROWS`` rows, in the
    file's order, with compact numeric columns: nullable Int8 (Int32 for ``row``) for
    codes, float64 for the indices. Office, period and language become their numbers; a
    text the variables do not know is an error, never a silent gap. ``rows`` is how many
    rows the file must hold (from the release's decisions): more or fewer is an error."""
    import numpy as np
    import pandas as pd

    names = [v.name for v in variables_]
    kept = [v for v in variables_ if only is None or v.name in set(only)]
    dtypes = {v.name: (str if v.codes else "float64") for v in variables_}
    at = 0
    reader = pd.read_csv(io.BufferedReader(_ChunkReader(chunks), 1 << 16), dtype=dtypes,
                         keep_default_na=False, na_values=[""], chunksize=CHUNK_ROWS)
    for part in reader:
        if list(part.columns) != names:
            raise ValueError("the CSV's header is not the questionnaire's columns")
        n = len(part)
        if at + n > rows:
            raise ValueError(f"the CSV holds more than the {rows} rows decided")
        data = {}
        for v in kept:
            series = part[v.name]
            if v.codes:
                present = series.notna().to_numpy()
                mapped = series.map(v.codes)
                unknown = present & mapped.isna().to_numpy()
                if unknown.any():
                    raise ValueError(f"{v.name}: values outside the release: "
                                     f"{sorted(set(series[unknown]))[:3]}")
                values = mapped.to_numpy(dtype=float, na_value=np.nan)
            else:
                values = series.to_numpy(dtype=float, na_value=np.nan)
            if v.numeric == "float":
                data[v.name] = values
            else:
                missing = np.isnan(values)
                kind = integer_type(v)
                filled = np.where(missing, 0, values)
                limits = np.iinfo(kind)
                if n and (filled.min() < limits.min or filled.max() > limits.max
                          or not np.array_equal(filled, np.round(filled))):
                    raise ValueError(f"{v.name}: a value that is not a {kind.__name__}")
                data[v.name] = pd.arrays.IntegerArray(filled.astype(kind), missing)
        at += n
        yield pd.DataFrame(data)
    if at != rows:
        raise ValueError(f"the CSV holds {at} rows, {rows} were decided")


def read_frame(chunks: Iterable[bytes], variables_: list[Variable], rows: int,
               only: Iterable[str] | None = None):
    """The whole file (or the columns in ``only``) as one compact DataFrame."""
    import pandas as pd

    parts = list(iter_frames(chunks, variables_, rows, only))
    if not parts:
        return empty_frame([v for v in variables_ if only is None or v.name in set(only)])
    return pd.concat(parts, ignore_index=True, copy=False)


def integer_type(v: Variable):
    """The narrowest integer type that holds every value a variable may take: one byte for
    items and labelled codes that fit (-128..127), else four (row numbers, versions, and
    office or period numbers past 127)."""
    import numpy as np

    values = [*v.values, *v.codes.values()]
    if v.name != "row" and values and -128 <= min(values) and max(values) <= 127:
        return np.int8
    return np.int32


def empty_frame(variables_: list[Variable]):
    import pandas as pd

    return pd.DataFrame({v.name: pd.Series([], dtype="float64" if v.numeric == "float" else
                                           "Int8" if integer_type(v).__name__ == "int8"
                                           else "Int32")
                         for v in variables_})


# --- writing ----------------------------------------------------------------------------

def _sav(frame, path, variables_: list[Variable]) -> None:
    import pyreadstat

    pyreadstat.write_sav(
        frame, os.fspath(path), file_label="Stigen",
        column_labels={v.name: v.label for v in variables_},
        variable_value_labels={v.name: dict(v.values) for v in variables_ if v.values},
        missing_ranges={v.name: list(v.missing) for v in variables_ if v.missing},
        variable_measure={v.name: v.measure for v in variables_},
        row_compress=True,  # bytecode: small integers take a byte, not eight
    )


def _dta_frame(frame, variables_: list[Variable]):
    """The frame as Stata gets it: -1 as the tag "a" (in an object column of shared
    floats: pyreadstat reads an int32 column with tags back with 0 for system-missing),
    names shortened."""
    import numpy as np
    import pandas as pd

    renamed = stata_names(v.name for v in variables_)
    out = {}
    for v in variables_:
        column = frame[v.name]
        if v.missing:
            codes = column.to_numpy(dtype=float, na_value=np.nan)
            cells = np.empty(len(codes), dtype=object)
            cells[:] = np.nan
            for value in v.values:
                if value not in v.missing:
                    cells[codes == value] = float(value)
            for value in v.missing:
                cells[codes == value] = DONT_KNOW_TAG
            column = pd.Series(cells, index=frame.index, dtype=object)
        out[renamed[v.name]] = column
    return pd.DataFrame(out)


def _dta(frame, path, variables_: list[Variable]) -> None:
    import pyreadstat

    renamed = stata_names(v.name for v in variables_)
    value_labels = {}
    for v in variables_:
        if not v.values:
            continue
        labels: dict = {value: text for value, text in v.values.items() if value not in v.missing}
        if v.missing:
            labels[DONT_KNOW_TAG] = v.values[DONT_KNOW]
        value_labels[renamed[v.name]] = labels
    pyreadstat.write_dta(
        _dta_frame(frame, variables_), os.fspath(path), file_label="Stigen",
        column_labels={renamed[v.name]: _cut(v.label, STATA_LABEL_MAX) for v in variables_},
        variable_value_labels=value_labels,
        missing_user_values={renamed[v.name]: [DONT_KNOW_TAG] for v in variables_ if v.missing},
    )


SAV_CASES = struct.Struct("<i")          # the header's case count, at byte 80
SAV_CASES_AT = 80
SAV_CASES_RECORD = struct.pack("<iiiiq", 7, 16, 8, 2, 1)  # then the 64-bit case count
DTA_DATA = b"<data>"
DTA_N = b"<N>"
DTA_MAP = b"<map>"


def write_labelled(kind: str, frames: Iterable, path: str | os.PathLike,
                   variables_: list[Variable]) -> int:
    """Write a .sav (``kind`` "sav") or .dta ("dta") from a stream of DataFrames, one part
    at a time, so the file's rows are never in memory together; returns the rows written.

    pyreadstat writes whole files only, so each part becomes a file of its own and their
    data sections are joined under the dictionary of an empty file with the same
    variables and labels: every part's header and dictionary are that long (the same
    variables, labels and formats), and its data follow them. SPSS rows are compressed one
    by one (bytecode, no end mark), Stata rows are fixed width, so the data sections join
    as they are; then the case count is set (SPSS: header and extension record 16; Stata:
    <N> and the offsets in <map> behind the data)."""
    write = _sav if kind == "sav" else _dta
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    empty = os.path.join(folder, f".empty.{kind}")
    write(empty_frame(variables_), empty, variables_)
    with open(empty, "rb") as fh:
        skeleton = fh.read()
    os.unlink(empty)
    if kind == "sav":
        prefix, suffix = skeleton, b""
    else:
        cut = skeleton.rindex(DTA_DATA) + len(DTA_DATA)
        prefix, suffix = skeleton[:cut], skeleton[cut:]
    rows = data_bytes = 0
    end_mark = None  # SPSS: where the last part's end-of-data code (252) is, in the file
    part_path = os.path.join(folder, f".part.{kind}")
    with open(path, "w+b") as out:
        out.write(prefix)
        for frame in frames:
            if not len(frame):
                continue
            write(frame, part_path, variables_)
            size = os.path.getsize(part_path)
            extra = size - len(skeleton)
            with open(part_path, "rb") as part:
                head = part.read(len(prefix))
                if extra < 0 or not _same_dictionary(kind, head, prefix):
                    raise ValueError("a part's dictionary is not the empty file's")
                if kind == "sav":
                    at = _sav_end_mark(part, len(prefix), extra, len(variables_))
                    part.seek(len(prefix))
                    if end_mark is not None:  # the previous part's end is not the file's
                        here = out.tell()
                        out.seek(end_mark)
                        out.write(b"\0")
                        out.seek(here)
                    end_mark = out.tell() + at
                shutil.copyfileobj(_Slice(part, extra), out, 1 << 20)
            os.unlink(part_path)
            rows += len(frame)
            data_bytes += extra
        out.write(suffix)
        _set_cases(out, kind, skeleton, rows, data_bytes)
        if end_mark is not None:
            out.seek(end_mark)
            if out.read(1) != bytes([SAV_END]):
                raise ValueError("the end-of-data code is not where it was found")
    return rows


SAV_END = 252  # bytecode: end of data, written after the last row of every file


def _sav_end_mark(part, start: int, size: int, variables_count: int) -> int:
    """Where, in a part's data (``size`` bytes from ``start``), its end-of-data code is.

    Every row starts a fresh block of 8 codes, one code a (numeric) variable, and 253
    codes have their 8 bytes after the block; so the last row's last block holds
    ``variables_count % 8`` codes, then 252, then zeros, and is followed by 8 bytes for
    each 253 among its codes. Read from the end; if that is ambiguous, parse the part."""
    slot = variables_count % 8
    part.seek(start + max(0, size - 72))
    tail = part.read()
    found = []
    for literal in range(8):
        at = len(tail) - 8 - 8 * literal
        if at < 0:
            break
        block = tail[at:at + 8]
        if (block[slot] == SAV_END and not any(block[slot + 1:])
                and block[:slot].count(253) == literal):
            found.append(size - len(tail) + at + slot)
    if len(found) == 1:
        return found[0]
    part.seek(start)
    return _sav_parse_end(part.read(size), variables_count)


def _sav_parse_end(data: bytes, variables_count: int) -> int:
    """The end-of-data code's offset, by walking every row's blocks (the slow way)."""
    at = 0
    while at < len(data):
        codes = 0  # one row: blocks until every variable has its code
        while True:
            block_at, block = at, data[at:at + 8]
            at += 8
            for n, code in enumerate(block):
                if codes == variables_count:  # the row's codes are done: 252 or padding
                    if code == SAV_END:
                        return block_at + n
                    break
                codes += 1
                if code == 253:
                    at += 8  # its value follows the block
            else:
                continue  # a full block: the row goes on (an empty block if it just ended)
            break
    raise ValueError("no end-of-data code in a part")


SAV_HEADER = 176  # the file header (creation time, case count) before the dictionary


def _same_dictionary(kind: str, head: bytes, prefix: bytes) -> bool:
    """Whether a part's bytes before its data are the empty file's, apart from the case
    count and the time it was written."""
    if len(head) != len(prefix):
        return False
    if kind == "sav":
        at = prefix.index(SAV_CASES_RECORD) + len(SAV_CASES_RECORD)
        return (head[SAV_HEADER:at] == prefix[SAV_HEADER:at]
                and head[at + 8:] == prefix[at + 8:])
    start = prefix.index(b"<variable_types>")
    return head[start:] == prefix[start:]


class _Slice(io.RawIOBase):
    """A reader of the next ``size`` bytes of ``fh``."""

    def __init__(self, fh, size: int):
        self.fh, self.left = fh, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        data = self.fh.read(min(len(buffer), self.left))
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)


def _set_cases(out, kind: str, skeleton: bytes, rows: int, data_bytes: int) -> None:
    if kind == "sav":
        out.seek(SAV_CASES_AT)
        out.write(SAV_CASES.pack(rows if rows < 2 ** 31 else -1))
        at = skeleton.index(SAV_CASES_RECORD) + len(SAV_CASES_RECORD)
        out.seek(at)
        out.write(struct.pack("<q", rows))
        return
    # Stata 118/119: <N> holds the count (8 bytes); <map> 14 offsets (8 bytes each), of
    # which those past the data move by the data's length.
    at = skeleton.index(DTA_N) + len(DTA_N)
    out.seek(at)
    out.write(struct.pack("<Q", rows))
    data_at = skeleton.rindex(DTA_DATA)
    start = skeleton.index(DTA_MAP) + len(DTA_MAP)
    offsets = struct.unpack_from("<14Q", skeleton, start)
    moved = [o + data_bytes if o > data_at else o for o in offsets]
    out.seek(start)
    out.write(struct.pack("<14Q", *moved))


def write_sav(frame, path: str | os.PathLike, variables_: list[Variable]) -> None:
    """SPSS from one frame (written in parts of ``CHUNK_ROWS``)."""
    write_labelled("sav", _parts(frame), path, variables_)


def write_dta(frame, path: str | os.PathLike, variables_: list[Variable]) -> None:
    """Stata from one frame (written in parts of ``CHUNK_ROWS``)."""
    write_labelled("dta", _parts(frame), path, variables_)


def _parts(frame) -> Iterator:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start:start + CHUNK_ROWS]


def file_chunks(path: str | os.PathLike, size: int = 1 << 18) -> Iterator[bytes]:
    """A written file, streamed, then removed."""
    try:
        with open(path, "rb") as fh:
            while block := fh.read(size):
                yield block
    finally:
        os.unlink(path)


__all__ = ["Variable", "variables", "stata_names", "iter_frames", "read_frame", "write_labelled",
           "write_sav", "write_dta", "DONT_KNOW_TAG"]
