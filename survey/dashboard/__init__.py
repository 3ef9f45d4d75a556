"""Office leaders' dashboards: the ladder, themes, trend and measures per office, and
all offices side by side, never below k."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/resultater", cli_group=None)

from . import (  # noqa: E402,F401 - the views register on bp, made above
    notes,
    views,
)
from .note_commands import notes as notes_command  # noqa: E402

bp.cli.add_command(notes_command)  # ``flask notes``, top-level


@bp.app_context_processor
def plotly_ids():
    from .plotly_css import maplibre_style_id

    return {"plotly_maplibre_id": maplibre_style_id(views.PLOTLY_JS)}
