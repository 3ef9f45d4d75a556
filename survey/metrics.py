"""``/metrics`` for Prometheus (issue 15), readable only from ``STIGEN_METRICS_ALLOW``
addresses or with ``STIGEN_METRICS_TOKEN``; anyone else gets the 404 page.

What is exported, and why nothing more (privacy.md: no aggregate may change when one
person answers, except what the release rule allows):

- ``stigen_http_requests_total{route,method,status}`` and
  ``stigen_http_request_duration_seconds{route,method}``: by route *template*
  (``/k/<slug>/svar``), never by path, office, questionnaire version or language. They
  are the only series a submission moves (tests/test_metrics.py checks it).
- ``stigen_db_pool_connections{state}``: the connection pool's size and connections in
  use as the scrape is answered.
- ``stigen_release_made_timestamp_seconds`` (its age: ``time() - …``) and
  ``stigen_release_overdue_days``: the newest release, and how long the next one has
  been due; ``stigen_mixer_overdue_days``: how long the
  oldest period with waiting submissions has been over (the nightly ``mix`` takes it).
  Read when scraped, from release dates and inbox periods only: never a count.
- ``stigen_export_duration_seconds{endpoint}``: from request to the last byte streamed.

Under gunicorn with several workers every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets and empties it) and a scrape of any
worker sums them (prometheus-client's multiprocess mode). The pool gauges are set by the
worker answering a scrape and summed over the live workers' last values."""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .domain import periods
from .extensions import db, limiter

bp = Blueprint("metrics", __name__)

# Values live here; a scrape reads them from here, or from the worker files under gunicorn.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "stigen_http_requests",
    "Requests answered, by route template and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "stigen_http_request_duration_seconds",
    "Time to answer a request (to the first byte of a streamed one).",
    ["route", "method"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL = Gauge(
    "stigen_db_pool_connections",
    "Database connections of the pools, by state.",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
EXPORTS = Histogram(
    "stigen_export_duration_seconds",
    "Time from an export request to its last byte, by export.",
    ["endpoint"],
    registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes are not traffic.
UNCOUNTED = frozenset({"health.isalive", "health.isready", "metrics.metrics"})


def route_of(rule, method: str) -> tuple[str, str]:
    """The labels of a request: its route template (never the path) and a known method."""
    return (
        rule.rule if rule is not None else "<unmatched>",
        method if method in METHODS else "other",
    )


def allowed(remote: str | None, networks: str, token: str, authorization: str | None) -> bool:
    """Whether a scrape may read the metrics: the right bearer token, or an address in
    one of ``networks`` (comma-separated addresses or CIDR networks)."""
    if (
        token
        and authorization
        and authorization.startswith("Bearer ")
        and hmac.compare_digest(authorization[7:].strip().encode(), token.encode())
    ):
        return True
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    for item in filter(None, (part.strip() for part in networks.split(","))):
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _count(response):
        start = g.pop("_metrics_start", None)
        if start is None or request.endpoint in UNCOUNTED:
            return response
        route, method = route_of(request.url_rule, request.method)
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route, method).observe(time.perf_counter() - start)
        endpoint = request.endpoint or ""
        if endpoint.startswith("export.") and response.status_code == 200:
            # Streamed: the export is done when the server closes the body.
            response.call_on_close(
                lambda: EXPORTS.labels(endpoint).observe(time.perf_counter() - start)
            )
        return response


def _pool_values() -> dict[str, int]:
    """The pool's size and the connections in use as the scrape is answered. Not the
    connections open: the mixer's own sessions open more when a batch is mixed, so that
    number would move with a submission."""
    pool = db.engine.pool
    return {
        "size": getattr(pool, "size", lambda: 0)(),
        "checked_out": getattr(pool, "checkedout", lambda: 0)(),
    }


class ScrapeTime:
    """Series read when scraped: from release dates and inbox periods, never a count."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from .health import release_overdue_days
        from .models import Inbox, Release

        app = self.app
        precision = app.config["STIGEN_DATE_PRECISION"]
        today = periods.today_in_norway()
        # A timestamp, as Prometheus prefers (age = time() - it): it moves only when a
        # release is made, never with the clock or a submission.
        made = GaugeMetricFamily(
            "stigen_release_made_timestamp_seconds",
            "When the newest release was made (absent: none).",
        )
        overdue = GaugeMetricFamily(
            "stigen_release_overdue_days", "Days the release after the newest one has been due."
        )
        mixer = GaugeMetricFamily(
            "stigen_mixer_overdue_days",
            "Days since the oldest period with waiting submissions ended.",
        )
        try:
            with db.engine.connect() as connection:
                newest = connection.execute(
                    select(Release.made_at, Release.through).order_by(Release.id.desc()).limit(1)
                ).first()
                current = periods.coarse_date(today, precision)
                oldest = connection.execute(
                    select(func.min(Inbox.period_start)).where(Inbox.period_start < current)
                ).scalar()
        except SQLAlchemyError:
            return []  # /isready says why; the request series still answer
        if newest is not None:
            made_at = (
                newest.made_at if newest.made_at.tzinfo else newest.made_at.replace(tzinfo=UTC)
            )
            made.add_metric([], made_at.timestamp())
        overdue.add_metric(
            [], release_overdue_days(newest.through if newest else None, today, precision)
        )
        mixer.add_metric([], _period_overdue_days(oldest, today, precision))
        return [made, overdue, mixer]


def _period_overdue_days(period_start, today, precision: str) -> int:
    if period_start is None:
        return 0
    if isinstance(period_start, datetime):
        period_start = period_start.date()
    ended = periods.coarse_date(period_start, precision)
    # The period's end: the start of the next one.
    ended = periods.add_months(ended, 1) if precision == "month" else ended + timedelta(days=7)
    return max(0, (today - ended).days)


@bp.get("/metrics")
@limiter.exempt
def metrics():
    app = current_app
    if not allowed(
        request.remote_addr,
        app.config["STIGEN_METRICS_ALLOW"],
        app.config["STIGEN_METRICS_TOKEN"],
        request.headers.get("Authorization"),
    ):
        abort(404)
    for state, value in _pool_values().items():
        POOL.labels(state).set(value)
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    body += generate_latest(_scrape_time_registry(app))
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def _scrape_time_registry(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeTime(app))
    return registry
