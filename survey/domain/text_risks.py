"""Risks in free text, for the moderator's eye: first names, places and numbers.

privacy.md ("Free text"): people write names and places. ``survey.domain.redaction`` removes what a
machine can remove with certainty before a comment is stored; what is left to a person's
judgement is found here and highlighted, so the moderator approves, redacts or rejects it.
A finder that misses a risk costs only the highlight: the moderator reads every comment.
Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.resources import files
from typing import NamedTuple

from markupsafe import Markup, escape

KINDS = ("name", "place", "number")

# Names and places that are also everyday words ("per dag", "hans mor", "i sola", "en
# time"): flagged only with a capital first letter, or every comment would light up.
WORDLIKE = frozenset(
    {
        "per",
        "dag",
        "liv",
        "finn",
        "tom",
        "hans",
        "storm",
        "stein",
        "even",
        "line",
        "tone",
        "lene",
        "iver",
        "gro",
        "odd",
        "max",
        "live",
        "signe",
        "kim",
        "ask",
        "birk",
        "roar",
        "lea",
        "mette",
        "lasse",
        "mina",
        "vår",
        "else",
        "ski",
        "ås",
        "nes",
        "lier",
        "gran",
        "sola",
        "strand",
        "stranda",
        "tinn",
        "kinn",
        "alver",
        "tana",
        "alta",
        "moss",
        "salten",
        "grønland",
        "frogner",
        "voss",
        "kvam",
        "fana",
        "sotra",
    }
)

# Any run of digits, with the separators of dates, times and house numbers inside it
# ("12.03.2024", "14:30", "3-4", "12b" counts its digits only).
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_GENITIVE = ("'s", "’s", "s")


class Span(NamedTuple):
    """A risk at ``text[start:end]``; ``kind`` is one of KINDS."""

    start: int
    end: int
    kind: str


def _read_list(name: str) -> tuple[str, ...]:
    text = files("survey").joinpath("data", name).read_text(encoding="utf-8")
    return tuple(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """The first names of ``data/fornavn.txt``, lower-cased."""
    return frozenset(_normal(name) for name in _read_list("fornavn.txt"))


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """The places of ``data/steder.txt``, lower-cased."""
    return frozenset(_normal(place) for place in _read_list("steder.txt"))


def _normal(phrase: str) -> str:
    return " ".join(phrase.split()).lower()


@lru_cache(maxsize=64)
def _pattern(words: frozenset[str]) -> re.Pattern:
    """Any of ``words`` as a whole word (or phrase, any whitespace between its words),
    case-insensitive, with an optional genitive ending. Longest first, so that "Mo i
    Rana" wins over "Rana"."""
    alternatives = sorted(
        (r"\s+".join(map(re.escape, w.split())) for w in words if w), key=len, reverse=True
    )
    if not alternatives:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?:['’]s|s)?(?!\w)", re.IGNORECASE)


def _base(found: str, words: frozenset[str]) -> str:
    """The listed word a match stands for: the match itself, or without its genitive."""
    normal = _normal(found)
    if normal in words:
        return normal
    for ending in _GENITIVE:
        if normal.endswith(ending) and normal[: -len(ending)] in words:
            return normal[: -len(ending)]
    return normal


def _words(text: str, words: frozenset[str], kind: str) -> list[Span]:
    spans = []
    for match in _pattern(words).finditer(text):
        if _base(match.group(), words) in WORDLIKE and not match.group()[0].isupper():
            continue
        spans.append(Span(match.start(), match.end(), kind))
    return spans


def find_risks(text: str, extra_places: Iterable[str] = ()) -> list[Span]:
    """Every first name, place and number in ``text``, in order of position. Spans of
    different kinds may overlap (a word that is both a name and a place).
    ``extra_places`` adds names to the place list (e.g. the offices and their
    municipalities); they are matched case-insensitively, like the list."""
    extra = frozenset(_normal(p) for p in extra_places if p and p.strip())
    spans = [
        *_words(text, first_names(), "name"),
        *_words(text, places() | extra, "place"),
        *(Span(m.start(), m.end(), "number") for m in _NUMBER.finditer(text)),
    ]
    return sorted(spans)


def merge(spans: Iterable[Span], length: int) -> list[tuple[int, int, tuple[str, ...]]]:
    """Spans as non-overlapping ranges (start, end, kinds): overlapping spans become one
    range with each of their kinds (in KINDS order). Spans are clipped to [0, length];
    empty ones are dropped. Raises ValueError for a kind not in KINDS."""
    ranges: list[list] = []
    for start, end, kind in sorted(spans):
        if kind not in KINDS:
            raise ValueError(f"unknown risk kind {kind!r}")
        start, end = max(0, start), min(length, end)
        if start >= end:
            continue
        if ranges and start < ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
            ranges[-1][2].add(kind)
        else:
            ranges.append([start, end, {kind}])
    return [(s, e, tuple(k for k in KINDS if k in kinds)) for s, e, kinds in ranges]


def highlight(text: str, spans: Iterable[Span], labels: Mapping[str, str] | None = None) -> Markup:
    """``text`` as escaped HTML with each risk in ``<mark class="risk risk-KIND">``
    (several kinds where spans overlap), titled with ``labels[kind]`` when given. Nothing
    of ``text`` reaches the HTML unescaped."""
    out = []
    at = 0
    for start, end, kinds in merge(spans, len(text)):
        out.append(escape(text[at:start]))
        classes = " ".join(["risk", *(f"risk-{kind}" for kind in kinds)])
        title = ""
        if labels:
            title = Markup(' title="{}"').format(", ".join(str(labels.get(k, k)) for k in kinds))
        out.append(Markup('<mark class="{}"{}>{}</mark>').format(classes, title, text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)
