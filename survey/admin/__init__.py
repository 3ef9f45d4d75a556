"""Administration: offices and posters, survey periods, access codes, accounts,
questionnaire versions, moderation of free text, and the audit log. Each task has its own
module of views here and a ``flask`` command beside it for scripting."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401
from . import users  # noqa: E402,F401
from . import questionnaires  # noqa: E402,F401
from . import offices  # noqa: E402,F401
from . import moderation  # noqa: E402,F401
from . import codes  # noqa: E402,F401
from . import release_views  # noqa: E402,F401
