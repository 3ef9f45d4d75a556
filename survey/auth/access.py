"""Who may open a staff page: one decorator for every role check."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles: str):
    """Signed-in accounts with one of ``roles``; anyone else signed in gets the same 404
    as a missing page, so a role never learns which pages it may not see."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required("admin")
researcher_required = role_required("forsker", "admin")
