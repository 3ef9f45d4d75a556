"""The export's codebook: Cronbach's alpha (in Python and in SQL, on the real database),
the codebook rows, the R and pandas snippets and the HTML codebook."""

from __future__ import annotations

import ast
import csv
import random
import re
import statistics
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from flask import render_template
from sqlalchemy import select

from survey.export.codebook import HEADER, codebook_rows, pandas_snippet, r_snippet
from survey.export.columns import BINARY, CHOICE, SCALE, columns
from survey.export.reliability import Alpha, alpha_by_theme, alpha_from_sums
from survey.extensions import db
from survey.models import Office, Response
from survey.questionnaire import DONT_KNOW, get

from .reliability_reference import cronbach_alpha, item_value

V1 = get(1)
MEDVIRKNING = V1.theme_items("medvirkning")
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)


def expected_alpha(rows: list[tuple]) -> float:
    """Cronbach's alpha the textbook way, with the statistics module (sample variances)."""
    k = len(rows[0])
    item_variances = [statistics.variance([row[i] for row in rows]) for i in range(k)]
    total_variance = statistics.variance([sum(row) for row in rows])
    return k / (k - 1) * (1 - sum(item_variances) / total_variance)


# --- alpha in Python ------------------------------------------------------------------

HAND_WORKED = [(1, 2, 2), (3, 3, 4), (5, 4, 5), (2, 2, 1), (4, 5, 4), (3, 2, 3)]


def test_alpha_on_a_hand_worked_dataset():
    result = cronbach_alpha(HAND_WORKED, 3)
    assert result.n == 6 and result.items == 3
    assert result.alpha == pytest.approx(expected_alpha(HAND_WORKED), abs=1e-12)
    # By hand: item variances 10/5, 8/5, 10.8333/5; totals 5, 10, 14, 5, 13, 8 with
    # variance 74.8333/5; α = 3/2 · (1 − 28.8333/74.8333) = 0.92205.
    assert result.alpha == pytest.approx(0.92205, abs=1e-5)


def test_alpha_is_none_for_fewer_than_two_complete_cases_or_no_variance():
    assert cronbach_alpha([], 3) == Alpha(None, 0, 3)
    assert cronbach_alpha([(1, 2, 3)], 3) == Alpha(None, 1, 3)
    assert cronbach_alpha([(1, 2, 3), (None, 2, 3), (4, None, None)], 3) == Alpha(None, 1, 3)
    assert cronbach_alpha([(3, 3, 3), (3, 3, 3), (3, 3, 3)], 3) == Alpha(None, 3, 3)
    assert alpha_from_sums(0, 5, [0] * 5, [0] * 5, 0, 0) == Alpha(None, 0, 5)
    with pytest.raises(ValueError):
        cronbach_alpha([(1, 2)], 3)


def test_alpha_can_be_negative_and_sums_may_come_as_decimals():
    rows = [(1, 5), (5, 1), (2, 3), (4, 4)]
    result = cronbach_alpha(rows, 2)
    assert result.alpha == pytest.approx(expected_alpha(rows)) and result.alpha < 0
    sums = [sum(r[i] for r in rows) for i in range(2)]
    sumsqs = [sum(r[i] ** 2 for r in rows) for i in range(2)]
    totals = [sum(r) for r in rows]
    from_decimals = alpha_from_sums(
        Decimal(4),
        2,
        [Decimal(s) for s in sums],
        [Decimal(s) for s in sumsqs],
        Decimal(sum(totals)),
        Decimal(sum(t * t for t in totals)),
    )
    assert from_decimals.alpha == pytest.approx(result.alpha)


def test_reverse_coded_items_are_flipped():
    spurt, overhode = V1.item("med_spurt"), V1.item("med_overhode")
    assert not spurt.reverse and overhode.reverse
    assert [item_value(spurt, v) for v in (1, 2, 3, 4, 5)] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [item_value(overhode, v) for v in (1, 2, 3, 4, 5)] == [5.0, 4.0, 3.0, 2.0, 1.0]


