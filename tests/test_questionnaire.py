"""The questionnaire is data: v1 validates, and a broken file is refused with reasons."""

import copy
import tomllib

import pytest

from survey.questionnaire import DIRECTORY, LANGUAGES, QuestionnaireError, get, parse, published

RAW = tomllib.loads((DIRECTORY / "v1.toml").read_text())


def texts(node):
    if isinstance(node, dict):
        if set(node) & set(LANGUAGES):
            yield node
        else:
            for value in node.values():
                yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def test_every_published_version_validates():
    assert 1 in published()
    assert get(1).version == 1


def test_v1_has_the_seven_sections_in_order():
    assert [p.code for p in get(1).pages] == [
        "medvirkning",
        "stigma",
        "talmodighet",
        "relasjon",
        "tiltak",
        "helhet",
        "bakgrunn",
    ]


def test_every_text_is_in_bokmal_nynorsk_and_english():
    found = list(texts(RAW))
    assert len(found) > 100
    for text in found:
        assert all(text.get(lang, "").strip() for lang in LANGUAGES), text


def test_nynorsk_is_not_bokmal():
    """Most nynorsk texts differ from their bokmål source; a copy would pass the check above."""
    found = list(texts(RAW))
    differ = sum(t["nb"] != t["nn"] for t in found)
    assert differ / len(found) > 0.7


def test_themes_have_four_to_six_agreement_items_and_the_ladder_eight_rungs():
    v1 = get(1)
    for theme in ("medvirkning", "stigma", "talmodighet", "relasjon"):
        assert 4 <= len(v1.theme_items(theme)) <= 6
    ladder = v1.item("med_stige")
    assert sorted(o.rung for o in ladder.options) == list(range(1, 9))
    # Shown mixed, so the order of the statements does not itself suggest the ladder.
    assert [o.rung for o in ladder.options] != list(range(1, 9))
    assert [o.rung for o in ladder.options] != list(range(8, 0, -1))


def test_every_item_offers_vet_ikke_where_it_fits():
    for item in get(1).items:
        if item.type in ("ladder", "scale", "choice"):
            assert item.dont_know, item.code


def test_background_is_coarse_only():
    background = get(1).pages[-1]
    assert [i.code for i in background.items] == ["bak_alder", "bak_varighet"]
    assert [o.label.nb for o in background.items[0].options] == ["18–19", "20–24", "25–29"]


def broken(change):
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(QuestionnaireError) as error:
        parse(data)
    return error.value.problems


def test_duplicate_codes_are_refused():
    def dup(d):
        d["pages"][2]["items"][0]["code"] = d["pages"][1]["items"][1]["code"]

    assert any("duplicate code" in p for p in broken(dup))


def test_a_missing_translation_is_refused():
    def drop_nn(d):
        del d["pages"][2]["items"][1]["text"]["nn"]

    assert any("no nn text" in p for p in broken(drop_nn))


def test_a_ladder_without_eight_rungs_is_refused():
    def seven(d):
        d["pages"][0]["items"][0]["options"].pop()

    assert any("eight options" in p for p in broken(seven))


def test_an_unknown_scale_or_theme_is_refused():
    def unknown(d):
        d["pages"][1]["items"][0]["scale"] = "agree7"
        d["pages"][1]["items"][1]["theme"] = "mood"

    problems = broken(unknown)
    assert any("unknown scale" in p for p in problems)
    assert any("'mood'" in p for p in problems)


def test_vet_ikke_code_cannot_be_an_option_value():
    def reserved(d):
        counsellors = next(
            item for page in d["pages"] for item in page["items"] if item["code"] == "rel_antall"
        )
        counsellors["options"][0]["value"] = -1

    assert any("reserved" in p for p in broken(reserved))


# --- the [scoring] table ------------------------------------------------------------------


def test_every_shipped_version_declares_its_scoring_as_the_defaults():
    from survey.questionnaire import Scoring

    for questionnaire in published().values():
        assert questionnaire.scoring == Scoring()
        assert questionnaire.ladder.code == questionnaire.scoring.ladder_item == "med_stige"
        for code in ("measures_item", "useful_item", "fit_item"):
            assert getattr(questionnaire.scoring, code) in {i.code for i in questionnaire.items}


def test_a_file_without_a_scoring_table_means_the_defaults():
    from survey.questionnaire import Scoring

    data = copy.deepcopy(RAW)
    del data["scoring"]
    assert parse(data).scoring == Scoring()


def test_a_scoring_table_naming_what_is_not_there_is_refused():
    def wrong(d):
        d["scoring"] |= {
            "ladder_item": "med_spurt",  # a scale item, not the ladder
            "measures_item": "nowhere",
            "useful_item": "tilt_deltatt",  # a multi item, not a scale
            "agree": ["4"],
            "not_measures": ["Ingen X"],
            "threshold": 4,
        }

    problems = broken(wrong)
    for expected in (
        "ladder_item must name a ladder item",
        "measures_item must name a multi item",
        "useful_item must name a scale item",
        "agree must be a list of ints",
        "not_measures must be option codes",
        "unknown keys threshold",
    ):
        assert any(expected in p for p in problems), expected


def test_the_tallies_read_the_items_and_the_agreement_a_version_declares():
    from types import SimpleNamespace

    from survey import tally

    data = copy.deepcopy(RAW)
    data["scoring"] |= {"useful_item": "tilt_passet", "fit_item": "tilt_nyttig", "agree": [5]}
    scoring = parse(data).scoring
    answers = {"tilt_deltatt": ["kurs"], "tilt_nyttig": 5, "tilt_passet": 4}
    response = SimpleNamespace(rung=None, answers=answers, theme_indices={})
    row, _, _ = tally.increments(response, scoring)
    assert (row["useful_answered"], row["useful_agreed"]) == (1, 0)  # tilt_passet: 4
    assert (row["fit_answered"], row["fit_agreed"]) == (1, 1)  # tilt_nyttig: 5
    row, _, _ = tally.increments(response)  # the defaults: both agree
    assert row["useful_agreed"] == row["fit_agreed"] == 1
    data["scoring"]["not_measures"] = ["ingen", "vet_ikke", "kurs"]
    row, measures, _ = tally.increments(response, parse(data).scoring)
    assert measures == [] and row["measured"] == row["useful_answered"] == 0
