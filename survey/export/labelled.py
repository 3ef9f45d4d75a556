"""Labelled files for SPSS (.sav) and Stata (.dta), made from the very
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

Memory and time: the CSV is read in parts of ``CHUNK_ROWS`` rows into compact nullable
integer columns, and each part's rows are encoded and written before the next is read
(``write_labelled``): pyreadstat writes the dictionary (variables, labels, formats), NumPy
the rows, byte for byte as pyreadstat would (it steps through every cell in Python).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..questionnaire import DONT_KNOW, LANGUAGES, Questionnaire, Text
from .columns import CHOICE, DONT_KNOW_LABEL, ID, SCALE, SCORE, Column, columns

STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
DONT_KNOW_TAG = "a"  # Stata's extended missing value .a stands for -1
CHUNK_ROWS = 10_000  # rows a part: pandas' parser takes ~5 KB a row while it reads one
LANGUAGE_VALUES = {"nb": 1, "nn": 2, "en": 3}
LANGUAGE_NAMES = {
    "nb": Text("bokmål", "bokmål", "Norwegian Bokmål"),
    "nn": Text("nynorsk", "nynorsk", "Norwegian Nynorsk"),
    "en": Text("engelsk", "engelsk", "English"),
}


def _is_theme_index(column: Column) -> bool:
    """Whether a column is a theme's index (0–100 with decimals): the scores with a theme."""
    return column.kind == SCORE and column.theme is not None


@dataclass(frozen=True)
class Variable:
    """One column as a labelled variable."""

    name: str
    label: str
    values: dict[int, str] = field(default_factory=dict)  # value labels (user-missing too)
    missing: tuple[int, ...] = ()  # user-missing values
    measure: str = "nominal"  # SPSS: nominal, ordinal, scale
    numeric: str = "integer"  # integer or float
    codes: dict[str, int] = field(default_factory=dict)  # CSV text -> number (office...)


def _measure(column: Column) -> str:
    if column.kind == SCALE or column.name in ("rung", "band"):
        return "ordinal"
    if column.kind == ID or _is_theme_index(column):
        return "scale"
    return "nominal"


def variables(
    questionnaire: Questionnaire, lang: str, offices: Iterable[str], periods: Iterable[str]
) -> list[Variable]:
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
            result.append(
                Variable(
                    column.name,
                    label,
                    {n: c for c, n in codes.items()},
                    measure="nominal",
                    codes=codes,
                )
            )
            continue
        if column.name == "language":
            result.append(
                Variable(
                    column.name,
                    label,
                    {n: LANGUAGE_NAMES[c](lang) for c, n in LANGUAGE_VALUES.items()},
                    measure="nominal",
                    codes=dict(LANGUAGE_VALUES),
                )
            )
            continue
        values = {int(v): text(lang) for v, text in column.values}
        missing: tuple[int, ...] = ()
        if column.item is not None and column.item.dont_know and column.kind in (SCALE, CHOICE):
            values[DONT_KNOW] = DONT_KNOW_LABEL(lang)
            missing = (DONT_KNOW,)
        result.append(
            Variable(
                column.name,
                label,
                values,
                missing,
                _measure(column),
                "float" if _is_theme_index(column) else "integer",
            )
        )
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
            short = name[: STATA_NAME_MAX - len(suffix)] + suffix
            n += 1
        taken.add(short)
        result[name] = short
    return result


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the frame --------------------------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks (the streamed CSV), for pandas. A
    chunk is held as a view and handed out in pieces without copying the rest of it
    (slicing bytes would copy the remainder at every read: tens of MB of garbage)."""

    def __init__(self, chunks: Iterable[bytes]):
        self.chunks = iter(chunks)
        self.held = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not len(self.held):
            try:
                self.held = memoryview(next(self.chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.held))
        buffer[:size] = self.held[:size]
        self.held = self.held[size:]
        return size


class Part(dict):
    """One part of the file as plain columns, name -> float64 array (NaN: an empty cell),
    checked as ``iter_parts`` checks them; ``rows`` is its length. What the writers take
    without pandas' frames in between (``write_labelled`` takes either)."""

    rows = 0


