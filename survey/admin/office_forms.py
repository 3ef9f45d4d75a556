"""Forms for offices and survey periods.

Periods are whole months, so that an office's open period lines up with the dashboard's
reporting periods: "open from 2026-09" means from 1 September, "to and including 2026-12"
means through 31 December.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..domain.periods import parse_month

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words in the admin addresses beside /admin/kontor/<slug>: never an office's slug.
RESERVED_SLUGS = frozenset({"ny"})
_ASCII = str.maketrans(
    {
        "æ": "ae",
        "ø": "o",
        "å": "a",
        "é": "e",
        "è": "e",
        "ü": "u",
        "ö": "o",
        "ä": "a",
        "á": "a",
        "č": "c",
        "š": "s",
        "ŋ": "n",
    }
)


# --- Pure helpers (a typed month is read by ``survey.domain.periods.parse_month``) -----------------


def month_code(day: date | None) -> str:
    """The ``YYYY-MM`` a form shows for a stored date (empty for none)."""
    return f"{day.year:04d}-{day.month:02d}" if day else ""


def suggest_slug(name: str) -> str:
    """A slug from an office name: "NAV Tromsø" -> "tromso"; the "NAV" prefix is left
    out, since every office has it."""
    text = name.lower().translate(_ASCII)
    text = re.sub(r"^nav\s+", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80]


# --- Forms -----------------------------------------------------------------------------------


def _month(form, field) -> None:
    if field.data and parse_month(field.data) is None:
        raise ValidationError(_l("Skriv måneden som år og måned, for eksempel 2026-09."))


class OfficeEditForm(FlaskForm):
    """What may change after an office exists: never its slug, which is on its posters."""

    name = StringField(
        _l("Navn"),
        validators=[
            DataRequired(_l("Skriv navnet på kontoret.")),
            Length(max=200, message=_l("Navnet kan ha høyst 200 tegn.")),
        ],
        description=_l("Slik står det på plakaten og øverst i undersøkelsen, f.eks. «NAV Bodø»."),
    )
    municipality = StringField(
        _l("Kommune"), validators=[Optional(), Length(max=120, message=_l("Høyst 120 tegn."))]
    )
    county = StringField(
        _l("Fylke"), validators=[Optional(), Length(max=120, message=_l("Høyst 120 tegn."))]
    )


class OfficeCreateForm(OfficeEditForm):
    slug = StringField(
        _l("Kortnavn i lenken"),
        validators=[Optional(), Length(max=80, message=_l("Kortnavnet kan ha høyst 80 tegn."))],
        description=_l(
            "Små bokstaver a–z, tall og bindestrek, f.eks. «bodo». Står i lenken og på "
            "plakatene, og kan ikke endres senere. Tomt: lages fra navnet."
        ),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    opens_from = StringField(
        _l("Åpen fra måned"),
        validators=[DataRequired(_l("Skriv måneden undersøkelsen åpner.")), _month],
        description=_l(
            "År og måned, f.eks. 2026-09. Velg en senere måned om kontoret ikke skal åpne ennå."
        ),
        render_kw={"inputmode": "numeric", "placeholder": "ÅÅÅÅ-MM"},
    )
    opens_to = StringField(
        _l("Til og med måned"),
        validators=[Optional(), _month],
        description=_l("Tomt: åpen inntil videre."),
        render_kw={"inputmode": "numeric", "placeholder": "ÅÅÅÅ-MM"},
    )

    def validate_slug(self, field) -> None:
        if field.data and not SLUG_RE.match(field.data):
            raise ValidationError(
                _l("Bruk bare små bokstaver a–z, tall og bindestrek (ikke først eller sist).")
            )
        if field.data in RESERVED_SLUGS:
            raise ValidationError(_l("Dette kortnavnet er reservert: velg et annet."))

    def validate_opens_to(self, field) -> None:
        _check_order(self.opens_from, field)


class PeriodForm(FlaskForm):
    """A survey period in whole months."""

    opens_from = OfficeCreateForm.opens_from
    opens_to = OfficeCreateForm.opens_to

    def validate_opens_to(self, field) -> None:
        _check_order(self.opens_from, field)


def _check_order(start_field, end_field) -> None:
    start, end = parse_month(start_field.data), parse_month(end_field.data)
    if start and end and end < start:
        raise ValidationError(_l("Sluttmåneden kan ikke være før måneden undersøkelsen åpner."))
