"""CSV injection (issue 14): every text cell is quoted in both formats, and a formula
start is neutralised at the start of a cell and after any separator character, so that a
file read with the other list separator (the comma file in Norwegian Excel, which splits
on ``;``, or the mirror case) still has no cell that starts a formula."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given
from hypothesis import strategies as st

from survey.export import spill
from survey.export.csvfile import CsvFormat, LineWriter, encode, guard, text_cell
from survey.extensions import db
from survey.models import Comment, Office

from .test_dashboard import APRIL, add_responses, office_id
from .test_export import download, release, researcher  # noqa: F401  (fixtures)

ATTACK = "x;=cmd|' /C calc'!A0"
MIRROR = "x,=cmd|' /C calc'!A0"
FORMATS = (CsvFormat(), CsvFormat.excel_norwegian())
SPLITTERS = re.compile(r"[,;\t\r\n]")


def naive_cells(line: str) -> list[str]:
    """What a lenient reader that ignores quotes and splits on every separator any locale
    uses would make of a line: the worst case for a formula."""
    return [piece.lstrip('" ') for piece in SPLITTERS.split(line)]


def starts_formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@")


def test_a_formula_after_a_separator_is_neutralised_in_both_formats():
    assert guard(ATTACK) == "x;'=cmd|' /C calc'!A0"
    assert guard(MIRROR) == "x,'=cmd|' /C calc'!A0"
    for fmt in FORMATS:
        for text in (ATTACK, MIRROR, "=1+2", 'a;"=b', "a\n@SUM(A1)", " -2+3"):
            line = LineWriter(fmt).line([text, 7, None, 2.5])
            text_part = line.split(fmt.separator + "7" + fmt.separator)[0]
            assert text_part.startswith('"') and text_part.endswith('"')
            assert not any(starts_formula(c) for c in naive_cells(line)), (fmt, text, line)
            # A reader with the file's own separator gets the guarded text back, whole.
            cells = next(csv.reader(io.StringIO(line, newline=""), delimiter=fmt.separator))
            assert cells[0] == guard(text) and cells[1:] == ["7", "", "2.5"]


def test_numbers_and_empty_cells_stay_bare_and_the_header_plain():
    body = b"".join(
        encode(
            ["office", "score"],
            [["Bodø", 62.5], [None, -1]],
            CsvFormat.excel_norwegian(),
            float_columns=[1],
        )
    )
    assert body == '\ufeffoffice;score\r\n"Bodø";62,5\r\n;-1\r\n'.encode()
    body = b"".join(encode(["office", "score"], [["a,b", 0.5]], CsvFormat(), [1]))
    assert body == b'office,score\r\n"a,b",0.5\r\n'


@given(st.text(max_size=30), st.sampled_from(FORMATS))
def test_no_text_cell_ever_starts_a_formula_however_it_is_split(text, fmt):
    line = LineWriter(fmt).line([text])
    assert line == text_cell(text) + "\r\n" and guard(guard(text)) == guard(text)
    assert not any(starts_formula(c) for c in naive_cells(line))
    assert next(csv.reader(io.StringIO(line, newline=""), delimiter=fmt.separator)) == [guard(text)]


@given(st.text(max_size=30))
def test_the_worker_script_guards_as_the_package_does(text):
    """spill.py imports nothing from the package: its rare-path copy of the guard must
    write what csvfile writes."""
    assert spill._text(text) == (text_cell(text) if text else "")


def test_the_response_and_free_text_files_quote_and_guard_in_both_formats(researcher, app):
    with app.app_context():
        db.session.add(Office(slug=ATTACK, name="Angrepskontoret"))
        db.session.commit()
        add_responses(ATTACK, APRIL, 6)
        db.session.add(
            Comment(
                office_id=office_id(ATTACK),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body=MIRROR,
                status="approved",
            )
        )
        db.session.commit()
    for query, separator in (("", ","), ("?format=excel", ";")):
        _, rows, body = download(researcher, "/eksport/svar.csv" + query)
        assert {r["office"] for r in rows} == {guard(ATTACK)} and len(rows) == 6
        lines = body.decode("utf-8-sig").split("\r\n")[1:-1]
        for line, row in zip(lines, rows, strict=True):
            assert line.split(separator, 1)[1].startswith('"')  # the office cell, quoted
            period, language = row["period"], row["language"]
            assert f'{separator}"{period}"{separator}' in line  # quoted too
            assert f'{separator}"{language}"{separator}' in line or language == ""
            assert not any(starts_formula(c) for c in naive_cells(line))
        _, texts, body = download(
            researcher, "/eksport/fritekst.csv?bekreft=ja" + query.replace("?", "&")
        )
        assert texts[0]["text"] == guard(MIRROR) and texts[0]["office"] == guard(ATTACK)
        for line in body.decode("utf-8-sig").split("\r\n")[1:-1]:
            assert not any(starts_formula(c) for c in naive_cells(line)), line
