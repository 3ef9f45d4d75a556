"""Offices, their links, QR codes and posters, and survey periods.

An office's slug is in its link, and so on every poster printed for it: it never changes
once the office exists. A deactivated office keeps its responses; its link shows the
"closed" page, as it does outside an open period.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..auth.access import admin_required
from ..domain.periods import today_in_norway
from ..extensions import db
from ..models import Office
from ..office_lookup import office_or_404
from . import bp, posters
from .office_forms import (
    RESERVED_SLUGS,
    OfficeCreateForm,
    OfficeEditForm,
    PeriodForm,
    month_code,
    suggest_slug,
)
from .office_service import (
    all_offices_details,
    close_now,
    create_office,
    edit_office,
    office_link,
    open_now,
    period_from_months,
    poster_texts,
    set_active,
    set_period,
    status_of,
)

# --- Pages ---------------------------------------------------------------------------------


def _taken(slug: str) -> str:
    return _("Kortnavnet «%(slug)s» er tatt av et annet kontor.", slug=slug)


def _all_offices() -> list[Office]:
    return list(db.session.scalars(select(Office).order_by(Office.active.desc(), Office.name)))


@bp.get("/kontor")
@admin_required
def offices():
    """Every office with its status and period."""
    return render_template(
        "admin/offices.html", offices=_all_offices(), today=today_in_norway(), status_of=status_of
    )


@bp.route("/kontor/ny", methods=["GET", "POST"])
@admin_required
def office_new():
    """A new office, with its first period."""
    form = OfficeCreateForm()
    if request.method == "GET":
        form.opens_from.data = month_code(today_in_norway())
        return render_template("admin/office_form.html", form=form, office=None)
    valid = form.validate_on_submit()
    slug = form.slug.data or suggest_slug(form.name.data or "")
    if not form.slug.errors and form.name.data:
        taken = db.session.scalar(select(Office.id).where(Office.slug == slug)) is not None
        if not slug or slug in RESERVED_SLUGS:
            form.slug.errors.append(_("Navnet gir ikke noe brukbart kortnavn: skriv et selv."))
        elif taken:
            form.slug.errors.append(_taken(slug))
        form.slug.data = form.slug.data or slug  # show the suggestion, to keep or change
    if valid and not form.slug.errors:
        opens_on, closes_on = period_from_months(form.opens_from.data, form.opens_to.data)
        office = create_office(
            slug,
            form.name.data.strip(),
            (form.municipality.data or "").strip(),
            (form.county.data or "").strip(),
            opens_on,
            closes_on,
        )
        try:
            db.session.commit()
        except IntegrityError:  # another admin took the slug a moment ago
            db.session.rollback()
            form.slug.errors.append(_taken(slug))
        else:
            flash(_("Kontoret «%(name)s» er opprettet.", name=office.name))
            return redirect(url_for("admin.office", slug=slug), code=303)
    return render_template("admin/office_form.html", form=form, office=None)


@bp.get("/kontor/<slug>")
@admin_required
def office(slug: str):
    """One office: its link, QR code and poster, its period, and what may be changed."""
    office = office_or_404(slug)
    form = PeriodForm(
        formdata=None, opens_from=month_code(office.opens_on), opens_to=month_code(office.closes_on)
    )
    return _office_page(office, form)


def _office_page(office: Office, period_form: PeriodForm):
    link = office_link(office)
    title = _("QR-kode til %(link)s", link=link)
    return render_template(
        "admin/office.html",
        office=office,
        link=link,
        today=today_in_norway(),
        status=status_of(office, today_in_norway()),
        period_form=period_form,
        qr=Markup(posters.qr_svg(link, title)),
    )


@bp.route("/kontor/<slug>/endre", methods=["GET", "POST"])
@admin_required
def office_edit(slug: str):
    """Rename an office, or correct its municipality or county. The slug stays."""
    office = office_or_404(slug)
    form = OfficeEditForm(obj=office)
    if form.validate_on_submit():
        if edit_office(
            office,
            {
                "name": form.name.data,
                "municipality": form.municipality.data or "",
                "county": form.county.data or "",
            },
        ):
            db.session.commit()
            flash(_("Endringene er lagret."))
        return redirect(url_for("admin.office", slug=office.slug), code=303)
    return render_template("admin/office_form.html", form=form, office=office)


@bp.post("/kontor/<slug>/deaktiver")
@admin_required
def office_deactivate(slug: str):
    office = office_or_404(slug)
    if set_active(office, False):
        db.session.commit()
        flash(
            _(
                "Kontoret er deaktivert. Svarene er tatt vare på, og lenken viser at "
                "undersøkelsen er stengt."
            )
        )
    return redirect(url_for("admin.office", slug=office.slug), code=303)


@bp.post("/kontor/<slug>/aktiver")
@admin_required
def office_activate(slug: str):
    office = office_or_404(slug)
    if set_active(office, True):
        db.session.commit()
        flash(_("Kontoret er aktivert igjen."))
    return redirect(url_for("admin.office", slug=office.slug), code=303)


@bp.post("/kontor/<slug>/periode")
@admin_required
def office_period(slug: str):
    """Set the office's period in whole months."""
    office = office_or_404(slug)
    form = PeriodForm()
    if not form.validate_on_submit():
        return _office_page(office, form)
    record(
        "period.set",
        set_period(office, *period_from_months(form.opens_from.data, form.opens_to.data)),
    )
    db.session.commit()
    flash(_("Perioden er lagret."))
    return redirect(url_for("admin.office", slug=office.slug), code=303)


