"""Questionnaire version 2 (issue 13): the shipped file, its language fixes and content,
branching on the programme question, the crosswalk to version 1, the codebook's
crosswalk, and trends that join across the version change only where comparable."""

from __future__ import annotations

import copy
import re
import tomllib
from datetime import date
from html import unescape

import pytest
from sqlalchemy import select

from survey.dashboard.data import Ladder, PeriodFigures, ThemeFigure, bridged
from survey.domain.periods import ReportingPeriod
from survey.export.codebook import crosswalk_rows, not_carried_over
from survey.extensions import db
from survey.models import Response
from survey.questionnaire import (
    DIRECTORY,
    LANGUAGES,
    QuestionnaireError,
    crosswalk_problems,
    get,
    parse,
    published,
)

from .forms import Page, settle
from .test_dashboard import make_account, sign_in
from .test_questionnaire import texts

RAW = tomllib.loads((DIRECTORY / "v2.toml").read_text(encoding="utf-8"))
V1, V2 = get(1), get(2)
PROGRAMMES = [
    o.value for o in V2.item("tilt_deltatt").options if o.value not in ("ingen", "vet_ikke")
]
# Every question about one's own programme: asked only of those who took part in one.
ABOUT_ONES_PROGRAMME = ("tilt_passet", "tilt_nyttig", "med_tiltak", "sti_tiltak")


def rung(n: int) -> str:
    return next(o.label.nb for o in V2.item("med_stige").options if o.rung == n)


# --- the file -------------------------------------------------------------------------


def test_v2_is_shipped_beside_v1_with_the_same_four_themes():
    assert sorted(published()) == [1, 2]
    assert V2.version == 2 and V1.version == 1
    # The same four themes as version 1, in the same order.
    assert (
        list(V2.themes) == list(V1.themes) == ["medvirkning", "stigma", "talmodighet", "relasjon"]
    )
    for theme in V2.themes:
        assert 4 <= len(V2.theme_items(theme)) <= 6, theme


def test_every_text_is_in_bokmal_nynorsk_and_english():
    found = list(texts(RAW))
    assert len(found) > 100
    for text in found:
        assert set(text) == set(LANGUAGES), text
        assert all(text[lang].strip() for lang in LANGUAGES), text
    assert sum(t["nb"] != t["nn"] for t in found) / len(found) > 0.7  # not copies


def test_the_language_reviews_fixes_are_in():
    assert V2.item("rel_gjenta").text.nb == "Jeg må fortelle historien min om igjen hver gang."
    assert "om att kvar gong" in V2.item("rel_gjenta").text.nn
    assert "det siste ordet i noen saker" in rung(7)
    assert "fikk det til å høres ut som om jeg hadde valgt selv" in rung(1)
    ips = next(o for o in V2.item("tilt_deltatt").options if o.value == "individuell_jobbstotte")
    assert "psykiske plager eller rusproblemer" in ips.hint.nb
    assert "psykiske plager eller rusproblem" in ips.hint.nn
    agree = [o.label.nb for o in V2.item("med_spurt").options]
    assert "Ganske enig" in agree and "Ganske uenig" in agree
    assert not any(label.startswith("Litt") for label in agree)
    assert "held skjult" in V2.item("sti_skjuler").text.nn
    nynorsk = [t["nn"] for t in texts(RAW)]
    assert not any("løyner" in t or re.search(r"\bAndel\b", t) for t in nynorsk)
    source = (DIRECTORY / "v2.toml").read_text(encoding="utf-8")
    for old in (
        "på nytt igjen og igjen",
        "hadde siste ord om",
        "sa det som om",
        "psykisk helse eller rus",
        "Litt enig",
        "Litt uenig",
    ):
        assert old not in source, old


def test_v1_is_unchanged_for_its_responses():
    assert V1.item("rel_gjenta").text.nb == "Jeg må fortelle historien min på nytt igjen og igjen."
    assert [o.value for o in V1.item("rel_antall").options] == [0, 1, 2, 3, 4]


