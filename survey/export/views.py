"""Routes of the researchers' export. Every download is written to the audit log."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from types import SimpleNamespace

from flask import Response as HttpResponse
from flask import abort, current_app, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import audit
from .. import versions as questionnaires
from ..auth.access import researcher_required
from ..dashboard import data
from ..dashboard.labels import KIND_LABELS, period_label
from ..domain.periods import PERIOD_KINDS, ReportingPeriod
from ..extensions import db
from ..models import Office
from ..questionnaire import LANGUAGES, Questionnaire
from ..whole_numbers import whole_number
from . import bp, released, service
from .aggregate import aggregate_rows
from .aggregate import float_columns as aggregate_floats
from .aggregate import header as aggregate_header
from .anonymity import BLANK_ORDER, POOLED, POOLED_OFFICE, QUASI_IDENTIFIERS, Decisions
from .codebook import HEADER as CODEBOOK_HEADER
from .codebook import (
    codebook_rows,
    counted_response,
    crosswalk_rows,
    not_carried_over,
    pandas_snippet,
    r_snippet,
)
from .columns import columns
from .csvfile import CsvFormat, encode
from .responses import Selection, WrittenCounts, response_file


def chosen_selection() -> tuple[Selection, list[str]]:
    """The filters in the query string; anything unknown is dropped with a note. The
    office "andre" (small offices pooled) is chosen as a unit."""
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
    offices = (
        db.session.scalars(select(Office).where(Office.slug.in_(slugs))).all() if slugs else []
    )
    chosen = {o.id for o in offices}
    if POOLED in slugs and POOLED not in {o.slug for o in offices}:
        chosen.add(POOLED_OFFICE)
    notes += sorted(set(slugs) - {o.slug for o in offices} - {POOLED})
    return Selection(version, tuple(sorted(set(periods))), tuple(sorted(chosen))), notes


def chosen_version() -> tuple[Selection, Questionnaire, Decisions | None]:
    """The selection in the query string, its questionnaire version, and the disclosure
    rule's decisions over the current release of that version."""
    selection, _notes = chosen_selection()
    questionnaire = questionnaires.get(selection.version)
    return selection, questionnaire, service.release_decisions(selection.version)


# The page's format choice -> the response file's route (and its argument).
FILE_LINKS = {
    "rfc": ("export.responses_csv", {}),
    "excel": ("export.responses_csv", {}),
    "sav": ("export.responses_labelled", {"kind": "sav"}),
    "dta": ("export.responses_labelled", {"kind": "dta"}),
    "r": ("export.responses_labelled", {"kind": "r.zip"}),
    "datapakke": ("export.responses_labelled", {"kind": "datapakke.zip"}),
}


def format_choices() -> list[tuple[str, str, str]]:
    """(value, name, what the file holds) for each format the page offers."""
    return [
        (
            "rfc",
            _("CSV (RFC 4180)"),
            _(
                "Komma som skilletegn, desimalpunktum, UTF-8. Tall og koder; etikettene står i "
                "kodeboka."
            ),
        ),
        (
            "excel",
            _("CSV for Excel på norsk"),
            _("Semikolon, desimalkomma, UTF-8 med BOM. Samme innhold som CSV-fila."),
        ),
        (
            "sav",
            _("SPSS (.sav)"),
            _(
                "Samme rader som CSV-fila, med spørsmålsteksten som variabeletikett, verdietiketter på alle skalaer, -1 («vet ikke») som brukerdefinert manglende verdi og målenivå. Kontor, periode og språk er tall med koden som etikett."
            ),
        ),
        (
            "dta",
            _("Stata (.dta)"),
            _(
                "Samme rader og etiketter som SPSS-fila; -1 («vet ikke») er den utvidede manglende verdien .a. Stata tillater høyst 32 tegn i navn og 80 i etiketter, så noen er forkortet."
            ),
        ),
        (
            "r",
            _("R + CSV (zip)"),
            _(
                "CSV-fila og et R-skript (svar.R) som leser den med readr og setter verdietiketter og faktornivåer med haven. Skriptet snur ingen påstander; indeksene har allerede tatt hensyn til dem."
            ),
        ),
        (
            "datapakke",
            _("Datapakke (Frictionless, zip)"),
            _(
                "CSV-fila og datapackage.json: typer, tillatte verdier, manglende verdier og etiketter for hver kolonne, slik at «frictionless validate» kan sjekke fila."
            ),
        ),
    ]


