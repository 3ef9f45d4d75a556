"""Logs that carry no address, no time of day, no query string and no form content
(privacy.md).

Werkzeug's development server starts each request line with the client address and a
timestamp, then the full path with its query string; gunicorn is configured the same way
in ``gunicorn.conf.py``. The filter below rewrites werkzeug's line to method, path
without query, and status before any handler sees it.
"""

from __future__ import annotations

import logging
import re

# werkzeug.serving.WSGIRequestHandler.log: "<address> - - [<time>] <message>"
_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")
_REQUEST_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>[^ ?"]*)(?:\?[^ "]*)?(?: [^"]*)?"')


class RequestLineFilter(logging.Filter):
    """Rewrite werkzeug's per-request lines so they hold no IP, time or query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "werkzeug":
            return True
        message = record.getMessage()
        prefix = _PREFIX.match(message)
        if not prefix:
            return True  # start-up banners and the like name no client
        rest = message[prefix.end():]
        match = _REQUEST_LINE.search(rest)
        if match:
            status = rest[match.end():].split()
            record.msg = "%s %s %s"
            record.args = (match["method"], match["path"], status[0] if status else "")
        else:
            record.msg = "%s"
            record.args = (_REQUEST_LINE.sub("", rest).strip(),)
        return True


_filter = RequestLineFilter()


def install_log_filters() -> None:
    logger = logging.getLogger("werkzeug")
    if _filter not in logger.filters:
        logger.addFilter(_filter)


from werkzeug.serving import WSGIRequestHandler  # noqa: E402


class PrivateRequestHandler(WSGIRequestHandler):
    """The development server's request handler, logging no client address."""

    def address_string(self) -> str:
        return "-"
