"""The response file rendered by worker processes (SQLite: each reads its rowid range;
PostgreSQL: COPY text handed over by the exporting process) is the file one process
writes: the same rows, shuffled afresh, numbered 1..n, with the same tally."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from survey.export import released
from survey.export import responses as export
from survey.export.csvfile import CsvFormat
from survey.export.responses import Selection, WrittenCounts, response_file
from survey.export.spill import copy_unescape, items_renderer
from survey.extensions import db
from survey.models import Office, Response
from survey.questionnaire import get

from .test_dashboard import APRIL, add_responses
from .test_export import release  # noqa: F401  (autouse: a release through this month)

V1 = get(1)


@pytest.fixture
def seeded(runner, app):
    """Synthetic answers over six offices and three months, plus small offices: some of
    their rows pool as "andre", some are left out (a month with only small offices)."""
    result = runner.invoke(
        args=["seed-demo", "--offices", "6", "--responses", "1500", "--months", "3"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.add_all([Office(slug=f"liten-{n}", name=f"NAV Liten {n}") for n in range(2)])
        db.session.commit()
        month = max(db.session.scalars(select(Response.period_start)))
        add_responses("liten-0", month, 2)
        add_responses("liten-1", month, 2)
        add_responses("liten-0", APRIL, 3)  # alone in its month: left out
    return app


def export_rows(app, workers: int, fmt: CsvFormat = CsvFormat(), selection=None):
    with app.app_context():
        selection = selection or Selection(1)
        codes = dict(db.session.execute(select(Office.id, Office.slug)).all())
        tally = WrittenCounts()
        with db.engine.connect() as connection:
            decisions = released.decisions(connection, 1, app.config["STIGEN_K"])
            body = b"".join(
                response_file(
                    connection, V1, selection, decisions, codes, tally, fmt, workers=workers
                )
            )
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt.separator))
    return rows[0], rows[1:], tally, body


def test_workers_write_the_same_rows_as_one_process_in_a_new_order(seeded):
    header, alone, tally_alone, _ = export_rows(seeded, workers=0)
    orders = []
    for _ in range(2):
        header_w, rows, tally, body = export_rows(seeded, workers=2)
        assert header_w == header
        assert body.endswith(b"\r\n") and b"\n\n" not in body
        assert [r[0] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
        assert Counter(tuple(r[1:]) for r in rows) == Counter(tuple(r[1:]) for r in alone)
        assert (tally.rows, tally.pooled, tally.left_out) == (
            tally_alone.rows,
            tally_alone.pooled,
            tally_alone.left_out,
        )
        orders.append([tuple(r[1:]) for r in rows])
    assert len(alone) == tally_alone.rows == 1504 and tally_alone.left_out == 3
    assert tally_alone.pooled == [r[1] for r in alone].count("andre") >= 4
    assert orders[0] != orders[1] != [tuple(r[1:]) for r in alone]


def test_workers_write_excel_format_alike_and_respect_the_filters(seeded):
    from sqlalchemy import func

    from survey.domain.periods import ReportingPeriod

    with seeded.app_context():  # the biggest office-month, surely shown
        office, month = db.session.execute(
            select(Response.office_id, Response.period_start)
            .group_by(Response.office_id, Response.period_start)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        slug = db.session.scalar(select(Office.slug).where(Office.id == office))

    selection = Selection(1, (ReportingPeriod.containing(month, "half"),), (office,))
    fmt = CsvFormat.excel_norwegian()
    header, alone, tally_alone, body_alone = export_rows(seeded, 0, fmt, selection)
    _, rows, tally, body = export_rows(seeded, 2, fmt, selection)
    assert body.startswith(b"\xef\xbb\xbf") and body_alone.startswith(b"\xef\xbb\xbf")
    assert 0 < len(rows) == tally.rows == tally_alone.rows
    assert Counter(tuple(r[1:]) for r in rows) == Counter(tuple(r[1:]) for r in alone)
    assert {r[1] for r in rows} == {slug}
    at = header.index("medvirkning_index")
    assert any("," in r[at] for r in rows) and not any("." in r[at] for r in rows)


def store_at_bodo_in_april(app, responses: list[dict]) -> None:
    """Store a version-1 response at NAV Bodø in April for each dict (its fields over
    plain defaults), then rebuild the tallies the release reads."""
    from survey import tally

    with app.app_context():
        oid = db.session.scalar(select(Office.id).where(Office.slug == "bodo"))
        for fields in responses:
            plain = dict(language="nb", answers={"med_stige": 3}, rung=3, band=2)
            db.session.add(
                Response(
                    office_id=oid,
                    period_start=APRIL,
                    questionnaire_version=1,
                    scoring_version=1,
                    **(plain | fields),
                )
            )
        db.session.commit()
        tally.rebuild(db.session)
        db.session.commit()


def test_answers_with_backslashes_and_quotes_come_out_alike(app):
    """Stored answers are checked on the way in; if text with escapes ever reached them,
    COPY's escaping (PostgreSQL) must not change a cell."""
    answers = {"med_stige": 3, "tilt_deltatt": ["kurs", 'a\\b"\t\n', "mentor"]}
    indices = {"medvirkning": 100 / 3, "talmodighet": 0.1 + 0.2, "relasjon": 1e-05}
    store_at_bodo_in_april(app, [dict(language="nn", answers=answers, theme_indices=indices)] * 6)
    _, alone, _, _ = export_rows(app, 0)
    header, rows, tally_w, _ = export_rows(app, 2)
    assert tally_w.rows == 6 and sorted(rows) == sorted(alone)
    row = dict(zip(header, rows[0], strict=True))
    assert row["tilt_deltatt_kurs"] == "1" and row["tilt_deltatt_mentor"] == "1"
    assert row["tilt_deltatt_avklaring"] == "0" and row["language"] == "nn"
    assert row["medvirkning_index"] == repr(100 / 3) and row["stigma_index"] == ""
    assert row["talmodighet_index"] == repr(0.1 + 0.2) and row["relasjon_index"] == "1e-05"


