"""Modules that moved (issue 18) still import under their old paths, as the very same
module objects, and nothing in Stigen itself uses an old path."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from survey.moved_modules import MOVED

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_module_at_its_new_one(old):
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_from_an_old_path_import_and_monkeypatch_reach_the_same_function(monkeypatch):
    from survey.scoring import score

    from survey.domain import scoring

    assert score is scoring.score
    monkeypatch.setattr("survey.scoring.score", lambda *a: "patched")
    assert scoring.score() == "patched"


def test_stigen_itself_imports_no_old_path():
    """Only this file and the table of old paths name them: run in a fresh interpreter,
    importing the app and every feature loads no old path."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pkgutil, importlib, survey\n"
            "from survey.moved_modules import MOVED\n"
            "for m in pkgutil.walk_packages(survey.__path__, 'survey.'):\n"
            "    if 'gunicorn_conf' not in m.name: importlib.import_module(m.name)\n"
            "print(sorted(set(MOVED) & set(sys.modules)))\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
