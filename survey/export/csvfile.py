"""CSV as Norwegian researchers need it. Pure: no Flask, no database.

RFC 4180 (comma, CRLF, quotes where needed) in UTF-8 by default; for Excel in Norwegian,
``;`` as separator, a decimal comma and a byte-order mark. Every text cell passes an
OWASP CSV-injection guard.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A cell starting with one of these can become a formula in a spreadsheet (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHUNK_ROWS = 2000


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
    """A text cell that cannot be read as a formula: a leading = + - @ tab or CR gets a
    quote in front, as OWASP recommends."""
    return "'" + text if text.startswith(FORMULA_START) else text


def encode(header: list[str], rows: Iterable[Iterable], fmt: CsvFormat,
           float_columns: Iterable[int] = ()) -> Iterator[bytes]:
    """The CSV as UTF-8 chunks of ``CHUNK_ROWS`` rows, so that a million rows never sit in
    memory. ``None`` is an empty cell; floats in ``float_columns`` get the decimal mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.separator, lineterminator="\r\n")
    if fmt.bom:
        buffer.write(BOM)
    writer.writerow(header)
    floats = tuple(float_columns) if fmt.decimal != "." else ()
    written = 0
    for row in rows:
        if floats:
            row = list(row)
            for at in floats:
                if row[at] is not None:
                    row[at] = repr(row[at]).replace(".", fmt.decimal)
        writer.writerow(row)
        written += 1
        if written % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


class LineWriter:
    """One row at a time as a CSV line (used where rows are rendered before they are
    ordered): the same quoting and decimal mark as ``encode``."""

    def __init__(self, fmt: CsvFormat, float_columns: Iterable[int] = ()):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, delimiter=fmt.separator, lineterminator="\r\n")
        self.floats = tuple(float_columns) if fmt.decimal != "." else ()
        self.decimal = fmt.decimal

    def line(self, row) -> str:
        if self.floats:
            row = list(row)
            for at in self.floats:
                if row[at] is not None:
                    row[at] = repr(row[at]).replace(".", self.decimal)
        self.writer.writerow(row)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def header_bytes(header: list[str], fmt: CsvFormat) -> bytes:
    return ((BOM if fmt.bom else "") + LineWriter(fmt).line(header)).encode("utf-8")


def quote(text: str, separator: str) -> str:
    """A text cell quoted as csv.writer would (QUOTE_MINIMAL)."""
    if separator in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text
