"""Logs that carry no address, no time of day, no query string and no form content, and
no line per respondent request (privacy.md; issue 12, "Logs").

The rule, for every server: a request to a respondent's page (the questionnaire, its
start and thank-you pages, the front page, the public pages, static files: everything
that is not a staff route) writes no log line at all, whatever its status. A line per
request would carry its status and size, and a 303 marks one stored response, in order;
the journal's timestamps would date it. Staff requests (``STAFF_PREFIXES``) are logged as
method, path without its query string, status, size and duration.

- gunicorn (``gunicorn.conf.py``): ``StaffAccessOnly`` on the access log, and
  ``NoAddressInErrors`` on the error log, which rewrites gunicorn's "Invalid request from
  ip=…" and "Error handling request <uri>" and blanks any address left in a line.
- Flask-Limiter, under any server: ``NoAddress`` blanks the address its breach lines
  name as the limit's key.
- werkzeug's development and demo server: ``PrivateRequestHandler`` logs "-" for the
  client address, and ``RequestLineFilter`` drops respondent lines and rewrites staff
  lines to method, path and status, for every status (werkzeug colours non-200 lines
  with ANSI codes, which are taken off first) and for its error lines ("code 400,
  message Bad request syntax (…)"), whose quoted request line is dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from werkzeug.serving import WSGIRequestHandler

# Where staff work. Their requests may be logged: they are not respondents'.
STAFF_PREFIXES = ("/resultater", "/eksport", "/admin", "/logg-inn", "/logg-ut")


def is_staff_path(path: object) -> bool:
    """Whether ``path`` (without query string) is a staff route, whose lines are kept."""
    if not isinstance(path, str):
        return False
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PREFIXES)


_HEX = r"[0-9A-Fa-f]{1,4}"
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_V4_TAIL = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6 = (
    rf"(?<![\w:.])(?:(?:{_HEX}:){{6}}(?:{_HEX}:{_HEX}|{_V4_TAIL})"
    rf"|(?:{_HEX}(?::{_HEX})*)?::(?:(?:{_HEX}:)*(?:{_HEX}|{_V4_TAIL}))?)"
    r"(?:%\w+)?(?![\w:.])"
)
_ADDRESS = re.compile(f"{_IPV6}|{_IPV4}")
_QUERY = re.compile(r"\?[^\s\"')\]]*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def scrub(text: str) -> str:
    """``text`` without network addresses and without query strings."""
    return _QUERY.sub("", _ADDRESS.sub("-", text))


def _path_only(uri) -> str:
    return str(uri).split("?", 1)[0].split("#", 1)[0]


# --- gunicorn ------------------------------------------------------------------------------


class StaffAccessOnly(logging.Filter):
    """gunicorn's access log: only staff requests (``is_staff_path``) get a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, Mapping) else {}
        return is_staff_path(atoms.get("U"))


# gunicorn's own lines that name the server's listening address, not a client's.
_SERVER_ADDRESS_MESSAGES = ("Listening at: %s (%s)", "Listening at: %s")


class NoAddressInErrors(logging.Filter):
    """gunicorn's error log: no client address, no query string, in any line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _SERVER_ADDRESS_MESSAGES:
            return True
        if isinstance(record.msg, str) and record.msg.startswith("Invalid request from ip="):
            # "Invalid request from ip=<address>: <what was wrong, often quoting the
            # request line>": keep what kind of fault it was, nothing the client sent.
            fault = record.msg.split(": ", 1)[1] if ": " in record.msg else ""
            kind = re.split(r"[:'\"(]", fault, maxsplit=1)[0].strip() or "malformed"
            record.msg, record.args = "Invalid request refused: %s", (scrub(kind),)
            return True
        if (
            record.msg == "Error handling request %s"
            and isinstance(record.args, tuple)
            and record.args
        ):
            record.args = (_path_only(record.args[0]),)
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = "%s", (cleaned,)
        return True


# --- werkzeug's development and demo server ------------------------------------------------

# werkzeug.serving.WSGIRequestHandler.log: "<address> - - [<time>] <message>"
_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")
_REQUEST_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>[^ ?"]*)(?:\?[^ "]*)?(?: [^"]*)?"')
_ANY_REQUEST_LINE = re.compile(r'^".*" (?:\d{3}|-) \S+$', re.S)


class RequestLineFilter(logging.Filter):
    """Werkzeug's per-request lines: none for respondent routes; for staff routes,
    method, path without query and status; no address or time in any line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "werkzeug":
            return True
        message = _ANSI.sub("", record.getMessage())
        prefix = _PREFIX.match(message)
        if not prefix:
            return True  # start-up banners and the like name no client
        rest = message[prefix.end() :]
        match = _REQUEST_LINE.search(rest)
        if match:
            if not is_staff_path(match["path"]):
                return False  # no line per respondent request
            status = rest[match.end() :].split()
            record.msg = "%s %s %s"
            record.args = (match["method"], match["path"], status[0] if status else "")
        elif _ANY_REQUEST_LINE.match(rest):
            return False  # a request line too malformed to read: no path, so no staff's
        else:
            # An error line ("code 400, message Bad request syntax ('<request line>')"):
            # what went wrong, never what was sent.
            kept = re.sub(r"\s*\(.*\)\s*$", "", _REQUEST_LINE.sub("", rest)).strip()
            record.msg = "%s"
            record.args = (scrub(kept),)
        return True


class NoAddress(logging.Filter):
    """Any logger's lines without network addresses or query strings (Flask-Limiter's
    "ratelimit … (<address>) exceeded" names the client's address as its key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = "%s", (cleaned,)
        return True


_filters = {"werkzeug": RequestLineFilter(), "flask-limiter": NoAddress()}


def install_log_filters() -> None:
    for name, log_filter in _filters.items():
        logger = logging.getLogger(name)
        if log_filter not in logger.filters:
            logger.addFilter(log_filter)


class PrivateRequestHandler(WSGIRequestHandler):
    """The development server's request handler, logging no client address."""

    def address_string(self) -> str:
        return "-"
