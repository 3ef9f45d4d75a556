"""The columns of the response-level export, from the questionnaire data. One place:
the CSV, the codebook and the statistics all read these. Pure: no Flask, no database.

Missing values: an empty cell is "not answered"; -1 is "vet ikke / vil ikke svare".
Multi-choice items become one 0/1 column per option (empty if the item was skipped).
Free text is never in this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.scoring import BANDS, SCORING_VERSION
from ..questionnaire import DONT_KNOW, Item, Questionnaire, Text

# Column kinds, as the codebook names them.
ID, CATEGORY, SCALE, CHOICE, BINARY, SCORE = "id", "category", "scale", "choice", "binary", "score"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    label: Text | None = None  # the question (or what the column is), nb/nn/en
    values: tuple[tuple[int | str, Text], ...] = ()  # value labels, in display order
    item: Item | None = None
    option: int | str | None = None  # for a multi-choice option column
    theme: str | None = None
    reverse: bool = False
    rungs: dict[int | str, int | None] = field(default_factory=dict)  # ladder: value -> rung
    computation: str = ""  # how a score is computed (English, for the codebook)


def _text(nb: str, nn: str, en: str) -> Text:
    return Text(nb=nb, nn=nn, en=en)


DONT_KNOW_LABEL = _text(
    "Vet ikke / vil ikke svare", "Veit ikkje / vil ikkje svare", "Don't know / prefer not to say"
)
CHECKED = (
    (1, _text("Valgt", "Valt", "Chosen")),
    (0, _text("Ikke valgt", "Ikkje valt", "Not chosen")),
)

BAND_LABELS = {
    1: _text("Ikke-deltakelse", "Ikkje-deltaking", "Non-participation"),
    2: _text("Symbolsk deltakelse", "Symbolsk deltaking", "Tokenism"),
    3: _text("Reell innflytelse", "Reell innverknad", "Citizen power"),
}

LEADING = (
    Column(
        "row",
        ID,
        _text(
            "Radnummer i denne fila (ingen id fra databasen)",
            "Radnummer i denne fila (ingen id frå databasen)",
            "Row number in this file (no database id)",
        ),
    ),
    Column(
        "office",
        CATEGORY,
        _text(
            "Kontor (kode); «andre» er små kontor slått sammen",
            "Kontor (kode); «andre» er små kontor slått saman",
            'Office (code); "andre" pools small offices',
        ),
    ),
    Column(
        "period",
        CATEGORY,
        _text(
            "Perioden svaret kom i: måned (2026-04), eller kvartal (2026-Q2) eller halvår "
            "(2026-H1) der et kontor har for få svar til å vises per måned",
            "Perioden svaret kom i: månad (2026-04), eller kvartal (2026-Q2) eller halvår "
            "(2026-H1) der eit kontor har for få svar til å visast per månad",
            "Period of the answer: month (2026-04), or quarter (2026-Q2) or half-year (2026-H1) "
            "where an office has too few answers to show by month",
        ),
    ),
    Column(
        "questionnaire_version",
        CATEGORY,
        _text("Versjon av spørreskjemaet", "Versjon av spørjeskjemaet", "Questionnaire version"),
    ),
    Column(
        "language",
        CATEGORY,
        _text(
            "Språket det ble svart på (nb, nn, en)",
            "Språket det vart svara på (nb, nn, en)",
            "Language answered in (nb, nn, en)",
        ),
    ),
)


def item_columns(questionnaire: Questionnaire) -> list[Column]:
    columns = []
    for item in questionnaire.items:
        if item.type == "text":
            continue  # free text lives in its own, opt-in file
        if item.type == "multi":
            for option in item.options:
                columns.append(
                    Column(
                        f"{item.code}_{option.value}",
                        BINARY,
                        Text(
                            *(
                                f"{item.text(lang)} – {option.label(lang)}"
                                for lang in ("nb", "nn", "en")
                            )
                        ),
                        values=CHECKED,
                        item=item,
                        option=option.value,
                    )
                )
            continue
        values = tuple((o.value, o.label) for o in item.options)
        if item.dont_know:
            values += ((DONT_KNOW, DONT_KNOW_LABEL),)
        columns.append(
            Column(
                item.code,
                SCALE if item.type == "scale" else CHOICE,
                item.text,
                values=values,
                item=item,
                theme=item.theme,
                reverse=item.reverse,
                rungs={o.value: o.rung for o in item.options} if item.type == "ladder" else {},
            )
        )
    return columns


def score_columns(questionnaire: Questionnaire) -> list[Column]:
    themes = [
        Column(
            f"{code}_index",
            SCORE,
            theme.label,
            theme=code,
            computation=(
                f"0–100. Each answered {code} item placed on 0–100 (lowest option 0, highest "
                "100), reverse-coded items flipped first; -1 (don't know) and empty count as "
                "missing; the mean, only when at least half the theme's items are answered. "
                + ("Higher = better." if theme.higher_is_better else "Higher = more stigma felt.")
            ),
        )
        for code, theme in questionnaire.themes.items()
    ]
    return [
        Column(
            "rung",
            SCORE,
            _text(
                "Trinn på Arnsteins stige (1–8)",
                "Trinn på Arnsteins stige (1–8)",
                "Rung on Arnstein's ladder (1–8)",
            ),
            computation="The rung of the ladder statement picked (med_stige); empty for "
            "don't know or no answer.",
        ),
        Column(
            "band",
            SCORE,
            _text("Gruppe på stigen", "Gruppe på stigen", "Band on the ladder"),
            values=tuple(BAND_LABELS.items()),
            computation="1 = rungs 1–2 (non-participation), 2 = rungs 3–5 (tokenism), "
            "3 = rungs 6–8 (citizen power).",
        ),
        *themes,
        Column(
            "scoring_version",
            SCORE,
            _text("Versjon av utregningen", "Versjon av utrekninga", "Scoring version"),
            computation=f"The version of the scoring rules that computed the scores "
            f"(current: {SCORING_VERSION}).",
        ),
    ]


def columns(questionnaire: Questionnaire) -> list[Column]:
    """Every column of the response-level CSV, in order."""
    return [*LEADING, *item_columns(questionnaire), *score_columns(questionnaire)]


__all__ = ["Column", "columns", "BANDS", "DONT_KNOW_LABEL"]
