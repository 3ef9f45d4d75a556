"""What counts as a response (issue 11, "Padding"): at least half of the scored items
answered. A submission short of that is not stored at all, so clicking through empty
questionnaires cannot fill a group up to k; the respondent gets the last page back with
every answer kept and a way back to the first page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey import models
from survey.domain.scoring import answers_needed, counts_as_response, scored_answers, scored_items
from survey.extensions import db
from survey.questionnaire import DONT_KNOW, Item, Page, Questionnaire, Text, Theme, get

from .forms import settle
from .test_respond import FULL, HALF, answer_all, send

V1 = get(1)
SCORED = [item.code for item in scored_items(V1)]
UNSCORED = {
    "rel_antall": 2,
    "tilt_deltatt": ["kurs"],
    "tilt_passet": 4,
    "tilt_nyttig": 4,
    "hel_fornoyd": 5,
    "hel_situasjon": 3,
    "bak_alder": 2,
    "bak_varighet": 3,
}


# --- the rule, pure ----------------------------------------------------------------------


def test_the_scored_items_are_the_ladder_and_the_themes_agreement_items():
    assert SCORED[0] == "med_stige" and len(SCORED) == 21
    assert all(V1.item(code).theme in V1.themes for code in SCORED[1:])
    assert not set(UNSCORED) & set(SCORED)
    assert answers_needed(V1) == 11  # half of 21, rounded up


def test_half_the_scored_items_is_the_boundary():
    ten = {code: 3 for code in SCORED[1:11]}
    assert scored_answers(V1, ten) == 10 and not counts_as_response(V1, ten)
    eleven = ten | {"med_stige": 4}
    assert scored_answers(V1, eleven) == 11 and counts_as_response(V1, eleven)
    assert counts_as_response(V1, {code: 2 for code in SCORED[-11:]})  # any eleven will do


def test_vet_ikke_and_unscored_items_are_not_answers():
    assert not counts_as_response(V1, {})
    assert not counts_as_response(V1, {code: DONT_KNOW for code in SCORED})
    assert not counts_as_response(V1, UNSCORED | {code: 3 for code in SCORED[:10]})
    mixed = {code: 3 for code in SCORED[:11]} | {SCORED[0]: DONT_KNOW}
    assert scored_answers(V1, mixed) == 10 and not counts_as_response(V1, mixed)
    assert counts_as_response(V1, {k: v for k, v in FULL.items() if k != "hel_fritekst"})


def _tiny(n_items: int) -> Questionnaire:
    text = Text("x", "x", "x")
    items = tuple(
        Item(code=f"i{n}", type="scale", text=text, theme="t", options=()) for n in range(n_items)
    )
    return Questionnaire(
        version=9,
        title=text,
        pages=(Page(code="p", title=text, items=items),),
        themes={"t": Theme(code="t", label=text)},
    )


@pytest.mark.parametrize("n_items, needed", [(1, 1), (2, 1), (4, 2), (5, 3)])
def test_half_is_rounded_up_for_any_questionnaire(n_items, needed):
    questionnaire = _tiny(n_items)
    assert answers_needed(questionnaire) == needed
    codes = [f"i{n}" for n in range(n_items)]
    assert counts_as_response(questionnaire, {code: 1 for code in codes[:needed]})
    assert not counts_as_response(questionnaire, {code: 1 for code in codes[: needed - 1]})


def test_a_questionnaire_without_scored_items_counts_nothing():
    text = Text("x", "x", "x")
    empty = Questionnaire(version=9, title=text, pages=(Page(code="p", title=text, items=()),))
    assert not counts_as_response(empty, {})


# --- through the app -----------------------------------------------------------------------


def stored(app) -> dict[str, int]:
    """Rows anywhere a submission could be kept: the inbox before mixing, the counted
    tables after."""
    before = _rows(app, models.Inbox)
    settle(app)
    return {
        "inbox_before_mixing": before,
        **{
            t.__tablename__: _rows(app, t)
            for t in (models.Response, models.Comment, models.SubmissionReceipt, models.Inbox)
        },
    }


def _rows(app, table) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(table))


def test_padding_four_empty_submissions_and_one_real_one_store_one_response(app):
    for n in range(4):
        padder = app.test_client()
        refused = send(padder, answer_all(padder, answers={}))
        assert refused.status == 200, n
    assert all(count == 0 for count in stored(app).values())
    real = app.test_client()
    assert send(real, answer_all(real)).status == 303
    counts = stored(app)
    assert counts["response"] == 1


def test_a_refused_submission_loses_nothing_and_says_what_is_needed(app, client):
    ten = {code: 4 for code in SCORED[1:11]} | {
        "hel_fritekst": "Mer tid, takk.",
        "bak_alder": 2,
        "med_stige": -1,
    }
    last = answer_all(client, answers=ten)
    refused = send(client, last)
    assert refused.status == 200
    assert "Svaret ditt er ikke sendt ennå" in refused.html
    assert "minst 11 av de 21 spørsmålene" in refused.html and "Du har svart på 10" in refused.html
    assert "hoppe over hvilket som helst enkelt spørsmål" in refused.html
    # Still the last page, every answer in the form: the checked ones on it, the rest carried.
    assert refused.visible_items() == ["bak_alder", "bak_varighet"]
    assert refused.checked("bak_alder") == ["2"]
    for code in SCORED[1:11]:
        assert refused.hidden(code) == ["4"], code
    assert refused.hidden("med_stige") == ["-1"]
    assert refused.hidden("hel_fritekst") == ["Mer tid, takk."]
    assert refused.hidden("nonce") == last.hidden("nonce")
    assert 'name="nav" value="start"' in refused.html  # the way back to the first page
    assert all(count == 0 for count in stored(app).values())

    first = refused.submit(client, ("nav", "start"))
    assert first.status == 200 and first.visible_items()[0] == "med_stige"
    assert first.checked("med_stige") == ["-1"] and first.hidden("bak_alder") == ["2"]
    # One more answer is enough.
    page = first.submit(client, ("nav", "next"), {"med_stige": 5})
    while 'value="check"' not in page.html:  # the last page leads to the check page
        page = page.submit(client, ("nav", "next"))
    assert page.submit(client, ("nav", "submit")).status == 303
    counts = stored(app)
    assert counts["response"] == 1


@pytest.mark.parametrize(
    "lang, words",
    [
        ("nn", ("Svaret ditt er ikkje sendt enno", "minst 11 av dei 21", "Gå til første side")),
        (
            "en",
            (
                "Your answers have not been sent yet",
                "at least 11 of the 21",
                "Go to the first page",
            ),
        ),
    ],
)
def test_the_refusal_is_in_the_respondents_language(app, client, lang, words):
    client.get(f"/?lang={lang}")
    refused = send(client, answer_all(client, answers={"med_stige": 3}))
    assert refused.status == 200 and f'<html lang="{lang}">' in refused.html
    for word in words:
        assert word in refused.html
    assert all(count == 0 for count in stored(app).values())


def test_half_the_scored_items_is_stored(app, client):
    assert send(client, answer_all(client, answers=HALF)).status == 303
    counts = stored(app)
    assert counts["response"] == 1


def test_the_rule_is_said_on_the_privacy_page_and_in_the_codebook(app, client):
    from .test_dashboard import make_account, sign_in

    privacy = client.get("/personvern").get_data(as_text=True)
    assert "Et svar teller bare når minst halvparten av spørsmålene" in privacy
    with app.app_context():
        make_account("forsker", "forsker")
    sign_in(client, "forsker")
    codebook = client.get("/eksport/kodebok").get_data(as_text=True)
    assert 'id="counted-response"' in codebook
    assert "minst 11 av de 21 spørsmålene som gir poengsummer" in codebook