# Indices (0-100) whose text is easy to get wrong: thirds and sevenths, sums that do not
# add up exactly, a tiny one written with an exponent, whole numbers (COPY writes 45.0 as
# "45"), one a hair below a half.
AWKWARD_INDICES = [100 / 3, 200 / 3, 100 / 7, 0.1 + 0.2, 1e-05, 45.0, 0.0, 100.0, 87.49999999999999]


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("fmt", [CsvFormat(), CsvFormat.excel_norwegian()], ids=["csv", "excel"])
def test_theme_cells_are_each_index_as_the_database_reads_it(app, workers, fmt):
    """The export reads a response's theme indices as one JSON text and takes each theme
    out itself (one parse per row); every cell is what the database's own extraction
    (``json_extract`` on SQLite, ``->>`` cast to a double on PostgreSQL) gives, written
    as Python writes the float: missing themes, an empty object and awkward floats
    included, in the process and in workers, with either decimal mark."""
    from survey.export.columns import score_columns
    from survey.export.spill import decimal_text

    themes = list(V1.themes)
    rng = random.Random(18)
    drawn = [
        {theme: rng.choice(AWKWARD_INDICES) for theme in themes if rng.random() < 0.8}
        for _ in range(24)
    ]
    store_at_bodo_in_april(
        app,
        [
            dict(band=n % 3 + 1, theme_indices={} if n == 0 else indices)
            for n, indices in enumerate(drawn)
        ],
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            extract = "CAST(theme_indices ->> '{}' AS double precision)"
        else:
            extract = "json_extract(theme_indices, '$.{}')"
        sql = (
            "SELECT rung, band, "
            + ", ".join(extract.format(theme) for theme in themes)
            + ", scoring_version FROM response"
        )
        with db.engine.connect() as connection:
            stored = connection.exec_driver_sql(sql).all()

    def cell(value, is_index):
        if value is None:
            return ""
        return decimal_text(float(value), fmt.decimal) if is_index else str(value)

    is_index = [False, False, *([True] * len(themes)), False]
    expected = Counter(
        tuple(cell(v, i) for v, i in zip(row, is_index, strict=True)) for row in stored
    )
    header, rows, tally_w, _ = export_rows(app, workers, fmt)
    at = [header.index(column.name) for column in score_columns(V1)]
    assert tally_w.rows == 24
    assert Counter(tuple(r[n] for n in at) for r in rows) == expected
    assert ("", "", "", "") in {t[2:-1] for t in expected}  # the empty object
    assert any(decimal_text(1e-05, fmt.decimal) in t for t in expected)


def test_theme_cells_are_the_same_remembered_or_not(monkeypatch):
    """Past the memo's bound a text is parsed every time: the same cells."""
    from survey.export import spill

    monkeypatch.setattr(spill, "THEMES_MEMO_LIMIT", 3)
    render = spill.themes_renderer(["a", "b"], ",", ";")
    rng = random.Random(5)
    texts = [json.dumps({"a": rng.choice(AWKWARD_INDICES), "b": n / 7}) for n in range(40)]
    for text in texts * 2 + ["{}", "null", "", None]:
        found = json.loads(text) if text else None
        expected = "".join(
            ";" + ("" if not found or found.get(t) is None else repr(found[t]).replace(".", ","))
            for t in ("a", "b")
        )
        assert render(text) == expected
    assert spill.themes_renderer([], ".", ",")('{"a": 1.5}') == ""


def test_the_download_renders_in_workers_for_a_large_selection(seeded, monkeypatch):
    from .test_dashboard import make_account, sign_in

    monkeypatch.setattr(export, "PARALLEL_MIN_ROWS", 1000)
    started = []
    real_popen = export.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(args[0])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(export.subprocess, "Popen", popen)
    with seeded.app_context():
        make_account("forsker", "forsker")
    client = seeded.test_client()
    sign_in(client, "forsker")
    body = client.get("/eksport/svar.csv").get_data()
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(rows) == 1 + 1504 and [r[0] for r in rows[1:]] == [str(n) for n in range(1, 1505)]
    assert len(started) == min(export.MAX_WORKERS, len(os.sched_getaffinity(0))) >= 2
    assert started[0][:3] == [sys.executable, "-I", "-S"]


def test_a_failing_worker_fails_the_export_and_leaves_no_process(seeded, monkeypatch, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nsys.stdin.readline()\nsys.exit('no luck')\n")
    monkeypatch.setattr(export, "SPILL_SCRIPT", str(broken))
    started = []
    real_popen = export.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(export.subprocess, "Popen", popen)
    with pytest.raises(RuntimeError, match="no luck"):
        export_rows(seeded, workers=2)
    assert len(started) == 2 and all(p.poll() is not None for p in started)


def test_a_download_stopped_halfway_stops_the_workers_and_removes_its_files(seeded, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_BYTES", 1000)
    started = []
    real_popen = export.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(export.subprocess, "Popen", popen)
    folders = []
    real_folder = export.tempfile.TemporaryDirectory

    def folder(*args, **kwargs):
        folders.append(real_folder(*args, **kwargs))
        return folders[-1]

    monkeypatch.setattr(export.tempfile, "TemporaryDirectory", folder)
    with seeded.app_context(), db.engine.connect() as connection:
        decisions = released.decisions(connection, 1, seeded.config["STIGEN_K"])
        chunks = response_file(
            connection, V1, Selection(1), decisions, {}, WrittenCounts(), CsvFormat(), workers=2
        )
        assert next(chunks).startswith(b"row,office,")
        assert next(chunks)[:2] == b"1,"  # the first rows are out
        chunks.close()
    assert len(started) == 2 and all(p.poll() is not None for p in started)
    assert not os.path.exists(folders[0].name)


def test_worker_count_keeps_small_selections_and_memory_databases_here(app):
    with app.app_context(), db.engine.connect() as connection:
        assert export.worker_count(connection, 10) == 0
        cores = len(os.sched_getaffinity(0))
        expected = min(export.MAX_WORKERS, cores) if cores > 1 else 0
        assert export.worker_count(connection, 10**6) == expected
    from sqlalchemy import create_engine

    memory = create_engine("sqlite://")
    with memory.connect() as connection:
        assert export.worker_count(connection, 10**6) == 0


def test_copy_unescape_undoes_postgresql_text_escapes():
    assert copy_unescape(r"x\\\\y") == r"x\\y"
    assert copy_unescape(r"a\tb\nc\\d\101\x41") == "a\tb\nc\\dAA"


def test_multi_choice_text_is_the_same_remembered_or_not():
    render = items_renderer([("multi", "m", ("a", "b", "c"))], ",")
    rng = random.Random(3)
    for _ in range(200):
        chosen = rng.sample(["a", "b", "c", "x"], k=rng.randrange(0, 5))
        expected = ",".join("1" if o in chosen else "0" for o in ("a", "b", "c"))
        assert render({"m": chosen}) == expected
    assert render({}) == ",," and render({"m": "ab"}) == "1,1,0"


def test_workers_with_nothing_to_export_write_the_header_only(app):
    header, rows, tally, body = export_rows(app, workers=2)
    assert rows == [] and tally.rows == 0 and body.count(b"\r\n") == 1
    assert header[0] == "row"


def test_item_values_reads_json_text_too():
    from survey.export.responses import item_text

    from .export_reference import item_values

    text = '{"med_stige": 4, "tilt_deltatt": ["kurs"], "rel_antall": -1}'
    assert item_values(V1)(text) == item_values(V1)(json.loads(text))
    assert item_text(V1, ",")(text) == item_text(V1, ",")(json.loads(text))


def test_kept_lookup_holds_detail_classes_sorted_whatever_order_they_come_in():
    """Full-detail classes (counsellor cell answered) are kept as a sorted array, found
    by bisection: in the order a release file keeps them or in a set's order (decisions
    made in this process); the others as bits."""
    from bisect import bisect_left

    from survey.export.anonymity import pack_kept
    from survey.export.spill import kept_lookup

    detail = [(3 << 16) | 0x1231, (0 << 16) | 0x0001, (7 << 16) | 0xF00F, (3 << 16) | 0x1002]
    plain = [(2 << 16) | 0x1230, (7 << 16) | 0x0000]
    for order in (sorted(detail + plain), list(reversed(detail + plain))):
        found, bits = kept_lookup(pack_kept(order), 8)
        assert list(found) == sorted(detail)
        for cls in detail:
            assert found[bisect_left(found, cls)] == cls
        absent = (3 << 16) | 0x1101  # between two held classes
        at = bisect_left(found, absent)
        assert at == 2 and found[at] != absent
        on = {at for at in range(len(bits) * 8) if bits[at >> 3] >> (at & 7) & 1}
        assert on == {cls >> 4 for cls in plain}


@pytest.mark.parametrize("separator", [",", ";"])
def test_a_numbered_bucket_is_its_records_shuffled_and_numbered(tmp_path, separator):
    """The numbered bucket (bytes throughout) is ``bucket_records`` (text) numbered:
    the same records in the same shuffled order, every part's share, UTF-8 kept."""
    from survey.export.spill import END, numbered_bucket

    from .export_reference import bucket_records

    def write_parts():
        (tmp_path / "0-5").write_bytes("".join(f'"bodø";{n}{END}' for n in range(7)).encode())
        (tmp_path / "1-5").write_bytes("".join(f'"ås",{n},"x"{END}' for n in range(4)).encode())

    write_parts()
    text = "".join(
        f"{n}{separator}{record}\r\n"
        for n, record in enumerate(bucket_records(str(tmp_path), 2, 5, random.Random(3)), 40)
    )
    write_parts()
    got = numbered_bucket(str(tmp_path), 2, 5, 40, separator, random.Random(3))
    assert got == text.encode("utf-8")
    assert got.count(b"\r\n") == 11 and got.startswith(f"40{separator}".encode())
    assert not any(tmp_path.iterdir())  # read once, then removed
