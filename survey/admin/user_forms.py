"""Forms for the accounts page: create an account, change its role and offices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from ..auth.forms import unusable_password
from ..models import ROLES

ROLE_LABELS = {
    "admin": _l("Administrator – alle innstillinger, brukere og revisjonsloggen"),
    "leder": _l("Leder – resultatene for egne kontor"),
    "forsker": _l("Forsker – alle kontor og eksport"),
}


def _role_field():
    return RadioField(
        _l("Rolle"),
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        default="leder",
        validators=[DataRequired(_l("Velg en rolle."))],
    )


def _offices_field():
    return SelectMultipleField(
        _l("Kontor"),
        coerce=int,
        validate_choice=True,
        invalid_choice_message=_l("Velg blant kontorene i listen."),
        invalid_value_message=_l("Velg blant kontorene i listen."),
    )


def _strip_lower(value):
    return value.strip().lower() if isinstance(value, str) else value


class AccountRolesForm(FlaskForm):
    """Role and offices: a leder needs at least one office; admins and researchers see
    every office, so their offices are not kept."""

    role = _role_field()
    offices = _offices_field()

    def set_office_choices(self, offices) -> None:
        self.offices.choices = [
            SelectChoice(
                office.id, office.name if office.active else f"{office.name} ({_l('deaktivert')})"
            )
            for office in offices
        ]

    def validate_offices(self, field):
        if self.role.data == "leder" and not field.data:
            raise ValidationError(_l("En leder må ha minst ett kontor."))


class AccountCreateForm(AccountRolesForm):
    username = StringField(
        _l("Brukernavn"),
        filters=[_strip_lower],
        validators=[
            DataRequired(_l("Skriv et brukernavn.")),
            Length(max=80, message=_l("Brukernavnet kan ha høyst 80 tegn.")),
            Regexp(
                r"^[a-z0-9][a-z0-9._@-]*$",
                message=_l(
                    "Bruk bare små bokstaver a–z, sifre og . _ @ -, "
                    "og start med en bokstav eller et siffer."
                ),
            ),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    # Order matters for the page: username, role, offices, then the password choice.
    password_mode = RadioField(
        _l("Passord"),
        choices=[
            SelectChoice(
                "lenke", _l("Lag en engangslenke som brukeren velger passord med (anbefalt)")
            ),
            SelectChoice("passord", _l("Jeg skriver et passord selv og gir det til brukeren")),
        ],
        default="lenke",
        validators=[DataRequired(_l("Velg hvordan brukeren får passord."))],
    )
    password = PasswordField(
        _l("Passord (bare hvis du skriver det selv)"),
        render_kw={"autocomplete": "new-password"},
    )

    def validate_password(self, field):
        if self.password_mode.data != "passord":
            field.data = None  # a link was chosen: whatever was typed is not used
            return
        if not field.data:
            raise ValidationError(_l("Skriv passordet, eller velg engangslenke."))
        if not 10 <= len(field.data) <= 200:
            raise ValidationError(_l("Passordet må ha mellom 10 og 200 tegn."))
        if unusable_password(field.data):
            raise ValidationError(_l("Passordet kan ikke inneholde kontrolltegn."))
