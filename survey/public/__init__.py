"""The public page of each office, for the young people who answer: the office's ladder
and theme results (never below k, exactly as the leaders' dashboard hides them) and what
the office does with them ("Dette gjør vi"). No sign-in, no JavaScript, no free text."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401
