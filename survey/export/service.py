"""What the export's views and ``flask export`` share: the current release's decisions, and
what the page and the codebook may say about a selection (computed on exactly the rows the
file holds, and only when they describe at least k of them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Comment
from ..periods import ReportingPeriod
from ..questionnaire import Questionnaire
from . import released
from .anonymity import ALPHA_MIN_N, BLANK_ORDER, POOLED, RISK_FACTOR, Decisions, LabelStats
from .csvfile import guard
from .reliability import Alpha, alpha_over_cells
from .responses import Selection


def release_decisions(version: int) -> Decisions | None:
    """The rule's decisions for the current release (None before the first one)."""
    release = released.current_release()  # may publish (and commit) first
    if release is None:
        return None
    return released.decisions(db.session.connection(), version, current_app.config["STIGEN_K"],
                              release=release)


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
    left_out: int | None = 0     # whole release; None when between 1 and k - 1
    alphas: dict[str, Alpha | None] = field(default_factory=dict)
    alpha_min_n: int = ALPHA_MIN_N
    risk_factor: int = RISK_FACTOR


def figures(questionnaire: Questionnaire, selection: Selection, decisions: Decisions | None,
            with_alpha: bool = True) -> Figures:
    k = current_app.config["STIGEN_K"]
    if decisions is None:
        return Figures(k=k, release=False)
    chosen = decisions.selected(selection.office_ids, selection.periods)
    summary: LabelStats = decisions.summary(chosen)
    result = Figures(
        k=k, release=True, rows=summary.rows, pooled=summary.pooled,
        generalised=summary.generalised, blanked=summary.blanked, smallest=summary.smallest,
        at_risk_share=summary.at_risk / summary.rows if summary.rows else 0.0,
        left_out=decisions.left_out if decisions.left_out == 0 or decisions.left_out >= k
        else None,
    )
    if with_alpha:
        result.alphas = selection_alphas(questionnaire, decisions, chosen)
    return result


def selection_alphas(questionnaire: Questionnaire, decisions: Decisions,
                     chosen: set[int]) -> dict[str, Alpha | None]:
    """Cronbach's alpha per theme on the file's rows, or None where it describes fewer
    than ``ALPHA_MIN_N`` complete cases (a statistic of a few rows moves with one)."""
    cells = {cell for cell, label in decisions.cells.items() if label in chosen}
    if not cells:
        return dict.fromkeys(questionnaire.themes)
    alphas = alpha_over_cells(db.session, questionnaire, decisions.end, cells)
    return {theme: alpha if alpha.n >= max(ALPHA_MIN_N, decisions.k) else None
            for theme, alpha in alphas.items()}


def comment_rows(selection: Selection, decisions: Decisions | None,
                 office_codes: dict[int, str], release) -> tuple[list[tuple], int]:
    """Approved comments of the released office-months the selection holds, under the
    response file's published labels, shuffled; and how many pooled as "andre". A comment
    appears only once a release has shown it (``Comment.release_id``)."""
    if decisions is None:
        return [], 0
    chosen = decisions.selected(selection.office_ids, selection.periods)
    statement = select(Comment.period_start, Comment.questionnaire_version, Comment.language,
                       Comment.office_id, Comment.item_code, Comment.body).where(
        Comment.questionnaire_version == selection.version, Comment.status == "approved",
        Comment.body != "", Comment.period_start < decisions.end)
    release_id = getattr(release, "id", None)
    if isinstance(release_id, int):
        statement = statement.where(Comment.release_id.is_not(None),
                                    Comment.release_id <= release_id)
    found = db.session.execute(statement).all()
    random.SystemRandom().shuffle(found)
    body, pooled = [], 0
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
        body.append((len(body) + 1, period.code, version, language, shown, item_code,
                     guard(text)))
    return body, pooled


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
