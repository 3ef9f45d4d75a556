"""Labelled exports (issue 17): SPSS .sav and Stata .dta read back with pyreadstat, the R
script's text, the Frictionless Data Package validated with ``frictionless``, and the
measurement report (pure functions against hand-worked values, then on released rows).
Every file is compared with svar.csv of the same selection: the same rows."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import statistics
import zipfile
from collections import Counter
from datetime import date

import numpy as np
import pyreadstat
import pytest
from frictionless import Package, validate
from sqlalchemy import select

from survey.export import labelled, released
from survey.export.columns import DONT_KNOW_LABEL, columns
from survey.export.labelled import DONT_KNOW_TAG, stata_names, variables
from survey.export.measurement import (
    alpha_if_deleted,
    cronbach,
    item_rest,
    item_shares,
    omega,
    one_factor,
    report_rows,
    rung_distribution,
    theme_report,
)
from survey.export.rscript import datapackage, r_script, r_string
from survey.extensions import db
from survey.models import AuditEvent, Office, Response
from survey.questionnaire import DONT_KNOW, get

from .test_dashboard import make_account, sign_in
from .test_export import a_release

V1 = get(1)
APRIL = date(2026, 4, 1)
NAMES = [c.name for c in columns(V1)]
DONT_KNOW_COLUMNS = [
    c.name
    for c in columns(V1)
    if c.item is not None and c.item.dont_know and c.kind in ("scale", "choice")
]


@pytest.fixture(autouse=True)
def release(monkeypatch):
    current = a_release(date(2026, 6, 1))
    monkeypatch.setattr(released, "current_release", lambda: current)
    released.forget()
    return current


@pytest.fixture
def researcher(client, app):
    with app.app_context():
        make_account("forsker", "forsker")
    sign_in(client, "forsker")
    return client


def answers_of(rng: random.Random) -> dict:
    """A full set of answers around one latent level (reverse items mirrored), now and
    then a don't-know or a skipped item; the quasi-identifiers fixed so nothing is blanked."""
    latent = rng.randint(1, 5)
    answers: dict = {
        "med_stige": rng.randint(1, 8),
        "rel_antall": 1,
        "bak_alder": 2,
        "bak_varighet": 3,
        "hel_situasjon": rng.choice((1, 2, DONT_KNOW)),
        "tilt_deltatt": rng.sample(["avklaring", "kurs", "mentor"], rng.randint(0, 2)),
    }
    for item in V1.items:
        if item.type != "scale":
            continue
        value = min(5, max(1, latent + rng.choice((-1, 0, 0, 1))))
        answers[item.code] = 6 - value if item.reverse else value
        roll = rng.random()
        if roll < 0.05:
            answers[item.code] = DONT_KNOW
        elif roll > 0.96:
            del answers[item.code]
    return answers


def seed(app, count: int = 60, tromso: int = 0) -> None:
    rng = random.Random(17)
    with app.app_context():
        ids = dict(db.session.execute(select(Office.slug, Office.id)).all())
        for n in range(count + tromso):
            answers = answers_of(rng)
            if n % 20 == 7:
                answers["med_stige"] = DONT_KNOW
            rung = answers["med_stige"] if answers["med_stige"] != DONT_KNOW else None
            db.session.add(
                Response(
                    office_id=ids["bodo" if n < count else "tromso"],
                    period_start=APRIL,
                    questionnaire_version=1,
                    language="nb",
                    answers=answers,
                    scoring_version=1,
                    rung=rung,
                    band=None if rung is None else 1 if rung <= 2 else 2 if rung <= 5 else 3,
                    theme_indices={
                        "medvirkning": float(n % 100),
                        "stigma": 12.5,
                        "relasjon": 100.0 / 3,
                    },
                )
            )
        db.session.commit()


def csv_rows(client, query: str = "") -> list[dict]:
    response = client.get("/eksport/svar.csv" + query)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


def as_number(text: str):
    return None if text == "" else float(text)


def keyed(rows: list[dict]) -> Counter:
    """Rows without their (shuffled) row number, as a multiset of value tuples."""
    return Counter(tuple(row[name] for name in NAMES if name != "row") for row in rows)


