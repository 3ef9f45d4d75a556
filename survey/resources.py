"""Where the app's files are: ``templates/``, ``translations/`` and ``migrations/`` sit
beside ``survey/`` in a checkout and inside it in an installed wheel (setup.py maps them
there). Looked up once, the same way by the app, its start-up check and its tests."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def folder(name: str) -> Path:
    """``name`` inside the installed package if it is there, else the checkout's."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else CHECKOUT / name


TEMPLATES = folder("templates")
TRANSLATIONS = folder("translations")
MIGRATIONS = folder("migrations")


def default_instance() -> Path:
    """``instance/`` of the checkout; for an installed Stigen (never inside site-packages)
    the working directory's. ``STIGEN_INSTANCE_PATH`` overrides both."""
    installed = (PACKAGE / "templates").is_dir()
    return (Path.cwd() if installed else CHECKOUT) / "instance"
