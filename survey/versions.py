"""Which questionnaire versions exist and which one is live: the one place for the rule.

A version is either shipped as a file in ``survey/questionnaires`` (``questionnaire.
published()``) or published from the admin pages (a ``PublishedQuestionnaire`` row with
its TOML source). The live version, the one new respondents get, is the ``Setting``
``live_questionnaire_version`` when it names an available version, else the configured
``STIGEN_QUESTIONNAIRE_VERSION``.

Every gunicorn worker reads the version numbers from the database at each call (one
small query), so a version published or made live in one worker is seen by all at their
next request; the TOML of a row is read and parsed only once per process.

Which versions accept answers (issue 11, "Versions"): the live one, and a version that
stopped being live less than ``GRACE`` ago, so that whoever started on it while it was
live can finish. ``make_live`` records when the previous version stopped being live (a
``Setting`` per version, the time of an admin's action, which the audit log holds
anyway). A version published but never live accepts nothing: a form naming it gets the
page back in the live version.

``publish`` and ``make_live`` add to the session and write their audit event; the caller
commits.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import UTC, datetime, timedelta

from flask import current_app, has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import String, cast, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .extensions import db
from .models import PublishedQuestionnaire, Setting
from .numbers import whole_number
from .questionnaire import Questionnaire, QuestionnaireError, crosswalk_problems, parse, published

LIVE_SETTING = "live_questionnaire_version"
RETIRED_PREFIX = "questionnaire_retired:"  # + version: when it stopped being live (UTC)
GRACE = timedelta(days=1)  # how long a version accepts answers after it stopped being live
MAX_VERSION = 32767  # responses keep their version in a SMALLINT

# Parsed rows, per process: by (version, published_at) as read from the database, and
# the questionnaire itself by (version, hash of the source), parsed once.
_rows: dict[tuple[int, str], Questionnaire | None] = {}
_parsed: dict[tuple[int, str], Questionnaire] = {}


def _(message: str, **variables) -> str:
    """``gettext`` in the reader's language on a page; in bokmål from a command."""
    if has_request_context():
        return gettext(message, **variables)
    with force_locale("nb"):
        return gettext(message, **variables)


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _from_source(version: int, source: str) -> Questionnaire | None:
    key = (version, _digest(source))
    if key not in _parsed:
        try:
            _parsed[key] = parse(tomllib.loads(source))
        except (tomllib.TOMLDecodeError, QuestionnaireError) as error:
            # Stored after it validated, so only a stricter Stigen could refuse it now:
            # leave it out rather than fail every page.
            current_app.logger.error(
                "Published questionnaire %s no longer parses: %s", version, error
            )
            return None
    return _parsed[key]


def available() -> dict[int, Questionnaire]:
    """Every version a respondent may be given or a dashboard may show, by number:
    the shipped files and the versions published in the database."""
    rows = db.session.execute(
        select(PublishedQuestionnaire.version, PublishedQuestionnaire.published_at)
    ).all()
    return _available_from([(version, str(published_at)) for version, published_at in rows])


def _available_from(rows: list[tuple[int, str]]) -> dict[int, Questionnaire]:
    """``available`` from the published rows' (version, published_at as text)."""
    found = dict(published())
    for version, published_at in rows:
        if version in found:  # a shipped file wins (publish refuses the number anyway)
            continue
        key = (version, published_at)
        if key not in _rows:
            source = db.session.scalar(
                select(PublishedQuestionnaire.source).where(
                    PublishedQuestionnaire.version == version
                )
            )
            _rows[key] = _from_source(version, source)
        if _rows[key] is not None:
            found[version] = _rows[key]
    return dict(sorted(found.items()))


def get(version: int) -> Questionnaire:
    """One available version (``KeyError`` if there is none by that number)."""
    return available()[version]


def live_version(versions: dict[int, Questionnaire] | None = None) -> int:
    """The version new respondents get: the admins' choice if it is available, else the
    configured one."""
    versions = available() if versions is None else versions
    setting = db.session.get(Setting, LIVE_SETTING)
    return _live_from(versions, setting.value if setting else None)


def _live_from(versions: dict[int, Questionnaire], chosen: str | None) -> int:
    number = whole_number(chosen) if chosen is not None else None
    if number in versions:
        return number
    return current_app.config["STIGEN_QUESTIONNAIRE_VERSION"]


def live() -> Questionnaire:
    versions = available()
    return versions[live_version(versions)]


def _retired() -> dict[int, datetime]:
    """When each version that was live stopped being live."""
    return _retired_from(
        db.session.execute(
            select(Setting.key, Setting.value).where(
                Setting.key.startswith(RETIRED_PREFIX, autoescape=True)
            )
        ).all()
    )


def _retired_from(settings) -> dict[int, datetime]:
    found = {}
    for key, value in settings:
        number = whole_number(key.removeprefix(RETIRED_PREFIX), high=MAX_VERSION)
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            continue
        if number is not None:
            found[number] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return found


def accepting(
    versions: dict[int, Questionnaire] | None = None,
    live: int | None = None,
    now: datetime | None = None,
) -> frozenset[int]:
    """The versions that accept answers now: the live one, and each that stopped being
    live less than ``GRACE`` ago. Never a version that was published but never live."""
    versions = available() if versions is None else versions
    live = live_version(versions) if live is None else live
    return _accepting_from(versions, live, _retired(), now)


def _accepting_from(
    versions, live: int, retired: dict[int, datetime], now: datetime | None = None
) -> frozenset[int]:
    now = datetime.now(UTC) if now is None else now
    recent = {
        number for number, when in retired.items() if number in versions and now - when <= GRACE
    }
    return frozenset({live} | recent)


