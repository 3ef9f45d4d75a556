"""Questionnaires are data: TOML files in ``survey/questionnaires/`` (format in
``docs/questionnaire-format.md``). This module loads and validates them. Pure: no Flask."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import cast

LANGUAGES = ("nb", "nn", "en")
ITEM_TYPES = ("ladder", "scale", "choice", "multi", "text")
DONT_KNOW = -1  # "Vet ikke / vil ikke svare", the one missing-value code
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DIRECTORY = Path(__file__).parent / "questionnaires"


class QuestionnaireError(ValueError):
    """A questionnaire file that does not validate; ``problems`` lists every fault found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Text:
    """One user-visible text in every language."""

    nb: str
    nn: str
    en: str

    def __call__(self, lang: str) -> str:
        return getattr(self, lang if lang in LANGUAGES else "nb")


@dataclass(frozen=True)
class Option:
    value: int | str
    label: Text
    rung: int | None = None
    hint: Text | None = None


@dataclass(frozen=True)
class Condition:
    """Show an item or page only when an earlier answer holds: the answer to ``item`` is
    one of ``any_of`` (for a multi item: names at least one of them). Evaluated on the
    server, so it works without JavaScript; an item it hides is *not asked*, which the
    stored answers tell from *not answered* by the answer to ``item`` (the codebook says
    so)."""

    item: str
    any_of: tuple

    def holds(self, answers: dict) -> bool:
        given = answers.get(self.item)
        if given is None:
            return False
        given = given if isinstance(given, list) else [given]
        return any(value in self.any_of for value in given)


@dataclass(frozen=True)
class Item:
    code: str
    type: str
    text: Text
    hint: Text | None = None
    options: tuple[Option, ...] = ()
    scale: str | None = None
    theme: str | None = None
    reverse: bool = False
    dont_know: bool = False
    exclusive: tuple[str, ...] = ()
    max_length: int = 1000
    show_if: Condition | None = None
    # The crosswalk: the item of the version named by ``crosswalk_from`` whose answers
    # this item's may be set beside (None: new, or not comparable).
    comparable_with: str | None = None

    @cached_property  # read for every answer of every submission: computed once
    def values(self) -> tuple:
        """Every value a valid answer may take (``DONT_KNOW`` included where offered)."""
        vals = tuple(o.value for o in self.options)
        return vals + (DONT_KNOW,) if self.dont_know else vals

    @property
    def value_range(self) -> tuple[int, int]:
        """Lowest and highest substantive value of a scale item."""
        nums = [cast(int, o.value) for o in self.options]  # a scale's values are integers
        return min(nums), max(nums)


@dataclass(frozen=True)
class Page:
    code: str
    title: Text
    items: tuple[Item, ...]
    intro: Text | None = None
    show_if: Condition | None = None


@dataclass(frozen=True)
class Theme:
    code: str
    label: Text
    higher_is_better: bool = True
    # The crosswalk: whether this index may be set beside the same theme's index in the
    # version named by ``crosswalk_from`` (one trend line); None: no crosswalk.
    comparable: bool | None = None
    crosswalk_note: str = ""


@dataclass(frozen=True)
class Scoring:
    """Which items the figures beside the themes come from (the ``[scoring]`` table; the
    defaults are the codes every shipped version uses, so a file without the table means
    them). An item a version does not ask simply counts nothing."""

    ladder_item: str = "med_stige"  # the ladder: the rung and band
    measures_item: str = "tilt_deltatt"  # multi-choice: the measures taken part in
    not_measures: tuple[str, ...] = ("ingen", "vet_ikke")  # its options that are not measures
    useful_item: str = "tilt_nyttig"  # scale: whether the last measure was useful
    fit_item: str = "tilt_passet"  # scale: whether it fitted
    agree: tuple[int, ...] = (4, 5)  # the answers to those two that count as agreeing


SCORING_KEYS = {
    "ladder_item": "ladder",
    "measures_item": "multi",
    "useful_item": "scale",
    "fit_item": "scale",
}


