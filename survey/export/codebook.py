"""The codebook of the response-level export: one row per CSV column (from
``columns.columns``), and short R and pandas snippets that read the CSV the way it is
written. Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..domain.scoring import answers_needed, scored_items
from ..questionnaire import DONT_KNOW, Questionnaire, published
from .anonymity import ALPHA_MIN_N, QUASI_IDENTIFIERS
from .columns import BINARY, CATEGORY, CHOICE, ID, SCALE, SCORE, Column, columns

if TYPE_CHECKING:  # only the type: reliability needs the database models
    from .reliability import Alpha

HEADER = [
    "column",
    "kind",
    "question_nb",
    "question_nn",
    "question_en",
    "values",
    "missing",
    "theme",
    "reverse_coded",
    "rungs",
    "computation",
]

NOT_ANSWERED = "empty = not answered"
DONT_KNOW_MISSING = f"empty = not answered; {DONT_KNOW} = vet ikke / vil ikke svare"
NOT_COMPUTED = "empty = not computed (see computation)"
QUASI_IDENTIFIER = (
    "Quasi-identifier: the file is k-anonymous on office, period, language, "
    "bak_alder, bak_varighet and rel_antall together; where a combination is "
    'rarer than k, the period is a quarter or half-year, the office "andre", '
    "or this cell is blanked (written empty). svar-info.txt counts them."
)


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def alpha_text(alpha: Alpha | None) -> str:
    """The sentence added to a theme index's computation, e.g. "Cronbach's alpha on this
    selection: 0.84 (n = 1 234 complete cases)."; None: too few complete cases to show."""
    if alpha is None:
        return (
            f"Cronbach's alpha on this selection: not shown (fewer than {ALPHA_MIN_N} "
            "complete cases in the file)."
        )
    cases = f"n = {_thousands(alpha.n)} complete case{'' if alpha.n == 1 else 's'}"
    if alpha.alpha is None:
        return f"Cronbach's alpha on this selection: not computable ({cases})."
    return f"Cronbach's alpha on this selection: {alpha.alpha:.2f} ({cases})."


def _missing(column: Column) -> str:
    if column.kind in (ID, CATEGORY):
        return ""
    if column.kind == SCORE:
        return "" if column.name == "scoring_version" else NOT_COMPUTED
    if column.item is not None and column.item.dont_know and column.kind != BINARY:
        return DONT_KNOW_MISSING
    return NOT_ANSWERED


def _not_asked(questionnaire: Questionnaire, code: str) -> str:
    """Branching (``show_if``): when the item was not asked at all, which is stored as empty
    too and told from "not answered" by the answer the condition names."""
    conditions = questionnaire.conditions(code)
    if not conditions:
        return ""
    rules = " and ".join(f"{c.item} is one of {', '.join(map(str, c.any_of))}" for c in conditions)
    return (
        f"; asked only when {rules} (branching): where that does not hold, empty = "
        "not asked, not a skipped answer"
    )


def codebook_rows(
    questionnaire: Questionnaire, alphas: Mapping[str, Alpha | None]
) -> list[list[str]]:
    """One row per column of the CSV, in the CSV's order, under ``HEADER``."""
    rows = []
    for column in columns(questionnaire):
        computation = column.computation
        if column.kind == SCORE and column.theme and column.theme in alphas:
            computation = f"{computation} {alpha_text(alphas[column.theme])}".strip()
        if column.name in QUASI_IDENTIFIERS:
            computation = f"{computation} {QUASI_IDENTIFIER}".strip()
        missing = _missing(column)
        if column.item is not None and missing:
            missing = f"{missing}{_not_asked(questionnaire, column.item.code)}"
        rows.append(
            [
                column.name,
                column.kind,
                *(column.label(lang) if column.label else "" for lang in ("nb", "nn", "en")),
                "; ".join(f"{value}={label.nb}" for value, label in column.values),
                missing,
                column.theme or "",
                ("yes" if column.reverse else "no") if column.kind == SCALE else "",
                "; ".join(f"{value}={rung}" for value, rung in column.rungs.items()),
                computation,
            ]
        )
    return rows


# --- snippets -------------------------------------------------------------------------


def _latest() -> Questionnaire:
    versions = published()
    return versions[max(versions)]


