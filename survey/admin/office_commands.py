"""``flask offices`` and ``flask periods``: the office pages from the shell, audited as
"shell"."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from ..audit import record
from ..domain.periods import ReportingPeriod, parse_month, today_in_norway
from ..extensions import db
from ..models import Office
from ..office_lookup import office_or_fail
from . import posters
from .office_forms import RESERVED_SLUGS, SLUG_RE, suggest_slug
from .office_service import (
    all_offices_details,
    close_now,
    create_office,
    edit_office,
    office_link,
    period_from_months,
    poster_texts,
    set_active,
    set_period,
    status_of,
)

SHELL = "shell"


def _month(value: str | None, option: str) -> ReportingPeriod | None:
    """The month ``value`` names (None for no value), or a ClickException."""
    month = parse_month(value) if value is not None else None
    if value is not None and month is None:
        raise click.ClickException(f"{option} must be a month written YYYY-MM, e.g. 2026-09.")
    return month


def _link(office: Office, base_url: str | None) -> str:
    if not (base_url or current_app.config.get("STIGEN_BASE_URL")):
        raise click.ClickException(
            "Where do respondents reach Stigen? Set STIGEN_BASE_URL or pass --base-url."
        )
    try:
        return office_link(office, base_url)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@click.group("offices")
def offices() -> None:
    """Create, edit and deactivate offices; write their QR codes and posters."""


@offices.command("list")
@with_appcontext
def list_offices() -> None:
    """Every office with its status today and its period."""
    today = today_in_norway()
    for office in db.session.scalars(select(Office).order_by(Office.name)):
        period = f"{office.opens_on or '…'} – {office.closes_on or '…'}"
        click.echo(f"{office.slug:24} {status_of(office, today):12} {period:26} {office.name}")


@offices.command("create")
@click.argument("name")
@click.option(
    "--slug",
    help="Lower-case a-z, digits and hyphens; fixed once created. Default: made from the name.",
)
@click.option("--municipality", default="")
@click.option("--county", default="")
@click.option("--from", "opens_from", help="First open month, YYYY-MM (default: this month).")
@click.option("--to", "opens_to", help="Last open month, YYYY-MM (default: until further notice).")
@with_appcontext
def create(
    name: str,
    slug: str | None,
    municipality: str,
    county: str,
    opens_from: str | None,
    opens_to: str | None,
) -> None:
    """Create an office, open from this month unless --from says otherwise."""
    name = name.strip()
    slug = slug or suggest_slug(name)
    if not name or len(name) > 200:
        raise click.ClickException("The name must be 1–200 characters.")
    if not SLUG_RE.match(slug or "") or len(slug) > 80 or slug in RESERVED_SLUGS:
        raise click.ClickException("The slug must be lower-case a-z, digits and hyphens.")
    if db.session.scalar(select(Office.id).where(Office.slug == slug)) is not None:
        raise click.ClickException(f"There is already an office {slug!r}.")
    opens_from = opens_from or f"{today_in_norway():%Y-%m}"
    first = _month(opens_from, "--from")
    last = _month(opens_to, "--to")
    if first and last and last < first:
        raise click.ClickException("--to must not be before --from.")
    opens_on, closes_on = period_from_months(opens_from, opens_to)
    create_office(
        slug, name, municipality.strip(), county.strip(), opens_on, closes_on, actor=SHELL
    )
    db.session.commit()
    click.echo(
        f"Created {slug!r}: {name}, open from {opens_on}"
        + (f" to {closes_on}" if closes_on else " until further notice")
    )


@offices.command("edit")
@click.argument("slug")
@click.option("--name")
@click.option("--municipality")
@click.option("--county")
@with_appcontext
def edit(slug: str, name: str | None, municipality: str | None, county: str | None) -> None:
    """Rename an office or correct its municipality or county (the slug stays)."""
    office = office_or_fail(slug)
    if name is not None and not (0 < len(name.strip()) <= 200):
        raise click.ClickException("The name must be 1–200 characters.")
    changed = edit_office(
        office, {"name": name, "municipality": municipality, "county": county}, actor=SHELL
    )
    if not changed:
        click.echo("Nothing to change.")
        return
    db.session.commit()
    click.echo(f"Changed {', '.join(changed)} of {slug!r}.")


def _set_active(slug: str, active: bool) -> None:
    if not set_active(office_or_fail(slug), active, actor=SHELL):
        click.echo(f"{slug!r} is already {'active' if active else 'deactivated'}.")
        return
    db.session.commit()
    click.echo(f"{slug!r} is now {'active' if active else 'deactivated (its responses are kept)'}.")


@offices.command("deactivate")
@click.argument("slug")
@with_appcontext
def deactivate(slug: str) -> None:
    """Close an office for good; its responses are kept."""
    _set_active(slug, False)


@offices.command("activate")
@click.argument("slug")
@with_appcontext
def activate(slug: str) -> None:
    """Reactivate a deactivated office."""
    _set_active(slug, True)


@offices.command("qr")
@click.argument("slug")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write; .png for PNG, else SVG.",
)
@click.option("--base-url", help="Where respondents reach Stigen (default: STIGEN_BASE_URL).")
@with_appcontext
def qr(slug: str, out: Path, base_url: str | None) -> None:
    """Write the office's QR code as SVG or PNG."""
    link = _link(office_or_fail(slug), base_url)
    out.write_bytes(posters.qr_file(link, "png" if out.suffix.lower() == ".png" else "svg"))
    click.echo(f"QR code for {link} written to {out}")