# --- pure: the variables -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_column_has_its_question_and_every_scale_its_labels(lang):
    found = variables(V1, lang, ["andre", "bodo"], ["2026-04"])
    assert [v.name for v in found] == NAMES
    by_name = {v.name: v for v in found}
    for column in columns(V1):
        v = by_name[column.name]
        assert v.label == column.label(lang)
        for value, text in column.values:
            assert v.values[int(value)] == text(lang)
    for name in DONT_KNOW_COLUMNS:
        assert by_name[name].missing == (DONT_KNOW,)
        assert by_name[name].values[DONT_KNOW] == DONT_KNOW_LABEL(lang)
    assert by_name["med_spurt"].measure == "ordinal" and by_name["med_stige"].measure == "nominal"
    assert by_name["medvirkning_index"].measure == "scale"
    assert by_name["office"].values == {1: "andre", 2: "bodo"}
    assert by_name["tilt_deltatt_kurs"].missing == ()
    with pytest.raises(ValueError):
        variables(V1, "de", [], [])


def test_many_offices_get_wide_codes_and_nothing_wraps():
    """250 offices: their numbers pass 127, so the office column is four bytes wide; a
    value too big for its column is an error, never a wrapped number."""
    offices = [f"kontor-{n:03d}" for n in range(250)]
    found = variables(V1, "nb", offices, ["2026-04"])
    by_name = {v.name: v for v in found}
    assert labelled.integer_type(by_name["office"]) is np.int32
    assert labelled.integer_type(by_name["med_spurt"]) is np.int8
    header = ",".join(NAMES)
    row = {name: "" for name in NAMES} | {
        "row": "1",
        "office": "kontor-249",
        "period": "2026-04",
        "questionnaire_version": "1",
        "language": "nb",
        "med_spurt": "4",
    }
    body = f"{header}\r\n" + ",".join(row[n] for n in NAMES) + "\r\n"
    frame = labelled.read_frame([body.encode()], found, 1)
    assert frame["office"][0] == 250 and by_name["office"].values[250] == "kontor-249"
    too_big = body.replace(",4,", ",300,", 1)
    with pytest.raises(ValueError, match="med_spurt"):
        labelled.read_frame([too_big.encode()], found, 1)
    with pytest.raises(ValueError, match="more than the 1 rows"):
        labelled.read_frame([(body + body.split("\r\n", 1)[1]).encode()], found, 1)


def test_stata_names_are_short_and_unique():
    names = stata_names(NAMES + ["x" * 40, "x" * 40 + "y"])
    assert all(len(short) <= 32 for short in names.values())
    assert len(set(names.values())) == len(names)
    assert names["tilt_deltatt_arbeidsforberedende_trening"] == "tilt_deltatt_arbeidsforberedende"
    assert names["med_spurt"] == "med_spurt"


def _without_time_stamp(kind: str, data: bytes) -> bytes:
    """A written file with the moment it was written blanked (SPSS: header bytes 92-108;
    Stata: the <timestamp> text)."""
    data = bytearray(data)
    if kind == "sav":
        data[92:109] = bytes(17)
    else:
        at = data.index(b"<timestamp>") + len(b"<timestamp>")
        data[at : data.index(b"</timestamp>")] = b""
    return bytes(data)