def test_stigma_asks_about_shame():
    shame = [i for i in V2.theme_items("stigma") if "skammer meg" in i.text.nb]
    assert [i.code for i in shame] == ["sti_skam"]
    assert shame[0].text.nb == "Jeg skammer meg over å få hjelp fra NAV."
    assert not shame[0].reverse  # agreeing means more stigma felt, like the others


def test_talmodighet_is_one_construct_and_rights_stand_outside_every_index():
    rights = V2.item("inf_rettigheter")
    assert "rettighetene" in rights.text.nb and rights.theme is None
    assert V2.item("tal_venting").theme is None  # NAV's slowness is not its patience
    for item in V2.items:
        if item.theme is not None:
            assert "rettighet" not in item.text.nb, item.code
            assert "vente" not in item.text.nb, item.code
    assert {i.code for i in V2.theme_items("talmodighet")} == {
        "tal_for_tidlig",
        "tal_tid",
        "tal_neste",
        "tal_forberede",
    }


def test_each_ladder_rung_is_distinct_and_names_nav():
    labels = [rung(n) for n in range(1, 9)]
    assert len(set(labels)) == 8
    for label in labels:
        assert "NAV" in label and "eileder" not in label, label
    # Rung 5: NAV decides. Rung 7: the young person decides most, NAV a few matters.
    assert rung(5).endswith("avgjørelsen var NAVs.")
    assert rung(7).endswith("det meste bestemte jeg selv.")
    # Rung 8 is control with NAV's help, not being left alone.
    assert "NAV hjalp meg" in rung(8)
    # Shown mixed, not in ladder order either way.
    order = [o.rung for o in V2.item("med_stige").options]
    assert order not in (list(range(1, 9)), list(range(8, 0, -1)))


def test_age_has_no_dont_know_and_counsellors_start_at_one():
    assert not V2.item("bak_alder").dont_know
    assert -1 not in V2.item("bak_alder").values
    assert [o.value for o in V2.item("rel_antall").options] == [1, 2, 3, 4]


# --- branching ------------------------------------------------------------------------


def shown_pages(answers: dict) -> list[int]:
    """The pages a respondent with ``answers`` walks through with "Neste"."""
    at, seen = 0, [0]
    while (following := V2.next_page(at, answers)) != at:
        seen.append(following)
        at = following
    return seen


def test_the_programme_question_comes_before_every_question_about_ones_programme():
    asked_at = V2.page_of("tilt_deltatt")
    assert asked_at == 1  # right after the ladder
    for code in ABOUT_ONES_PROGRAMME:
        assert V2.page_of(code) > asked_at
        assert [c.item for c in V2.conditions(code)] == ["tilt_deltatt"], code
    # No other question is about one's programme: none says "tiltaket" unconditioned.
    for item in V2.items:
        if re.search(r"\btiltaket\b", item.text.nb, re.I):
            assert V2.conditions(item.code), item.code


@pytest.mark.parametrize(
    "answers", [{}, {"tilt_deltatt": ["ingen"]}, {"tilt_deltatt": ["vet_ikke"]}]
)
def test_someone_without_a_programme_is_never_asked_about_one(answers):
    pages = shown_pages(answers)
    asked = {item.code for n in pages for item in V2.pages[n].items}
    assert not asked & set(ABOUT_ONES_PROGRAMME)
    assert "tilt_deltatt" in asked and "sti_skam" in asked
    assert pages[-1] == len(V2.pages) - 1  # and they reach the end
    # Backwards, too.
    assert V2.next_page(V2.page_of("tal_venting"), answers, -1) == V2.page_of("rel_gjenta")


@pytest.mark.parametrize("programme", ["kurs", "arbeidstrening", "annet"])
def test_someone_who_took_part_is_asked_about_it(programme):
    pages = shown_pages({"tilt_deltatt": [programme]})
    asked = {item.code for n in pages for item in V2.pages[n].items}
    assert set(ABOUT_ONES_PROGRAMME) <= asked
    assert pages == list(range(len(V2.pages)))


