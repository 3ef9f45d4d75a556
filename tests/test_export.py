"""The researchers' export, tested on the bytes of the files: columns, values, shuffling,
no identifiers, small groups, the CSV-injection guard, Norwegian Excel format, free text,
the aggregate table, the audit log and the shell command."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from survey.domain.periods import add_months, today_in_norway
from survey.export import released
from survey.export.columns import columns
from survey.export.csvfile import CsvFormat, LineWriter, guard, quote
from survey.export.responses import item_text
from survey.extensions import db
from survey.models import AuditEvent, Comment, Office
from survey.questionnaire import get

from .export_reference import item_values, shuffled_lines
from .forms import settle
from .test_dashboard import APRIL, add_responses, make_account, office_id, sign_in
from .test_respond import HALF, answer_all, send

V1 = get(1)
SEPTEMBER = date(2026, 9, 1)
HEADER = [c.name for c in columns(V1)]


def a_release(through: date) -> SimpleNamespace:
    """A release covering every month up to ``through`` (the export reads no more of it)."""
    return SimpleNamespace(id=None, made_at=None, through=through, end=add_months(through, 1))


THIS_MONTH = today_in_norway().replace(day=1)


@pytest.fixture(autouse=True)
def release(monkeypatch):
    """By default a release through this month, so that answers sent in a test are in it;
    a test puts another in ``released.current_release`` to change that."""
    current = a_release(THIS_MONTH)
    monkeypatch.setattr(released, "current_release", lambda: current)
    released.forget()
    return current


@pytest.fixture
def researcher(client, app):
    with app.app_context():
        make_account("forsker", "forsker")
        make_account("leder", "leder", "bodo")
    sign_in(client, "forsker")
    return client


def download(client, path: str) -> tuple[list[str], list[dict], bytes]:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    body = response.get_data()
    text = body.decode("utf-8-sig")
    separator = ";" if text.split("\r\n", 1)[0].count(";") > 3 else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    rows = list(reader)
    return reader.fieldnames, rows, body


def test_only_researchers_and_admins_may_export(client, app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("admin", "admin")
    assert client.get("/eksport/").headers["Location"].startswith("/logg-inn")
    sign_in(client, "leder")
    for path in ("/eksport/", "/eksport/svar.csv", "/eksport/kodebok", "/eksport/aggregert.csv"):
        assert client.get(path).status_code == 404
    admin = app.test_client()
    sign_in(admin, "admin")
    assert admin.get("/eksport/").status_code == 200


def test_a_submitted_response_comes_out_with_its_codes(researcher, client, app):
    anonymous = app.test_client()
    for _ in range(5):
        assert send(anonymous, answer_all(anonymous)).status == 303
    settle(app)
    fields, rows, body = download(researcher, "/eksport/svar.csv")
    assert fields == HEADER
    assert len(rows) == 5
    row = rows[0]
    assert (
        row["office"] == "bodo" and row["language"] == "nb" and row["questionnaire_version"] == "1"
    )
    assert re.fullmatch(r"\d{4}-\d{2}", row["period"])  # a month code
    assert row["med_stige"] == "6" and row["sti_tiltak"] == "-1" and row["rel_antall"] == "2"
    assert row["tilt_deltatt_avklaring"] == "1" and row["tilt_deltatt_jobbklubb"] == "1"
    assert row["tilt_deltatt_mentor"] == "0" and row["tilt_deltatt_vet_ikke"] == "0"
    assert row["rung"] == "6" and row["band"] == "3" and row["scoring_version"] == "1"
    assert float(row["relasjon_index"]) > 0
    assert "hel_fritekst" not in fields  # free text is never in this file
    assert sorted(int(r["row"]) for r in rows) == [1, 2, 3, 4, 5]


def test_skipped_items_are_empty_and_skipped_multi_choice_is_empty_too(researcher, app):
    anonymous = app.test_client()
    for _ in range(5):
        assert send(anonymous, answer_all(anonymous, answers=HALF | {"med_stige": 2})).status == 303
    settle(app)
    _, rows, _ = download(researcher, "/eksport/svar.csv")
    assert rows[0]["med_stige"] == "2" and rows[0]["med_spurt"] == ""
    assert rows[0]["tilt_deltatt_avklaring"] == "" and rows[0]["rung"] == "2"


def test_no_identifier_leaves_in_the_file(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 12)
        ids = [
            str(i)
            for i in db.session.scalars(
                select(__import__("survey.models", fromlist=["Response"]).Response.id)
            )
        ]
    _, rows, body = download(researcher, "/eksport/svar.csv")
    text = body.decode()
    assert len(rows) == 12
    for response_id in ids:
        assert response_id not in text and response_id.replace("-", "") not in text
    assert not re.search(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}", text)


def test_rows_are_shuffled_on_every_export(researcher, app):
    with app.app_context():
        for rung in range(1, 9):
            add_responses("bodo", APRIL, 5, rung=rung, index=float(rung * 10))
    orders = []
    for _ in range(3):
        _, rows, _ = download(researcher, "/eksport/svar.csv")
        assert [r["row"] for r in rows] == [str(n) for n in range(1, 41)]
        orders.append([r["rung"] for r in rows])
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(orders[2])
    assert len({tuple(order) for order in orders}) == 3  # 40! orders: a repeat means no shuffle
    inserted = [str(rung) for rung in range(1, 9) for _ in range(5)]
    assert all(order != inserted for order in orders)


def test_small_office_months_are_pooled_or_left_out(researcher, app):
    with app.app_context():
        db.session.add_all([Office(slug=f"liten-{n}", name=f"NAV Liten {n}") for n in range(3)])
        db.session.commit()
        add_responses("bodo", APRIL, 20)
        add_responses("tromso", APRIL, 12)
        for n in range(3):
            add_responses(f"liten-{n}", APRIL, 2)
        add_responses("liten-0", SEPTEMBER, 3)  # alone in September: the whole month is under k
    _, rows, _ = download(researcher, "/eksport/svar.csv")
    offices = [r["office"] for r in rows]
    assert offices.count("bodo") == 20 and offices.count("tromso") == 12
    assert offices.count("andre") == 6
    assert not any(o.startswith("liten") for o in offices)
    assert all(r["period"] == "2026-04" for r in rows)  # September's 3 are left out
    info = researcher.get("/eksport/svar-info.txt").get_data(as_text=True)
    assert "Rader / rows: 38" in info and '"andre": 6' in info
    # Fewer than k left out in the whole release: the number is not given.
    assert "Utelatt / left out (months under k, whole release): under 5" in info
    # A small office's rows are "andre" rows, whoever asks: never its own.
    _, alone, _ = download(researcher, "/eksport/svar.csv?kontor=liten-0")
    assert alone == []
    _, pooled, _ = download(researcher, "/eksport/svar.csv?kontor=andre")
    assert len(pooled) == 6 and {r["office"] for r in pooled} == {"andre"}


def test_the_csv_injection_guard_on_text_cells(researcher, app):
    with app.app_context():
        db.session.add(Office(slug="=1+2", name="Formelkontoret"))
        db.session.commit()
        add_responses("=1+2", APRIL, 6)
        db.session.add(
            Comment(
                office_id=office_id("=1+2"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body='=HYPERLINK("http://x";"klikk")',
                status="approved",
            )
        )
        db.session.commit()
    _, rows, _ = download(researcher, "/eksport/svar.csv")
    assert {r["office"] for r in rows} == {"'=1+2"}
    _, texts, _ = download(researcher, "/eksport/fritekst.csv?bekreft=ja")
    assert texts[0]["text"] == """'=HYPERLINK("http://x";"klikk")"""
    assert texts[0]["office"] == "'=1+2"