def test_missing_and_dont_know_are_none():
    spurt = V1.item("med_spurt")
    for value in (None, DONT_KNOW, 0, 6, True, "3", 2.5, [3]):
        assert item_value(spurt, value) is None, value


def test_dont_know_rows_are_left_out():
    answers = [
        {"med_spurt": 4, "med_alvor": 5, "med_tiltak": 4, "med_plan": 5, "med_overhode": 1},
        {"med_spurt": 2, "med_alvor": 1, "med_tiltak": 2, "med_plan": 2, "med_overhode": 4},
        {"med_spurt": 3, "med_alvor": 3, "med_tiltak": 4, "med_plan": 3, "med_overhode": 3},
        {"med_spurt": 5, "med_alvor": DONT_KNOW, "med_tiltak": 1, "med_plan": 1, "med_overhode": 5},
        {"med_spurt": 1, "med_alvor": 5, "med_tiltak": 5, "med_plan": 2},  # one skipped
        {"med_spurt": 4, "med_alvor": 4, "med_tiltak": 3, "med_plan": 5, "med_overhode": 2},
    ]
    rows = [tuple(item_value(i, a.get(i.code)) for i in MEDVIRKNING) for a in answers]
    complete = [rows[n] for n in (0, 1, 2, 5)]
    # Flipped by hand: med_overhode 1 → 5, 4 → 2, 3 → 3, 2 → 4.
    assert [r[-1] for r in complete] == [5.0, 2.0, 3.0, 4.0]
    result = cronbach_alpha(rows, len(MEDVIRKNING))
    assert result.n == 4
    assert result.alpha == pytest.approx(expected_alpha(complete))
    # Had -1 counted as a value, the fourth row would have changed the result.
    with_dont_know = complete + [(5, -1, 1, 1, 1)]
    assert result.alpha != pytest.approx(expected_alpha(with_dont_know))


# --- alpha in SQL -----------------------------------------------------------------------


def office_id(slug: str) -> int:
    return db.session.scalar(select(Office.id).where(Office.slug == slug))


def medvirkning_answers(rng: random.Random) -> dict:
    """Answers that hang together: one latent level, each item near it, the reverse item
    mirrored; now and then a don't-know or a skipped item."""
    latent = rng.randint(1, 5)
    answers = {"med_stige": rng.randint(1, 8)}
    for item in MEDVIRKNING:
        value = min(5, max(1, latent + rng.choice((-1, 0, 0, 1))))
        if item.reverse:
            value = 6 - value
        roll = rng.random()
        if roll < 0.05:
            answers[item.code] = DONT_KNOW
        elif roll > 0.97:
            continue
        else:
            answers[item.code] = value
    return answers


@pytest.fixture
def stored(app):
    """Responses in two offices and two months, plus one for another questionnaire
    version; returns (office slug, month, answers) for each version-1 row."""
    rng = random.Random(20260401)
    data = []
    with app.app_context():
        ids = {slug: office_id(slug) for slug in ("bodo", "tromso")}
        for n in range(60):
            slug, month = ("bodo", "tromso")[n % 2], (APRIL, MAY)[n % 3 == 0]
            answers = medvirkning_answers(rng)
            data.append((slug, month, answers))
            db.session.add(
                Response(
                    office_id=ids[slug],
                    period_start=month,
                    questionnaire_version=1,
                    language="nb",
                    answers=answers,
                    scoring_version=1,
                )
            )
        db.session.add(
            Response(
                office_id=ids["bodo"],
                period_start=APRIL,
                questionnaire_version=2,
                language="nb",
                answers={c: 1 for c in ("med_spurt", "med_alvor", "med_tiltak", "med_plan")}
                | {"med_overhode": 1},
                scoring_version=1,
            )
        )
        db.session.commit()
    return data