@pytest.mark.parametrize("count", [3, 8, 9, 16, 17])
@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_rows_are_encoded_byte_for_byte_as_pyreadstat_writes_them(tmp_path, count, kind):
    """``write_labelled`` encodes the rows itself, part by part; the file is the one
    pyreadstat writes from the whole frame at once: every byte but the time stamp. Rows
    that end inside a block of SPSS codes and rows that fill one exactly (8, 16
    variables), literal values (253) in any block, system-missing cells, whole numbers at
    the edges of SPSS's one-byte range (-99, 151) and just past them, wide row numbers,
    and in Stata the don't-know code as .a and an unlabelled value of a variable with
    missing codes as system-missing."""
    import pandas as pd

    found = [labelled.Variable("row", "Row")]
    for n in range(1, count):
        if n % 3 == 2:
            found.append(labelled.Variable(f"v{n}", f"V {n}", numeric="float", measure="scale"))
        elif n % 3 == 1:
            found.append(
                labelled.Variable(
                    f"v{n}",
                    f"V {n}",
                    {**{v: str(v) for v in range(1, 6)}, -1: "vet ikke"},
                    (-1,),
                    "ordinal",
                )
            )
        else:
            found.append(labelled.Variable(f"v{n}", f"V {n}", {1: "ja", 2: "nei"}))
    rng = np.random.default_rng(count)
    rows = 41
    data = {}
    for v in found:
        if v.numeric == "float":
            x = rng.normal(size=rows) * 100
            whole = rng.random(rows) < 0.4
            x[whole] = np.round(x[whole] / 10)
            x[1::11], x[2::13], x[3::17], x[4::19] = 151.0, -99.0, -100.0, 152.0
            x[rng.random(rows) < 0.2] = np.nan
            data[v.name] = x
        else:
            wide = labelled.integer_type(v) is np.int32
            drawn = rng.integers(0, 2_000_000, rows) if wide else rng.integers(-1, 6, rows)
            data[v.name] = pd.array(
                [
                    None if r < 0.15 else int(x)
                    for x, r in zip(drawn, rng.random(rows), strict=True)
                ],
                dtype="Int32" if wide else "Int8",
            )
    frame = pd.DataFrame(data)
    whole_file, joined = tmp_path / f"whole.{kind}", tmp_path / f"joined.{kind}"
    (labelled._sav if kind == "sav" else labelled._dta)(frame, whole_file, found)
    parts = [frame.iloc[:1], frame.iloc[1:1], frame.iloc[1:20], frame.iloc[20:]]
    assert labelled.write_labelled(kind, iter(parts), joined, found) == rows
    assert _without_time_stamp(kind, joined.read_bytes()) == _without_time_stamp(
        kind, whole_file.read_bytes()
    )
    part = labelled.Part(
        {v.name: frame[v.name].to_numpy(dtype=float, na_value=np.nan) for v in found}
    )  # as the export hands its parts over
    part.rows = rows
    from_part = tmp_path / f"part.{kind}"
    assert labelled.write_labelled(kind, iter([part]), from_part, found) == rows
    assert _without_time_stamp(kind, from_part.read_bytes()) == _without_time_stamp(
        kind, whole_file.read_bytes()
    )
    read = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    back, meta = read(str(joined))
    assert meta.number_rows == rows
    assert np.allclose(
        back["row"].to_numpy(dtype=float),
        frame["row"].to_numpy(dtype=float, na_value=np.nan),
        equal_nan=True,
    )


# --- pure: the measurement report ---------------------------------------------------------

HAND = np.array([(1, 2, 2), (3, 3, 4), (5, 4, 5), (2, 2, 1), (4, 5, 4), (3, 2, 3)], float)


def test_alpha_item_rest_and_alpha_if_deleted_by_hand():
    # α by hand (test_export_codebook): 3/2 · (1 − 28.8333/74.8333) = 0.92205.
    assert cronbach(HAND) == pytest.approx(0.92205, abs=1e-5)
    # Without item 3: items 1 and 2 have variances 2 and 1.6; their sum 3 6 9 4 9 5 has
    # variance 6.4; α = 2 · (1 − 3.6 / 6.4) = 0.875.
    assert alpha_if_deleted(HAND)[2] == pytest.approx(0.875, abs=1e-12)
    # Item 1 against the rest (items 2 + 3 = 4 7 9 3 9 5): deviations from 3 and 6.1667;
    # Σxy = 21, Σx² = 10, Σy² = 30.8333: r = 21 / √308.333 = 0.84...
    rest = [4, 7, 9, 3, 9, 5]
    assert item_rest(HAND)[0] == pytest.approx(statistics.correlation(list(HAND[:, 0]), rest))
    assert item_rest(HAND)[0] == pytest.approx(0.88300, abs=1e-5)


