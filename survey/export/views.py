"""Routes of the researchers' export. Every download is written to the audit log."""

from __future__ import annotations

import random

from flask import Response as HttpResponse
from flask import abort, current_app, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from sqlalchemy import and_, or_, select

from .. import audit
from .. import versions as questionnaires
from ..dashboard import data
from ..dashboard.labels import KIND_LABELS, period_label
from ..extensions import db
from ..numbers import whole_number
from ..models import Comment, Office, Response
from ..periods import PERIOD_KINDS, ReportingPeriod
from . import bp
from .aggregate import FLOAT_COLUMNS as AGGREGATE_FLOATS
from .aggregate import HEADER as AGGREGATE_HEADER
from ..auth.access import researcher_required
from .aggregate import aggregate_rows
from .codebook import HEADER as CODEBOOK_HEADER
from .codebook import codebook_rows, pandas_snippet, r_snippet
from .columns import columns
from .csvfile import CsvFormat, encode, guard
from .reliability import alpha_by_theme
from .responses import Selection, Tally, response_file


def chosen_selection() -> tuple[Selection, list[str]]:
    """The filters in the query string; anything unknown is dropped with a note."""
    notes = []
    available = questionnaires.available()
    raw = request.args.get("versjon", "")
    version = whole_number(raw)
    if version not in available:
        version = questionnaires.live_version(available)
    periods = []
    for code in request.args.getlist("periode"):
        try:
            periods.append(ReportingPeriod.parse(code))
        except ValueError:
            notes.append(code)
    slugs = [slug for slug in request.args.getlist("kontor") if "\x00" not in slug]
    offices = db.session.scalars(select(Office).where(Office.slug.in_(slugs))).all() if slugs else []
    notes += sorted(set(slugs) - {o.slug for o in offices})
    return Selection(version, tuple(sorted(set(periods))), tuple(sorted(o.id for o in offices))), notes


def chosen_format() -> CsvFormat:
    return CsvFormat.excel_norwegian() if request.args.get("format") == "excel" else CsvFormat()


def office_codes() -> dict[int, str]:
    return dict(db.session.execute(select(Office.id, Office.slug)).all())


def where_clauses(selection: Selection) -> list:
    clauses = [Response.questionnaire_version == selection.version]
    if selection.periods:
        clauses.append(or_(*(and_(Response.period_start >= p.start, Response.period_start < p.end)
                             for p in selection.periods)))
    if selection.office_ids:
        clauses.append(Response.office_id.in_(selection.office_ids))
    return clauses


def expected_counts(selection: Selection, snap) -> dict[str, int]:
    """Rows the response file will hold, pool as "andre" and leave out, from the same
    snapshot (and so the same rule) the export itself uses."""
    from ..suppression import NATIONAL

    counts = {"rows": 0, "pooled": 0, "left_out": 0}
    for (office_id, month), vector in snap.months.items():
        if selection.office_ids and office_id not in selection.office_ids:
            continue
        if selection.periods and not any(p.contains(month) for p in selection.periods):
            continue
        n = int(vector[data.RESPONSES])
        cell = ReportingPeriod.containing(month, "month")
        if (office_id, cell) in snap.visible_responses:
            counts["rows"] += n
        elif not selection.office_ids and (NATIONAL, cell) in snap.visible_responses:
            counts["rows"] += n
            counts["pooled"] += n
        else:
            counts["left_out"] += n
    return counts


