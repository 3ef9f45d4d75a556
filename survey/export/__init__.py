"""Researchers' export: the response-level CSV with its codebook, the free-text file and
the aggregate table, streamed, suppressed under the one small-group rule, and audited."""

from flask import Blueprint

bp = Blueprint("export", __name__, url_prefix="/eksport", cli_group=None)

from . import views  # noqa: E402,F401
from .commands import export_command  # noqa: E402

bp.cli.add_command(export_command)  # ``flask export``, top-level