def test_omega_recovers_an_exact_one_factor_model():
    # Loadings 0.8, 0.7, 0.6 and uniquenesses 1 − λ²: ω = 2.1² / (2.1² + 0.36 + 0.51 + 0.64)
    # = 4.41 / 5.92 = 0.744932.
    loadings = np.array([0.8, 0.7, 0.6])
    covariance = np.outer(loadings, loadings) + np.diag(1 - loadings**2)
    fitted, unique = one_factor(covariance)
    assert fitted == pytest.approx(loadings, abs=1e-6)
    assert unique == pytest.approx(1 - loadings**2, abs=1e-6)
    # Data whose covariance is exactly that matrix (whitened, then coloured).
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(200, 3))
    raw -= raw.mean(axis=0)
    white = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False)).T)
    data = white @ np.linalg.cholesky(covariance).T
    assert omega(data) == pytest.approx(4.41 / 5.92, abs=1e-6)
    # Omega is not alpha: with unequal loadings alpha is lower.
    assert cronbach(data) < omega(data)


def test_floor_ceiling_missing_and_rungs_by_hand():
    values = np.array([1, 1, 5, 3, -1, np.nan, 2, np.nan], float)
    shares = item_shares("x", values, 1, 5)
    # Substantive answers 1 1 5 3 2: floor 2/5, ceiling 1/5; 2 of 8 empty, 1 of 8 don't know.
    assert (shares.floor, shares.ceiling) == (0.4, 0.2)
    assert (shares.missing, shares.dont_know) == (0.25, 0.125)
    total, distribution = rung_distribution(np.array([1, 1, 8, np.nan, 3], float))
    assert total == 4 and distribution[0] == (1, 2, 0.5) and distribution[7] == (8, 1, 0.25)
    assert distribution[1] == (2, 0, 0.0)


def test_a_theme_under_the_minimum_shows_nothing():
    columns_ = [HAND[:, i] for i in range(3)]
    hidden = theme_report("t", ["a", "b", "c"], columns_, [(1, 5)] * 3, [False] * 3, min_n=30)
    assert not hidden.shown and hidden.n == 6 and hidden.alpha is None
    shown = theme_report("t", ["a", "b", "c"], columns_, [(1, 5)] * 3, [False, False, True], 6)
    # The third item flipped (6 − x) before anything is computed.
    flipped = HAND.copy()
    flipped[:, 2] = 6 - flipped[:, 2]
    assert shown.shown and shown.alpha == pytest.approx(cronbach(flipped))


# --- pure: the R script and the data package ------------------------------------------------


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_r_script_names_every_column_label_and_missing_code(lang):
    found = variables(V1, lang, ["andre", "bodo"], ["2026-04", "2026-Q2"])
    script = r_script(V1, found, "svar.csv", lang)
    assert 'read_csv("svar.csv"' in script and "library(haven)" in script
    for v in found:
        assert re.search(rf"^  {v.name} = col_(integer|double|character)\(\)", script, re.M), v.name
        assert r_string(v.label) in script, v.name
        if v.values and not v.codes:
            for value, text in v.values.items():
                assert f"{r_string(text)} = {value}L" in script, (v.name, value)
        if v.missing:
            assert re.search(rf"d\${v.name} <- labelled_spss\(.*na_values = c\(-1L\)", script)
    assert "as_factor(zap_missing(d)" in script
    language = by_name_of(found)["language"]
    assert (
        f'd$language <- labelled(d$language, labels = c("{language.values[1]}" = "nb", '
        f'"{language.values[2]}" = "nn", "{language.values[3]}" = "en")'
    ) in script
    # Nothing reverse-coded: the reverse items are named, never recomputed.
    assert "med_overhode, tal_venting, rel_gjenta" in script
    assert "6 -" not in script and "rev" not in script.replace("Reverse", "").replace("reverse", "")
    _balanced(script)


def by_name_of(found):
    return {v.name: v for v in found}


def _balanced(script: str) -> None:
    """Strings closed and brackets balanced outside strings and comments."""
    depth, quoted, escaped = 0, False, False
    for line in script.splitlines():
        if not quoted and line.lstrip().startswith("#"):
            continue
        for char in line:
            if quoted:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                assert depth >= 0
        assert not quoted, line
    assert depth == 0