def test_without_javascript_the_form_skips_the_programme_pages(app, client):
    """Version 2 made live from the admin page; a respondent who took part in no
    programme walks the whole form on the server and never sees a question about one."""
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    page = Page(client.get("/admin/sporreskjema/2"))
    assert "Gjør denne versjonen aktiv" in page.html and "Sammenlignet med versjon 1" in page.html
    made = client.post(page.action, data=page.values())
    assert made.status_code == 303
    respondent = app.test_client()
    page = Page(respondent.get("/k/bodo"))
    assert page.hidden("v") == ["2"]
    page = page.submit(respondent, ("nav", "start"))
    seen, ladder = [], {"med_stige": 6}
    for _ in range(len(V2.pages) + 1):
        seen += page.visible_items()
        answers = {"tilt_deltatt": "ingen"} if "tilt_deltatt" in page.visible_items() else {}
        # Enough scored answers for the response to count: the ladder and every statement.
        answers |= {
            code: (ladder | {c: 4 for c in page.visible_items() if V2.item(c).type == "scale"})[
                code
            ]
            for code in page.visible_items()
            if code in ladder or V2.item(code).type == "scale"
        }
        if 'value="check"' in page.html:
            break
        page = page.submit(respondent, ("nav", "next"), answers)
        assert page.status == 200
    assert "tilt_deltatt" in seen and "bak_alder" in seen
    assert not set(seen) & set(ABOUT_ONES_PROGRAMME)
    assert page.submit(respondent, ("nav", "submit")).status == 303
    settle(app)
    with app.app_context():
        stored = db.session.scalars(select(Response)).all()
        assert [(r.questionnaire_version, r.answers["tilt_deltatt"]) for r in stored] == [
            (2, ["ingen"])
        ]
        assert not set(stored[0].answers) & set(ABOUT_ONES_PROGRAMME)


# --- the crosswalk --------------------------------------------------------------------


def test_the_crosswalk_is_parsed():
    assert V2.crosswalk_from == 1 and V1.crosswalk_from is None
    assert crosswalk_problems(V2, published()) == []
    assert V2.item("inf_rettigheter").comparable_with == "tal_rettigheter"
    assert V2.item("sti_skam").comparable_with is None
    assert {t: V2.comparable(t, 1) for t in V2.themes} == {
        "medvirkning": True,
        "stigma": False,
        "talmodighet": False,
        "relasjon": True,
    }
    assert V2.comparable("rung", 1)
    assert V2.comparable("stigma", 2)  # with itself, always
    assert not V1.comparable("medvirkning", 2)  # v1 names no crosswalk


def broken(change) -> list[str]:
    data = copy.deepcopy(RAW)
    change(data)
    try:
        questionnaire = parse(data)
    except QuestionnaireError as error:
        return error.problems
    return crosswalk_problems(questionnaire, published())


def _item(data, code):
    return next(i for p in data["pages"] for i in p["items"] if i["code"] == code)


@pytest.mark.parametrize(
    "change, fault",
    [
        (lambda d: d.pop("crosswalk_from"), "comparable_with and comparable need crosswalk_from"),
        (lambda d: d.update(crosswalk_from=2), "crosswalk_from: must name an earlier version"),
        (
            lambda d: d["themes"]["stigma"].pop("comparable"),
            "theme stigma: say whether it is comparable",
        ),
        (
            lambda d: d["themes"]["stigma"].update(comparable="ja"),
            "theme stigma: comparable must be true or false",
        ),
        (
            lambda d: d["themes"]["stigma"].update(comparable=True),
            "theme stigma: comparable, but sti_skam has no comparable_with",
        ),
        (
            lambda d: _item(d, "rel_lytter").update(comparable_with="rel_finnes_ikke"),
            "not an item of version 1",
        ),
        (
            lambda d: _item(d, "rel_antall").update(comparable_with="rel_lytter"),
            "comparable_with names a scale item",
        ),
        (
            lambda d: _item(d, "rel_gjenta").update(reverse=False),
            "theme relasjon: comparable, but an item changed",
        ),
        (
            lambda d: _item(d, "rel_lytter").pop("comparable_with"),
            "theme relasjon: comparable, but rel_lytter has no comparable_with",
        ),
    ],
)
def test_a_wrong_crosswalk_is_refused_with_a_reason(change, fault):
    problems = broken(change)
    assert any(fault in p for p in problems), problems


