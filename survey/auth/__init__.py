"""Signing in and out for leaders, researchers and administrators."""

from flask import Blueprint

bp = Blueprint("auth", __name__, cli_group=None)  # ``flask users``, top-level


@bp.record_once
def _install_session_interface(state) -> None:
    """Session cookies get the Secure flag over HTTPS (survey.auth.sessions)."""
    from .sessions import SessionInterface

    state.app.session_interface = SessionInterface()


from . import sso_views, views  # noqa: E402,F401
from .commands import users  # noqa: E402

bp.cli.add_command(users)
