"""Synthetic responses for demos and benchmarks. Pure: no Flask, no database.

Each synthetic respondent has one latent "how well the follow-up works for me" value,
drawn around their office's own mean; the ladder rung and every agreement item follow
it with noise, so offices differ and the themes hang together as real ones would.
Scores come from the real scoring functions.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

from ..domain.scoring import Scores, score
from ..questionnaire import DONT_KNOW, Questionnaire

DEMO_OFFICES = (
    # slug, name, municipality, county
    ("gamle-oslo", "NAV Gamle Oslo", "Oslo", "Oslo"),
    ("grunerlokka", "NAV Grünerløkka", "Oslo", "Oslo"),
    ("bergenhus", "NAV Bergenhus", "Bergen", "Vestland"),
    ("trondheim-midtbyen", "NAV Midtbyen", "Trondheim", "Trøndelag"),
    ("stavanger", "NAV Stavanger", "Stavanger", "Rogaland"),
    ("tromso", "NAV Tromsø", "Tromsø", "Troms"),
    ("kristiansand", "NAV Kristiansand", "Kristiansand", "Agder"),
    ("bodo", "NAV Bodø", "Bodø", "Nordland"),
    ("lillehammer", "NAV Lillehammer", "Lillehammer", "Innlandet"),
    ("drammen", "NAV Drammen", "Drammen", "Buskerud"),
)


def demo_offices(count: int) -> list[tuple[str, str, str, str]]:
    """``count`` offices: the real-sounding ones first, then numbered ones for scale tests."""
    offices = list(DEMO_OFFICES[:count])
    for n in range(len(offices), count):
        offices.append((f"demo-{n + 1:03d}", f"NAV Demo {n + 1:03d}", "Demo", "Demo"))
    return offices


@dataclass(frozen=True)
class SyntheticAnswers:
    answers: dict
    scores: Scores
    language: str


def _agreement(latent: float, rng: random.Random) -> int:
    return min(5, max(1, round(3 + 1.1 * latent + rng.gauss(0, 0.8))))


def respondent(questionnaire: Questionnaire, office_mean: float, rng: random.Random):
    """One synthetic respondent's answers and scores."""
    latent = rng.gauss(office_mean, 1.0)
    answers: dict = {}
    for item in questionnaire.items:
        if item.type == "text" or not questionnaire.asked(item.code, answers):
            continue  # branching: an item not asked has no answer (v1 asks everything)
        draw = rng.random()
        if draw < 0.04:
            continue  # skipped
        if draw < 0.08 and item.dont_know:
            answers[item.code] = DONT_KNOW
            continue
        if item.type == "ladder":
            answers[item.code] = min(8, max(1, round(4.3 + 1.6 * latent + rng.gauss(0, 1.2))))
        elif item.type == "scale":
            # Stigma is felt more where the follow-up works less well.
            direction = (
                -1 if item.theme and not questionnaire.themes[item.theme].higher_is_better else 1
            )
            value = _agreement(direction * latent, rng)
            answers[item.code] = 6 - value if item.reverse else value
        elif item.type == "choice":
            answers[item.code] = rng.choice(item.options).value
        elif item.type == "multi":
            substantive = [o.value for o in item.options if o.value not in item.exclusive]
            if rng.random() < 0.2:
                answers[item.code] = [rng.choice(item.exclusive)] if item.exclusive else []
            else:
                picked = rng.sample(substantive, k=rng.choice((1, 1, 2, 3)))
                answers[item.code] = [v for v in substantive if v in picked]
    language = rng.choices(("nb", "nn", "en"), weights=(80, 12, 8))[0]
    return SyntheticAnswers(
        answers=answers, scores=score(questionnaire, answers), language=language
    )


def answer_pool(questionnaire: Questionnaire, office_mean: float, size: int, seed: int):
    """A pool of distinct synthetic respondents around one office mean. Millions of rows
    are drawn from small pools so that making them costs database time, not Python time."""
    rng = random.Random(seed)
    return [respondent(questionnaire, office_mean, rng) for _ in range(size)]


# uuid4's fixed bits, set in bulk: the version (4) in byte 6, the variant (10xx) in byte 8.
_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def random_ids(count: int) -> list[str]:
    """``count`` random UUIDs (version 4, as ``uuid.uuid4()`` makes them) as 32 hex
    digits, from one read of the operating system's random source: a million cost a
    fraction of a second instead of a few."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    digits = raw.hex()
    return [digits[at : at + 32] for at in range(0, 32 * count, 32)]
