"""gunicorn settings for Stigen in production, shipped in the package:
``gunicorn -c python:survey.gunicorn_conf 'survey:create_app()'`` for an installed Stigen
(the container), or ``gunicorn app:app`` in a checkout (``gunicorn.conf.py`` there loads
this module).

Logs (privacy.md; issue 12, "Logs"; the rule is ``survey.log_filters``):

- **No line per respondent request.** A request to anything that is not a staff route
  (the questionnaire, its start and thank-you pages, the front page, the public pages,
  static files, the probes and /metrics) writes no access-log line, whatever its status:
  a line carries status and size, every 303 of "Send inn" would mark one stored
  response, in order, and the journal's timestamps would date it
  (``survey.log_filters.StaffAccessOnly``).
- **Staff requests** (/resultater, /eksport, /admin, /logg-inn, /logg-ut) are logged
  as method, path without its query string, status, size and duration: no client
  address, no time of day, no user agent, no referrer.
- **No address in the error log.** gunicorn's "Invalid request from ip=…" becomes
  "Invalid request refused: <kind of fault>", "Error handling request <uri>" loses its
  query string, and any address left in a line is blanked
  (``survey.log_filters.NoAddressInErrors``). Only gunicorn's "Listening at:" line names an
  address: the server's own.
- ``STIGEN_LOG_FORMAT=json``: the same lines as JSON objects, one per line
  (``survey.logs.JsonFormatter``), the filters applied to every field.

Metrics: every worker writes its values to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
temporary folder unless set; emptied at start), and /metrics on any worker sums them.
Configuration may come from a ``.env`` file in the working directory (python-dotenv;
the environment wins).
"""

import glob
import os
import shutil
import tempfile

from dotenv import load_dotenv

from survey.log_filters import NoAddressInErrors, StaffAccessOnly

load_dotenv(os.path.join(os.getcwd(), ".env"))

bind = os.environ.get("STIGEN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("STIGEN_WORKERS", "2"))
accesslog = "-"
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# Set before any worker imports prometheus_client, which reads it at import.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="stigen-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

_JSON = os.environ.get("STIGEN_LOG_FORMAT", "text").strip().lower() == "json"
# gunicorn's own lines (worker start, shutdown) carry the date, not the time of day: a
# worker restarted in the minute someone answered would otherwise date that answer.
_FORMATTERS = (
    {"dated": {"()": "survey.logs.JsonFormatter"}, "plain": {"()": "survey.logs.access_formatter"}}
    if _JSON
    else {
        "dated": {"format": "[%(asctime)s] [%(levelname)s] %(message)s", "datefmt": "%Y-%m-%d"},
        "plain": {"format": "%(message)s"},
    }
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": _FORMATTERS,
    "filters": {"staff_only": {"()": StaffAccessOnly}, "no_address": {"()": NoAddressInErrors}},
    # As gunicorn's own defaults: errors to stderr, the access log to stdout.
    "handlers": {
        # The filter on the handler: gunicorn's lines and the app's (through the root).
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "dated",
            "stream": "ext://sys.stderr",
            "filters": ["no_address"],
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["access"],
            "propagate": False,
            "filters": ["staff_only"],
        },
    },
}


def on_starting(server):
    """Refuse to start, with a clear message, on an unreachable or unmigrated database
    (and, in production, without SECRET_KEY: create_app says so). Empty the metrics
    folder: values of an earlier run would be summed in."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)
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


def child_exit(server, worker):
    """A dead worker's gauges leave the sums (prometheus-client multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The metrics folder made for this run goes with it."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
