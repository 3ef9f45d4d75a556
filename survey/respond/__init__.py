"""The respondent's way through: office link, start page, questionnaire, thank-you."""

from flask import Blueprint

bp = Blueprint("respond", __name__)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