def python_alpha(data, keep=lambda slug, month: True) -> Alpha:
    rows = [
        tuple(item_value(i, answers.get(i.code)) for i in MEDVIRKNING)
        for slug, month, answers in data
        if keep(slug, month)
    ]
    return cronbach_alpha(rows, len(MEDVIRKNING))


def assert_same(got: Alpha, want: Alpha):
    assert (got.n, got.items) == (want.n, want.items)
    assert want.alpha is not None
    assert got.alpha == pytest.approx(want.alpha, abs=1e-9)


def test_alpha_by_theme_matches_python_on_the_database(app, stored):
    want = python_alpha(stored)
    assert 30 < want.n < 60  # some rows were left out, most were not
    assert want.alpha > 0.7  # the items hang together once med_overhode is flipped
    with app.app_context():
        result = alpha_by_theme(db.session, V1)
    assert set(result) == set(V1.themes)
    assert_same(result["medvirkning"], want)
    # Themes nobody answered: no complete case, no alpha.
    assert result["stigma"] == Alpha(None, 0, len(V1.theme_items("stigma")))


def test_alpha_by_theme_flips_reverse_items_in_sql(app, stored):
    unflipped = cronbach_alpha(
        [
            tuple(
                a.get(i.code) if a.get(i.code) not in (None, DONT_KNOW) else None
                for i in MEDVIRKNING
            )
            for _s, _m, a in stored
        ],
        len(MEDVIRKNING),
    )
    with app.app_context():
        result = alpha_by_theme(db.session, V1)["medvirkning"]
    assert result.alpha != pytest.approx(unflipped.alpha, abs=1e-6)


def test_alpha_by_theme_respects_the_filters(app, stored):
    with app.app_context():
        bodo = office_id("bodo")
        by_office = alpha_by_theme(db.session, V1, [Response.office_id == bodo])
        by_month = alpha_by_theme(db.session, V1, [Response.period_start >= MAY])
        both = alpha_by_theme(
            db.session, V1, (Response.office_id.in_([bodo]), Response.period_start < MAY)
        )
        nothing = alpha_by_theme(db.session, V1, [Response.office_id == office_id("stengt")])
    assert_same(by_office["medvirkning"], python_alpha(stored, lambda s, m: s == "bodo"))
    assert_same(by_month["medvirkning"], python_alpha(stored, lambda s, m: m >= MAY))
    assert_same(both["medvirkning"], python_alpha(stored, lambda s, m: s == "bodo" and m < MAY))
    assert by_office["medvirkning"].n != python_alpha(stored).n
    assert nothing["medvirkning"] == Alpha(None, 0, len(MEDVIRKNING))


# --- codebook rows ----------------------------------------------------------------------


def test_codebook_has_one_row_per_column():
    cols = columns(V1)
    rows = codebook_rows(V1, {})
    assert [r[0] for r in rows] == [c.name for c in cols]
    assert all(len(r) == len(HEADER) and all(isinstance(x, str) for x in r) for r in rows)
    by_name = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows}
    for c in cols:
        row = by_name[c.name]
        assert row["kind"] == c.kind
        if c.item is not None:
            assert row["question_nb"] and row["question_nn"] and row["question_en"], c.name
            assert row["missing"].startswith("empty = not answered")
            assert ("-1=" in row["values"]) == (c.kind != BINARY and c.item.dont_know)
            assert ("-1 = vet ikke" in row["missing"]) == (c.kind != BINARY and c.item.dont_know)
        if c.kind in ("id", "category"):
            assert row["missing"] == ""
        assert row["reverse_coded"] == (("yes" if c.reverse else "no") if c.kind == SCALE else "")
    assert by_name["med_overhode"]["reverse_coded"] == "yes"
    assert by_name["med_spurt"]["values"].startswith("5=Helt enig; 4=Litt enig; ")
    assert by_name["med_spurt"]["theme"] == "medvirkning"
    assert by_name["tilt_deltatt_mentor"]["values"] == "1=Valgt; 0=Ikke valgt"