def test_datapackage_fields_have_types_constraints_missing_values_and_labels():
    found = variables(V1, "nn", ["bodo"], ["2026-04"])
    package = datapackage(V1, found, "svar.csv", "nn", 3)
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert list(fields) == NAMES
    spurt = fields["med_spurt"]
    assert spurt["type"] == "integer" and spurt["constraints"]["enum"] == [1, 2, 3, 4, 5]
    assert spurt["missingValues"] == ["", "-1"] and spurt["title"] == V1.item("med_spurt").text.nn
    assert {c["value"]: c["label"] for c in spurt["categories"]}[5] == found[6].values[5]
    assert fields["medvirkning_index"]["type"] == "number"
    assert fields["office"]["constraints"]["enum"] == ["bodo"]


# --- on the database: every format holds the CSV's rows ---------------------------------------


def test_sav_reads_back_with_every_label_and_the_csvs_rows(researcher, app, tmp_path, monkeypatch):
    seed(app)
    monkeypatch.setattr(labelled, "CHUNK_ROWS", 7)  # nine parts joined into one file
    rows = csv_rows(researcher)
    response = researcher.get("/eksport/svar.sav?etiketter=en")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('-en.sav"')
    path = tmp_path / "svar.sav"
    path.write_bytes(response.get_data())
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(frame.columns) == NAMES and len(frame) == len(rows) == 60
    found = {v.name: v for v in variables(V1, "en", ["bodo"], ["2026-04"])}
    assert meta.column_names_to_labels == {name: found[name].label for name in NAMES}
    for name, v in found.items():
        if v.values:
            assert meta.variable_value_labels[name] == {float(k): t for k, t in v.values.items()}
        assert meta.variable_measure[name] == v.measure
    for name in DONT_KNOW_COLUMNS:
        assert meta.missing_ranges[name] == [{"lo": -1.0, "hi": -1.0}]
    assert meta.variable_value_labels["med_spurt"][-1.0] == "Don't know / prefer not to say"
    # The same rows as the CSV: numbers back to their codes, office/period/language to text.
    labels = meta.variable_value_labels
    back = []
    for record in frame.to_dict("records"):
        out = {}
        for name in NAMES:
            value = record[name]
            if value != value:  # NaN
                out[name] = ""
            elif name in ("office", "period"):
                out[name] = labels[name][value]
            elif name == "language":
                out[name] = {1: "nb", 2: "nn", 3: "en"}[int(value)]
            elif name.endswith("_index"):
                out[name] = repr(float(value))
            else:
                out[name] = str(int(value))
        back.append(out)
    for row in rows:
        for name in NAMES:
            if name.endswith("_index") and row[name]:
                row[name] = repr(float(row[name]))
    assert keyed(back) == keyed(rows)
    assert sorted(int(r["row"]) for r in back) == list(range(1, 61))
    assert any(r["med_spurt"] == "-1" for r in back) and any(r["med_spurt"] == "" for r in back)


def test_dta_reads_back_with_tagged_dont_know_and_short_names(
    researcher, app, tmp_path, monkeypatch
):
    seed(app)
    monkeypatch.setattr(labelled, "CHUNK_ROWS", 7)  # nine parts joined into one file
    rows = csv_rows(researcher)
    response = researcher.get("/eksport/svar.dta?etiketter=nn")
    assert response.status_code == 200
    path = tmp_path / "svar.dta"
    path.write_bytes(response.get_data())
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    renamed = stata_names(NAMES)
    assert list(frame.columns) == [renamed[n] for n in NAMES] and len(frame) == len(rows)
    found = {v.name: v for v in variables(V1, "nn", ["bodo"], ["2026-04"])}
    for name, v in found.items():
        label = meta.column_names_to_labels[renamed[name]]
        assert label == v.label or (len(v.label) > 80 and label == v.label[:79] + "…")
    for name in DONT_KNOW_COLUMNS:
        if any(r[name] == "-1" for r in rows):  # the reader lists the tags it met
            assert meta.missing_user_values[name] == [DONT_KNOW_TAG]
        labels = meta.variable_value_labels[name]
        assert labels[DONT_KNOW_TAG] == DONT_KNOW_LABEL.nn
        assert {k: t for k, t in labels.items() if k != DONT_KNOW_TAG} == {
            k: t for k, t in found[name].values.items() if k != DONT_KNOW
        }
    # -1 in the CSV is .a here, an empty cell system-missing, a value itself.
    for name in ("med_spurt", "sti_rundt", "hel_situasjon"):
        want = Counter(r[name] for r in rows)
        got = Counter(
            "-1" if v == DONT_KNOW_TAG else "" if v != v else str(int(v)) for v in frame[name]
        )
        assert got == want, name
    assert Counter(frame["tilt_deltatt_kurs"]) == Counter(int(r["tilt_deltatt_kurs"]) for r in rows)


