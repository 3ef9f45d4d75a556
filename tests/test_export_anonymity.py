"""The researchers' export against the insider attacks of issues 11 and 12: two downloads
around one answer, selections compared to un-pool a row (counts and Cronbach's alpha), and
a row unique on its quasi-identifiers. The files are checked by an independent k-anonymity
checker (pycanon), read with pandas the way a researcher would."""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter
from datetime import UTC, date

import pytest
from sqlalchemy import select

from survey.domain.periods import ReportingPeriod
from survey.export import anonymity, released, service, spill
from survey.export.anonymity import (
    ALPHA_MIN_N,
    POOLED_OFFICE,
    QUASI_IDENTIFIERS,
    AnonymityError,
    decide,
    level_for,
    qi_code,
)
from survey.export.csvfile import CsvFormat
from survey.export.responses import Selection, WrittenCounts, response_file
from survey.extensions import db
from survey.models import Comment, Office, Response
from survey.questionnaire import get

from .forms import settle
from .test_dashboard import APRIL, add_responses, make_account, office_id, sign_in
from .test_export import (
    THIS_MONTH,
    a_release,
    download,
    release,  # noqa: F401  (autouse: a release through this month)
)
from .test_export_parallel import seeded  # noqa: F401
from .test_respond import FULL, answer_all, send

V1 = get(1)
K = 5
QI = list(QUASI_IDENTIFIERS)


@pytest.fixture
def researcher(client, app):
    with app.app_context():
        make_account("forsker", "forsker")
    sign_in(client, "forsker")
    return client


def rows_of(body: bytes, separator: str = ",") -> list[dict]:
    text = body.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=separator))


def without_numbers(rows: list[dict]) -> Counter:
    return Counter(tuple(sorted((k, v) for k, v in r.items() if k != "row")) for r in rows)


def pycanon_k(body: bytes, separator: str = ",", decimal: str = ".") -> int:
    """k as pycanon computes it on the file, read by pandas as text (an empty cell is a
    value of its own, as "not answered" is)."""
    import pandas as pd
    from pycanon import anonymity as checker

    frame = pd.read_csv(
        io.BytesIO(body),
        sep=separator,
        decimal=decimal,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    assert len(frame), "an empty file says nothing"
    return int(checker.k_anonymity(frame, QI))


def export_body(
    app, selection: Selection, workers: int = 0, fmt: CsvFormat = CsvFormat(), decisions=None
) -> tuple[bytes, WrittenCounts]:
    with app.app_context():
        codes = dict(db.session.execute(select(Office.id, Office.slug)).all())
        tally = WrittenCounts()
        with db.engine.connect() as connection:
            decisions = decisions or released.decisions(connection, 1, K)
            body = b"".join(
                response_file(
                    connection, V1, selection, decisions, codes, tally, fmt, workers=workers
                )
            )
    return body, tally


def decisions_of(app):
    with app.app_context(), db.engine.connect() as connection:
        return released.decisions(connection, 1, K)


# --- released data only ----------------------------------------------------------------


def test_two_downloads_around_one_answer_are_identical(researcher, app, monkeypatch):
    """The release ends before this month: an answer sent now is in no file, no count and
    no statistic until a release takes in its month."""
    last = a_release(
        date(THIS_MONTH.year - (THIS_MONTH.month == 1), (THIS_MONTH.month - 2) % 12 + 1, 1)
    )
    monkeypatch.setattr(released, "current_release", lambda: last)
    with app.app_context():
        add_responses("bodo", APRIL, 12)
        add_responses("tromso", APRIL, 6)
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Veilederen hørte på meg.",
                status="approved",
            )
        )
        db.session.commit()
    paths = (
        "/eksport/svar.csv",
        "/eksport/svar.csv?kontor=bodo",
        "/eksport/fritekst.csv?bekreft=ja",
        "/eksport/svar-info.txt",
        "/eksport/",
    )
    before = {path: researcher.get(path).get_data() for path in paths}
    anonymous = app.test_client()
    assert send(anonymous, answer_all(anonymous)).status == 303
    settle(app)
    with app.app_context():  # the answer is stored, in this month
        assert db.session.scalar(select(Response).where(Response.period_start == THIS_MONTH))
    after = {path: researcher.get(path).get_data() for path in paths}
    for path in ("/eksport/svar.csv", "/eksport/svar.csv?kontor=bodo"):
        assert len(rows_of(before[path])) in (12, 18)
        assert without_numbers(rows_of(before[path])) == without_numbers(rows_of(after[path]))
    assert (
        rows_of(before["/eksport/fritekst.csv?bekreft=ja"])[0]["text"] == "Veilederen hørte på meg."
    )
    assert [r["text"] for r in rows_of(before["/eksport/fritekst.csv?bekreft=ja"])] == [
        r["text"] for r in rows_of(after["/eksport/fritekst.csv?bekreft=ja"])
    ]
    assert before["/eksport/svar-info.txt"] == after["/eksport/svar-info.txt"]
    page = re.compile(r"<main.*</main>", re.S)  # the page, without the per-request token
    assert page.search(before["/eksport/"].decode()).group(0) == page.search(
        after["/eksport/"].decode()
    ).group(0)