@dataclass(frozen=True)
class Questionnaire:
    version: int
    title: Text
    pages: tuple[Page, ...]
    themes: dict[str, Theme] = field(default_factory=dict)
    crosswalk_from: int | None = None  # the earlier version the crosswalk refers to
    scoring: Scoring = field(default_factory=Scoring)

    # A questionnaire never changes once parsed, so what is derived from its pages is
    # computed once (every submission reads it for every item).
    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for page in self.pages for item in page.items)

    def item(self, code: str) -> Item:
        return self._by_code[code]

    @cached_property
    def _by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    @cached_property
    def _page_by_code(self) -> dict[str, int]:
        return {item.code: index for index, page in enumerate(self.pages) for item in page.items}

    def page_of(self, code: str) -> int:
        return self._page_by_code[code]

    def comparable(self, score: str, version: int) -> bool:
        """Whether ``score`` (a theme code, or ``"rung"``) may be set beside the same
        score of ``version``: always with itself; with the version this one's crosswalk
        names, as the crosswalk says (the rung: when the ladder item names one of that
        version's); with any other, never."""
        if version == self.version:
            return True
        if self.crosswalk_from is None or version != self.crosswalk_from:
            return False
        if score == "rung":
            return self.ladder.comparable_with is not None
        theme = self.themes.get(score)
        return bool(theme and theme.comparable)

    @property
    def ladder(self) -> Item:
        """The ladder item the ``[scoring]`` table names (the one ladder by default)."""
        found = self._by_code.get(self.scoring.ladder_item)
        return found or next(item for item in self.items if item.type == "ladder")

    def theme_items(self, theme: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.theme == theme)

    def asked(self, code: str, answers: dict) -> bool:
        """Whether item ``code`` is asked, given the ``answers`` so far: its own condition
        and its page's hold (an item without either is always asked)."""
        return all(c.holds(answers) for c in self.conditions(code))

    def conditions(self, code: str) -> tuple[Condition, ...]:
        """The ``show_if`` conditions item ``code`` is asked under (its page's, its own)."""
        return self._conditions[code]

    @cached_property
    def _conditions(self) -> dict[str, tuple[Condition, ...]]:
        return {
            item.code: tuple(c for c in (page.show_if, item.show_if) if c is not None)
            for page in self.pages
            for item in page.items
        }

    def page_shown(self, index: int, answers: dict) -> bool:
        """Whether page ``index`` is shown: its condition holds and it asks something."""
        page = self.pages[index]
        return any(self.asked(item.code, answers) for item in page.items)

    def next_page(self, index: int, answers: dict, step: int = 1) -> int:
        """The next shown page after ``index`` (``step`` -1: before it); ``index`` itself
        if there is none that way. The first and the last page are always shown."""
        at = index + step
        while 0 <= at < len(self.pages):
            if self.page_shown(at, answers):
                return at
            at += step
        return index


def _required_text(raw, where: str, problems: list[str]) -> Text:
    """A text the file must give. A missing or broken one is recorded in ``problems``, and
    then ``parse`` refuses the file: the None standing in for it never leaves ``parse``."""
    return cast(Text, _text(raw, where, problems))


def _text(raw, where: str, problems: list[str], required: bool = True) -> Text | None:
    if raw is None:
        if required:
            problems.append(f"{where}: missing text")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: text must be a table of nb, nn and en")
        return None
    values = {}
    for lang in LANGUAGES:
        value = raw.get(lang)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: no {lang} text")
            value = ""
        values[lang] = value.strip()
    extra = set(raw) - set(LANGUAGES)
    if extra:
        problems.append(f"{where}: unknown languages {sorted(extra)}")
    return Text(**values)


