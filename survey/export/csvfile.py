"""CSV as Norwegian researchers need it. Pure: no Flask, no database.

RFC 4180 (comma, CRLF) in UTF-8 by default; for Excel in Norwegian, ``;`` as separator, a
decimal comma and a byte-order mark. Every text cell is quoted and passes an OWASP
CSV-injection guard; numbers and empty cells are written bare, and so is the header (our
own column names).

Why every text cell is quoted and a formula start is neutralised after a separator too: a
file opened with another list separator than it was written with (the comma file in
Norwegian Excel, which splits on ``;``, or the mirror case) is split where its writer saw
no separator, so ``x;=cmd|' /C calc'!A0`` would begin a cell with ``=`` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .spill import decimal_text

# A cell starting with one of these can become a formula in a spreadsheet (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet may start a cell: the start of the text, or after a character some
# locale or importer splits on (comma, semicolon, tab, line break); quotes and spaces in
# between do not stop a lenient reader either.
_FORMULA = re.compile(r"(^|[,;\t\r\n])([\" ]*)(?=[=+\-@\t\r])")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_]+")
BOM = "\ufeff"
CHUNK_ROWS = 2000
LINE_END = "\r\n"


@dataclass(frozen=True)
class CsvFormat:
    separator: str = ","
    decimal: str = "."
    bom: bool = False

    @classmethod
    def excel_norwegian(cls) -> CsvFormat:
        return cls(separator=";", decimal=",", bom=True)

    @property
    def suffix(self) -> str:
        return "excel" if self.separator == ";" else "rfc4180"


def guard(text: str) -> str:
    """A text cell that cannot be read as a formula, whatever the reader splits on: a
    quote goes in front of a leading = + - @ tab or CR (as OWASP recommends), and in front
    of one after a comma, semicolon, tab or line break (quotes and spaces in between
    skipped). Idempotent."""
    return _FORMULA.sub(r"\1\2'", text)


def quote(text: str, separator: str = ",") -> str:
    """A text cell in double quotes (always: see the module's docstring), inner quotes
    doubled. The same for either separator."""
    return '"' + text.replace('"', '""') + '"'


def text_cell(text: str) -> str:
    """A text cell as it is written: guarded and quoted."""
    return '"' + _FORMULA.sub(r"\1\2'", text).replace('"', '""') + '"'


class _Number(str):
    """A number already written out (a decimal comma): bare, never quoted or guarded."""

    __slots__ = ()


def _cell(value) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return text_cell(value)
    if kind is float:
        return repr(value)
    if kind is int or kind is _Number:
        return str(value)
    if isinstance(value, str):
        return text_cell(str(value))
    return str(value)


def _header_cell(name: str) -> str:
    return name if _SAFE_NAME.fullmatch(name) else text_cell(name)


class LineWriter:
    """One row at a time as a CSV line: text cells guarded and quoted, numbers bare,
    ``None`` empty, floats in ``float_columns`` with the format's decimal mark."""

    def __init__(self, fmt: CsvFormat, float_columns: Iterable[int] = ()):
        self.join = fmt.separator.join
        self.floats = tuple(float_columns) if fmt.decimal != "." else ()
        self.decimal = fmt.decimal

    def line(self, row) -> str:
        if self.floats:
            row = list(row)
            for at in self.floats:
                if type(row[at]) is float:
                    row[at] = _Number(decimal_text(row[at], self.decimal))
        return self.join(map(_cell, row)) + LINE_END


def header_line(header: list[str], fmt: CsvFormat) -> str:
    """The header row: our own column names, bare (quoted only if one were not a plain
    identifier)."""
    return fmt.separator.join(map(_header_cell, header)) + LINE_END


def header_bytes(header: list[str], fmt: CsvFormat) -> bytes:
    return ((BOM if fmt.bom else "") + header_line(header, fmt)).encode("utf-8")


def encode(
    header: list[str], rows: Iterable[Iterable], fmt: CsvFormat, float_columns: Iterable[int] = ()
) -> Iterator[bytes]:
    """The CSV as UTF-8 chunks of ``CHUNK_ROWS`` rows, so that a million rows never sit in
    memory. ``None`` is an empty cell; floats in ``float_columns`` get the decimal mark."""
    line = LineWriter(fmt, float_columns).line
    lines = [(BOM if fmt.bom else "") + header_line(header, fmt)]
    for row in rows:
        lines.append(line(row))
        if len(lines) >= CHUNK_ROWS:
            yield "".join(lines).encode("utf-8")
            lines = []
    if lines:
        yield "".join(lines).encode("utf-8")
