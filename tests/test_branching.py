"""Branching (issue 13): ``show_if`` in the questionnaire file, evaluated on the server
(pure rules first, then the pages without JavaScript), and the check-your-answers page."""

from __future__ import annotations

import tomllib

import pytest

from survey.export.codebook import codebook_rows
from survey.questionnaire import DIRECTORY, QuestionnaireError, parse

from .forms import start
from .test_respond import FULL, V1, answer_all

RAW = tomllib.loads((DIRECTORY / "v1.toml").read_text())
TOOK_PART = {"tilt_deltatt": ["kurs"]}
PROGRAMMES = [
    "avklaring",
    "oppfolging",
    "arbeidstrening",
    "arbeidsforberedende_trening",
    "lonnstilskudd",
    "kurs",
    "jobbklubb",
    "mentor",
    "individuell_jobbstotte",
    "annet",
]


def _branched() -> dict:
    """v1 with the questions about one's programme on a page of their own, shown only to
    those who took part in one: the shape version 2 is to have (not shipped yet)."""
    raw = {**RAW, "pages": [dict(p) for p in RAW["pages"]]}
    at = [p["code"] for p in raw["pages"]].index("tiltak")
    tiltak = raw["pages"][at]
    raw["pages"][at] = {**tiltak, "items": tiltak["items"][:1]}
    raw["pages"].insert(
        at + 1,
        {
            "code": "tiltak_erfaring",
            "title": tiltak["title"],
            "items": tiltak["items"][1:],
            "show_if": {"item": "tilt_deltatt", "any_of": PROGRAMMES},
        },
    )
    return raw


BRANCHED = parse(_branched())


def test_the_programme_page_is_asked_only_of_those_who_took_part():
    q = BRANCHED
    programme = [p.code for p in q.pages].index("tiltak_erfaring")
    assert q.asked("tilt_passet", TOOK_PART) and q.asked("tilt_nyttig", TOOK_PART)
    for answers in ({}, {"tilt_deltatt": ["ingen"]}, {"tilt_deltatt": ["vet_ikke"]}):
        assert not q.asked("tilt_passet", answers)
        assert q.next_page(programme - 1, answers) == programme + 1
        assert q.next_page(programme + 1, answers, -1) == programme - 1
    assert q.next_page(programme - 1, TOOK_PART) == programme
    assert q.asked("med_spurt", {})  # no condition: always asked
    assert q.next_page(len(q.pages) - 1, {}) == len(q.pages) - 1
    # v1 as shipped has no condition: every item is asked of everyone.
    assert all(V1.asked(item.code, {}) for item in V1.items)


def _with_condition(page: int, condition) -> dict:
    raw = {**RAW, "pages": [dict(p) for p in RAW["pages"]]}
    raw["pages"][page]["show_if"] = condition
    return raw


@pytest.mark.parametrize(
    "page, condition, fault",
    [
        (3, {"item": "tilt_deltatt", "any_of": ["kurs"]}, "not an item on an earlier page"),
        (3, {"item": "med_stige", "any_of": [9]}, "any_of must list options"),
        (3, {"item": "med_stige"}, "exactly item and any_of"),
        (0, None, None),
        (len(RAW["pages"]) - 1, {"item": "med_stige", "any_of": [1]}, "always shown"),
    ],
)
def test_a_condition_must_name_an_earlier_answer_and_its_values(page, condition, fault):
    if fault is None:
        parse(_with_condition(page, condition))  # no condition at all: fine
        return
    with pytest.raises(QuestionnaireError) as raised:
        parse(_with_condition(page, condition))
    assert any(fault in problem for problem in raised.value.problems), raised.value.problems


def test_the_codebook_says_when_an_item_was_not_asked():
    rows = {row[0]: row for row in codebook_rows(BRANCHED, {})}
    assert "asked only when tilt_deltatt is one of avklaring" in rows["tilt_passet"][6]
    assert "not asked, not a skipped answer" in rows["tilt_nyttig"][6]
    assert "asked only" not in rows["med_spurt"][6]


def test_check_page_change_button_goes_to_the_page_and_back(client):
    last = answer_all(client)
    check = last.submit(client, ("nav", "check"), last.pending)
    assert check.status == 200 and 'name="check" value="1"' in check.html
    # Every answer travels in the check page's hidden inputs.
    assert check.hidden("sti_navbruker") == [str(FULL["sti_navbruker"])]
    assert check.hidden("hel_fritekst") == [FULL["hel_fritekst"]]
    stigma = [p.code for p in V1.pages].index("stigma")
    opened = check.submit(client, ("nav", f"goto-{stigma}"))
    assert opened.visible_items()[0] == "sti_navbruker"
    assert 'name="review" value="1"' in opened.html and "Tilbake til oppsummeringen" in opened.html
    again = opened.submit(client, ("nav", "check"), {"sti_navbruker": 5})
    assert "Se over svarene før du sender" in again.html
    assert again.hidden("sti_navbruker") == ["5"]
    # Switching language on the check page keeps it.
    english = again.submit(client, ("lang", "en"))
    assert "Check your answers before you send them" in english.html


def test_too_few_answers_are_said_before_the_check_page(client):
    page = start(client)
    for _ in range(len(V1.pages) - 1):
        page = page.submit(client, ("nav", "next"))
    checked = page.submit(client, ("nav", "check"))
    assert "Se over svarene før du sender" not in checked.html
    assert "Svaret ditt er ikke sendt ennå" in checked.html