def test_excel_format_has_bom_semicolons_and_decimal_commas(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 6, index=62.5)
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nn",
                item_code="hel_fritekst",
                body="Rettleiaren lytta; bra for meg. Æ, ø og å.",
                status="approved",
            )
        )
        db.session.commit()
    fields, rows, body = download(researcher, "/eksport/svar.csv?format=excel")
    assert body.startswith(b"\xef\xbb\xbf")
    assert body[3:].split(b"\r\n", 1)[0].decode() == ";".join(HEADER)
    assert rows[0]["medvirkning_index"] == "62,5" and rows[0]["stigma_index"] == "37,5"
    _, texts, text_body = download(researcher, "/eksport/fritekst.csv?bekreft=ja&format=excel")
    assert texts[0]["text"] == "Rettleiaren lytta; bra for meg. Æ, ø og å."
    assert "Æ, ø og å".encode() in text_body


def test_free_text_is_opt_in_approved_only_and_pools_small_offices(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 10)
        for slug in ("bodo", "tromso"):
            for status in ("approved", "pending", "rejected"):
                db.session.add(
                    Comment(
                        office_id=office_id(slug),
                        period_start=APRIL,
                        questionnaire_version=1,
                        language="nb",
                        item_code="hel_fritekst",
                        body=f"{status} fra {slug}",
                        status=status,
                    )
                )
        db.session.commit()
    assert researcher.get("/eksport/fritekst.csv").status_code == 404
    fields, texts, _ = download(researcher, "/eksport/fritekst.csv?bekreft=ja")
    assert "id" not in fields
    by_text = {t["text"]: (t["office"], t["period"]) for t in texts}
    # Only approved text; tromso has no released answer in April (no published class to
    # put its comment in), so its comment is left out.
    assert by_text == {"approved fra bodo": ("bodo", "2026-04")}
    _, alone, _ = download(researcher, "/eksport/fritekst.csv?bekreft=ja&kontor=tromso")
    assert alone == []


