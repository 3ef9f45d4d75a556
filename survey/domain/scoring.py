"""Scores computed once, at submission, and stored on the response so charts aggregate
in SQL without re-reading answers. Pure functions; documented in the codebook.

- **rung** 1–8: the ladder option the respondent picked (Arnstein 1969).
- **band**: 1 ikke-deltakelse (rungs 1–2), 2 symbolsk deltakelse (3–5),
  3 reell innflytelse (6–8).
- **theme index** 0–100 per theme: each answered agreement item is placed on 0–100
  (lowest option 0, highest 100), reverse-coded items flipped first; "vet ikke" counts as
  missing; the index is the mean, computed only when at least half the theme's items are
  answered.
- **counts as a response**: at least half of the scored items (the ladder and the themes'
  agreement items; "vet ikke" is not an answer) are answered. Anything less is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..questionnaire import DONT_KNOW, Item, Questionnaire

SCORING_VERSION = 1

BANDS = {
    1: "ikke_deltakelse",
    2: "symbolsk_deltakelse",
    3: "reell_innflytelse",
}


@dataclass(frozen=True)
class Scores:
    rung: int | None
    band: int | None
    theme_indices: dict[str, float | None]

    @property
    def stored_indices(self) -> dict[str, float]:
        """The theme indices as a response stores them (``Response.theme_indices``): only
        the themes that have one."""
        return {theme: value for theme, value in self.theme_indices.items() if value is not None}


def band_of(rung: int | None) -> int | None:
    """The band a rung belongs to: 1–2 → 1, 3–5 → 2, 6–8 → 3."""
    if rung is None:
        return None
    if not 1 <= rung <= 8:
        raise ValueError(f"rung {rung} is not on the ladder")
    return 1 if rung <= 2 else 2 if rung <= 5 else 3


def rung_of(questionnaire: Questionnaire, answers: dict) -> int | None:
    """The rung of the ladder option picked, or None if skipped or 'vet ikke'."""
    item = questionnaire.ladder
    value = answers.get(item.code)
    if value is None or value == DONT_KNOW:
        return None
    return next(o.rung for o in item.options if o.value == value)


def item_score(item: Item, value: int | None) -> float | None:
    """One agreement answer on 0–100, reverse-coded items flipped; None when missing."""
    if value is None or value == DONT_KNOW:
        return None
    low, high = item.value_range
    if item.reverse:
        value = low + high - value
    return (value - low) / (high - low) * 100


def theme_index(items: tuple[Item, ...], answers: dict) -> float | None:
    """Mean item score of a theme, if at least half its items are answered."""
    scores = [s for s in (item_score(i, answers.get(i.code)) for i in items) if s is not None]
    if not items or 2 * len(scores) < len(items):
        return None
    return round(sum(scores) / len(scores), 2)


def score(questionnaire: Questionnaire, answers: dict) -> Scores:
    rung = rung_of(questionnaire, answers)
    return Scores(
        rung=rung,
        band=band_of(rung),
        theme_indices={
            theme: theme_index(questionnaire.theme_items(theme), answers)
            for theme in questionnaire.themes
        },
    )


def scored_items(questionnaire: Questionnaire) -> tuple[Item, ...]:
    """The items a response's scores come from: the ladder and every agreement item of a
    theme (the items ``score`` reads)."""
    return tuple(
        item
        for item in questionnaire.items
        if item.type == "ladder" or item.theme in questionnaire.themes
    )


def answers_needed(questionnaire: Questionnaire) -> int:
    """How many scored items a response must answer to count: half, rounded up."""
    return (len(scored_items(questionnaire)) + 1) // 2


def scored_answers(questionnaire: Questionnaire, answers: dict) -> int:
    """How many scored items are answered; "vet ikke" is not an answer."""
    return sum(
        1 for item in scored_items(questionnaire) if answers.get(item.code) not in (None, DONT_KNOW)
    )


def counts_as_response(questionnaire: Questionnaire, answers: dict) -> bool:
    """Whether a submission is a response at all: at least half of the scored items
    (the ladder and the themes' agreement items) are answered. One that is not is never
    stored, so that clicking through empty forms cannot fill a group up to k."""
    return scored_answers(questionnaire, answers) >= max(answers_needed(questionnaire), 1)
