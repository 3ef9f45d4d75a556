"""``flask export``: the same exports from the shell, for very large selections."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import audit
from .. import versions as questionnaires
from ..domain.periods import ReportingPeriod
from ..extensions import db
from ..models import Office
from . import released, service
from .anonymity import AnonymityError
from .csvfile import CsvFormat
from .responses import Selection, WrittenCounts, response_file


@click.group("export")
def export_command() -> None:
    """Export anonymous data for research."""


@export_command.command("responses")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", "version", type=int, default=None, help="Questionnaire version.")
@click.option("--period", "periods", multiple=True, help="e.g. 2026-Q1, 2026-05, 2026-H2")
@click.option("--office", "offices", multiple=True, help="Office slug; repeat for more.")
@click.option("--excel", is_flag=True, help="Semicolons, decimal comma and a BOM.")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["csv", "sav", "dta", "r", "datapackage"]),
    default="csv",
    show_default=True,
    help="csv; sav (SPSS) or dta (Stata) with labels; r (zip: svar.csv and svar.R); "
    "datapackage (zip: svar.csv and datapackage.json).",
)
@click.option(
    "--labels",
    "lang",
    type=click.Choice(["nb", "nn", "en"]),
    default="nb",
    show_default=True,
    help="Language of variable and value labels.",
)
@with_appcontext
def responses(
    out: Path, version: int | None, periods, offices, excel: bool, kind: str, lang: str
) -> None:
    """The response-level file of the current release, exactly as the web export writes it."""
    version = version or questionnaires.live_version()
    if version not in questionnaires.available():
        raise click.ClickException(f"Questionnaire version {version} is not published.")
    try:
        chosen_periods = tuple(sorted({ReportingPeriod.parse(p) for p in periods}))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    found = (
        db.session.scalars(select(Office).where(Office.slug.in_(offices))).all() if offices else []
    )
    if set(offices) - {o.slug for o in found}:
        raise click.ClickException(
            f"Unknown office: {', '.join(set(offices) - {o.slug for o in found})}"
        )
    selection = Selection(version, chosen_periods, tuple(sorted(o.id for o in found)))
    questionnaire = questionnaires.get(version)
    fmt = CsvFormat.excel_norwegian() if excel else CsvFormat()
    release = released.current_release()  # may publish (and commit) first
    decisions = (
        None
        if release is None
        else released.decisions(
            db.session.connection(), version, current_app.config["STIGEN_K"], release=release
        )
    )
    if decisions is None:
        raise click.ClickException(
            "No release yet: the export holds released data only "
            "(a release is made when a month has ended)."
        )
    codes = dict(db.session.execute(select(Office.id, Office.slug)).all())
    tally = WrittenCounts()
    started = time.perf_counter()
    try:
        if kind == "csv":
            with open(out, "wb") as fh, db.engine.connect() as connection:
                for chunk in response_file(
                    connection, questionnaire, selection, decisions, codes, tally, fmt
                ):
                    fh.write(chunk)
        else:
            with tempfile.TemporaryDirectory(prefix="stigen-labelled-", dir=out.parent) as folder:
                written = service.labelled_file(
                    kind, folder, questionnaire, selection, decisions, codes, tally, lang
                )
                os.replace(written, out)
    except AnonymityError as error:
        out.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from error
    seconds = time.perf_counter() - started
    audit.record(
        "export.responses",
        {
            "selection": {
                "version": version,
                "periods": [p.code for p in chosen_periods],
                "offices": list(offices),
            },
            "format": fmt.suffix if kind == "csv" else kind,
            **({} if kind == "csv" else {"labels": lang}),
            "rows": tally.rows,
            "pooled": tally.pooled,
            "left_out": tally.left_out,
            "complete": True,
            "file": out.name,
        },
        actor="shell",
    )
    db.session.commit()
    click.echo(
        f"{tally.rows:,} rows ({tally.pooled:,} pooled as andre, {tally.left_out:,} left "
        f"out) to {out} in {seconds:.1f} s ({tally.rows / max(seconds, 1e-9):,.0f} rows/s)"
    )


@export_command.command("prepare")
@click.option("--version", "version", type=int, default=None, help="Questionnaire version.")
@with_appcontext
def prepare(version: int | None) -> None:
    """Make the current release's export decisions now (pooling, periods, blanked QI
    cells), so the first download does not wait for them. Run after a release."""
    version = version or questionnaires.live_version()
    started = time.perf_counter()
    release = released.current_release()
    decisions = (
        None
        if release is None
        else released.decisions(
            db.session.connection(),
            version,
            current_app.config["STIGEN_K"],
            release=release,
            fresh=True,
        )
    )
    if decisions is None:
        raise click.ClickException("No release yet: nothing to prepare.")
    summary = decisions.summary(range(len(decisions.labels)))
    click.echo(
        f"{summary.rows:,} released rows in {len(decisions.labels):,} published labels, "
        f"{len(decisions.kept):,} QI classes, {sum(summary.blanked.values()):,} cells "
        f"blanked, in {time.perf_counter() - started:.1f} s"
    )