@offices.command("poster")
@click.argument("slug")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="SVG file to write (A4).",
)
@click.option("--base-url", help="Where respondents reach Stigen (default: STIGEN_BASE_URL).")
@click.option("--lang", type=click.Choice(("nb", "nn", "en")), default="nb", show_default=True)
@with_appcontext
def poster(slug: str, out: Path, base_url: str | None, lang: str) -> None:
    """Write the office's A4 poster as SVG."""
    office = office_or_fail(slug)
    link = _link(office, base_url)
    with current_app.test_request_context(), force_locale(lang):
        texts = poster_texts(office, base_url)
    out.write_text(posters.poster_svg(link, texts), encoding="utf-8")
    click.echo(f"Poster for {link} written to {out}")


# --- Periods ---------------------------------------------------------------------------------


def _targets(slug: str | None, every: bool) -> list[Office]:
    if bool(slug) == every:
        raise click.ClickException("Name one office with --office SLUG, or use --all.")
    if slug:
        return [office_or_fail(slug)]
    return list(db.session.scalars(select(Office).where(Office.active.is_(True))))


def _apply(action: str, offices: list[Office], change, every: bool) -> None:
    changes = [change(office) for office in offices]
    if every:
        record(action, all_offices_details(changes), actor=SHELL)
    else:
        record(action, changes[0], actor=SHELL)
    db.session.commit()
    for c in changes:
        click.echo(f"{c['office']}: {c['after'][0] or '…'} – {c['after'][1] or '…'}")


@click.group("periods")
def periods() -> None:
    """Open and close the questionnaire, per office or for all, in whole months."""


@periods.command("open")
@click.option("--office", "slug", help="Office slug.")
@click.option("--all", "every", is_flag=True, help="Every active office.")
@click.option("--from", "opens_from", required=True, help="First open month, YYYY-MM.")
@click.option("--to", "opens_to", help="Last open month, YYYY-MM (default: until further notice).")
@with_appcontext
def open_period(slug: str | None, every: bool, opens_from: str, opens_to: str | None) -> None:
    """Open from the first day of --from, through the last day of --to."""
    first = _month(opens_from, "--from")
    last = _month(opens_to, "--to")
    if first and last and last < first:
        raise click.ClickException("--to must not be before --from.")
    offices = _targets(slug, every)
    opens_on, closes_on = period_from_months(opens_from, opens_to)
    _apply("period.set", offices, lambda office: set_period(office, opens_on, closes_on), every)


@periods.command("close")
@click.option("--office", "slug", help="Office slug.")
@click.option("--all", "every", is_flag=True, help="Every active office.")
@with_appcontext
def close_period(slug: str | None, every: bool) -> None:
    """Close from today (the period ends yesterday)."""
    offices = _targets(slug, every)
    today = today_in_norway()
    _apply("period.close", offices, lambda office: close_now(office, today), every)