def iter_parts(
    chunks: Iterable[bytes],
    variables_: list[Variable],
    rows: int,
    only: Iterable[str] | None = None,
) -> Iterator[Part]:
    """The response CSV (RFC 4180 bytes) in parts of ``CHUNK_ROWS`` rows, in the file's
    order, each column as float64 (NaN where empty). Office, period and language become
    their numbers; a text the variables do not know is an error, never a silent gap, and
    so is a value an integer variable's type (``integer_type``) cannot hold. ``rows`` is
    how many rows the file must hold (from the release's decisions): more or fewer is an
    error."""
    import numpy as np
    import pandas as pd

    names = [v.name for v in variables_]
    kept = [v for v in variables_ if only is None or v.name in set(only)]
    dtypes = {v.name: (str if v.codes else "float64") for v in variables_}
    at = 0
    reader = pd.read_csv(
        io.BufferedReader(_ChunkReader(chunks), 1 << 16),
        dtype=dtypes,
        keep_default_na=False,
        na_values=[""],
        chunksize=CHUNK_ROWS,
    )
    for frame in reader:
        if list(frame.columns) != names:
            raise ValueError("the CSV's header is not the questionnaire's columns")
        n = len(frame)
        if at + n > rows:
            raise ValueError(f"the CSV holds more than the {rows} rows decided")
        part = Part()
        part.rows = n
        for v in kept:
            series = frame[v.name]
            if v.codes:
                present = series.notna().to_numpy()
                mapped = series.map(v.codes)
                unknown = present & mapped.isna().to_numpy()
                if unknown.any():
                    raise ValueError(
                        f"{v.name}: values outside the release: {sorted(set(series[unknown]))[:3]}"
                    )
                values = mapped.to_numpy(dtype=float, na_value=np.nan)
            else:
                values = series.to_numpy(dtype=float, na_value=np.nan)
            if v.numeric != "float" and n:
                kind = integer_type(v)
                filled = values[~np.isnan(values)]
                limits = np.iinfo(kind)
                if filled.size and (
                    filled.min() < limits.min
                    or filled.max() > limits.max
                    or not np.array_equal(filled, np.round(filled))
                ):
                    raise ValueError(f"{v.name}: a value that is not a {kind.__name__}")
            part[v.name] = values
        at += n
        yield part
    if at != rows:
        raise ValueError(f"the CSV holds {at} rows, {rows} were decided")


def iter_frames(
    chunks: Iterable[bytes],
    variables_: list[Variable],
    rows: int,
    only: Iterable[str] | None = None,
) -> Iterator:
    """``iter_parts`` as DataFrames with compact numeric columns: nullable Int8 (Int32 for
    ``row`` and wide codes) for integers, float64 for the indices."""
    import numpy as np
    import pandas as pd

    kept = [v for v in variables_ if only is None or v.name in set(only)]
    for part in iter_parts(chunks, variables_, rows, only):
        data = {}
        for v in kept:
            values = part[v.name]
            if v.numeric == "float":
                data[v.name] = values
            else:
                missing = np.isnan(values)
                data[v.name] = pd.arrays.IntegerArray(
                    np.where(missing, 0, values).astype(integer_type(v)), missing
                )
        yield pd.DataFrame(data)


def read_frame(
    chunks: Iterable[bytes],
    variables_: list[Variable],
    rows: int,
    only: Iterable[str] | None = None,
):
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
    if v.name != "row" and values and min(values) >= -128 and max(values) <= 127:
        return np.int8
    return np.int32


def empty_frame(variables_: list[Variable]):
    import pandas as pd

    return pd.DataFrame(
        {
            v.name: pd.Series(
                [],
                dtype="float64"
                if v.numeric == "float"
                else "Int8"
                if integer_type(v).__name__ == "int8"
                else "Int32",
            )
            for v in variables_
        }
    )


# --- writing ----------------------------------------------------------------------------


def _sav(frame, path, variables_: list[Variable]) -> None:
    import pyreadstat

    pyreadstat.write_sav(
        frame,
        os.fspath(path),
        file_label="Stigen",
        column_labels={v.name: v.label for v in variables_},
        variable_value_labels={
            v.name: {value: label for value, label in v.values.items()}
            for v in variables_
            if v.values
        },
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
        _dta_frame(frame, variables_),
        os.fspath(path),
        file_label="Stigen",
        column_labels={renamed[v.name]: _cut(v.label, STATA_LABEL_MAX) for v in variables_},
        variable_value_labels=value_labels,
        missing_user_values={renamed[v.name]: [DONT_KNOW_TAG] for v in variables_ if v.missing},
    )


