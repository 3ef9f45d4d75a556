"""Health for the platform (issue 15): ``/isalive`` (the process answers) and ``/isready``
(it can serve: database reachable, migrations at head, the live questionnaire loads,
releases and the mixer not stuck beyond their documented ages, docs/deploy.md).

Cheap and private: a handful of tiny queries that read no response, comment, receipt or
inbox content (the mixer check asks only whether a waiting row of a long-ended period
exists), no session, no cookie; exempt from the rate limits; and, like every
non-staff path, never written to the access log (survey.log_filters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import select, text

from .domain import periods
from .extensions import db, limiter
from .resources import MIGRATIONS

bp = Blueprint("health", __name__)


@cache
def migration_head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


# --- the rules, pure -----------------------------------------------------------------------


def release_overdue_days(latest_through: date | None, today: date, precision: str) -> int:
    """Days since the release after ``latest_through`` fell due (0 if it is not due yet,
    or no release was ever made: the first one is made by a person or the nightly job)."""
    if latest_through is None:
        return 0
    due = periods.next_complete_on(latest_through, precision)
    return max(0, (today - due).days)


def mixer_cutoff(today: date, max_days: int, precision: str) -> date:
    """Waiting inbox rows of periods starting before this date belong to a period that
    ended at least ``max_days`` ago: the nightly ``mix`` should have taken them."""
    return periods.coarse_date(today - timedelta(days=max_days), precision)


@dataclass
class Readiness:
    failed: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.failed


def readiness(app=None) -> Readiness:
    """What stops this instance from serving (the names of the failed checks)."""
    app = app or current_app
    state = Readiness()
    try:
        with db.engine.connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if current != migration_head():
                state.failed.append("migrations")
                return state
            _stuck(app, connection, state)
    except Exception:  # noqa: BLE001 - any database fault means "not ready", said plainly
        state.failed.append("database")
        return state
    try:
        from . import versions

        versions.live()
    except Exception:  # noqa: BLE001
        state.failed.append("questionnaire")
    finally:
        db.session.remove()
    return state


def _stuck(app, connection, state: Readiness) -> None:
    from .models import Inbox, Release

    today = periods.today_in_norway()
    precision = app.config["STIGEN_DATE_PRECISION"]
    release_days = app.config["STIGEN_READY_RELEASE_DAYS"]
    if release_days:
        through = connection.execute(
            select(Release.through).order_by(Release.id.desc()).limit(1)
        ).scalar()
        if release_overdue_days(through, today, precision) > release_days:
            state.failed.append("release")
    mix_days = app.config["STIGEN_READY_MIX_DAYS"]
    if mix_days:
        cutoff = mixer_cutoff(today, mix_days, precision)
        waiting = connection.execute(
            select(Inbox.office_id).where(Inbox.period_start < cutoff).limit(1)
        ).first()
        if waiting is not None:
            state.failed.append("mixer")


@bp.get("/isalive")
@limiter.exempt
def isalive():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/isready")
@limiter.exempt
def isready():
    state = readiness()
    body = {"ready": state.ready, "failed": state.failed}
    return jsonify(body), (200 if state.ready else 503), {"Cache-Control": "no-store"}