def _options(raw_options, where: str, problems: list[str], *, string_codes: bool) -> tuple:
    options = []
    seen = set()
    if not isinstance(raw_options, list) or not raw_options:
        problems.append(f"{where}: needs a non-empty list of options")
        return ()
    for n, raw in enumerate(raw_options):
        at = f"{where} option {n + 1}"
        value = raw.get("code") if string_codes else raw.get("value")
        if string_codes and not (isinstance(value, str) and CODE_RE.match(value)):
            problems.append(f"{at}: code must be lower snake_case ascii")
        if not string_codes and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"{at}: value must be an integer")
        elif not string_codes and value == DONT_KNOW:
            problems.append(f"{at}: {DONT_KNOW} is reserved for 'vet ikke'")
        if value in seen:
            problems.append(f"{at}: duplicate value {value!r}")
        seen.add(value)
        options.append(
            Option(
                value=value,
                label=_required_text(raw.get("label"), f"{at} label", problems),
                rung=raw.get("rung"),
                hint=_text(raw.get("hint"), f"{at} hint", problems, required=False),
            )
        )
    return tuple(options)


def _condition(raw, where: str, earlier: dict[str, Item], problems: list[str]):
    """A ``show_if`` table: ``item`` names an item on an *earlier page* (so the server knows
    the answer when it builds the page, without JavaScript), ``any_of`` some of its
    values."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"item", "any_of"}:
        problems.append(f"{where}: show_if needs exactly item and any_of")
        return None
    target = earlier.get(raw["item"])
    values = raw["any_of"]
    if target is None:
        problems.append(f"{where}: show_if names {raw['item']!r}, not an item on an earlier page")
        return None
    if target.type == "text":
        problems.append(f"{where}: show_if cannot depend on a free-text item")
        return None
    if (
        not isinstance(values, list)
        or not values
        or set(values) - {o.value for o in target.options}
    ):
        problems.append(f"{where}: show_if any_of must list options of {target.code}")
        return None
    return Condition(item=target.code, any_of=tuple(values))


# --- the crosswalk (docs/questionnaire-format.md, "Crosswalk") -----------------------


def _flag(raw: dict, key: str, where: str, problems: list[str]) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        problems.append(f"{where}: {key} must be true or false")
        return None
    return value


def _note(raw: dict, where: str, problems: list[str]) -> str:
    value = raw.get("crosswalk_note", "")
    if not isinstance(value, str):
        problems.append(f"{where}: crosswalk_note must be a text")
        return ""
    return value.strip()


def _comparable_with(raw: dict, where: str, problems: list[str]) -> str | None:
    value = raw.get("comparable_with")
    if value is not None and not (isinstance(value, str) and CODE_RE.match(value)):
        problems.append(f"{where}: comparable_with must name an item code")
        return None
    return value


def _check_crosswalk_shape(
    crosswalk_from, version, themes: dict, pages: list, problems: list[str]
) -> None:
    """What the file alone tells: ``crosswalk_from`` names an earlier version whenever an
    item or theme uses the crosswalk, every theme then says whether it is comparable, and
    a comparable theme has no item without a counterpart (a new item changes its index)."""
    items = [item for page in pages for item in page.items]
    used = any(i.comparable_with for i in items) or any(
        t.comparable is not None for t in themes.values()
    )
    if crosswalk_from is None:
        if used:
            problems.append("comparable_with and comparable need crosswalk_from")
        return
    if (
        not isinstance(crosswalk_from, int)
        or isinstance(crosswalk_from, bool)
        or crosswalk_from < 1
        or (isinstance(version, int) and crosswalk_from >= version)
    ):
        problems.append("crosswalk_from: must name an earlier version")
        return
    for code, theme in themes.items():
        if theme.comparable is None:
            problems.append(
                f"theme {code}: say whether it is comparable with version "
                f"{crosswalk_from} (comparable = true or false)"
            )
        elif theme.comparable:
            new = [i.code for i in items if i.theme == code and not i.comparable_with]
            if new:
                problems.append(
                    f"theme {code}: comparable, but {', '.join(new)} has no comparable_with"
                )


def crosswalk_problems(new: Questionnaire, versions: dict[int, Questionnaire]) -> list[str]:
    """What only the earlier version tells: it exists, each ``comparable_with`` names one
    of its items of the same type, and a comparable theme is scored from the counterparts
    of exactly the items that scored it there, each coded the same way round."""
    if new.crosswalk_from is None:
        return []
    old = versions.get(new.crosswalk_from)
    if old is None:
        return [f"crosswalk_from: there is no version {new.crosswalk_from}"]
    problems = []
    before = {item.code: item for item in old.items}
    for item in new.items:
        if item.comparable_with is None:
            continue
        match = before.get(item.comparable_with)
        if match is None:
            problems.append(
                f"item {item.code}: comparable_with names "
                f"{item.comparable_with!r}, not an item of version {old.version}"
            )
        elif match.type != item.type:
            problems.append(f"item {item.code}: comparable_with names a {match.type} item")
    for code, theme in new.themes.items():
        if not theme.comparable:
            continue
        items = new.theme_items(code)
        pairs = [(i, before[i.comparable_with]) for i in items if i.comparable_with in before]
        # An item without a counterpart there is not "the same items" either.
        if (
            code not in old.themes
            or len(pairs) != len(items)
            or {m.code for _, m in pairs} != {i.code for i in old.theme_items(code)}
        ):
            problems.append(
                f"theme {code}: comparable, but not scored from the same items "
                f"as in version {old.version}"
            )
        elif any(m.theme != code or m.reverse != i.reverse for i, m in pairs):
            problems.append(
                f"theme {code}: comparable, but an item changed its theme or its direction"
            )
    return problems


def _scoring(raw, items: dict[str, Item], problems: list[str]) -> Scoring:
    """The ``[scoring]`` table: each item it names must be asked, and of the right type;
    the ladder item defaults to the one ladder."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append("scoring: must be a table")
        raw = {}
    unknown = sorted(set(raw) - {*SCORING_KEYS, "not_measures", "agree"})
    if unknown:
        problems.append(f"scoring: unknown keys {', '.join(unknown)}")
    ladders = [code for code, item in items.items() if item.type == "ladder"]
    values: dict = {"ladder_item": ladders[0]} if ladders else {}
    for key, kind in SCORING_KEYS.items():
        if key not in raw:
            continue
        code = raw[key]
        if not isinstance(code, str) or code not in items or items[code].type != kind:
            problems.append(f"scoring: {key} must name a {kind} item")
        else:
            values[key] = code
    for key in ("not_measures", "agree"):
        if key not in raw:
            continue
        value = raw[key]
        wanted = str if key == "not_measures" else int
        if not isinstance(value, list) or not all(
            isinstance(v, wanted) and not isinstance(v, bool) for v in value
        ):
            problems.append(f"scoring: {key} must be a list of {wanted.__name__}s")
        elif wanted is str and not all(CODE_RE.match(v) for v in value):
            problems.append(f"scoring: {key} must be option codes (lower snake_case ascii)")
        else:
            values[key] = tuple(value)
    return Scoring(**values)


