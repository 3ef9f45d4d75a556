"""``flask codes``: one-time access codes from the shell, audited as "shell"."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from .. import audit
from ..domain import access_codes
from ..export.csvfile import CsvFormat
from ..extensions import db
from ..models import Office
from ..office_lookup import office_or_fail
from .code_service import (
    batch_counts,
    batch_minimum,
    csv_bytes,
    new_batch,
    set_codes_required,
    too_small_message,
)
from .office_service import office_link

SHELL = "shell"


@click.group("codes")
def codes_command() -> None:
    """One-time access codes: generate a batch, see how many are used, switch an office
    between its open link and codes only."""


@codes_command.command("generate")
@click.option("--office", "slug", required=True, help="Office slug.")
@click.option(
    "--count",
    type=click.IntRange(1, access_codes.MAX_COUNT),
    required=True,
    help="How many codes: at least STIGEN_CODE_BATCH_MIN (never below 20).",
)
@click.option(
    "--batch",
    required=True,
    help="A label for the batch, e.g. '2026-11 venterom'. Never a person's name.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="CSV file to write (code,batch,office,link; UTF-8).",
)
@click.option("--excel", is_flag=True, help="Semicolons and a byte-order mark, for Excel.")
@click.option("--base-url", help="Where respondents reach Stigen (default STIGEN_BASE_URL).")
@with_appcontext
def generate(
    slug: str, count: int, batch: str, out: Path, excel: bool, base_url: str | None
) -> None:
    """Generate COUNT codes and write them to a CSV file: the only copy in clear text."""
    batch = batch.strip()
    minimum = batch_minimum()
    if count < minimum:
        with force_locale("nb"):
            raise click.ClickException(too_small_message(minimum))
    if not batch or len(batch) > 80:
        raise click.ClickException("--batch must be 1 to 80 characters.")
    if out.exists():
        raise click.ClickException(f"{out} exists; codes are never written over a file.")
    office = office_or_fail(slug)
    clear = new_batch(office, count, batch)
    fmt = CsvFormat.excel_norwegian() if excel else CsvFormat()
    # The file first: if it cannot be written, no codes are stored that nobody has.
    # Readable by the owner only, and never over an existing file.
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(csv_bytes(office, batch, clear, office_link(office, base_url), fmt))
    try:
        audit.record(
            "codes.generate",
            {
                "office": office.slug,
                "batch": batch,
                "count": count,
                "format": "excel" if excel else "csv",
            },
            actor=SHELL,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        out.unlink()  # no file of codes that were never stored
        raise
    click.echo(
        f"{count} codes for {office.slug} (batch {batch!r}) written to {out}. "
        "They cannot be shown again."
    )


@codes_command.command("status")
@click.option("--office", "slug", help="One office (default: every office with codes).")
@with_appcontext
def status(slug: str | None) -> None:
    """How many codes of each batch are used and unused, and each office's mode."""
    offices = {o.id: o for o in db.session.scalars(select(Office).order_by(Office.slug))}
    only = office_or_fail(slug) if slug else None
    rows = batch_counts(only.id if only else None)
    shown = (
        [only]
        if only
        else [o for o in offices.values() if o.codes_required or any(r[0] == o.id for r in rows)]
    )
    if not shown:
        click.echo("No office uses codes.")
    for office in shown:
        mode = "codes only" if office.codes_required else "open link"
        click.echo(f"{office.slug}: {mode}")
        for _office_id, batch, used, unused in (r for r in rows if r[0] == office.id):
            click.echo(f"  {batch!r}: {used} used, {unused} unused")


@codes_command.command("mode")
@click.option("--office", "slug", required=True, help="Office slug.")
@click.option(
    "--codes-only/--open-link",
    "codes_only",
    required=True,
    help="Only respondents with a code, or everyone with the link.",
)
@with_appcontext
def mode(slug: str, codes_only: bool) -> None:
    """Switch an office between its open link and codes only."""
    office = office_or_fail(slug)
    if set_codes_required(office, codes_only, actor=SHELL):
        db.session.commit()
    click.echo(f"{office.slug}: {'codes only' if codes_only else 'open link'}")