def test_the_codebook_lists_the_crosswalk_for_every_score_and_item():
    rows = {row[0]: row for row in crosswalk_rows(V2, published())}
    assert rows["rung"][2:4] == ["yes", "rung"]
    assert rows["medvirkning_index"][2:4] == ["yes", "medvirkning_index"]
    assert rows["stigma_index"][2:4] == ["no", ""] and "sti_skam" in rows["stigma_index"][4]
    assert rows["talmodighet_index"][2] == "no"
    assert rows["inf_rettigheter"][2:4] == ["yes", "tal_rettigheter"]
    assert "theme" in rows["inf_rettigheter"][4]
    assert rows["sti_skam"][2:4] == ["no", ""]
    assert "wording" in rows["rel_gjenta"][4]
    assert "'vet ikke' (-1) no longer offered" in rows["bak_alder"][4]
    assert rows["hel_situasjon"][4] == "Unchanged."
    assert set(rows) == {"rung", *(f"{t}_index" for t in V2.themes), *(i.code for i in V2.items)}
    assert not_carried_over(V2, published()) == ["tal_klar"]
    assert crosswalk_rows(V1, published()) == []


def test_the_codebook_page_shows_the_crosswalk(app, client):
    with app.app_context():
        make_account("forsker", "forsker")
    sign_in(client, "forsker")
    html = unescape(client.get("/eksport/kodebok?versjon=2").get_data(as_text=True))
    if 'id="koblingsnokkel"' not in html:  # no data in version 2: the page shows the live one
        pytest.fail("the codebook of version 2 has no crosswalk section")
    section = html.split('id="koblingsnokkel"')[1].split("</section>")[0]
    assert "Sammenligning med versjon 1" in section
    assert re.search(r'id="crosswalk-stigma_index">.*?<td>nei</td>', section, re.S)
    assert re.search(r'id="crosswalk-medvirkning_index">.*?<td>ja</td>', section, re.S)
    assert "<code>tal_klar</code>" in section


# --- trends across the version change ---------------------------------------------------


def _figure(mean: float) -> ThemeFigure:
    return ThemeFigure(n=12, mean=mean, low=mean - 5, high=mean + 5)


def test_a_trend_joins_the_versions_only_where_the_crosswalk_says_comparable():
    period = ReportingPeriod.containing(date(2026, 1, 1), "quarter")
    ladder = Ladder(
        12,
        {r: (12 if r == 6 else 0) for r in range(1, 9)},
        6.0,
        {1: 0, 2: 0, 3: 12},
        1.0,
        (0.7, 1.0),
    )
    earlier = PeriodFigures(7, period, 12, ladder, {t: _figure(50.0) for t in V1.themes})
    empty = PeriodFigures(7, period, None, None, {t: None for t in V1.themes})
    joined = bridged(empty, earlier, V2, 1)
    assert joined.responses == 12 and joined.ladder == ladder  # the rung is comparable
    assert joined.themes["medvirkning"] == _figure(50.0)
    assert joined.themes["relasjon"] == _figure(50.0)
    # Measured differently in version 2: the line breaks here instead of joining.
    assert joined.themes["stigma"] is None and joined.themes["talmodighet"] is None
    # A period with its own figures keeps them; with no earlier figures nothing is made up.
    own = PeriodFigures(7, period, 9, None, {t: _figure(70.0) for t in V1.themes})
    assert bridged(own, earlier, V2, 1) is own
    assert bridged(empty, None, V2, 1) is empty
    # Version 1 names no crosswalk: nothing of another version is ever joined to it.
    assert all(v is None for v in bridged(empty, earlier, V1, 2).themes.values())