def _labelled(cols: list[Column]) -> list[tuple[str, list[tuple[int | str, str]]]]:
    """Columns that become factors / categoricals: the ladder, the other choice items and
    the band; value labels in bokmål, by value, without the don't-know code."""
    return [
        (c.name, sorted((v, label.nb) for v, label in c.values if v != DONT_KNOW))
        for c in cols
        if c.kind == CHOICE or c.name == "band"
    ]


def _dont_know_columns(cols: list[Column]) -> list[str]:
    return [
        c.name
        for c in cols
        if c.item is not None and c.item.dont_know and c.kind in (SCALE, CHOICE)
    ]


def _integer_columns(cols: list[Column]) -> list[str]:
    return [c.name for c in cols if c.kind in (SCALE, CHOICE, BINARY)] + ["rung", "band"]


def _wrapped(items: list[str], indent: str, width: int = 88) -> str:
    """Items joined by ", ", broken into lines between items only (never inside one)."""
    lines, line = [], ""
    for n, item in enumerate(items):
        piece = item + ("," if n < len(items) - 1 else "")
        if line and len(indent) + len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    if line:
        lines.append(line)
    return "\n".join(indent + line for line in lines)


def _r_string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    )
    return f'"{escaped}"'


def _check(separator: str, decimal: str) -> None:
    if separator == decimal:
        raise ValueError("the separator and the decimal mark must differ")


def r_snippet(
    filename: str, separator: str, decimal: str, *, questionnaire: Questionnaire | None = None
) -> str:
    """Base R that reads the CSV, turns -1 into NA and attaches value labels."""
    _check(separator, decimal)
    cols = columns(questionnaire or _latest())
    encoding = "UTF-8-BOM" if separator == ";" else "UTF-8"
    labels = ",\n".join(
        f"  {name} = c(\n"
        + _wrapped([f'"{v}" = {_r_string(label)}' for v, label in pairs], "    ")
        + ")"
        for name, pairs in _labelled(cols)
    )
    dont_know = _wrapped([_r_string(name) for name in _dont_know_columns(cols)], "  ")
    return f"""\
# Stigen: the response-level export in base R.
d <- read.csv({_r_string(filename)}, sep = {_r_string(separator)}, dec = {_r_string(decimal)},
              fileEncoding = "{encoding}", na.strings = "", stringsAsFactors = FALSE)
# period: a month (2026-04), quarter (2026-Q2) or half-year (2026-H1), kept as text.

# Empty cells are already NA; -1 ("vet ikke / vil ikke svare") becomes NA too.
dont_know <- c(
{dont_know}
)
d[dont_know] <- lapply(d[dont_know], function(x) replace(x, x %in% -1, NA))

# Value labels (bokmål) for the ladder, the band and the other choice questions.
# Scale items (1-5) and 0/1 columns stay numeric; their labels are in the codebook.
labels <- list(
{labels}
)
for (v in names(labels)) {{
  d[[v]] <- factor(d[[v]], levels = as.integer(names(labels[[v]])),
                   labels = unname(labels[[v]]))
}}
"""


def pandas_snippet(
    filename: str, separator: str, decimal: str, *, questionnaire: Questionnaire | None = None
) -> str:
    """pandas that reads the CSV, turns -1 into missing and attaches value labels."""
    _check(separator, decimal)
    cols = columns(questionnaire or _latest())
    encoding = "utf-8-sig" if separator == ";" else "utf-8"
    labels = "\n".join(
        f"    {name!r}: {{\n"
        + _wrapped([f"{v}: {label!r}" for v, label in pairs], "        ")
        + "},"
        for name, pairs in _labelled(cols)
    )
    dont_know = _wrapped([repr(name) for name in _dont_know_columns(cols)], "    ")
    integer = _wrapped([repr(name) for name in _integer_columns(cols)], "    ")
    return f"""\
# Stigen: the response-level export in pandas.
import pandas as pd

INTEGER = [
{integer}
]
DONT_KNOW = [  # -1 = "vet ikke / vil ikke svare"
{dont_know}
]
LABELS = {{  # value labels (bokmål); scale items and 0/1 columns stay numeric
{labels}
}}

df = pd.read_csv({filename!r}, sep={separator!r}, decimal={decimal!r}, encoding={encoding!r},
                 dtype={{c: "Int64" for c in INTEGER}})  # period: 2026-04, 2026-Q2 or 2026-H1
df[DONT_KNOW] = df[DONT_KNOW].replace({{-1: pd.NA}})
for column, labels in LABELS.items():
    df[column] = pd.Categorical(df[column].map(labels), categories=list(labels.values()))
"""