def test_r_zip_holds_the_csv_and_its_script(researcher, app):
    seed(app)
    rows = csv_rows(researcher)
    response = researcher.get("/eksport/svar.r.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert sorted(archive.namelist()) == ["svar.R", "svar.csv"]
    inside = list(csv.DictReader(io.StringIO(archive.read("svar.csv").decode(), newline="")))
    assert keyed(inside) == keyed(rows)
    script = archive.read("svar.R").decode()
    for name in NAMES:
        assert f"d${name}" in script
    assert r_string(V1.item("med_spurt").text.nb) in script


def test_data_package_validates_and_catches_a_bad_cell(researcher, app, tmp_path):
    seed(app)
    response = researcher.get("/eksport/svar.datapakke.zip?etiketter=en")
    assert response.status_code == 200
    folder = tmp_path / "pakke"
    zipfile.ZipFile(io.BytesIO(response.get_data())).extractall(folder)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert descriptor["resources"][0]["stats"]["rows"] == 60
    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = list(Package(str(folder / "datapackage.json")).get_resource("svar").read_rows())
    assert len(rows) == 60 and any(r["med_spurt"] is None for r in rows)
    # A value outside a scale fails validation: the schema's constraints are real.
    text = (folder / "svar.csv").read_bytes().decode()
    lines = text.split("\r\n")
    cells = lines[1].split(",")
    cells[NAMES.index("med_spurt")] = "9"
    lines[1] = ",".join(cells)
    (folder / "svar.csv").write_bytes("\r\n".join(lines).encode())
    assert not validate(str(folder / "datapackage.json")).valid


def test_labelled_files_pool_like_the_csv(researcher, app, tmp_path):
    """A small office is pooled as "andre" in the .sav exactly as in svar.csv."""
    seed(app, count=30, tromso=2)
    rows = csv_rows(researcher)
    path = tmp_path / "svar.sav"
    path.write_bytes(researcher.get("/eksport/svar.sav").get_data())
    frame, meta = pyreadstat.read_sav(str(path))
    offices = Counter(meta.variable_value_labels["office"][v] for v in frame["office"])
    assert offices == Counter(r["office"] for r in rows)
    assert "andre" in offices and "tromso" not in offices


def test_every_labelled_download_is_audited(researcher, app):
    seed(app)
    for path in (
        "svar.sav",
        "svar.dta",
        "svar.r.zip",
        "svar.datapakke.zip",
        "maling",
        "maling.csv",
    ):
        response = researcher.get(f"/eksport/{path}?periode=2026-Q2")
        assert response.status_code == 200 and response.get_data()  # read to the end
    assert researcher.get("/eksport/svar.xlsx").status_code == 404
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.details["format"]) for e in events] == [
        ("export.responses", "sav"),
        ("export.responses", "dta"),
        ("export.responses", "r"),
        ("export.responses", "datapackage"),
        ("export.measurement", "html"),
        ("export.measurement", "rfc4180"),
    ]
    assert all(e.details["rows"] == 60 and e.actor == "forsker" for e in events)
    assert events[0].details["complete"]
    assert events[0].details["selection"]["periods"] == ["2026-Q2"]


