"""The lint rules of ``[tool.ruff.lint]`` (pyproject.toml) hold for the whole tree, so the
test command checks them: unused or missing names, import order, syntax, likely bugs
(bugbear), simpler equivalents and a complexity limit; and the tree is formatted by
``ruff format``."""

from __future__ import annotations

import subprocess
import sys
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