# --- the crosswalk to the earlier version -----------------------------------------------

CROSSWALK_HEADER = ["column", "kind", "comparable", "counterpart", "note"]
_ASPECT_NOTES = {
    "type": "question type",
    "text": "wording",
    "scale": "answer scale",
    "options": "answer options",
    "theme": "theme",
    "reverse": "direction",
}


def crosswalk_rows(
    questionnaire: Questionnaire, versions: Mapping[int, Questionnaire]
) -> list[list[str]]:
    """The crosswalk (``crosswalk_from`` in the questionnaire file) as rows under
    ``CROSSWALK_HEADER``: first every score (the rung, each theme index), then every item,
    each saying whether it may be set beside the earlier version's and with which of its
    columns, and what differs. Empty when the questionnaire declares no crosswalk."""
    earlier = versions.get(questionnaire.crosswalk_from) if questionnaire.crosswalk_from else None
    if earlier is None:
        return []
    rows = []
    rung = questionnaire.comparable("rung", earlier.version)
    ladder = questionnaire.ladder
    rows.append(
        [
            "rung",
            SCORE,
            "yes" if rung else "no",
            "rung" if rung else "",
            (
                "The same eight rungs of Arnstein's ladder (value == rung)."
                + _differences(ladder, earlier, ladder.comparable_with)
            )
            if rung
            else f"The ladder is not comparable with version {earlier.version}.",
        ]
    )
    for code, theme in questionnaire.themes.items():
        same = questionnaire.comparable(code, earlier.version)
        rows.append(
            [
                f"{code}_index",
                SCORE,
                "yes" if same else "no",
                f"{code}_index" if same else "",
                theme.crosswalk_note,
            ]
        )
    for item in questionnaire.items:
        counterpart = item.comparable_with
        rows.append(
            [
                item.code,
                item.type,
                "yes" if counterpart else "no",
                counterpart or "",
                _differences(item, earlier, counterpart).strip()
                if counterpart
                else f"New in version {questionnaire.version}.",
            ]
        )
    return rows


def _differences(item, earlier: Questionnaire, counterpart: str | None) -> str:
    """ " Differs from it in: wording, answer options." (or nothing when the same)."""
    from ..questionnaire import ASPECTS, _aspects

    if counterpart is None:
        return ""
    before = earlier.item(counterpart)
    new, old = _aspects(item), _aspects(before)
    differ = [_ASPECT_NOTES[a] for a in ASPECTS if new[a] != old[a] and a != "options"]
    if new["options"] != old["options"]:
        values, was = [o.value for o in item.options], [o.value for o in before.options]
        if values == was and item.dont_know == before.dont_know:
            differ.append("answer labels (values unchanged)")
        else:
            if values != was:
                differ.append(
                    f"answer values ({', '.join(map(str, was))} -> {', '.join(map(str, values))})"
                )
            if item.dont_know != before.dont_know:
                differ.append(
                    f"'vet ikke' ({DONT_KNOW}) {'added' if item.dont_know else 'no longer offered'}"
                )
            if values == was:
                differ.append("answer labels")
    return f" Differs from it in: {', '.join(differ)}." if differ else " Unchanged."


def not_carried_over(
    questionnaire: Questionnaire, versions: Mapping[int, Questionnaire]
) -> list[str]:
    """The earlier version's items that no item of ``questionnaire`` is comparable with."""
    earlier = versions.get(questionnaire.crosswalk_from) if questionnaire.crosswalk_from else None
    if earlier is None:
        return []
    kept = {item.comparable_with for item in questionnaire.items}
    return [item.code for item in earlier.items if item.code not in kept]


__all__ = [
    "HEADER",
    "codebook_rows",
    "r_snippet",
    "pandas_snippet",
    "alpha_text",
    "CROSSWALK_HEADER",
    "crosswalk_rows",
    "not_carried_over",
]


def counted_response(questionnaire: Questionnaire) -> dict[str, int]:
    """What makes a row of the file a response (``scoring.counts_as_response``), for the
    codebook's text: ``needed`` of the ``total`` scored items answered. Submissions with
    fewer are never stored, so no file, count or figure holds them."""
    return {"needed": answers_needed(questionnaire), "total": len(scored_items(questionnaire))}