def test_the_ladder_row_maps_every_value_to_its_rung():
    ladder = next(i for i in V1.items if i.type == "ladder")
    row = dict(
        zip(HEADER, next(r for r in codebook_rows(V1, {}) if r[0] == ladder.code), strict=True)
    )
    pairs = dict(p.split("=") for p in row["rungs"].split("; "))
    assert sorted(int(r) for r in pairs.values()) == list(range(1, 9))
    assert all(int(v) == int(r) for v, r in pairs.items())  # value == rung in v1
    # Display order, as in the questionnaire.
    assert [int(v) for v in pairs] == [o.value for o in ladder.options]
    assert all(f"{o.value}={o.label.nb}" in row["values"] for o in ladder.options)
    assert "-1=Vet ikke / vil ikke svare" in row["values"]


def test_theme_index_rows_carry_their_computation_and_alpha():
    alphas = {"medvirkning": Alpha(0.8412, 1234, 5), "stigma": Alpha(None, 1, 5)}
    rows = {r[0]: dict(zip(HEADER, r, strict=True)) for r in codebook_rows(V1, alphas)}
    medvirkning = rows["medvirkning_index"]["computation"]
    assert medvirkning.startswith("0–100.")
    assert medvirkning.endswith(
        "Cronbach's alpha on this selection: 0.84 (n = 1 234 complete cases)."
    )
    assert "not computable (n = 1 complete case)" in rows["stigma_index"]["computation"]
    assert "alpha" not in rows["relasjon_index"]["computation"]
    for name in ("rung", "band", "scoring_version"):
        assert rows[name]["computation"]
    assert rows["band"]["values"] == (
        "1=Ikke-deltakelse; 2=Symbolsk deltakelse; 3=Reell innflytelse"
    )


# --- snippets ---------------------------------------------------------------------------