def _version_rows():
    """Everything ``for_respondent`` reads, in one round trip (each questionnaire page
    asks): the published versions, and the settings saying which is live and when
    others stopped being live."""
    return select(
        literal("published").label("kind"),
        cast(PublishedQuestionnaire.version, String).label("name"),
        cast(PublishedQuestionnaire.published_at, String).label("value"),
    ).union_all(
        select(literal("setting"), Setting.key, Setting.value).where(
            or_(
                Setting.key == LIVE_SETTING, Setting.key.startswith(RETIRED_PREFIX, autoescape=True)
            )
        )
    )


_VERSION_ROWS = _version_rows()
# What the rows above came to, per process, by the rows themselves: a page pays for the
# one query, and parses nothing while nothing changed.
_states: dict[tuple, tuple[dict[int, Questionnaire], int, dict[int, datetime]]] = {}


_last_seen: tuple[dict[int, Questionnaire], int, frozenset[int]] | None = None


def for_respondent() -> tuple[dict[int, Questionnaire], int, frozenset[int]]:
    """The available versions, the live one and those accepting answers, for the
    questionnaire's pages, which must come back even when the database is away (every
    answer is in the form): then what this process saw last, or the shipped files and
    the configured version."""
    global _last_seen
    try:
        rows = tuple(db.session.execute(_VERSION_ROWS).all())
        state = _states.get(rows)
        if state is None:
            found = _available_from(
                sorted((int(name), value) for kind, name, value in rows if kind == "published")
            )
            settings = {name: value for kind, name, value in rows if kind == "setting"}
            state = (
                found,
                _live_from(found, settings.get(LIVE_SETTING)),
                _retired_from(
                    (name, value)
                    for name, value in settings.items()
                    if name.startswith(RETIRED_PREFIX)
                ),
            )
            if len(_states) > 64:  # versions change rarely; never let old states pile up
                _states.clear()
            _states[rows] = state
        found, live_now, retired = state
        _last_seen = found, live_now, _accepting_from(found, live_now, retired)
    except SQLAlchemyError:
        db.session.rollback()
        if _last_seen is None:
            configured = current_app.config["STIGEN_QUESTIONNAIRE_VERSION"]
            return dict(published()), configured, frozenset({configured})
    return _last_seen


def check(source: str) -> Questionnaire:
    """The questionnaire in ``source`` if it may be published, or ``QuestionnaireError``
    with every problem found: TOML syntax, the format's rules, a number already taken.
    A theme no earlier version had needs nothing more: themes are stored as data."""
    if "\x00" in source:
        raise QuestionnaireError([_("Teksten inneholder et NUL-tegn.")])
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise QuestionnaireError([_("TOML-syntaksfeil: %(error)s", error=str(error))]) from None
    problems: list[str] = []
    questionnaire = None
    try:
        questionnaire = parse(data)
        problems += crosswalk_problems(questionnaire, available())
    except QuestionnaireError as error:
        problems += error.problems
    except (AttributeError, TypeError, ValueError, KeyError) as error:
        # A table where a list belongs, a text where a number belongs, and so on.
        problems.append(
            _(
                "Filen følger ikke formatet i docs/questionnaire-format.md (%(error)s).",
                error=f"{type(error).__name__}: {error}",
            )
        )
    version = data.get("version")
    if isinstance(version, bool):
        problems.append(_("Versjonsnummeret må være et heltall."))
    elif isinstance(version, int):
        if version in available():
            problems.append(
                _(
                    "Versjon %(number)d finnes allerede. Gi den nye versjonen et nytt nummer.",
                    number=version,
                )
            )
        elif version > MAX_VERSION:
            problems.append(
                _("Versjonsnummeret kan ikke være større enn %(max)d.", max=MAX_VERSION)
            )
    if problems:
        raise QuestionnaireError(problems)
    return questionnaire


def publish(source: str, actor) -> Questionnaire:
    """Validate ``source`` (TOML) and add it as a new version, with its audit event.
    ``actor``: the signed-in account, or "shell". The caller commits."""
    questionnaire = check(source)
    row = PublishedQuestionnaire(
        version=questionnaire.version,
        source=source,
        published_at=datetime.now(UTC),
        published_by=getattr(actor, "username", None) or str(actor),
    )
    db.session.add(row)
    audit.record("questionnaire.publish", {"version": questionnaire.version}, actor=actor)
    db.session.flush()
    return questionnaire


def make_live(version: int, actor=None) -> int:
    """Make ``version`` the one new respondents get, with its audit event. Returns the
    version that was live. The caller commits."""
    versions = available()
    if version not in versions:
        raise QuestionnaireError([_("Versjon %(number)d finnes ikke.", number=version)])
    previous = live_version(versions)
    setting = db.session.get(Setting, LIVE_SETTING)
    if setting is None:
        db.session.add(Setting(key=LIVE_SETTING, value=str(version)))
    else:
        setting.value = str(version)
    if previous != version:
        # The previous version accepts answers for GRACE from now (``accepting``); the
        # new live one needs no such mark.
        _set(f"{RETIRED_PREFIX}{previous}", datetime.now(UTC).isoformat())
        retired = db.session.get(Setting, f"{RETIRED_PREFIX}{version}")
        if retired is not None:
            db.session.delete(retired)
    audit.record("questionnaire.live", {"version": version, "previous": previous}, actor=actor)
    return previous


def _set(key: str, value: str) -> None:
    setting = db.session.get(Setting, key)
    if setting is None:
        db.session.add(Setting(key=key, value=value))
    else:
        setting.value = value