def chosen_format() -> CsvFormat:
    return CsvFormat.excel_norwegian() if request.args.get("format") == "excel" else CsvFormat()


def office_codes() -> dict[int, str]:
    return dict(db.session.execute(select(Office.id, Office.slug)).all())


def download(body, filename: str, mimetype: str = "text/csv") -> HttpResponse:
    response = HttpResponse(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def audited(event: str, selection: Selection, codes: dict[int, str], **details) -> None:
    """Write a download's audit event (the selection, then ``details``) and commit it."""
    audit.record(event, {"selection": _describe(selection, codes), **details})
    db.session.commit()


def audited_stream(
    blocks: Callable[[], Iterator[bytes]],
    tally: WrittenCounts,
    details: dict,
    cleanup: Callable[[], None] | None = None,
):
    """A response file's body: the blocks ``blocks()`` yields as they stream, then (done,
    failed or cut off) ``cleanup()`` and the "export.responses" audit event, with the
    release and what the tally counted."""
    details = {**details, "release": getattr(released.current_release(), "id", None)}
    # Who, read now: the rows stream after this view returns, when the account (expired
    # by a release published above) can no longer be read from its session.
    actor = SimpleNamespace(id=current_user.id, username=current_user.username)

    def generate():
        finished = False
        try:
            yield from blocks()
            finished = True
        finally:
            if cleanup is not None:
                cleanup()
            audit.record(
                "export.responses",
                {
                    **details,
                    "rows": tally.rows,
                    "pooled": tally.pooled,
                    "left_out": tally.left_out,
                    "complete": finished,
                },
                actor=actor,
            )
            db.session.commit()

    return stream_with_context(generate())


@bp.get("/")
@researcher_required
def index():
    """The export page: filters, what the file will hold, its re-identification risk,
    reliability, downloads. Every figure is of the current release's rows the file holds."""
    selection, notes = chosen_selection()
    questionnaire = questionnaires.get(selection.version)
    decisions = service.release_decisions(selection.version)
    offices = db.session.scalars(select(Office).order_by(Office.name)).all()
    figures = service.figures(questionnaire, selection, decisions)
    by_kind: dict[str, list] = {kind: [] for kind in PERIOD_KINDS}
    for period in service.period_choices(decisions):
        by_kind[period.kind].append((period.code, period_label(period)))
    choices = [(str(KIND_LABELS[kind]), by_kind[kind]) for kind in PERIOD_KINDS]
    release = released.current_release()
    chosen = request.args.get("format", "rfc")
    chosen = chosen if chosen in FILE_LINKS else "rfc"
    endpoint, endpoint_args = FILE_LINKS[chosen]
    return render_template(
        "export/index.html",
        selection=selection,
        notes=notes,
        offices=offices,
        figures=figures,
        alphas=figures.alphas,
        choices=choices,
        questionnaire=questionnaire,
        versions=sorted(questionnaires.available()),
        query=request.query_string.decode(),
        themes={code: t.label(str(get_locale())) for code, t in questionnaire.themes.items()},
        k=figures.k,
        release=release,
        pooled_office=POOLED_OFFICE,
        quasi_identifiers=QUASI_IDENTIFIERS,
        formats=format_choices(),
        chosen_format=chosen,
        chosen_label=next(name for value, name, _note in format_choices() if value == chosen),
        response_url=f"{url_for(endpoint, **endpoint_args)}?{request.query_string.decode()}",
        label_languages=[("nb", _("bokmål")), ("nn", _("nynorsk")), ("en", _("engelsk"))],
        label_language=chosen_labels(),
    )


@bp.get("/svar.csv")
@researcher_required
def responses_csv():
    """The response-level CSV of the current release, streamed, shuffled, k-anonymous on
    its quasi-identifiers, without identifiers."""
    selection, questionnaire, decisions = chosen_version()
    fmt = chosen_format()
    codes = office_codes()
    tally = WrittenCounts()

    def blocks():
        with db.engine.connect() as connection:
            yield from response_file(
                connection, questionnaire, selection, decisions, codes, tally, fmt
            )

    body = audited_stream(
        blocks, tally, {"selection": _describe(selection, codes), "format": fmt.suffix}
    )
    return download(body, f"stigen-svar-v{selection.version}-{fmt.suffix}.csv")


def chosen_labels() -> str:
    """The language of variable and value labels (``etiketter``); the page's by default."""
    lang = request.args.get("etiketter", "")
    if lang in LANGUAGES:
        return lang
    locale = str(get_locale() or "nb")[:2]
    return locale if locale in LANGUAGES else "nb"


@bp.get("/svar.<kind>")
@researcher_required
def responses_labelled(kind: str):
    """The response file as SPSS (.sav), Stata (.dta), svar.csv with an R script (zip) or
    a Frictionless Data Package (zip): the same rows, pooling and checks as svar.csv."""
    kinds = {"sav": "sav", "dta": "dta", "r.zip": "r", "datapakke.zip": "datapackage"}
    if kind not in kinds:
        abort(404)
    kind = kinds[kind]
    selection, questionnaire, decisions = chosen_version()
    lang = chosen_labels()
    codes = office_codes()
    tally = WrittenCounts()
    folder = tempfile.mkdtemp(prefix="stigen-labelled-")

    def blocks():
        path = service.labelled_file(
            kind, folder, questionnaire, selection, decisions, codes, tally, lang
        )
        with open(path, "rb") as fh:
            while block := fh.read(1 << 18):
                yield block

    body = audited_stream(
        blocks,
        tally,
        {"selection": _describe(selection, codes), "format": kind, "labels": lang},
        cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
    )
    suffix, mimetype = service.LABELLED_FORMATS[kind]
    name = {"r": "r", "datapackage": "datapakke"}.get(kind, lang)
    return download(body, f"stigen-svar-v{selection.version}-{name}.{suffix}", mimetype)


@bp.get("/maling")
@researcher_required
def measurement_page():
    """The measurement report of the selection's released rows: per theme alpha, omega,
    item–rest correlations, alpha if deleted; floor, ceiling and missing shares; rungs."""
    selection, questionnaire, decisions = chosen_version()
    codes = office_codes()
    found = service.measurement_report(questionnaire, selection, decisions, codes)
    audited("export.measurement", selection, codes, format="html", rows=found.rows)
    lang = str(get_locale())
    return render_template(
        "export/measurement.html",
        report=found,
        questionnaire=questionnaire,
        lang=lang,
        themes={code: t.label(lang) for code, t in questionnaire.themes.items()},
        items={item.code: item.text(lang) for item in questionnaire.items},
        query=request.query_string.decode(),
        release=released.current_release(),
    )


@bp.get("/maling.csv")
@researcher_required
def measurement_csv():
    selection, questionnaire, decisions = chosen_version()
    fmt = chosen_format()
    codes = office_codes()
    found = service.measurement_report(questionnaire, selection, decisions, codes)
    audited("export.measurement", selection, codes, format=fmt.suffix, rows=found.rows)
    from .measurement import REPORT_HEADER, report_rows  # NumPy: loaded when a report is made

    return download(
        b"".join(encode(REPORT_HEADER, report_rows(found), fmt, (4,))),
        f"stigen-maling-v{selection.version}-{fmt.suffix}.csv",
    )


@bp.get("/svar-info.txt")
@researcher_required
def responses_info():
    """The response file's header file: the selection, the release, the rule, and what
    was pooled, generalised, blanked and left out."""
    selection, questionnaire, decisions = chosen_version()
    figures = service.figures(questionnaire, selection, decisions, with_alpha=False)
    codes = office_codes()
    text = render_template(
        "export/info.txt",
        selection=_describe(selection, codes),
        figures=figures,
        k=figures.k,
        columns=len(columns(questionnaire)),
        version=selection.version,
        release=released.current_release(),
        blank_order=BLANK_ORDER,
        quasi_identifiers=QUASI_IDENTIFIERS,
    )
    return download(text, f"stigen-svar-v{selection.version}-info.txt", "text/plain")


@bp.get("/fritekst.csv")
@researcher_required
def comments_csv():
    """Free text, opt-in, in its own file (only with the researcher's explicit
    confirmation): approved comments of the released office-months the selection holds,
    once a release has shown them, under the response file's labels, shuffled, no id."""
    if request.args.get("bekreft") != "ja":
        abort(404)
    selection, _ = chosen_selection()
    fmt = chosen_format()
    decisions = service.release_decisions(selection.version)
    codes = office_codes()
    body, pooled = service.comment_rows(selection, decisions, codes, released.current_release())
    audited("export.free_text", selection, codes, rows=len(body), pooled=pooled, format=fmt.suffix)
    header = ["row", "period", "questionnaire_version", "language", "office", "item", "text"]
    return download(
        b"".join(encode(header, body, fmt)),
        f"stigen-fritekst-v{selection.version}-{fmt.suffix}.csv",
    )


@bp.get("/aggregert.csv")
@researcher_required
def aggregate_csv():
    """The office × period table of the dashboards, suppressed exactly as on screen."""
    selection, _ = chosen_selection()
    fmt = chosen_format()
    kind = request.args.get("inndeling", "quarter")
    kind = kind if kind in PERIOD_KINDS else "quarter"
    snap = data.snapshot(selection.version, current_app.config["STIGEN_K"])
    periods = [
        p
        for p in reversed(snap.periods(kind))
        if not selection.periods or any(s.start <= p.start < s.end for s in selection.periods)
    ]
    codes = office_codes()
    chosen = selection.office_ids or tuple(sorted(codes))
    body = aggregate_rows(
        snap, [(o, codes[o]) for o in chosen], periods, with_pool=not selection.office_ids
    )
    audited("export.aggregate", selection, codes, kind=kind, rows=len(body), format=fmt.suffix)
    return download(
        b"".join(encode(aggregate_header(snap.themes), body, fmt, aggregate_floats(snap.themes))),
        f"stigen-aggregert-{kind}-v{selection.version}-{fmt.suffix}.csv",
    )


@bp.get("/kodebok")
@researcher_required
def codebook():
    """The codebook as a readable page, with α for the selection and ready-made code."""
    selection, questionnaire, decisions = chosen_version()
    fmt = chosen_format()
    figures = service.figures(questionnaire, selection, decisions)
    alphas = figures.alphas
    filename = f"stigen-svar-v{selection.version}-{fmt.suffix}.csv"
    return render_template(
        "export/codebook.html",
        questionnaire=questionnaire,
        columns=columns(questionnaire),
        alphas=alphas,
        counted=counted_response(questionnaire),
        csv_url=url_for("export.codebook_csv") + "?" + request.query_string.decode("latin-1"),
        snippets={
            "r": r_snippet(filename, fmt.separator, fmt.decimal, questionnaire=questionnaire),
            "pandas": pandas_snippet(
                filename, fmt.separator, fmt.decimal, questionnaire=questionnaire
            ),
        },
        selection=_describe(selection, office_codes()),
        figures=figures,
        quasi_identifiers=QUASI_IDENTIFIERS,
        blank_order=BLANK_ORDER,
        crosswalk=crosswalk_rows(questionnaire, questionnaires.available()),
        dropped=not_carried_over(questionnaire, questionnaires.available()),
    )


@bp.get("/kodebok.csv")
@researcher_required
def codebook_csv():
    """The codebook as CSV."""
    selection, questionnaire, decisions = chosen_version()
    fmt = chosen_format()
    alphas = service.figures(questionnaire, selection, decisions).alphas
    return download(
        b"".join(encode(CODEBOOK_HEADER, codebook_rows(questionnaire, alphas), fmt)),
        f"stigen-kodebok-v{selection.version}-{fmt.suffix}.csv",
    )


def _describe(selection: Selection, codes: dict[int, str]) -> dict:
    return {
        "version": selection.version,
        "periods": [p.code for p in selection.periods],
        "offices": [
            POOLED if o == POOLED_OFFICE else codes.get(o, o) for o in selection.office_ids
        ],
    }
