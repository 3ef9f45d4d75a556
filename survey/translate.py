"""``flask translate``: keep the nn and en catalogues in step with the bokmål source."""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", *args])


@click.group("translate")
def translate_command() -> None:
    """Extract, update and compile the translation catalogues."""


@translate_command.command("update")
def update() -> None:
    """Extract messages from code and templates and merge them into nn and en."""
    # --ignore-dirs: only dot-folders; Babel's default also skips "_*", i.e. templates/_macros.
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "--no-location",
        "--ignore-dirs",
        ".* __pycache__",
        "--project",
        "Stigen",
        "--copyright-holder",
        "Stigen",
        "-o",
        str(POT),
        str(ROOT),
    )
    pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


@translate_command.command("compile")
def compile_() -> None:
    """Compile the catalogues the app reads."""
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