SAV_CASES = struct.Struct("<i")  # the header's case count, at byte 80
SAV_CASES_AT = 80
SAV_CASES_RECORD = struct.pack("<iiiiq", 7, 16, 8, 2, 1)  # then the 64-bit case count
SAV_END = 252  # bytecode: end of data, after the last row of the file
SAV_LITERAL = 253  # bytecode: the value's 8 bytes follow the block
SAV_SYSMIS = 255  # bytecode: system-missing
SAV_BIAS = 100  # bytecode: a whole number -99..151 is stored as one byte, value + 100
DTA_DATA = b"<data>"
DTA_N = b"<N>"
DTA_MAP = b"<map>"
DTA_TYPES = b"<variable_types>"
# Stata 118 storage types: type code -> the cell's bits as NumPy holds them, the bits of
# system-missing ".", and of ".a" (.b is the next step up, and so on).
DTA_STORAGE = {
    65530: ("<i1", 101, 102),  # byte
    65529: ("<i2", 32741, 32742),  # int
    65528: ("<i4", 2147483621, 2147483622),  # long
    65527: ("<u4", 0x7F000000, 0x7F000800),  # float
    65526: ("<u8", 0x7FE0000000000000, 0x7FE0010000000000),  # double
}
DTA_TAG_STEP = {"<i1": 1, "<i2": 1, "<i4": 1, "<u4": 1 << 11, "<u8": 1 << 40}


def write_labelled(
    kind: str, frames: Iterable, path: str | os.PathLike, variables_: list[Variable]
) -> int:
    """Write a .sav (``kind`` "sav") or .dta ("dta") from a stream of DataFrames, one part
    at a time, so the file's rows are never in memory together; returns the rows written.

    pyreadstat writes the dictionary: the file of an empty frame with the same variables,
    labels and formats. The rows are encoded here with NumPy, a part at a time, exactly as
    pyreadstat's writer (ReadStat) encodes them (``sav_rows``, ``dta_rows``; a test holds
    the two to each other byte for byte), because pyreadstat steps through every cell in
    Python: minutes at a million rows. Then the case count is set (SPSS: header and
    extension record 16; Stata: <N> and the offsets in <map> behind the data) and, in
    SPSS, the end-of-data code after the last row."""
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
        storage = dta_storage(skeleton, len(variables_))
    rows = data_bytes = 0
    end_mark = None  # SPSS: where, in the file, the last row's end-of-data slot is
    with open(path, "w+b") as out:
        out.write(prefix)
        for frame in frames:
            if not _length(frame):
                continue
            if kind == "sav":
                data, last = sav_rows(sav_matrix(frame, variables_))
                end_mark = out.tell() + last
            else:
                data = dta_rows(frame, variables_, storage)
            out.write(data)
            rows += _length(frame)
            data_bytes += len(data)
            del data
        out.write(suffix)
        _set_cases(out, kind, skeleton, rows, data_bytes)
        if end_mark is not None:
            out.seek(end_mark)
            out.write(bytes([SAV_END]))
    return rows


def _length(frame) -> int:
    return frame.rows if isinstance(frame, Part) else len(frame)


def _values(frame, v: Variable):
    """A column (of a ``Part`` or a DataFrame) as float64, NaN where the cell is empty."""
    import numpy as np

    if isinstance(frame, Part):
        return frame[v.name]
    return frame[v.name].to_numpy(dtype=np.float64, na_value=np.nan)


def sav_matrix(frame, variables_: list[Variable]):
    """The frame's cells as SPSS stores them: one float64 per variable, NaN for
    system-missing (a user-missing code is a value like any other)."""
    import numpy as np

    matrix = np.empty((_length(frame), len(variables_)), dtype="<f8")
    for at, v in enumerate(variables_):
        matrix[:, at] = _values(frame, v)
    return matrix