def test_aggregate_table_matches_the_dashboard_and_suppresses_alike(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 20, rung=7)
        add_responses("tromso", APRIL, 3)
    fields, rows, _ = download(researcher, "/eksport/aggregert.csv?inndeling=month")
    april = [r for r in rows if r["period"] == "2026-04"]
    by_office = {r["office"]: r for r in april}
    # Bodø would give Tromsø's 3 away beside the national 23: both are hidden.
    assert by_office["bodo"]["responses"] == "" and by_office["tromso"]["responses"] == ""
    assert by_office["hele_landet"]["responses"] == "23"
    assert "andre" in by_office and by_office["andre"]["responses"] == "23"


def test_codebook_page_and_csv_cover_every_column(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 8)
    page = researcher.get("/eksport/kodebok").get_data(as_text=True)
    for name in HEADER:
        assert name in page
    fields, rows, _ = download(researcher, "/eksport/kodebok.csv")
    assert [r["column"] for r in rows] == HEADER
    ladder = next(r for r in rows if r["column"] == "med_stige")
    assert ladder["question_nn"] and ladder["question_en"] and ladder["rungs"]


def test_export_page_shows_counts_and_reliability(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 10)
    html = researcher.get("/eksport/").get_data(as_text=True)
    assert "Rader i fila" in html and "Cronbachs alfa" in html


def test_the_selection_is_checkboxes_with_a_search_that_needs_no_script(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 10)
    html = researcher.get("/eksport/").get_data(as_text=True)
    form = html[html.index('class="export-form"') :]
    assert " multiple" not in form[: form.index("</form>")]  # no multi-select boxes
    assert 'type="checkbox" id="kontor-bodo" name="kontor" value="bodo"' in html
    assert 'type="checkbox" id="kontor-tromso" name="kontor" value="tromso"' in html
    assert re.search(r'type="checkbox" id="periode-2026-04" name="periode" value="2026-04"', html)
    assert 'type="search" id="sok" name="sok"' in html
    # A search (sent as the form, no script) keeps the matching offices and the ticked ones.
    found = researcher.get("/eksport/?sok=TROMS&kontor=bodo&periode=2026-04").get_data(as_text=True)
    assert 'value="tromso"' in found
    assert 'id="kontor-bodo" name="kontor" value="bodo" checked' in found  # ticked, not a match
    assert 'id="periode-2026-04" name="periode" value="2026-04" checked' in found
    assert "kontor passer med «TROMS»" in found
    nothing = researcher.get("/eksport/?sok=finnes-ikke").get_data(as_text=True)
    assert 'value="tromso"' not in nothing and 'value="bodo"' not in nothing
    # The download links carry the selection the boxes made, checked by the view as before.
    assert "kontor=bodo" in found and "periode=2026-04" in found
    bad = researcher.get("/eksport/?kontor=finnes-ikke").get_data(as_text=True)
    assert "finnes ikke og ble hoppet over" in bad