@bp.post("/kontor/<slug>/apne")
@admin_required
def office_open_now(slug: str):
    office = office_or_404(slug)
    record("period.open", open_now(office, today_in_norway()))
    db.session.commit()
    flash(_("Undersøkelsen er åpen fra denne måneden, inntil videre."))
    return redirect(url_for("admin.office", slug=office.slug), code=303)


@bp.post("/kontor/<slug>/steng")
@admin_required
def office_close_now(slug: str):
    office = office_or_404(slug)
    record("period.close", close_now(office, today_in_norway()))
    db.session.commit()
    flash(_("Undersøkelsen er stengt for dette kontoret."))
    return redirect(url_for("admin.office", slug=office.slug), code=303)


# --- QR codes and posters ----------------------------------------------------------------


def _download(body: bytes, mimetype: str, filename: str):
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/kontor/<slug>/qr.svg")
@admin_required
def office_qr_svg(slug: str):
    office = office_or_404(slug)
    return _download(
        posters.qr_file(office_link(office), "svg"), "image/svg+xml", f"stigen-{office.slug}-qr.svg"
    )


@bp.get("/kontor/<slug>/qr.png")
@admin_required
def office_qr_png(slug: str):
    office = office_or_404(slug)
    return _download(
        posters.qr_file(office_link(office), "png"), "image/png", f"stigen-{office.slug}-qr.png"
    )


@bp.get("/kontor/<slug>/plakat")
@admin_required
def office_poster(slug: str):
    """The poster as a page that prints on one A4 sheet."""
    office = office_or_404(slug)
    link = office_link(office)
    qr = Markup(posters.qr_svg(link, _("QR-kode til %(link)s", link=link)))
    return render_template(
        "admin/poster.html",
        office=office,
        link=link,
        qr=qr,
        texts=poster_texts(office),
        public_link=office_link(office, endpoint="public.office"),
    )


@bp.get("/kontor/<slug>/plakat.svg")
@admin_required
def office_poster_svg(slug: str):
    """The poster as an A4 SVG file, for print shops and for turning into PDF."""
    office = office_or_404(slug)
    svg = posters.poster_svg(office_link(office), poster_texts(office))
    return _download(svg.encode(), "image/svg+xml", f"stigen-{office.slug}-plakat.svg")


# --- Periods for every office --------------------------------------------------------------


@bp.route("/perioder", methods=["GET", "POST"])
@admin_required
def periods():
    """One period for every active office at once."""
    form = PeriodForm()
    if request.method == "GET":
        form.opens_from.data = month_code(today_in_norway())
    elif form.validate_on_submit():
        opens_on, closes_on = period_from_months(form.opens_from.data, form.opens_to.data)
        _for_all("period.set", lambda office: set_period(office, opens_on, closes_on))
        flash(_("Perioden er lagret for alle aktive kontorer."))
        return redirect(url_for("admin.periods"), code=303)
    return render_template(
        "admin/periods.html",
        form=form,
        offices=_all_offices(),
        today=today_in_norway(),
        status_of=status_of,
    )


@bp.post("/perioder/apne")
@admin_required
def periods_open_now():
    today = today_in_norway()
    _for_all("period.open", lambda office: open_now(office, today))
    flash(_("Undersøkelsen er åpen for alle aktive kontorer, inntil videre."))
    return redirect(url_for("admin.periods"), code=303)


@bp.post("/perioder/steng")
@admin_required
def periods_close_now():
    today = today_in_norway()
    _for_all("period.close", lambda office: close_now(office, today))
    flash(_("Undersøkelsen er stengt for alle kontorer."))
    return redirect(url_for("admin.periods"), code=303)


def _for_all(action: str, change) -> None:
    """Apply ``change`` to every active office, one audit event for all, one commit."""
    offices = db.session.scalars(select(Office).where(Office.active.is_(True))).all()
    changes = [change(office) for office in offices]
    record(action, all_offices_details(changes))
    db.session.commit()
