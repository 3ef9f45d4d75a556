"""Scoring on hand-worked cases, without Flask."""

import pytest

from survey.domain.scoring import band_of, item_score, rung_of, score, theme_index
from survey.questionnaire import DONT_KNOW, get

V1 = get(1)


@pytest.mark.parametrize(
    "rung, band", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 3), (7, 3), (8, 3), (None, None)]
)
def test_band_of_every_rung(rung, band):
    assert band_of(rung) == band


@pytest.mark.parametrize("rung", [0, 9, -1])
def test_band_of_refuses_what_is_not_on_the_ladder(rung):
    with pytest.raises(ValueError):
        band_of(rung)


def test_rung_is_the_rung_of_the_option_picked():
    ladder = next(i for i in V1.items if i.type == "ladder")
    for option in ladder.options:
        assert rung_of(V1, {ladder.code: option.value}) == option.rung
    assert rung_of(V1, {ladder.code: DONT_KNOW}) is None
    assert rung_of(V1, {}) is None


def test_item_score_places_answers_on_0_to_100_and_flips_reverse_items():
    plain = next(i for i in V1.theme_items("medvirkning") if not i.reverse)
    reverse = next(i for i in V1.theme_items("medvirkning") if i.reverse)
    assert [item_score(plain, v) for v in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]
    assert [item_score(reverse, v) for v in (1, 2, 3, 4, 5)] == [100, 75, 50, 25, 0]
    assert item_score(plain, DONT_KNOW) is None
    assert item_score(plain, None) is None


def test_theme_index_hand_worked():
    items = V1.theme_items("relasjon")
    assert len(items) == 5
    codes = [i.code for i in items]
    reverse = [i.code for i in items if i.reverse]
    assert reverse == ["rel_gjenta"]
    # Four plain items answered 5, 4, 3, "vet ikke"; the reverse item answered 2
    # (flipped to 4 → 75). Scores: 100, 75, 50, 75 → mean 75.
    answers = dict(zip(codes, [5, 4, 3, DONT_KNOW, 2], strict=True))
    assert theme_index(items, answers) == 75.0


def test_theme_index_needs_half_the_items():
    items = V1.theme_items("stigma")  # five items: three answers needed
    codes = [i.code for i in items]
    assert theme_index(items, dict(zip(codes[:2], [5, 5], strict=True))) is None
    assert (
        theme_index(items, dict(zip(codes[:2], [5, 5], strict=True)) | {codes[2]: DONT_KNOW})
        is None
    )
    assert theme_index(items, dict(zip(codes[:3], [5, 4, 1], strict=True))) == pytest.approx(
        58.33, abs=0.01
    )


def test_theme_index_of_an_even_number_of_items_accepts_exactly_half():
    items = V1.theme_items("medvirkning")[:4]
    codes = [i.code for i in items]
    assert all(not i.reverse for i in items[:2])
    assert theme_index(items, {codes[0]: 5, codes[1]: 3}) == 75.0
    assert theme_index(items, {codes[0]: 5}) is None


def test_score_of_a_whole_response():
    answers = {"med_stige": 6}
    for theme in V1.themes:
        for item in V1.theme_items(theme):
            answers[item.code] = 1 if item.reverse else 5
    scores = score(V1, answers)
    assert (scores.rung, scores.band) == (6, 3)
    assert scores.theme_indices == {t: 100.0 for t in V1.themes}


def test_empty_response_scores_nothing():
    scores = score(V1, {})
    assert scores.rung is None and scores.band is None
    assert set(scores.theme_indices.values()) == {None}