# --- the measurement report on released rows ------------------------------------------------


def test_measurement_report_is_computed_on_the_files_rows(researcher, app):
    seed(app)
    rows = csv_rows(researcher)
    response = researcher.get("/eksport/maling.csv")
    assert response.status_code == 200
    found = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    alpha = {r["theme"]: r for r in found if r["statistic"] == "cronbach_alpha"}
    items = V1.theme_items("medvirkning")
    matrix = []
    for row in rows:
        values = [as_number(row[i.code]) for i in items]
        if all(v is not None and 1 <= v <= 5 for v in values):
            matrix.append([6 - v if i.reverse else v for v, i in zip(values, items, strict=True)])
    assert int(alpha["medvirkning"]["n"]) == len(matrix) >= 30
    assert float(alpha["medvirkning"]["value"]) == pytest.approx(
        cronbach(np.array(matrix)), abs=1e-4
    )
    assert float(alpha["medvirkning"]["value"]) > 0.7
    floor = next(r for r in found if r["item"] == "med_spurt" and r["statistic"] == "floor_share")
    answered = [as_number(r["med_spurt"]) for r in rows if r["med_spurt"] not in ("", "-1")]
    assert float(floor["value"]) == pytest.approx(answered.count(1.0) / len(answered), abs=1e-4)
    rungs = [r for r in found if r["statistic"].startswith("rung_")]
    assert sum(int(r["n"]) for r in rungs) == 57  # three answered "vet ikke"
    page = researcher.get("/eksport/maling").get_data(as_text=True)
    assert "McDonalds omega" in page and "Cronbachs alfa" in page
    english = researcher.get("/eksport/maling?lang=en")
    assert english.status_code == 200


def test_measurement_report_hides_figures_under_the_minimum(researcher, app):
    seed(app, count=12)
    found = list(
        csv.DictReader(
            io.StringIO(researcher.get("/eksport/maling.csv").get_data(as_text=True), newline="")
        )
    )
    assert not any(
        r["statistic"] in ("cronbach_alpha", "mcdonald_omega", "floor_share")
        or r["statistic"].startswith("rung_")
        for r in found
    )
    assert all(r["statistic"].startswith("not shown") for r in found)
    assert report_rows  # the pure function the view writes with


def test_the_shell_command_writes_each_format(runner, app, tmp_path):
    seed(app)
    for kind, suffix in (("sav", "sav"), ("dta", "dta"), ("r", "zip"), ("datapackage", "zip")):
        out = tmp_path / f"svar-{kind}.{suffix}"
        result = runner.invoke(
            args=["export", "responses", "--out", str(out), "--format", kind, "--labels", "en"]
        )
        assert result.exit_code == 0, result.output
        assert "60 rows" in result.output and out.stat().st_size > 0
    frame, meta = pyreadstat.read_sav(str(tmp_path / "svar-sav.sav"))
    assert len(frame) == 60
    assert meta.column_names_to_labels["med_spurt"] == V1.item("med_spurt").text.en
    with app.app_context():
        formats = [e.details["format"] for e in db.session.scalars(select(AuditEvent))]
    assert formats == ["sav", "dta", "r", "datapackage"]


def test_the_export_page_offers_every_format_with_a_note(researcher, app):
    seed(app)
    html = researcher.get("/eksport/").get_data(as_text=True)
    for value in ("rfc", "excel", "sav", "dta", "r", "datapakke"):
        assert f'id="format-{value}"' in html and f'id="format-{value}-note"' in html
    assert "brukerdefinert manglende verdi" in html and "frictionless validate" in html
    assert 'href="/eksport/svar.csv?' in html  # CSV by default
    chosen = researcher.get("/eksport/?format=dta&etiketter=en").get_data(as_text=True)
    assert 'href="/eksport/svar.dta?format=dta&amp;etiketter=en"' in chosen
    assert '<option value="en" selected>' in chosen
    assert 'href="/eksport/maling?' in chosen
    english = researcher.get("/eksport/?lang=en").get_data(as_text=True)
    assert "user-missing value" in english