def _scales(raw_scales, problems: list[str]) -> dict[str, tuple[Option, ...]]:
    scales = {}
    for code, raw in (raw_scales or {}).items():
        opts = _options(raw.get("options"), f"scale {code}", problems, string_codes=False)
        values = sorted(o.value for o in opts)
        if values and values != list(range(values[0], values[0] + len(values))):
            problems.append(f"scale {code}: values must be consecutive integers")
        scales[code] = opts
    return scales


def _themes(raw_themes, problems: list[str]) -> dict[str, Theme]:
    themes = {}
    for code, raw in (raw_themes or {}).items():
        if not CODE_RE.match(code):
            problems.append(f"theme {code}: code must be lower snake_case ascii")
        themes[code] = Theme(
            code=code,
            label=_required_text(raw.get("label"), f"theme {code}", problems),
            higher_is_better=bool(raw.get("higher_is_better", True)),
            comparable=_flag(raw, "comparable", f"theme {code}", problems),
            crosswalk_note=_note(raw, f"theme {code}", problems),
        )
    return themes


def _item_options(raw, kind: str, where: str, scales, problems: list[str]) -> tuple:
    if kind == "scale":
        if raw.get("scale") not in scales:
            problems.append(f"{where}: unknown scale {raw.get('scale')!r}")
        return scales.get(raw.get("scale"), ())
    if kind in ("ladder", "choice"):
        return _options(raw.get("options"), where, problems, string_codes=False)
    if kind == "multi":
        return _options(raw.get("options"), where, problems, string_codes=True)
    return ()


