"""The lint rules of ``[tool.ruff.lint]`` (pyproject.toml) hold for the whole tree, so the
test command checks them: unused or missing names, import order, syntax, likely bugs
(bugbear), simpler equivalents and a complexity limit; the tree is formatted by
``ruff format``; and mypy (``[tool.mypy]``) finds no type error in the package."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_changes_nothing():
    """The tree is as ``ruff format`` writes it (line length and target in pyproject.toml),
    so a diff never mixes a change with reformatting."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_no_type_error():
    """``python -m mypy`` with the settings (and the files: survey/) in pyproject.toml. Its
    cache goes to a temporary folder, so the run leaves nothing in the tree."""
    with tempfile.TemporaryDirectory(prefix="stigen-mypy-") as cache:
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--cache-dir", cache],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout, done.stdout


def test_no_function_is_excepted_from_the_complexity_limit():
    """Every function in the package stays within the limit, a ``# noqa`` ignored."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "C90", "--ignore-noqa"]
        + ["survey", "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
