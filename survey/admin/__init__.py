"""Administration: offices and posters, survey periods, access codes, accounts,
questionnaire versions, moderation of free text, and the audit log. Each task has its own
module of views here and a ``flask`` command beside it for scripting; what both do is in
the task's service module (``offices.py``, ``office_commands.py``, ``office_service.py``),
and no command imports a view (tests/test_structure.py)."""

from flask import Blueprint

# cli_group=None: the commands are top-level (``flask offices``), not ``flask admin …``.
bp = Blueprint("admin", __name__, url_prefix="/admin", cli_group=None)

from . import (  # noqa: E402,F401 - the views register on bp, made above
    codes,
    moderation,
    offices,
    questionnaires,
    release_views,
    users,
    views,
)
from .code_commands import codes_command  # noqa: E402
from .moderation_commands import moderation_command  # noqa: E402
from .office_commands import offices as offices_command  # noqa: E402
from .office_commands import periods as periods_command  # noqa: E402
from .questionnaire_commands import questionnaire_command  # noqa: E402
from .release_commands import releases_command  # noqa: E402
from .retention_commands import backup_command, retention_command  # noqa: E402

for command in (
    offices_command,
    periods_command,
    codes_command,
    questionnaire_command,
    moderation_command,
    releases_command,
    retention_command,
    backup_command,
):
    bp.cli.add_command(command)