def _item(raw, scales, themes, codes: set[str], seen_items, problems: list[str]) -> Item | None:
    """One item, its problems noted (None if its type is unknown). ``codes``: the codes
    so far, this one added; ``seen_items``: those of earlier pages, which a condition
    may name."""
    code = raw.get("code", "")
    where = f"item {code or '?'}"
    if not CODE_RE.match(code):
        problems.append(f"{where}: code must be lower snake_case ascii")
    if code in codes:
        problems.append(f"{where}: duplicate code")
    codes.add(code)
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        problems.append(f"{where}: unknown type {kind!r}")
        return None
    options = _item_options(raw, kind, where, scales, problems)
    theme = raw.get("theme")
    if theme is not None and (kind != "scale" or theme not in themes):
        problems.append(f"{where}: theme {theme!r} needs a scale item and a known theme")
    if kind == "ladder":
        rungs = sorted(o.rung for o in options if isinstance(o.rung, int))
        if rungs != list(range(1, 9)) or any(o.value != o.rung for o in options):
            problems.append(f"{where}: a ladder has eight options, value == rung 1..8")
    show_if = _condition(raw.get("show_if"), where, seen_items, problems)
    exclusive = tuple(raw.get("exclusive") or ())
    if set(exclusive) - {o.value for o in options}:
        problems.append(f"{where}: exclusive names an unknown option")
    return Item(
        code=code,
        type=kind,
        text=_required_text(raw.get("text"), where, problems),
        hint=_text(raw.get("hint"), f"{where} hint", problems, required=False),
        options=options,
        scale=raw.get("scale"),
        theme=theme,
        reverse=bool(raw.get("reverse", False)),
        dont_know=bool(raw.get("dont_know", False)) and kind != "multi",
        exclusive=exclusive,
        max_length=int(raw.get("max_length", 1000)),
        show_if=show_if,
        comparable_with=_comparable_with(raw, where, problems),
    )


def _pages(raw_pages, scales, themes, seen_items, problems: list[str]) -> list[Page]:
    """The pages in order; ``seen_items`` gathers every item (a condition may name only
    the items of earlier pages)."""
    pages = []
    codes: set[str] = set()
    raw_pages = raw_pages or []
    for p, raw_page in enumerate(raw_pages):
        page_code = raw_page.get("code", f"#{p + 1}")
        page_if = _condition(raw_page.get("show_if"), f"page {page_code}", seen_items, problems)
        if page_if is not None and p in (0, len(raw_pages) - 1):
            problems.append(f"page {page_code}: the first and the last page are always shown")
        items = [
            item
            for raw in raw_page.get("items") or []
            if (item := _item(raw, scales, themes, codes, seen_items, problems)) is not None
        ]
        if not items:
            problems.append(f"page {page_code}: has no items")
        pages.append(
            Page(
                code=page_code,
                title=_required_text(raw_page.get("title"), f"page {page_code}", problems),
                intro=_text(raw_page.get("intro"), f"page {page_code} intro", problems, False),
                items=tuple(items),
                show_if=page_if,
            )
        )
        seen_items.update((item.code, item) for item in items)
    return pages


