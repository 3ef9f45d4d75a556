"""One-time access codes per office: switch an office between its open link and codes
only, generate a batch (a printable sheet or a CSV file, once: only hashes are kept), see
how many of each batch are used, and delete a batch's unused codes.

A code exists in clear text only in the response to the request that generated it; the
table keeps its keyed hash, the office, the batch label and used/unused (privacy.md).
"""

from __future__ import annotations

import secrets
from datetime import date

from flask import Response, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from .. import audit
from ..auth.access import admin_required
from ..domain import access_codes
from ..export.csvfile import CsvFormat
from ..extensions import db
from ..models import Office
from ..office_lookup import office_or_404
from . import bp
from .code_service import (
    batch_counts,
    batch_minimum,
    csv_bytes,
    delete_unused,
    file_label,
    new_batch,
    set_codes_required,
    too_small_message,
)
from .office_service import office_link

NO_STORE = {"Cache-Control": "no-store"}
FORMATS = ("ark", "csv", "excel")
ONCE_KEY = "codes_once"  # session: tokens of generate forms shown and not yet sent


# --- Forms ---------------------------------------------------------------------------------


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ModeForm(FlaskForm):
    mode = RadioField(
        _l("Hvordan kommer man inn?"),
        choices=[
            SelectChoice("open", _l("Åpen lenke – alle med lenken kan svare")),
            SelectChoice("codes", _l("Bare med kode – hver kode kan brukes én gang")),
        ],
        validators=[DataRequired(_l("Velg en av delene."))],
    )


class GenerateForm(FlaskForm):
    # The lower bound is the configured minimum, checked in ``validate``.
    count = IntegerField(
        _l("Antall koder"), validators=[InputRequired(), NumberRange(1, access_codes.MAX_COUNT)]
    )
    batch = StringField(
        _l("Navn på bunken"),
        filters=[_strip],
        description=_l(
            "For eksempel måned og sted, som «2026-11 venterom». Skriv aldri navn "
            "på personer: bunkens navn, og hvor mange av kodene i den som er "
            "brukt, ser alle administratorer."
        ),
        validators=[
            DataRequired(_l("Gi bunken et navn.")),
            Length(max=80, message=_l("Navnet kan være høyst 80 tegn.")),
        ],
    )
    format = RadioField(
        _l("Format"),
        default="ark",
        choices=[
            SelectChoice("ark", _l("Utskriftsark (en side med mange koder til å klippe ut)")),
            SelectChoice(
                "csv", _l("CSV-fil (komma, UTF-8, RFC 4180), for eksempel til SMS-utsending")
            ),
            SelectChoice("excel", _l("CSV-fil for Excel (semikolon)")),
        ],
        validators=[DataRequired(_l("Velg et format."))],
    )
    once = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        minimum = batch_minimum()
        if self.count.errors:  # one message, also for text that is not a number
            self.count.errors = [
                _(
                    "Skriv et antall fra %(min)d til %(max)d.",
                    min=minimum,
                    max=access_codes.MAX_COUNT,
                )
            ]
        elif self.count.data < minimum:
            self.count.errors = [too_small_message(minimum)]
            valid = False
        return valid


class DeleteForm(FlaskForm):
    batch = HiddenField(validators=[DataRequired()])


# --- Views ---------------------------------------------------------------------------------


def _once() -> str:
    """A token for a generate form, so that sending it twice (a reload of the sheet)
    does not make a second batch."""
    token = secrets.token_hex(8)
    session[ONCE_KEY] = [*session.get(ONCE_KEY, [])[-4:], token]
    return token


