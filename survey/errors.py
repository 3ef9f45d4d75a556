"""The app-wide error pages (``templates/errors/<code>.html``), in one place: the app's
handlers in ``survey.register_errorhandlers`` answer with them, and a blueprint's own
handler falls back on them for the requests it does not answer itself."""

from __future__ import annotations

from flask import render_template


def error_page(code: int):
    """The plain error page for ``code``, with that status."""
    return render_template(f"errors/{code}.html"), code
