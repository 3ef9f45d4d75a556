"""gunicorn settings for Stigen in production: ``gunicorn app:app``.

The access log holds the method, the path without its query string, the status, the
size and the duration: no client address, no time of day, no user agent, no referrer
(privacy.md). The journal or log shipper adds its own timestamps; those are the
server's, not a response's, and the line cannot be tied to an answer.
"""

import os

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
    # As gunicorn's own defaults: errors to stderr, the access log to stdout.
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "dated",
                  "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "plain",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
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
