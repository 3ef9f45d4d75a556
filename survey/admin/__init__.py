"""Administration: offices and posters, survey periods, access codes, accounts,
questionnaire versions, moderation of free text, and the audit log. Each task has its own
module of views here and a ``flask`` command beside it for scripting; what both do is in
the task's service module (``offices.py``, ``office_commands.py``, ``office_service.py``),
and no command imports a view (tests/test_structure.py)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401 - the views register on bp, made above
    codes,
    moderation,
    offices,
    questionnaires,
    release_views,
    users,
    views,
)