def parse(data: dict) -> Questionnaire:
    """Build a questionnaire from parsed TOML, or raise ``QuestionnaireError`` listing
    every problem (codes unique, translations complete, scales consistent, one ladder):
    one check per rule of the file format, so every problem is reported at once."""
    problems: list[str] = []
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        problems.append("version: must be a positive integer")
    title = _required_text(data.get("title"), "title", problems)
    scales = _scales(data.get("scales"), problems)
    themes = _themes(data.get("themes"), problems)
    seen_items: dict[str, Item] = {}
    pages = _pages(data.get("pages"), scales, themes, seen_items, problems)
    if not pages:
        problems.append("the questionnaire has no pages")
    crosswalk_from = data.get("crosswalk_from")
    _check_crosswalk_shape(crosswalk_from, version, themes, pages, problems)
    ladders = sum(item.type == "ladder" for page in pages for item in page.items)
    if ladders != 1:
        problems.append(f"the questionnaire needs exactly one ladder item, has {ladders}")
    for code in themes:
        if not any(i.theme == code for page in pages for i in page.items):
            problems.append(f"theme {code}: no item scores it")
    scoring = _scoring(data.get("scoring"), seen_items, problems)
    if problems:
        raise QuestionnaireError(problems)
    return Questionnaire(
        version=cast(int, version),  # checked above: a positive integer, or a problem
        title=title,
        pages=tuple(pages),
        themes=themes,
        crosswalk_from=crosswalk_from,
        scoring=scoring,
    )


def load_file(path: Path) -> Questionnaire:
    with open(path, "rb") as fh:
        return parse(tomllib.load(fh))


@cache
def published() -> dict[int, Questionnaire]:
    """Every questionnaire version shipped with Stigen, by version number."""
    found = {}
    for path in sorted(DIRECTORY.glob("v*.toml")):
        questionnaire = load_file(path)
        if questionnaire.version in found:
            raise QuestionnaireError([f"{path.name}: version {questionnaire.version} twice"])
        found[questionnaire.version] = questionnaire
    for questionnaire in found.values():
        problems = crosswalk_problems(questionnaire, found)
        if problems:
            raise QuestionnaireError([f"v{questionnaire.version}.toml: {p}" for p in problems])
    return found


def get(version: int) -> Questionnaire:
    return published()[version]


# --- comparing two versions -----------------------------------------------------------

ASPECTS = ("type", "text", "scale", "options", "theme", "reverse")


@dataclass(frozen=True)
class Comparison:
    """How ``new`` relates to ``old``, item by item: responses to a ``kept`` item stay
    comparable across the versions; a ``changed`` item keeps its code but differs in the
    named aspects, so its answers may not be."""

    kept: tuple[str, ...]
    changed: tuple[tuple[str, tuple[str, ...]], ...]  # (code, aspects that differ)
    added: tuple[str, ...]
    removed: tuple[str, ...]


def _aspects(item: Item) -> dict[str, object]:
    """What decides whether answers to an item mean the same in two versions: the
    bokmål wording (the source language), the values and their labels, the scoring."""
    return {
        "type": item.type,
        "text": item.text.nb,
        "scale": item.scale,
        "options": (tuple((o.value, o.rung, o.label.nb) for o in item.options), item.dont_know),
        "theme": item.theme,
        "reverse": item.reverse,
    }


def compare(old: Questionnaire, new: Questionnaire) -> Comparison:
    """Which item codes ``new`` keeps unchanged, keeps but changes, adds and removes,
    in questionnaire order (``removed`` in ``old``'s order)."""
    before = {item.code: _aspects(item) for item in old.items}
    after = {item.code: _aspects(item) for item in new.items}
    kept, changed = [], []
    for code, aspects in after.items():
        if code in before:
            differ = tuple(a for a in ASPECTS if aspects[a] != before[code][a])
            if differ:
                changed.append((code, differ))
            else:
                kept.append(code)
    return Comparison(
        kept=tuple(kept),
        changed=tuple(changed),
        added=tuple(code for code in after if code not in before),
        removed=tuple(code for code in before if code not in after),
    )
