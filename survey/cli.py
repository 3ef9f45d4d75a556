"""``stigen``: the flask CLI of an installed Stigen, with no ``FLASK_APP`` and no checkout
(``stigen db upgrade``, ``stigen retention run``, ``stigen releases publish``, …)."""

from __future__ import annotations

from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="Stigen's commands (the flask CLI).")


def main() -> None:
    cli.main(prog_name="stigen")
