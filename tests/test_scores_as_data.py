"""Scores are data (issue 18): a questionnaire version with a theme no earlier version had
is published from the admin page, answered, released, and its theme is on the dashboards
and in the export (the response file, the aggregate table and the codebook), with no
migration and no change of code; and the tallies read each version's ``[scoring]``."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from survey import tally
from survey.domain import periods
from survey.domain.periods import ReportingPeriod, add_months, today_in_norway
from survey.extensions import db
from survey.models import MeasureTally, Response, ThemeTally

from .forms import settle
from .test_dashboard import make_account, sign_in
from .test_export import download
from .test_questionnaire_versions import V1_SOURCE, make_live_form, problems_on, publish_form
from .test_respond import FULL, answer_all, send

FIFTH = "forutsigbarhet"
THEME = """
[themes.forutsigbarhet]
label = {nb = "Forutsigbarhet", nn = "Føreseielegheit", en = "Predictability"}
higher_is_better = true

"""
ITEMS = """
  [[pages.items]]
  code = "for_videre"
  type = "scale"
  scale = "agree5"
  theme = "forutsigbarhet"
  dont_know = true
  text = {nb = "Jeg vet hva som skjer videre.", nn = "Eg veit kva som skjer vidare.", en = "I know what happens next."}

  [[pages.items]]
  code = "for_avtaler"
  type = "scale"
  scale = "agree5"
  theme = "forutsigbarhet"
  dont_know = true
  text = {nb = "Avtaler blir holdt.", nn = "Avtalar blir haldne.", en = "Appointments are kept."}

"""
# How five respondents answer the two new items: their theme indices are 100, 75, 50, 25
# and 0 (mean 50), varied, so that the homogeneity rule does not hide the mean.
NEW_ANSWERS = [(5, 5), (4, 4), (3, 3), (2, 2), (1, 1)]


def fifth_theme_source() -> str:
    """Version 1's file as version 3, with a fifth theme scored by two new items on the
    relationship page."""
    source = V1_SOURCE.replace("\nversion = 1\n", "\nversion = 3\n", 1)
    at = source.index("[[pages]]")
    source = source[:at] + THEME + source[at:]
    at = source.index('[[pages]]\ncode = "tiltak"')
    return source[:at] + ITEMS + source[at:]


def test_a_version_with_a_fifth_theme_reaches_the_dashboards_and_the_export(
    app, client, monkeypatch
):
    with app.app_context():
        make_account("admin", "admin")
        make_account("forsker", "forsker")
    sign_in(client, "admin")
    published = publish_form(client, fifth_theme_source())
    assert published.status_code == 303, problems_on(published.get_data(as_text=True))
    assert make_live_form(client, 3).status_code == 303

    for first, second in NEW_ANSWERS:
        respondent = app.test_client()
        answers = {**FULL, "for_videre": first, "for_avtaler": second}
        last = answer_all(respondent, answers=answers)
        assert last.hidden("v") == ["3"]
        assert send(respondent, last).status == 303
    settle(app)
    with app.app_context():
        stored = db.session.scalars(select(Response)).all()
        assert sorted(r.theme_indices[FIFTH] for r in stored) == [0, 25, 50, 75, 100]
        assert {r.questionnaire_version for r in stored} == {3}
        fifth = db.session.scalars(select(ThemeTally).where(ThemeTally.theme == FIFTH)).one()
        assert (fifth.n, fifth.sum, fifth.sumsq) == (5, 250.0, 100**2 + 75**2 + 50**2 + 25**2)

    # The month is released once it has ended: figures are shown from releases only.
    month = ReportingPeriod.containing(today_in_norway(), "month")
    later = add_months(month.start, 1) + timedelta(days=9)
    monkeypatch.setattr(periods, "today_in_norway", lambda: later)

    researcher = app.test_client()
    sign_in(researcher, "forsker")
    office = researcher.get(f"/resultater/kontor/bodo?versjon=3&periode={month.code}")
    html = office.get_data(as_text=True)
    assert office.status_code == 200
    row = re.search(r'<th scope="row">Forutsigbarhet</th>(.*?)</tr>', html, re.S)
    assert row and re.search(r'<td class="num">[^<]*50', row.group(1)), row
    overview = researcher.get(
        f"/resultater/oversikt?versjon=3&periode={month.code}&sorter={FIFTH}"
    ).get_data(as_text=True)
    assert "Forutsigbarhet" in overview

    fields, rows, _ = download(researcher, "/eksport/svar.csv?versjon=3")
    assert f"{FIFTH}_index" in fields and "for_videre" in fields
    assert sorted(float(r[f"{FIFTH}_index"]) for r in rows) == [0, 25, 50, 75, 100]
    fields, rows, _ = download(researcher, "/eksport/aggregert.csv?versjon=3&inndeling=month")
    assert [f"{FIFTH}_n", f"{FIFTH}_index"] == [f for f in fields if f.startswith(FIFTH)][:2]
    bodo = next(r for r in rows if r["office"] == "bodo" and r["period"] == month.code)
    assert bodo[f"{FIFTH}_n"] == "5" and float(bodo[f"{FIFTH}_index"]) == 50
    codebook = researcher.get("/eksport/kodebok?versjon=3").get_data(as_text=True)
    assert f"{FIFTH}_index" in codebook and "Forutsigbarhet" in codebook
    fields, rows, _ = download(researcher, "/eksport/kodebok.csv?versjon=3")
    assert f"{FIFTH}_index" in [r[fields[0]] for r in rows]


def test_the_tally_rebuild_reads_each_versions_scoring(app, client):
    """Version 3 counts only "helt enig" as agreeing and "kurs" as no measure; version 1
    keeps the defaults. Submitted and mixed, then rebuilt: the same tallies."""
    source = V1_SOURCE.replace("\nversion = 1\n", "\nversion = 3\n", 1)
    source = source.replace("agree = [4, 5]", "agree = [5]", 1)
    source = source.replace('not_measures = ["ingen", "vet_ikke"]', 'not_measures = ["kurs"]')
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    assert publish_form(client, source).status_code == 303
    answers = {**FULL, "tilt_deltatt": ["kurs", "mentor"], "tilt_nyttig": 4, "tilt_passet": 5}
    for live in (1, 3):
        if live == 3:
            assert make_live_form(client, 3).status_code == 303
        respondent = app.test_client()
        assert send(respondent, answer_all(respondent, answers=answers)).status == 303
    settle(app)
    with app.app_context():
        t = tally.tally_table.c
        m = MeasureTally.__table__.c

        def tallies():
            rows = db.session.execute(
                select(t.questionnaire_version, t.measured, t.useful_agreed, t.fit_agreed).order_by(
                    t.questionnaire_version
                )
            ).all()
            measures = db.session.execute(
                select(m.questionnaire_version, m.measure).order_by(
                    m.questionnaire_version, m.measure
                )
            ).all()
            return [tuple(r) for r in rows], [tuple(r) for r in measures]

        mixed = tallies()
        assert mixed == (
            [(1, 1, 1, 1), (3, 1, 0, 1)],
            [(1, "kurs"), (1, "mentor"), (3, "mentor")],
        )
        tally.rebuild(db.session)
        db.session.commit()
        assert tallies() == mixed
