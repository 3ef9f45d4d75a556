"""The answer form, built from the questionnaire data in the respondent's language.

One form holds every item of the questionnaire: the current page's items are shown,
the rest travel along as hidden inputs. The answers therefore live in the page, not
in the session: an expired session, a language switch or a failed save loses nothing.
"""

from __future__ import annotations

import secrets

from flask import has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from ..questionnaire import DONT_KNOW, Item, Questionnaire


class _Invalid:
    """What a value that is not a number becomes, so the validator can name it kindly."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


def to_int(value):
    if isinstance(value, int) or value is None:
        return value
    if isinstance(value, str) and not value.strip():
        return None  # blank counts as not answered, as WTForms' Optional sees it
    try:
        return int(value)
    except (TypeError, ValueError):
        return INVALID


# --- What a valid answer is: the one place for the rule, read by the form's validators
# and by ``posted_data`` (the Send inn that needs no form). Pure.


def one_of(item: Item, data) -> bool:
    """A single choice: unanswered, or one of the item's values ("vet ikke" where offered)."""
    return data is None or data in item.values


def unknown_choices(item: Item, chosen: list) -> bool:
    """A multiple choice names an option the item does not have."""
    options = {option.value for option in item.options}
    return any(value not in options for value in chosen)


def exclusive_combined(item: Item, chosen: list) -> bool:
    """A multiple choice combines an option that must stand alone with others."""
    return len(chosen) > 1 and not set(item.exclusive).isdisjoint(chosen)


def blank(raw: list[str]) -> bool:
    """Nothing was given (WTForms' ``Optional``: no value, or only white space)."""
    return not raw or not raw[0].strip()


class OneOf:
    """The answer must be one of the item's options (or 'vet ikke' where offered)."""

    def __init__(self, item: Item):
        self.item = item

    def __call__(self, form, field):
        if not one_of(self.item, field.data):
            raise ValidationError(_("Velg ett av alternativene."))


class SomeOf:
    """Every checked option must exist; an exclusive option stands alone."""

    def __init__(self, item: Item):
        self.item = item

    def __call__(self, form, field):
        chosen = field.data or []
        if unknown_choices(self.item, chosen):
            raise ValidationError(_("Velg blant alternativene i listen."))
        if exclusive_combined(self.item, chosen):
            raise ValidationError(
                _("«%(option)s» kan ikke kombineres med andre valg.", option=self._label(field))
            )

    def _label(self, field):
        return next(c.label for c in field.choices if c.value in self.item.exclusive)


def _field(item: Item, lang: str):
    label = item.text(lang)
    if item.type == "text":
        return TextAreaField(
            label,
            validators=[
                Optional(),
                Length(
                    max=item.max_length,
                    message=_("Svaret kan være høyst %(max)d tegn langt.", max=item.max_length),
                ),
            ],
        )
    if item.type == "multi":
        return SelectMultipleField(
            label,
            choices=[SelectChoice(o.value, o.label(lang)) for o in item.options],
            validate_choice=False,
            validators=[SomeOf(item)],
        )
    choices = [SelectChoice(o.value, o.label(lang)) for o in item.options]
    if item.dont_know:
        choices.append(SelectChoice(DONT_KNOW, _("Vet ikke / vil ikke svare")))
    return RadioField(
        label,
        choices=choices,
        coerce=to_int,
        validate_choice=False,
        validators=[Optional(), OneOf(item)],
    )


# Form classes, made once per questionnaire and language: (id, lang) -> (questionnaire,
# class). The questionnaire is held, so that its id is not reused while the class is kept
# (questionnaires are themselves parsed once per process: survey/versions.py).
_FORMS: dict[tuple[int, str], tuple[Questionnaire, type[FlaskForm]]] = {}


def answer_form(questionnaire: Questionnaire, lang: str, **kwargs) -> FlaskForm:
    """A form with one field per item, named by the item's code. Its class is made once
    per questionnaire and language, its labels and messages in that language."""
    key = (id(questionnaire), lang)
    made = _FORMS.get(key)
    if made is None or made[0] is not questionnaire:

        class AnswerForm(FlaskForm):
            pass

        with force_locale(lang):  # the messages in ``lang``, whoever asks first
            for item in questionnaire.items:
                setattr(AnswerForm, item.code, _field(item, lang))
        made = _FORMS[key] = (questionnaire, AnswerForm)
    form = made[1](**kwargs)
    _order_ladder(form, questionnaire, kwargs.get("formdata", _posted()))
    return form


# --- The ladder's statements in an order of the respondent's own ---------------------------

# The hidden input that carries the ladder's order from page to page. Not a valid item code
# (survey.questionnaire.CODE_RE has no "-"), so it can never clash with an answer.
LADDER_ORDER = "ladder-order"
_random = secrets.SystemRandom()