def test_no_release_no_rows_and_a_clear_message(researcher, app, runner, monkeypatch, tmp_path):
    monkeypatch.setattr(released, "current_release", lambda: None)
    with app.app_context():
        add_responses("bodo", APRIL, 12)
    html = researcher.get("/eksport/").get_data(as_text=True)
    assert "Ingen utgivelse ennå" in html
    fields, rows, _ = download(researcher, "/eksport/svar.csv")
    assert fields[0] == "row" and rows == []
    assert "Ingen utgivelse ennå" in researcher.get("/eksport/svar-info.txt").get_data(as_text=True)
    result = runner.invoke(args=["export", "responses", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "No release yet" in result.output


# --- k-anonymity on the quasi-identifiers, checked by pycanon ------------------------


def selections(app) -> list[Selection]:
    with app.app_context():
        months = sorted(
            {d.replace(day=1) for d in db.session.scalars(select(Response.period_start).distinct())}
        )
        offices = sorted(db.session.scalars(select(Office.id)))
    last = months[-1]
    return [
        Selection(1),
        Selection(1, office_ids=(offices[0],)),
        Selection(1, office_ids=(POOLED_OFFICE,)),
        Selection(1, office_ids=(offices[1], POOLED_OFFICE)),
        Selection(1, periods=(ReportingPeriod.containing(last, "half"),)),
        Selection(1, periods=(ReportingPeriod.containing(last, "quarter"),)),
        Selection(1, periods=(ReportingPeriod.containing(last, "month"),)),
    ]


def test_every_exported_file_is_k_anonymous_by_pycanon(seeded):
    checked = 0
    for selection in selections(seeded):
        for workers, fmt in ((0, CsvFormat()), (2, CsvFormat.excel_norwegian())):
            body, tally = export_body(seeded, selection, workers, fmt)
            if not tally.rows:
                continue
            assert pycanon_k(body, fmt.separator, fmt.decimal) >= K
            checked += 1
    assert checked >= 8
    # Without the rule, the same rows are far from it: the checker would see it.
    body, _ = export_body(seeded, Selection(1))
    frame_rows = rows_of(body)
    unique = Counter(tuple(r[q] for q in QI) for r in frame_rows)
    assert min(unique.values()) >= K


def test_the_rule_blanks_and_generalises_what_the_raw_rows_would_give_away(seeded, app):
    """The seeded answers are random over 735 combinations of the QIs: most are unique
    in their office-month. The file is k-anonymous because cells were blanked and periods
    widened, and svar-info.txt says how many."""
    import pandas as pd
    from pycanon import anonymity as checker

    with seeded.app_context():
        raw = db.session.execute(
            select(Response.office_id, Response.period_start, Response.language, Response.answers)
        ).all()
    frame = pd.DataFrame(
        [
            {
                "office": str(o),
                "period": p.isoformat()[:7],
                "language": lang,
                **{q: str(a.get(q)) for q in anonymity.QI_ITEMS},
            }
            for o, p, lang, a in raw
        ]
    )
    assert checker.k_anonymity(frame, QI) == 1  # the raw rows: someone is unique
    body, tally = export_body(seeded, Selection(1))
    rows = rows_of(body)
    info_client = seeded.test_client()
    with seeded.app_context():
        make_account("forsker2", "forsker")
    sign_in(info_client, "forsker2")
    info = info_client.get("/eksport/svar-info.txt").get_data(as_text=True)
    stored_empty = sum(1 for *_, a in raw if a.get("rel_antall") is None)
    file_empty = sum(1 for r in rows if r["rel_antall"] == "")
    written = len(rows)
    # Rows left out (a month under k) are not in the file: count only written ones.
    left = len(raw) - written
    assert 0 <= left <= 3
    blanked = int(re.search(r"^    rel_antall: (\d+)$", info, re.M).group(1))
    assert blanked > 0
    assert file_empty - stored_empty <= blanked <= file_empty - stored_empty + left
    generalised = int(re.search(r"period -> quarter/half-year: (\d+)", info).group(1))
    assert generalised == sum(1 for r in rows if re.fullmatch(r"\d{4}-[QH]\d", r["period"]))
    assert "Kjennetegn / quasi-identifiers: office, period, language, bak_alder" in info


def test_no_row_streams_when_a_class_is_under_k(seeded):
    """The check before the file streams: decisions that would write a class under k
    (here: every combination kept as it is) stop the export after the header."""
    decisions = decisions_of(seeded)
    with seeded.app_context():
        raw = db.session.execute(
            select(Response.office_id, Response.period_start, Response.language, Response.answers)
        ).all()
    tampered = anonymity.Decisions(
        k=K,
        end=decisions.end,
        labels=decisions.labels,
        cells=decisions.cells,
        stats=decisions.stats,
        left_out=decisions.left_out,
        kept=set(decisions.kept),
    )
    assert min(s.smallest for s in decisions.stats) >= K
    for office, start, language, answers in raw:
        label = decisions.cells.get((office, start.replace(day=1)))
        if label is not None:
            tampered.kept.add(
                label << anonymity.LABEL_SHIFT
                | qi_code(
                    language,
                    answers.get("bak_alder"),
                    answers.get("bak_varighet"),
                    answers.get("rel_antall"),
                )
            )
    for workers in (0, 2):
        with seeded.app_context(), db.engine.connect() as connection:
            chunks = response_file(
                connection,
                V1,
                Selection(1),
                tampered,
                {},
                WrittenCounts(),
                CsvFormat(),
                workers=workers,
            )
            assert next(chunks).startswith(b"row,office,")
            with pytest.raises(AnonymityError, match="do not form the classes decided"):
                next(chunks)


# --- selections are unions of published classes ------------------------------------


def test_selections_differ_by_whole_published_classes(seeded):
    whole, _ = export_body(seeded, Selection(1))
    full = Counter((r["office"], r["period"]) for r in rows_of(whole))
    assert min(full.values()) >= K
    seen = []
    for selection in selections(seeded):
        body, tally = export_body(seeded, selection)
        labels = Counter((r["office"], r["period"]) for r in rows_of(body))
        for label, n in labels.items():
            assert full[label] == n  # a whole published class, or none of it
        seen.append((selection, labels))
        # The page's count is the file's.
        with seeded.app_context():
            decisions = decisions_of(seeded)
            figures = service.figures(V1, selection, decisions, with_alpha=False)
        assert figures.rows == tally.rows == sum(labels.values())
    for (_, one), (_, other) in ((a, b) for a in seen for b in seen):
        difference = sum(((one - other) + (other - one)).values())
        assert difference == 0 or difference >= K


def test_an_office_pooled_in_a_month_gives_none_of_its_pooled_rows(researcher, app):
    with app.app_context():
        db.session.add_all([Office(slug=f"liten-{n}", name=f"NAV Liten {n}") for n in range(3)])
        db.session.commit()
        add_responses("bodo", APRIL, 20)
        for n in range(3):
            add_responses(f"liten-{n}", APRIL, 2)
        add_responses("liten-0", date(2026, 5, 1), 7)  # big enough in May
        add_responses("bodo", date(2026, 5, 1), 9)
        db.session.add(
            Comment(
                office_id=office_id("liten-1"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Fra et lite kontor",
                status="approved",
            )
        )
        db.session.commit()
    _, rows, _ = download(researcher, "/eksport/svar.csv?kontor=liten-0")
    assert {(r["office"], r["period"]) for r in rows} == {("liten-0", "2026-05")}
    assert len(rows) == 7
    _, pooled, _ = download(researcher, "/eksport/svar.csv?kontor=andre")
    assert len(pooled) == 6 and {(r["office"], r["period"]) for r in pooled} == {
        ("andre", "2026-04")
    }
    # The free-text file pools the same way.
    _, texts, _ = download(researcher, "/eksport/fritekst.csv?bekreft=ja")
    assert [(t["office"], t["period"]) for t in texts] == [("andre", "2026-04")]
    _, alone, _ = download(researcher, "/eksport/fritekst.csv?bekreft=ja&kontor=liten-1")
    assert alone == []


# --- statistics for a selection: the leave-one-out attack ---------------------------


def theme_answers(rng: random.Random) -> dict:
    answers = dict(FULL)
    for item in V1.items:
        if item.theme and item.type == "scale":
            answers[item.code] = rng.randint(1, 5)
    return answers


def add_answered(slug: str, month: date, count: int, rng: random.Random) -> None:
    from survey import tally
    from survey.domain.scoring import score

    oid = office_id(slug)
    for _ in range(count):
        answers = theme_answers(rng)
        scores = score(V1, answers)
        response = Response(
            office_id=oid,
            period_start=month,
            questionnaire_version=1,
            language="nb",
            answers=answers,
            scoring_version=1,
            rung=scores.rung,
            band=scores.band,
            theme_indices=scores.stored_indices,
        )
        db.session.add(response)
        tally.add(db.session, response)
    db.session.commit()


def alpha_section(html: str) -> str:
    return re.search(r'<section aria-labelledby="alpha-heading">.*?</section>', html, re.S).group(0)


def test_leave_one_out_alpha_cannot_unpool_an_office(researcher, app):
    """Cronbach's alpha of all offices and of all offices but one small office (whose
    rows are pooled) are the same figure: its rows are "andre" rows in both."""
    rng = random.Random(11)
    with app.app_context():
        db.session.add_all([Office(slug=f"liten-{n}", name=f"NAV Liten {n}") for n in range(3)])
        db.session.commit()
        add_answered("bodo", APRIL, 40, rng)
        add_answered("tromso", APRIL, 30, rng)
        for n in range(3):
            add_answered(f"liten-{n}", APRIL, 2, rng)
        slugs = list(db.session.scalars(select(Office.slug)))
    everyone = researcher.get("/eksport/").get_data(as_text=True)
    but_one = "&".join(f"kontor={s}" for s in slugs + ["andre"] if s != "liten-1")
    without = researcher.get(f"/eksport/?{but_one}").get_data(as_text=True)
    assert re.search(r'<td class="num">\d,\d\d</td>', alpha_section(everyone))  # shown
    assert alpha_section(everyone) == alpha_section(without)
    with app.app_context():
        decisions = decisions_of(app)
        all_ids = tuple(sorted(db.session.scalars(select(Office.id))))
        one = office_id("liten-1")
        full = service.figures(V1, Selection(1), decisions)
        minus = service.figures(
            V1,
            Selection(1, office_ids=tuple(o for o in (*all_ids, POOLED_OFFICE) if o != one)),
            decisions,
        )
        alone = service.figures(V1, Selection(1, office_ids=(one,)), decisions)
    assert full.alphas == minus.alphas and full.rows == minus.rows == 76
    assert alone.rows == 0 and all(a is None for a in alone.alphas.values())


def test_the_page_shows_no_count_under_k_and_no_alpha_under_the_minimum(seeded):
    with seeded.app_context():
        decisions = decisions_of(seeded)
        for selection in selections(seeded):
            figures = service.figures(V1, selection, decisions)
            assert figures.rows == 0 or figures.rows >= K
            assert figures.smallest == 0 or figures.smallest >= K
            for alpha in figures.alphas.values():
                assert alpha is None or alpha.n >= ALPHA_MIN_N


def test_alpha_under_the_minimum_is_not_shown(researcher, app):
    rng = random.Random(5)
    with app.app_context():
        add_answered("bodo", APRIL, ALPHA_MIN_N - 1, rng)
    html = researcher.get("/eksport/").get_data(as_text=True)
    section = alpha_section(html)
    assert "for få svar" in section and not re.search(r'<td class="num">\d,\d\d</td>', section)
    with app.app_context():
        add_answered("bodo", APRIL, 1, rng)
    released.forget()
    section = alpha_section(researcher.get("/eksport/").get_data(as_text=True))
    assert re.search(r'<td class="num">-?\d,\d\d</td>', section)


def test_the_export_page_shows_the_reidentification_risk(researcher, seeded):
    with seeded.app_context():
        make_account("forsker3", "forsker")
    client = seeded.test_client()
    sign_in(client, "forsker3")
    html = client.get("/eksport/").get_data(as_text=True)
    assert "Risiko for gjenkjenning" in html and "Minste gruppe" in html
    assert re.search(r"Andel rader i grupper med færre enn 10</th><td class=\"num\">\d", html)


# --- the rule itself, pure -------------------------------------------------------------


def random_counts(seed: int, offices: int = 8, months: int = 6, rows: int = 3000):
    rng = random.Random(seed)
    data = []
    for _ in range(rows):
        office = rng.randint(1, offices)
        month = date(2026, rng.randint(1, months), 1)
        if office > offices - 2 and rng.random() < 0.9:
            continue  # two small offices
        data.append(
            (
                office,
                month,
                qi_code(
                    rng.choices(["nb", "nn", "en"], [80, 12, 8])[0],
                    rng.choice([1, 2, 3, -1, None]),
                    rng.choice([1, 2, 3, 4, 5, -1, None]),
                    rng.choice([0, 1, 2, 3, 4, -1, None]),
                ),
            )
        )
    return data


@pytest.mark.parametrize("seed", range(6))
def test_every_class_the_rule_keeps_holds_k_rows(seed):
    data = random_counts(seed)
    cells = Counter((o, m) for o, m, _ in data)
    combos = sorted(((o, m, c, n) for (o, m, c), n in Counter(data).items()), key=lambda x: x[0])
    decisions = decide(cells, combos, K, None)
    final, labels = Counter(), Counter()
    for office, month, code in data:
        label = decisions.cells.get((office, month))
        if label is None:
            continue
        level = level_for(decisions.kept, label, code)
        final[(label, code & anonymity.LEVEL_MASKS[level])] += 1
        labels[label] += 1
    assert min(final.values()) >= K and min(labels.values()) >= K
    assert sum(final.values()) + decisions.left_out == len(data)
    # Every kept class is used; the stats add up to the rows.
    assert {label << 16 | cls for label, cls in final} == decisions.kept
    assert decisions.summary(range(len(decisions.labels))).rows == sum(final.values())


def test_pooling_never_leaves_a_lone_small_office():
    cells = {(1, APRIL): 40, (2, APRIL): 3, (3, APRIL): 9}
    published, left_out = anonymity.pool(cells, K)
    # 3 alone in "andre" would be under k: the next smallest office joins it.
    assert published == {(1, APRIL): 1, (2, APRIL): "andre", (3, APRIL): "andre"}
    assert left_out == 0
    assert anonymity.pool({(1, APRIL): 4}, K) == ({}, 4)
    # An office the release hides is pooled, and never alone (40 − "andre" would be it).
    hidden = anonymity.pool({(1, APRIL): 40, (2, APRIL): 30, (3, APRIL): 50}, K, {(2, APRIL)})[0]
    assert hidden == {(1, APRIL): "andre", (2, APRIL): "andre", (3, APRIL): 3}


def test_the_worker_packs_quasi_identifiers_as_the_rule_does():
    assert spill.BLANK_ORDER == anonymity.BLANK_ORDER
    assert spill.LEVEL_MASKS == anonymity.LEVEL_MASKS
    assert spill.LABEL_SHIFT == anonymity.LABEL_SHIFT
    assert spill.LANGUAGE_CODES == anonymity.LANGUAGE_CODES
    for value in (None, -1, 0, 4, 12, 13, True, False, 2.0, 2.5, "2", [1], {"a": 1}):
        assert spill.value_code(value) == anonymity.value_code(value)


def test_decisions_survive_the_trip_to_disk(seeded):
    decisions = decisions_of(seeded)
    again = anonymity.from_json(anonymity.to_json(decisions))
    assert again.labels == decisions.labels and again.cells == decisions.cells
    assert set(again.kept) == set(decisions.kept) and again.stats == decisions.stats


def test_a_real_release_decides_once_and_keeps_it_in_the_instance_folder(app, monkeypatch):
    from datetime import datetime
    from types import SimpleNamespace

    with app.app_context():
        add_responses("bodo", APRIL, 12)
    real = SimpleNamespace(
        id=7, made_at=datetime(2026, 5, 2, tzinfo=UTC), through=APRIL, end=date(2026, 5, 1)
    )
    with app.app_context(), db.engine.connect() as connection:
        first = released.decisions(connection, 1, K, release=real)
        assert list(
            (
                app.instance_path
                and __import__("pathlib").Path(app.instance_path) / "export-decisions"
            ).glob("release-7-*-v1-k5-*.json")
        )
        released.forget()
        monkeypatch.setattr(released, "compute", lambda *a, **k: pytest.fail("decided again"))
        again = released.decisions(connection, 1, K, release=real)
    assert again.cells == first.cells and set(again.kept) == set(first.kept)


def test_the_codebook_names_the_quasi_identifiers(researcher, app):
    from survey.export.codebook import HEADER, codebook_rows

    rows = {r[0]: dict(zip(HEADER, r, strict=True)) for r in codebook_rows(V1, {})}
    for name in QUASI_IDENTIFIERS:
        assert "Quasi-identifier" in rows[name]["computation"], name
    assert "Quasi-identifier" not in rows["tilt_deltatt_kurs"]["computation"]
    assert "Quasi-identifier" not in rows["med_stige"]["computation"]
    page = researcher.get("/eksport/kodebok").get_data(as_text=True)
    assert "kvasi-identifikatorer" in page and "antall veiledere (rel_antall)" in page
    assert f"minst {ALPHA_MIN_N} svar" in page


def test_with_the_real_releases_the_export_holds_what_the_release_covers(
    researcher, app, monkeypatch
):
    """No stand-in release: the export asks survey.releases, which releases every ended
    month first (as the dashboards do); this month's answers wait for their release."""
    from survey import releases

    monkeypatch.setattr(released, "current_release", releases.ensure_current)
    with app.app_context():
        add_responses("bodo", APRIL, 12)
        add_responses("bodo", THIS_MONTH, 6)  # not ended: in no release yet
    _, rows, _ = download(researcher, "/eksport/svar.csv")
    assert len(rows) == 12 and {r["period"] for r in rows} == {"2026-04"}
    with app.app_context():
        release = releases.current()
        assert release is not None and release.end <= THIS_MONTH
    info = researcher.get("/eksport/svar-info.txt").get_data(as_text=True)
    assert f"Utgivelse / release: {release.id}," in info
    page = researcher.get("/eksport/").get_data(as_text=True)
    assert "Svarene er fra utgivelsen som går til og med" in page
    with app.app_context():
        from survey.models import AuditEvent

        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.responses")
        ).one()
        assert event.actor == "forsker" and event.account_id is not None
        assert event.details["release"] == release.id and event.details["rows"] == 12
