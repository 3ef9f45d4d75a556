"""What the export's views and ``flask export`` share: the current release's decisions, and
what the page and the codebook may say about a selection (computed on exactly the rows the
file holds, and only when they describe at least k of them).
"""

from __future__ import annotations

import os
import random
import zipfile
from dataclasses import dataclass, field

import orjson
from flask import current_app
from sqlalchemy import select

from ..domain.periods import ReportingPeriod
from ..extensions import db
from ..models import Comment
from ..questionnaire import Questionnaire
from . import labelled, released, rscript
from .anonymity import ALPHA_MIN_N, BLANK_ORDER, POOLED, RISK_FACTOR, Decisions, LabelStats
from .csvfile import CsvFormat, guard
from .reliability import Alpha, alpha_over_cells
from .responses import Selection, WrittenCounts, expected_rows, response_file


def release_decisions(version: int) -> Decisions | None:
    """The rule's decisions for the current release (None before the first one)."""
    release = released.current_release()  # may publish (and commit) first
    if release is None:
        return None
    return released.decisions(
        db.session.connection(), version, current_app.config["STIGEN_K"], release=release
    )


@dataclass
class Figures:
    """What the export page and svar-info.txt say about a selection."""

    k: int
    release: bool
    rows: int = 0
    pooled: int = 0
    generalised: int = 0
    blanked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BLANK_ORDER, 0))
    smallest: int = 0
    at_risk_share: float = 0.0
    left_out: int | None = 0  # whole release; None when between 1 and k - 1
    alphas: dict[str, Alpha | None] = field(default_factory=dict)
    alpha_min_n: int = ALPHA_MIN_N
    risk_factor: int = RISK_FACTOR


def figures(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    with_alpha: bool = True,
) -> Figures:
    k = current_app.config["STIGEN_K"]
    if decisions is None:
        return Figures(k=k, release=False)
    chosen = decisions.selected(selection.office_ids, selection.periods)
    summary: LabelStats = decisions.summary(chosen)
    result = Figures(
        k=k,
        release=True,
        rows=summary.rows,
        pooled=summary.pooled,
        generalised=summary.generalised,
        blanked=summary.blanked,
        smallest=summary.smallest,
        at_risk_share=summary.at_risk / summary.rows if summary.rows else 0.0,
        left_out=decisions.left_out if decisions.left_out == 0 or decisions.left_out >= k else None,
    )
    if with_alpha:
        result.alphas = selection_alphas(questionnaire, decisions, chosen)
    return result


def selection_alphas(
    questionnaire: Questionnaire, decisions: Decisions, chosen: set[int]
) -> dict[str, Alpha | None]:
    """Cronbach's alpha per theme on the file's rows, or None where it describes fewer
    than ``ALPHA_MIN_N`` complete cases (a statistic of a few rows moves with one)."""
    cells = {cell for cell, label in decisions.cells.items() if label in chosen}
    if not cells:
        return dict.fromkeys(questionnaire.themes)
    alphas = alpha_over_cells(db.session, questionnaire, decisions.end, cells)
    return {
        theme: alpha if alpha.n >= max(ALPHA_MIN_N, decisions.k) else None
        for theme, alpha in alphas.items()
    }


def comment_rows(
    selection: Selection, decisions: Decisions | None, office_codes: dict[int, str], release
) -> tuple[list[tuple], int]:
    """Approved comments of the released office-months the selection holds, under the
    response file's published labels, shuffled; and how many pooled as "andre". A comment
    appears only once a release has shown it (``Comment.release_id``)."""
    if decisions is None:
        return [], 0
    chosen = decisions.selected(selection.office_ids, selection.periods)
    statement = select(
        Comment.period_start,
        Comment.questionnaire_version,
        Comment.language,
        Comment.office_id,
        Comment.item_code,
        Comment.body,
    ).where(
        Comment.questionnaire_version == selection.version,
        Comment.status == "approved",
        Comment.body != "",
        Comment.period_start < decisions.end,
    )
    release_id = getattr(release, "id", None)
    if isinstance(release_id, int):
        statement = statement.where(
            Comment.release_id.is_not(None), Comment.release_id <= release_id
        )
    found = list(db.session.execute(statement).all())
    random.SystemRandom().shuffle(found)
    body: list[tuple] = []
    pooled = 0
    for period_start, version, language, office_id, item_code, text in found:
        label_id = decisions.cells.get((office_id, period_start.replace(day=1)))
        if label_id is None or label_id not in chosen:
            continue
        office, period = decisions.labels[label_id]
        if office == POOLED:
            pooled += 1
            shown = POOLED
        else:
            shown = guard(office_codes.get(office, str(office)))
        body.append((len(body) + 1, period.code, version, language, shown, item_code, guard(text)))
    return body, pooled


def published_codes(
    selection: Selection, decisions: Decisions, office_codes: dict[int, str]
) -> tuple[list[str], list[str]]:
    """The office and period codes the selection's file may hold, as the CSV writes them
    (office codes guarded): what the labelled files number and label."""
    offices, periods = set(), set()
    for label_id in decisions.selected(selection.office_ids, selection.periods):
        office, period = decisions.labels[label_id]
        offices.add(POOLED if office == POOLED else guard(office_codes.get(office, str(office))))
        periods.add(period.code)
    return sorted(offices), sorted(periods)