def sav_rows(matrix) -> tuple[bytes, int]:
    """Rows of numeric cells (float64, NaN system-missing) in SPSS's bytecode compression,
    as ReadStat writes it (``row_compress``): every row starts a fresh block of 8 codes,
    one a variable: 255 for system-missing, value + 100 for a whole number between -99 and
    151, else 253 with the value's 8 bytes after the block; a full block opens the next at
    once (so a row of 8 × m variables ends with an empty block), and a block's unused codes
    are 0. Returns the bytes and the offset, in them, of the code after the last row's last
    variable: where the end-of-data code goes if that row is the file's last."""
    import numpy as np

    n, count = matrix.shape
    blocks = count // 8 + 1
    missing = np.isnan(matrix)
    whole = ~missing & (matrix > -SAV_BIAS) & (matrix < 252 - SAV_BIAS)
    whole[whole] = matrix[whole] == np.trunc(matrix[whole])
    codes = np.zeros((n, blocks * 8), dtype=np.uint8)
    cells = codes[:, :count]
    cells[:] = SAV_LITERAL
    cells[missing] = SAV_SYSMIS
    cells[whole] = (matrix[whole] + SAV_BIAS).astype(np.uint8)
    literal = (codes == SAV_LITERAL).reshape(n, blocks, 8)
    # A block takes one word (8 bytes) for its codes and one for each of its literals.
    words = (1 + literal.sum(axis=2, dtype=np.int64)).ravel()
    starts = np.cumsum(words) - words
    out = np.zeros(int(words.sum()), dtype="<u8")
    out[starts] = codes.view("<u8").ravel()
    if literal.any():
        rank = np.cumsum(literal, axis=2, dtype=np.int64)  # 1 for a block's first literal
        at = (starts.reshape(n, blocks)[:, :, None] + rank)[literal]
        padded = np.zeros((n, blocks * 8), dtype="<f8")
        padded[:, :count] = matrix
        out[at] = padded.reshape(n, blocks, 8)[literal].view("<u8")
    last = 8 * int(starts[-1]) + count % 8 if n else 0
    return out.tobytes(), last


def dta_storage(skeleton: bytes, count: int) -> list[int]:
    """Every variable's storage type, from the <variable_types> of a Stata 118/119 file
    (two bytes each)."""
    at = skeleton.index(DTA_TYPES) + len(DTA_TYPES)
    found = list(struct.unpack_from(f"<{count}H", skeleton, at))
    unknown = set(found) - set(DTA_STORAGE)
    if unknown:
        raise ValueError(f"Stata storage types not written here: {sorted(unknown)}")
    return found


def dta_rows(frame, variables_: list[Variable], storage: list[int]) -> bytes:
    """The frame's rows as Stata stores them (fixed width, each variable in the type the
    dictionary gives, little-endian), as pyreadstat writes ``_dta_frame``: an empty cell
    is system-missing, a user-missing code (-1) is ``.a``, and a variable with missing
    codes holds its labelled values only (anything else would be system-missing)."""
    import numpy as np

    layout = np.dtype([(f"c{at}", DTA_STORAGE[kind][0]) for at, kind in enumerate(storage)])
    out = np.empty(_length(frame), dtype=layout)
    tag = ord(DONT_KNOW_TAG) - ord("a")
    for at, (v, kind) in enumerate(zip(variables_, storage, strict=True)):
        bits, missing_bits, tag_bits = DTA_STORAGE[kind]
        values = _values(frame, v)
        tagged = None
        if v.missing:
            tagged = np.isin(values, v.missing)
            kept = [value for value in v.values if value not in v.missing]
            missing = ~(tagged | np.isin(values, kept))
        else:
            missing = np.isnan(values)
        if bits == "<u8":
            cells = values.view("<u8").copy()
        elif bits == "<u4":
            cells = values.astype("<f4").view("<u4")
        else:
            present = values[~missing]
            if present.size and (
                present.min() < np.iinfo(bits).min
                or present.max() >= missing_bits
                or not np.array_equal(present, np.trunc(present))
            ):
                raise ValueError(f"{v.name}: a value that does not fit Stata's {bits}")
            cells = np.where(missing, 0, values).astype(bits)
        cells[missing] = missing_bits
        if tagged is not None:
            cells[tagged] = tag_bits + tag * DTA_TAG_STEP[bits]
        out[f"c{at}"] = cells
    return out.tobytes()


def _set_cases(out, kind: str, skeleton: bytes, rows: int, data_bytes: int) -> None:
    if kind == "sav":
        out.seek(SAV_CASES_AT)
        out.write(SAV_CASES.pack(rows if rows < 2**31 else -1))
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
        yield frame.iloc[start : start + CHUNK_ROWS]


def file_chunks(path: str | os.PathLike, size: int = 1 << 18) -> Iterator[bytes]:
    """A written file, streamed, then removed."""
    try:
        with open(path, "rb") as fh:
            while block := fh.read(size):
                yield block
    finally:
        os.unlink(path)


__all__ = [
    "Variable",
    "Part",
    "variables",
    "stata_names",
    "iter_parts",
    "iter_frames",
    "read_frame",
    "write_labelled",
    "write_sav",
    "write_dta",
    "DONT_KNOW_TAG",
]