def test_the_office_page_carries_comparable_scores_across_the_version_change(
    app, client, monkeypatch
):
    """Version 1 in the first quarter, version 2 in the second: on version 2's office
    page the previous quarter (version 1) shows the comparable indices and the ladder's
    trend, and says "ikke sammenlignbar" for the themes version 2 measures differently."""
    from survey import tally
    from survey.domain import periods

    from .test_dashboard import add_varied

    monkeypatch.setattr(periods, "today_in_norway", lambda: date(2026, 7, 2))
    with app.app_context():
        for month in (4, 5, 6):
            add_varied("bodo", date(2026, month, 1), 12, index=70.0)
        db.session.execute(db.text("UPDATE response SET questionnaire_version = 2"))
        db.session.commit()
        tally.rebuild(db.session)
        db.session.commit()
        for month in (1, 2, 3):
            add_varied("bodo", date(2026, month, 1), 12, index=40.0)
        make_account("forsker", "forsker")
    sign_in(client, "forsker")
    second = ReportingPeriod.containing(date(2026, 4, 1), "quarter")
    html = unescape(
        client.get(f"/resultater/kontor/bodo?versjon=2&periode={second.code}").get_data(
            as_text=True
        )
    )
    themes = html.split('id="table-office-2"')[1].split("</table>")[0]

    def row(label: str) -> list[str]:
        cells = re.search(rf"<th scope=\"row\">{label}</th>(.*?)</tr>", themes, re.S).group(1)
        return [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        ]

    # This office, the country, the previous quarter (version 1).
    assert row("Stigma")[2] == "ikke sammenlignbar"
    assert row("Tålmodighet og forutsigbarhet")[2] == "ikke sammenlignbar"
    assert row("Medvirkning")[2].startswith("40") and row("Medvirkning")[0].startswith("70")
    assert row("Relasjon til veileder")[2].startswith("40")
    assert 'id="crosswalk-note"' in html
    trend = html.split('id="table-office-3"')[1].split("</table>")[0]
    first = ReportingPeriod.containing(date(2026, 1, 1), "quarter")
    from survey.dashboard.labels import period_label

    with app.test_request_context():
        assert period_label(first) in trend  # the ladder's trend goes on into version 1
    # Version 1's own page joins nothing of version 2.
    own = unescape(
        client.get(f"/resultater/kontor/bodo?versjon=1&periode={first.code}").get_data(as_text=True)
    )
    assert "ikke sammenlignbar" not in own and 'id="crosswalk-note"' not in own


def test_the_demo_answers_version_1_then_version_2_and_makes_2_live(app, monkeypatch):
    from survey import versions
    from survey.demo import commands
    from survey.models import Office

    monkeypatch.setattr(commands, "today_in_norway", lambda: date(2026, 6, 15))
    with app.app_context():
        offices = list(db.session.scalars(select(Office).where(Office.active.is_(True))))
        commands.seed_two_versions(offices, 600, months=12)
        rows = db.session.execute(
            select(Response.questionnaire_version, Response.period_start, Response.answers)
        ).all()
        assert versions.live_version() == 2
    by_version = {1: set(), 2: set()}
    for version, month, _answers in rows:
        by_version[version].add(month)
    # Version 2 since the last whole quarter (the first), so the default quarter shows it.
    assert max(by_version[1]) < min(by_version[2]) == date(2026, 1, 1)
    assert min(by_version[1]) == date(2025, 7, 1)
    assert len(rows) == 600
    # Synthetic respondents follow the branching: no programme, no questions about one.
    without = [
        a
        for v, _m, a in rows
        if v == 2 and a.get("tilt_deltatt") in (["ingen"], ["vet_ikke"], None)
    ]
    assert without and not any(set(a) & set(ABOUT_ONES_PROGRAMME) for a in without)


def test_nynorsk_says_del_or_prosentdel_not_andel():
    """The language review: "andel" is bokmål; nynorsk says "del" or "prosentdel"."""
    from pathlib import Path

    po = Path(__file__).parents[1] / "translations" / "nn" / "LC_MESSAGES" / "messages.po"
    translated = re.findall(r'^msgstr "(.*)"$', po.read_text(encoding="utf-8"), re.M)
    assert not [t for t in translated if re.search(r"\bandel", t, re.I)]
    assert not [t for t in translated if "løyn" in t]