def download(body, filename: str, mimetype: str = "text/csv") -> HttpResponse:
    response = HttpResponse(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@researcher_required
def index():
    """The export page: filters, what the file will hold, reliability, downloads."""
    selection, notes = chosen_selection()
    questionnaire = questionnaires.get(selection.version)
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    offices = db.session.scalars(select(Office).order_by(Office.name)).all()
    counts = expected_counts(selection, snap)
    alphas = alpha_by_theme(db.session, questionnaire, where_clauses(selection))
    choices = [(str(KIND_LABELS[kind]), [(p.code, period_label(p)) for p in snap.periods(kind)])
               for kind in PERIOD_KINDS]
    return render_template(
        "export/index.html", selection=selection, notes=notes, offices=offices,
        counts=counts, alphas=alphas, choices=choices, questionnaire=questionnaire,
        versions=sorted(questionnaires.available()), query=request.query_string.decode(),
        themes={code: t.label(str(get_locale())) for code, t in questionnaire.themes.items()},
        k=snap.k,
    )


@bp.get("/svar.csv")
@researcher_required
def responses_csv():
    """The response-level CSV, streamed, shuffled, without identifiers."""
    selection, _ = chosen_selection()
    fmt = chosen_format()
    questionnaire = questionnaires.get(selection.version)
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    codes = office_codes()
    tally = Tally()
    details = {"selection": _describe(selection, codes), "format": fmt.suffix}

    def generate():
        finished = False
        try:
            with db.engine.connect() as connection:
                yield from response_file(connection, questionnaire, selection, snap, codes,
                                         tally, fmt)
            finished = True
        finally:
            audit.record("export.responses", {**details, "rows": tally.rows, "pooled": tally.pooled,
                                              "left_out": tally.left_out, "complete": finished})
            db.session.commit()

    return download(stream_with_context(generate()), f"stigen-svar-v{selection.version}-{fmt.suffix}.csv")


@bp.get("/svar-info.txt")
@researcher_required
def responses_info():
    """The response file's header file: the selection, the rule, and what was held back."""
    selection, _ = chosen_selection()
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    counts = expected_counts(selection, snap)
    codes = office_codes()
    questionnaire = questionnaires.get(selection.version)
    text = render_template("export/info.txt", selection=_describe(selection, codes),
                           counts=counts, k=snap.k, columns=len(columns(questionnaire)),
                           version=selection.version)
    return download(text, f"stigen-svar-v{selection.version}-info.txt", "text/plain")


@bp.get("/fritekst.csv")
@researcher_required
def comments_csv():
    """Free text, opt-in, in its own file (only with the researcher's explicit
    confirmation): approved comments only, shuffled, no id. An office-month too small to
    show is pooled as "andre" or left out, by the response file's rule."""
    if request.args.get("bekreft") != "ja":
        abort(404)
    selection, _ = chosen_selection()
    fmt = chosen_format()
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    codes = office_codes()
    statement = select(Comment.period_start, Comment.questionnaire_version, Comment.language,
                       Comment.office_id, Comment.item_code, Comment.body).where(
        Comment.questionnaire_version == selection.version, Comment.status == "approved",
        Comment.body != "")
    if selection.periods:
        statement = statement.where(or_(*(and_(Comment.period_start >= p.start,
                                               Comment.period_start < p.end)
                                          for p in selection.periods)))
    if selection.office_ids:
        statement = statement.where(Comment.office_id.in_(selection.office_ids))
    found = db.session.execute(statement).all()
    random.SystemRandom().shuffle(found)
    body, pooled, left_out = [], 0, 0
    for period_start, version, language, office_id, item_code, text in found:
        month = ReportingPeriod.containing(period_start.replace(day=1), "month")
        if (office_id, month) in snap.visible_responses:
            office = guard(codes[office_id])
        elif not selection.office_ids and (data.NATIONAL, month) in snap.visible_responses:
            office, pooled = "andre", pooled + 1
        else:  # asked for by office, or the whole month is small: pooling would not hide it
            left_out += 1
            continue
        body.append((len(body) + 1, period_start.isoformat(), version, language, office,
                     item_code, guard(text)))
    audit.record("export.free_text", {"selection": _describe(selection, codes), "rows": len(body),
                                      "pooled": pooled, "left_out": left_out,
                                      "format": fmt.suffix})
    db.session.commit()
    header = ["row", "period", "questionnaire_version", "language", "office", "item", "text"]
    return download(b"".join(encode(header, body, fmt)),
                    f"stigen-fritekst-v{selection.version}-{fmt.suffix}.csv")


@bp.get("/aggregert.csv")
@researcher_required
def aggregate_csv():
    """The office × period table of the dashboards, suppressed exactly as on screen."""
    selection, _ = chosen_selection()
    fmt = chosen_format()
    kind = request.args.get("inndeling", "quarter")
    kind = kind if kind in PERIOD_KINDS else "quarter"
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    periods = [p for p in reversed(snap.periods(kind))
               if not selection.periods or any(s.start <= p.start < s.end for s in selection.periods)]
    codes = office_codes()
    chosen = selection.office_ids or tuple(sorted(codes))
    body = aggregate_rows(snap, [(o, codes[o]) for o in chosen], periods,
                          with_pool=not selection.office_ids)
    audit.record("export.aggregate", {"selection": _describe(selection, codes), "kind": kind,
                                      "rows": len(body), "format": fmt.suffix})
    db.session.commit()
    return download(b"".join(encode(AGGREGATE_HEADER, body, fmt, AGGREGATE_FLOATS)),
                    f"stigen-aggregert-{kind}-v{selection.version}-{fmt.suffix}.csv")


@bp.get("/kodebok")
@researcher_required
def codebook():
    """The codebook as a readable page, with α for the selection and ready-made code."""
    selection, _ = chosen_selection()
    fmt = chosen_format()
    questionnaire = questionnaires.get(selection.version)
    alphas = alpha_by_theme(db.session, questionnaire, where_clauses(selection))
    filename = f"stigen-svar-v{selection.version}-{fmt.suffix}.csv"
    return render_template(
        "export/codebook.html", questionnaire=questionnaire, columns=columns(questionnaire),
        alphas=alphas,
        csv_url=url_for("export.codebook_csv") + "?" + request.query_string.decode("latin-1"),
        snippets={"r": r_snippet(filename, fmt.separator, fmt.decimal, questionnaire=questionnaire),
                  "pandas": pandas_snippet(filename, fmt.separator, fmt.decimal,
                                           questionnaire=questionnaire)},
        selection=_describe(selection, office_codes()),
    )


@bp.get("/kodebok.csv")
@researcher_required
def codebook_csv():
    """The codebook as CSV."""
    selection, _ = chosen_selection()
    fmt = chosen_format()
    questionnaire = questionnaires.get(selection.version)
    alphas = alpha_by_theme(db.session, questionnaire, where_clauses(selection))
    return download(b"".join(encode(CODEBOOK_HEADER, codebook_rows(questionnaire, alphas), fmt)),
                    f"stigen-kodebok-v{selection.version}-{fmt.suffix}.csv")


def _describe(selection: Selection, codes: dict[int, str]) -> dict:
    return {"version": selection.version, "periods": [p.code for p in selection.periods],
            "offices": [codes.get(o, o) for o in selection.office_ids]}