def _page(office: Office, mode_form=None, generate_form=None, status: int = 200):
    mode_form = mode_form or ModeForm(mode="codes" if office.codes_required else "open")
    if generate_form is None:
        generate_form = GenerateForm(
            formdata=None, batch=date.today().strftime("%Y-%m"), count=batch_minimum()
        )
    generate_form.once.data = _once()
    generate_form.count.description = _(
        "Minst %(min)d koder i hver bunke, så ingen bunke kan peke ut én person.",
        min=batch_minimum(),
    )
    batches = [(batch, used, unused) for _o, batch, used, unused in batch_counts(office.id)]
    return (
        render_template(
            "admin/codes.html",
            office=office,
            mode_form=mode_form,
            generate_form=generate_form,
            delete_form=DeleteForm(formdata=None),
            batches=batches,
            link=office_link(office),
            unused_total=sum(unused for _b, _u, unused in batches),
            max_count=access_codes.MAX_COUNT,
            min_count=batch_minimum(),
        ),
        status,
        NO_STORE,
    )


@bp.get("/koder")
@admin_required
def codes_overview():
    """Every office: open link or codes only, and how many codes are used and unused."""
    offices = db.session.scalars(select(Office).order_by(Office.name)).all()
    totals: dict[int, list[int]] = {}
    for office_id, _batch, used, unused in batch_counts():
        total = totals.setdefault(office_id, [0, 0])
        total[0] += used
        total[1] += unused
    return render_template("admin/codes_overview.html", offices=offices, totals=totals)


@bp.get("/kontor/<slug>/koder")
@admin_required
def codes_page(slug: str):
    """The office's codes: mode, a new batch, and the batches so far."""
    return _page(office_or_404(slug))


@bp.post("/kontor/<slug>/koder/modus")
@admin_required
def codes_mode(slug: str):
    office = office_or_404(slug)
    form = ModeForm()
    if not form.validate():
        return _page(office, mode_form=form)
    required = form.mode.data == "codes"
    if set_codes_required(office, required):
        db.session.commit()
    flash(
        _("Nå kan bare den som har en kode, svare for %(office)s.", office=office.name)
        if required
        else _("Nå kan alle med lenken svare for %(office)s.", office=office.name)
    )
    return redirect(url_for("admin.codes_page", slug=office.slug), code=303)


@bp.post("/kontor/<slug>/koder/lag")
@admin_required
def codes_generate(slug: str):
    """Generate a batch and hand it over once, as a printable sheet or a CSV file."""
    office = office_or_404(slug)
    form = GenerateForm()
    if not form.validate():
        return _page(office, generate_form=form)
    shown = session.get(ONCE_KEY, [])
    if form.once.data not in shown:
        flash(
            _(
                "Denne bunken er allerede laget (skjemaet ble sendt to ganger). "
                "Lag en ny bunke her hvis du trenger flere koder."
            )
        )
        return redirect(url_for("admin.codes_page", slug=office.slug), code=303)
    session[ONCE_KEY] = [token for token in shown if token != form.once.data]
    count, batch, kind = form.count.data, form.batch.data, form.format.data
    clear = new_batch(office, count, batch)
    audit.record(
        "codes.generate", {"office": office.slug, "batch": batch, "count": count, "format": kind}
    )
    db.session.commit()
    link = office_link(office)
    if kind == "ark":
        return (
            render_template(
                "admin/code_sheet.html",
                office=office,
                batch=batch,
                link=link,
                codes=[access_codes.display(code) for code in clear],
            ),
            200,
            NO_STORE,
        )
    fmt = CsvFormat.excel_norwegian() if kind == "excel" else CsvFormat()
    response = Response(
        csv_bytes(office, batch, clear, link, fmt), mimetype="text/csv", headers=NO_STORE
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="koder-{office.slug}-{file_label(batch)}-{fmt.suffix}.csv"'
    )
    return response


@bp.post("/kontor/<slug>/koder/slett")
@admin_required
def codes_delete(slug: str):
    """Delete the unused codes of one batch (the used ones stay, as a count)."""
    office = office_or_404(slug)
    form = DeleteForm()
    if not form.validate():
        abort(400)
    deleted = delete_unused(office, form.batch.data)
    audit.record(
        "codes.delete", {"office": office.slug, "batch": form.batch.data, "count": deleted}
    )
    db.session.commit()
    flash(
        _(
            "%(count)d ubrukte koder i bunken «%(batch)s» er slettet.",
            count=deleted,
            batch=form.batch.data,
        )
    )
    return redirect(url_for("admin.codes_page", slug=office.slug), code=303)
