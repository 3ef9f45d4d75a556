"""Old import paths of modules that moved (issue 18), still resolving to the modules
themselves: a script, notebook or test written against ``survey.periods`` or
``survey.suppression`` keeps working, and monkeypatching through the old name patches
the one module. New code imports the new paths; nothing in Stigen imports the old."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "survey.codes": "survey.domain.access_codes",
    "survey.disclosure": "survey.domain.disclosure",
    "survey.moderation": "survey.domain.text_risks",
    "survey.numbers": "survey.whole_numbers",
    "survey.offices": "survey.office_lookup",
    "survey.periods": "survey.domain.periods",
    "survey.privacy": "survey.log_filters",
    "survey.redact": "survey.domain.redaction",
    "survey.scoring": "survey.domain.scoring",
    "survey.statistics": "survey.domain.intervals",
    "survey.suppression": "survey.domain.suppression",
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path only, before any other finder (a stale file left at the old
    place by an upgrade in place is never loaded), and hands back the module at its new
    one, so both names are the same object."""

    def find_spec(self, name, path=None, target=None):
        if name in MOVED:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass  # imported already, under its own name


def install() -> None:
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldPaths())