def test_every_export_is_audited(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 7)
    download(researcher, "/eksport/svar.csv?periode=2026-Q2")
    download(researcher, "/eksport/aggregert.csv")
    researcher.get("/eksport/fritekst.csv?bekreft=ja")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("export.%")).order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events] == [
        "export.responses",
        "export.aggregate",
        "export.free_text",
    ]
    first = events[0]
    assert first.actor == "forsker" and first.details["rows"] == 7 and first.details["complete"]
    assert first.details["selection"]["periods"] == ["2026-Q2"]


def test_the_shell_command_writes_the_same_file_and_audits_it(runner, app, tmp_path):
    with app.app_context():
        add_responses("bodo", APRIL, 9)
    out = tmp_path / "svar.csv"
    result = runner.invoke(args=["export", "responses", "--out", str(out), "--period", "2026-04"])
    assert result.exit_code == 0, result.output
    assert "9 rows" in result.output
    lines = out.read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == ",".join(HEADER) and len([line for line in lines if line]) == 10
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
        assert event.actor == "shell" and event.details["rows"] == 9
    refused = runner.invoke(
        args=["export", "responses", "--out", str(out), "--period", "2026-04-01..05"]
    )
    assert refused.exit_code != 0


# --- the fast paths, held to the plain ones ------------------------------------------

answer_values = st.one_of(st.none(), st.integers(-1, 8))
MULTI = V1.item("tilt_deltatt")
answers_strategy = st.fixed_dictionaries(
    {},
    optional={
        **{item.code: answer_values for item in V1.items if item.type not in ("multi", "text")},
        MULTI.code: st.lists(st.sampled_from([o.value for o in MULTI.options]), unique=True),
    },
).map(lambda d: {k: v for k, v in d.items() if v is not None})


@given(answers_strategy, st.sampled_from([",", ";"]))
def test_item_text_equals_item_values_through_csv_writer(answers, separator):
    expected = LineWriter(CsvFormat(separator=separator)).line(item_values(V1)(answers))
    assert item_text(V1, separator)(answers) + "\r\n" == expected


@given(st.text(max_size=20), st.sampled_from([",", ";"]))
def test_a_text_cell_is_guarded_quoted_and_reads_back(text, separator):
    fmt = CsvFormat(separator=separator)
    line = LineWriter(fmt).line([text])
    assert line == quote(guard(text), separator) + "\r\n" and line.startswith('"')
    assert next(csv.reader(io.StringIO(line, newline=""), delimiter=separator)) == [guard(text)]


@given(st.lists(st.integers(), max_size=300))
def test_shuffled_lines_is_a_numbered_permutation(values):
    lines = list(shuffled_lines(iter(values), lambda v: f"{v}\r\n", ","))
    assert [line.split(",", 1)[0] for line in lines] == [str(n) for n in range(1, len(values) + 1)]
    assert sorted(int(line.split(",", 1)[1]) for line in lines) == sorted(values)


def test_admins_read_the_audit_log_and_nobody_else_does(researcher, app):
    with app.app_context():
        add_responses("bodo", APRIL, 6)
        make_account("admin", "admin")
    download(researcher, "/eksport/svar.csv")
    download(researcher, "/eksport/aggregert.csv")
    assert researcher.get("/admin/revisjon").status_code == 404  # a researcher
    admin = app.test_client()
    sign_in(admin, "admin")
    html = admin.get("/admin/revisjon").get_data(as_text=True)
    assert "export.responses" in html and "forsker" in html
    assert re.search(r"rows:</span>\s*6<", html)
    only = admin.get("/admin/revisjon?handling=export.aggregate").get_data(as_text=True)
    assert "export.aggregate</td>" in only and "export.responses</td>" not in only
