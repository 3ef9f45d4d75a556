"""Signing in and out for leaders, researchers and administrators."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
