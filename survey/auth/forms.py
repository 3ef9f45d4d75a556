from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError


class LoginForm(FlaskForm):
    username = StringField(
        _l("Brukernavn"),
        validators=[DataRequired(_l("Skriv brukernavnet ditt.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Passord"),
        validators=[DataRequired(_l("Skriv passordet ditt.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


def unusable_password(password: str) -> bool:
    """A NUL (sign-in refuses it, so it could never be used) or a lone surrogate (no
    UTF-8 to hash it from; only a broken client sends one)."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in password


def _no_nul(form, field):
    if unusable_password(field.data or ""):
        raise ValidationError(_l("Passordet kan ikke inneholde kontrolltegn."))


class ResetForm(FlaskForm):
    """A new password, typed twice, from a one-time reset link."""

    password = PasswordField(
        _l("Nytt passord"),
        validators=[
            DataRequired(_l("Skriv et nytt passord.")),
            Length(min=10, max=200, message=_l("Passordet må ha mellom 10 og 200 tegn.")),
            _no_nul,
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Skriv passordet en gang til"),
        validators=[
            DataRequired(_l("Skriv passordet en gang til.")),
            EqualTo("password", message=_l("Passordene er ikke like.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
