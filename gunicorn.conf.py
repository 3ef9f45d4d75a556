"""gunicorn settings for Stigen in production: ``gunicorn app:app``.

Logs (privacy.md; issue 12, "Logs"; the rule is ``survey.privacy``):

- **No line per respondent request.** A request to anything that is not a staff route
  (the questionnaire, its start and thank-you pages, the front page, the public pages,
  static files) writes no access-log line, whatever its status: a line carries status
  and size, every 303 of "Send inn" would mark one stored response, in order, and the
  journal's timestamps would date it (``survey.privacy.StaffAccessOnly``).
- **Staff requests** (/resultater, /eksport, /admin, /logg-inn, /logg-ut) are logged
  as method, path without its query string, status, size and duration: no client
  address, no time of day, no user agent, no referrer.
- **No address in the error log.** gunicorn's "Invalid request from ip=…" becomes
  "Invalid request refused: <kind of fault>", "Error handling request <uri>" loses its
  query string, and any address left in a line is blanked
  (``survey.privacy.NoAddressInErrors``). Only gunicorn's "Listening at:" line names an
  address: the server's own.
"""

import os
import sys

# This file's directory, so that ``survey`` imports however gunicorn was started.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from survey.privacy import NoAddressInErrors, StaffAccessOnly  # noqa: E402

bind = os.environ.get("STIGEN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("STIGEN_WORKERS", "2"))
accesslog = "-"
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# gunicorn's own lines (worker start, shutdown) carry the date, not the time of day: a
# worker restarted in the minute someone answered would otherwise date that answer.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"dated": {"format": "[%(asctime)s] [%(levelname)s] %(message)s",
                             "datefmt": "%Y-%m-%d"},
                   "plain": {"format": "%(message)s"}},
    "filters": {"staff_only": {"()": StaffAccessOnly},
                "no_address": {"()": NoAddressInErrors}},
    # As gunicorn's own defaults: errors to stderr, the access log to stdout.
    "handlers": {
        # The filter on the handler: gunicorn's lines and the app's (through the root).
        "error": {"class": "logging.StreamHandler", "formatter": "dated",
                  "stream": "ext://sys.stderr", "filters": ["no_address"]},
        "access": {"class": "logging.StreamHandler", "formatter": "plain",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False,
                            "filters": ["staff_only"]},
    },
}


def on_starting(server):
    """Refuse to start, with a clear message, on an unreachable or unmigrated database
    (and, in production, without SECRET_KEY: create_app says so)."""
    from survey import create_app
    from survey.startup import NotReady, check_ready

    try:
        check_ready(create_app())
    except (NotReady, RuntimeError) as error:
        server.log.error("Stigen will not start: %s", error)
        raise SystemExit(1) from None


def post_worker_init(worker):
    """Build the dashboards' snapshots before the worker takes its first request, so
    that no respondent or leader waits for the suppression of every figure. A failure
    is logged, never fatal: the first request then builds them as it would have."""
    from survey.dashboard.data import warm_cache

    try:
        warm_cache(worker.wsgi)
    except Exception:  # noqa: BLE001 - warming is an optimisation, never a reason to stop
        worker.log.exception("Stigen could not build the dashboard snapshots at start-up")