def literal(source: str, name: str):
    """The value of a top-level ``NAME = <literal>`` in a Python snippet."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in the snippet")


def test_pandas_snippet_compiles_and_reads_the_export_format(tmp_path):
    cols = columns(V1)
    header = [c.name for c in cols]
    path = tmp_path / "stigen.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow(["1", "bodo", "2026-04-01", "1", "nb"] + [""] * (len(header) - 5))
    snippet = pandas_snippet(str(path), ",", ".", questionnaire=V1)  # the file is v1's
    compile(snippet, "snippet.py", "exec")
    assert f"pd.read_csv({str(path)!r}, sep=',', decimal='.', encoding='utf-8'," in snippet
    assert ".replace({-1: pd.NA})" in snippet and "pd.Categorical(" in snippet

    # Every column the snippet names is in the file, and every label list is complete.
    integer, dont_know, labels = (literal(snippet, n) for n in ("INTEGER", "DONT_KNOW", "LABELS"))
    assert set(integer) | set(dont_know) | set(labels) <= set(header)
    assert set(dont_know) == {
        c.name for c in cols if c.item is not None and c.item.dont_know and c.kind != BINARY
    }
    assert set(dont_know) <= set(integer)
    kinds = {c.name: c for c in cols}
    assert {"med_stige", "band"} <= set(labels)
    for name, mapping in labels.items():
        column = kinds[name]
        assert column.kind == CHOICE or name == "band"
        assert mapping == {v: t.nb for v, t in column.values if v != DONT_KNOW}

    semicolon = pandas_snippet("stigen.csv", ";", ",")
    compile(semicolon, "snippet.py", "exec")
    assert "sep=';', decimal=',', encoding='utf-8-sig'" in semicolon
    with pytest.raises(ValueError):
        pandas_snippet("stigen.csv", ",", ",")


def test_r_snippet_reads_with_the_right_options_and_labels():
    semicolon = r_snippet("stigen.csv", ";", ",", questionnaire=V1)
    assert (
        'read.csv("stigen.csv", sep = ";", dec = ",",\n              fileEncoding = "UTF-8-BOM"'
    ) in semicolon
    comma = r_snippet("stigen.csv", ",", ".", questionnaire=V1)
    assert 'sep = ",", dec = "."' in comma and 'fileEncoding = "UTF-8"' in comma
    assert "UTF-8-BOM" not in comma
    for snippet in (semicolon, comma):
        assert snippet.count("(") == snippet.count(")")
        assert snippet.count("{") == snippet.count("}")
        assert "x %in% -1, NA" in snippet and "factor(" in snippet
        ladder = next(i for i in V1.items if i.type == "ladder")
        for option in ladder.options:
            assert f'"{option.value}" = "{option.label.nb}"' in snippet
        assert re.search(r"\bband = c\(\s*\"1\" = \"Ikke-deltakelse\"", snippet)
        assert re.search(r"\bmed_stige = c\(", snippet)
    # A quote in a name would end an R string early: it is escaped.
    assert 'read.csv("a \\"b\\".csv"' in r_snippet('a "b".csv', ";", ",")


# --- the HTML codebook ------------------------------------------------------------------


def render(app, stored_alphas, lang="nb"):
    with app.test_request_context(f"/?lang={lang}"):
        return render_template(
            "export/codebook.html",
            questionnaire=V1,
            columns=columns(V1),
            alphas=stored_alphas,
            snippets={
                "r": r_snippet("stigen.csv", ";", ","),
                "pandas": pandas_snippet("stigen.csv", ";", ","),
            },
            csv_url="/forsker/kodebok.csv",
            selection="NAV Bodø, april 2026",
        )


def test_the_codebook_page_renders(app, stored):
    with app.app_context():
        alphas = alpha_by_theme(db.session, V1)
    html = render(app, alphas)
    for c in columns(V1):
        assert f"<code>{c.name}</code>" in html, c.name
    assert "Cronbachs alfa per tema" in html
    alpha_table = html[html.index("Cronbachs alfa per tema") :]
    alpha_table = alpha_table[: alpha_table.index("</table>")]
    assert f"{alphas['medvirkning'].alpha:.2f}".replace(".", ",") in alpha_table
    assert alpha_table.count('<th scope="row">') == len(V1.themes)
    assert "kan ikke regnes ut" in alpha_table  # stigma: no complete cases
    assert "NAV Bodø, april 2026" in html and 'href="/forsker/kodebok.csv"' in html
    # The snippets are there, escaped, whole.
    code = re.findall(r"<pre[^>]*><code[^>]*>(.*?)</code></pre>", html, re.S)
    assert [unescape(c) for c in code] == [
        r_snippet("stigen.csv", ";", ","),
        pandas_snippet("stigen.csv", ";", ","),
    ]
    # Strict CSP: no inline style or script; accessible tables.
    assert "style=" not in html and "<script" not in html
    assert html.count("<caption") >= 2
    assert not re.search(r"<th(?=[\s>])(?![^>]*scope=)", html)
    # All three languages of a question are there; the reader's comes first.
    assert "I was asked what I wanted." in html and "Eg vart spurd om" in html


def test_the_codebook_page_in_english(app):
    html = render(app, {}, lang="en")
    assert '<html lang="en">' in html
    row = html[html.index('id="col-med_spurt"') :]
    row = row[: row.index("</tr>")]
    assert row.index("I was asked what I wanted.") < row.index("<details>")
    assert "Strongly agree" in row


def test_alpha_by_theme_runs_one_query_per_theme(app, stored):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        db.session.execute(select(1))  # connect first
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            alpha_by_theme(db.session, V1, [Response.period_start >= APRIL])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == len(V1.themes)
    assert all(s.lstrip().upper().startswith("SELECT COUNT(*)") for s in statements)