def _csv_chunks(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
    tally: WrittenCounts,
):
    """The selection's svar.csv as it streams (RFC 4180), read on a connection of its own."""
    with db.engine.connect() as connection:
        chunks = response_file(
            connection, questionnaire, selection, decisions, office_codes, tally, CsvFormat()
        )
        try:
            yield from chunks
        finally:
            chunks.close()


def labelled_variables(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
    lang: str,
) -> list:
    offices, periods = (
        published_codes(selection, decisions, office_codes) if decisions is not None else ([], [])
    )
    return labelled.variables(questionnaire, lang, offices, periods)


def response_frame(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
    tally: WrittenCounts,
    lang: str,
    only=None,
):
    """The selection's response file (or its columns in ``only``) as labelled variables
    and a compact DataFrame, read from the very CSV ``svar.csv`` streams (same rows,
    pooling, blanking and k-check, same shuffled order). Raises ``AnonymityError`` as the
    CSV does."""
    found = labelled_variables(questionnaire, selection, decisions, office_codes, lang)
    frame = labelled.read_frame(
        _csv_chunks(questionnaire, selection, decisions, office_codes, tally),
        found,
        expected_rows(decisions, selection),
        only,
    )
    return frame, found


# The researcher's formats beyond the plain CSV: (file suffix, MIME type).
LABELLED_FORMATS = {
    "sav": ("sav", "application/x-spss-sav"),
    "dta": ("dta", "application/x-stata-dta"),
    "r": ("zip", "application/zip"),
    "datapackage": ("zip", "application/zip"),
}
CSV_NAME = "svar.csv"


def labelled_file(
    kind: str,
    folder: str,
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
    tally: WrittenCounts,
    lang: str,
) -> str:
    """Write one labelled export into ``folder`` and return its path: a .sav, a .dta, a
    zip of svar.csv with its R script (``r``), or a zip of svar.csv with its
    datapackage.json (``datapackage``). Every one holds exactly the rows of svar.csv."""
    path = os.path.join(folder, f"svar.{LABELLED_FORMATS[kind][0]}")
    found = labelled_variables(questionnaire, selection, decisions, office_codes, lang)
    if kind in ("sav", "dta"):
        # Part by part from the CSV's bytes: never the whole selection in memory.
        frames = labelled.iter_parts(
            _csv_chunks(questionnaire, selection, decisions, office_codes, tally),
            found,
            expected_rows(decisions, selection),
        )
        labelled.write_labelled(kind, frames, path, found)
        return path
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with (
            archive.open(CSV_NAME, "w", force_zip64=True) as entry,
            db.engine.connect() as connection,
        ):
            for chunk in response_file(
                connection, questionnaire, selection, decisions, office_codes, tally, CsvFormat()
            ):
                entry.write(chunk)
        if kind == "r":
            archive.writestr("svar.R", rscript.r_script(questionnaire, found, CSV_NAME, lang))
        else:
            archive.writestr(
                "datapackage.json",
                orjson.dumps(
                    rscript.datapackage(questionnaire, found, CSV_NAME, lang, tally.rows),
                    option=orjson.OPT_INDENT_2,
                ),
            )
    return path


def measurement_report(
    questionnaire: Questionnaire,
    selection: Selection,
    decisions: Decisions | None,
    office_codes: dict[int, str],
):
    """The measurement report of the selection's released rows (exactly the response
    file's), above the export's minimum n (``ALPHA_MIN_N``, or k if larger)."""
    import numpy as np

    from . import measurement

    k = current_app.config["STIGEN_K"]
    release = released.current_release()
    key = None
    if isinstance(getattr(release, "id", None), int) and decisions is not None:
        # A release never changes: its report is worked out once per selection.
        key = (
            str(db.engine.url),
            release.id,
            release.made_at,
            selection,
            k,
            tuple(sorted(office_codes.items())),
        )
        if key in _REPORTS:
            return _REPORTS[key]
    needed = {item.code for item in questionnaire.items} | {"rung"}
    frame, _ = response_frame(
        questionnaire, selection, decisions, office_codes, WrittenCounts(), "nb", only=needed
    )

    def column_of(name):
        return frame[name].to_numpy(dtype=float, na_value=np.nan)

    found = measurement.report(column_of, questionnaire, len(frame), max(ALPHA_MIN_N, k))
    if key is not None:
        if len(_REPORTS) >= 8:
            _REPORTS.pop(next(iter(_REPORTS)))
        _REPORTS[key] = found
    return found


_REPORTS: dict = {}  # measurement reports of real releases, by release and selection


def period_choices(decisions: Decisions | None) -> list[ReportingPeriod]:
    """The periods a selection can name: every month, quarter and half-year released."""
    if decisions is None:
        return []
    months = sorted({month for _, month in decisions.cells})
    found: set[ReportingPeriod] = set()
    for month in months:
        for kind in ("month", "quarter", "half"):
            found.add(ReportingPeriod.containing(month, kind))
    return sorted(found, key=lambda p: (p.start, -p.months), reverse=True)
