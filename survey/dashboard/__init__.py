"""Office leaders' dashboards: the ladder, themes, trend and measures per office, and
all offices side by side, never below k."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/resultater")

from . import views  # noqa: E402,F401
