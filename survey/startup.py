"""Checks before serving: a server that starts on a database it cannot reach, or one that
is not migrated, would fail its first respondent. gunicorn runs this before any worker."""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .resources import MIGRATIONS


class NotReady(RuntimeError):
    """Stigen will not serve: the message says why and what to do."""


def check_ready(app: Flask) -> None:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=True)
        try:
            with db.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as error:
            raise NotReady(
                f"Stigen cannot reach its database ({url}): {error.__class__.__name__}. "
                "Check DATABASE_URL and that the database server is running."
            ) from None
        finally:
            db.engine.dispose()
    if current != head:
        raise NotReady(
            f"The database ({url}) is at migration {current or 'none'}, Stigen needs {head}. "
            "Run `flask db upgrade` first."
        )


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
