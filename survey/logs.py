"""JSON logs (issue 15): one object per line, for the app and for gunicorn's error and
access logs, when ``STIGEN_LOG_FORMAT=json`` (the container's default; docs/deploy.md).

The privacy rules of ``survey.log_filters`` hold for every field, not only the message: the
handlers' filters run first (no line per respondent request; addresses and query strings
rewritten), and the formatter then scrubs every string it writes (message, exception,
extra fields) and takes the access fields from gunicorn's atoms one by one, the path
without its query string. No field holds a time of day: error lines carry the date, as
the text format does; access lines no time at all (the platform's collector stamps
lines as it receives them, which docs/deploy.md says)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from .log_filters import _path_only, scrub

# A LogRecord's own attributes: anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def _clean(value):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: ``level``, ``logger``, ``message`` (and ``date``,
    ``exception``, extra fields); for gunicorn's access log ``method``, ``path``,
    ``status``, ``bytes``, ``duration_ms`` instead of a date."""

    def __init__(self, *args, access: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.access = access

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {"level": record.levelname, "logger": record.name}
        atoms = record.args if isinstance(record.args, Mapping) else None
        if self.access and atoms is not None:
            entry.update(
                method=_clean(atoms.get("m")),
                path=scrub(_path_only(atoms.get("U", ""))),
                status=_number(atoms.get("s")),
                bytes=_number(atoms.get("B")),
                duration_ms=_number(atoms.get("M")),
            )
            entry["message"] = f"{entry['method']} {entry['path']} {entry['status']}"
        else:
            entry["date"] = time.strftime("%Y-%m-%d", time.localtime(record.created))
            entry["message"] = scrub(record.getMessage())
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = _clean(value)
        return json.dumps(entry, ensure_ascii=False)


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def access_formatter() -> JsonFormatter:
    return JsonFormatter(access=True)