def draw_order(values, rng=_random) -> tuple:
    """``values`` in a fresh random order."""
    drawn = list(values)
    rng.shuffle(drawn)
    return tuple(drawn)


def ladder_order(item: Item, raw: str | None, rng=_random) -> tuple:
    """The order to show ``item``'s statements in: the one carried in the form (``raw``,
    values joined by commas) if it is a permutation of the statements, else a new draw.
    So that no statement always has the first place, each respondent gets an order of
    their own when the questionnaire starts; back, reload and a language switch keep it,
    and nothing about it is stored. Pure."""
    values = [option.value for option in item.options]
    if raw:
        carried = raw.split(",")
        if sorted(carried) == sorted(str(value) for value in values):
            by_text = {str(value): value for value in values}
            return tuple(by_text[text] for text in carried)
    return draw_order(values, rng)


def _posted():
    """What FlaskForm reads by default: the posted form, in a POST request."""
    if has_request_context() and request.method == "POST":
        return request.form
    return None


def _order_ladder(form: FlaskForm, questionnaire: Questionnaire, formdata) -> None:
    """Put the ladder's statements in this respondent's order (``ladder_order``; "vet
    ikke" stays last), and keep that order on the form for the page's hidden input."""
    ladder = next((item for item in questionnaire.items if item.type == "ladder"), None)
    form.ladder_order = ""
    if ladder is None:
        return
    raw = formdata.get(LADDER_ORDER) if formdata is not None else None
    order = ladder_order(ladder, raw)
    field = form[ladder.code]
    place = {value: index for index, value in enumerate(order)}
    field.choices = sorted(field.choices, key=lambda c: place.get(c.value, len(place)))
    form.ladder_order = ",".join(str(value) for value in order)


def given_answers(form: FlaskForm, questionnaire: Questionnaire) -> dict:
    """The choices in the form that are valid answers (code -> value or list), whatever
    else is wrong with it: what branching conditions (``Questionnaire.asked``) read."""
    given = {}
    for item in questionnaire.items:
        data = form[item.code].data
        if item.type == "multi" and data:
            given[item.code] = [value for value in data if value in item.values]
        elif item.type != "text" and data is not None and data in item.values:
            given[item.code] = data
    return given


def answers_of(form: FlaskForm, questionnaire: Questionnaire) -> tuple[dict, dict]:
    """The validated answers of ``form`` as stored (``stored_answers``)."""
    return stored_answers(
        questionnaire, {item.code: form[item.code].data for item in questionnaire.items}
    )


def posted_data(questionnaire: Questionnaire, formdata) -> dict | None:
    """What each item's field of the answer form would hold after reading ``formdata``
    (code -> data), or None if any field would not validate: Send inn without building
    the form, for the common case of a page with nothing to correct. Whatever this
    refuses goes the form's way, which says what is wrong. Pure."""
    data = {}
    for item in questionnaire.items:
        raw = formdata.getlist(item.code)
        if item.type == "text":
            value = raw[0] if raw else None
            if value is not None and not blank(raw) and len(value) > item.max_length:
                return None
        elif item.type == "multi":
            value = raw
            if unknown_choices(item, value) or exclusive_combined(item, value):
                return None
        else:
            value = to_int(raw[0]) if raw else None
            if not blank(raw) and not one_of(item, value):
                return None
        data[item.code] = value
    return data


def stored_answers(questionnaire: Questionnaire, data: dict) -> tuple[dict, dict]:
    """The validated answers as stored, from each item's field ``data``: ``answers``
    (code -> int or list of option codes) and ``texts`` (code -> free text), leaving out
    what was not answered and what was not asked (an item whose ``show_if`` does not hold
    on the answers before it: an answer given before the respondent changed that earlier
    answer is dropped). Pure."""
    answers: dict[str, object] = {}
    texts: dict[str, str] = {}
    for item in questionnaire.items:
        if not questionnaire.asked(item.code, answers):
            continue
        value = data[item.code]
        if item.type == "text":
            if value and value.strip():
                texts[item.code] = value.strip()
        elif item.type == "multi":
            if value:
                order = [o.value for o in item.options]
                answers[item.code] = sorted(set(value), key=order.index)
        elif value is not None:
            if value not in item.values:  # validation passed it: never store it anyway
                raise ValueError(f"{item.code}: {value!r} is not an answer")
            answers[item.code] = value
    return answers, texts


class CodeForm(FlaskForm):
    """A one-time access code (templates/respond/code.html draws its input). Only the CSRF
    token is checked here; what a code looks like is ``survey.domain.access_codes.normalise``'s job."""

    code = StringField()
