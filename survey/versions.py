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

import tomllib
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial

from flask import current_app, has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import Boolean, String, and_, bindparam, cast, exists, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from . import audit, caching
from .extensions import db
from .models import PublishedQuestionnaire, Setting
from .questionnaire import Questionnaire, QuestionnaireError, crosswalk_problems, parse, published
from .whole_numbers import whole_number

LIVE_SETTING = "live_questionnaire_version"
RETIRED_PREFIX = "questionnaire_retired:"  # + version: when it stopped being live (UTC)
GRACE = timedelta(days=1)  # how long a version accepts answers after it stopped being live
MAX_VERSION = 32767  # responses keep their version in a SMALLINT

# Parsed rows, per app: by (version, published_at) as read from the database, so that a
# row's source is read once. Bound: the versions ever published.
PUBLISHED_ROWS: caching.AppCache[tuple[int, str], Questionnaire | None] = caching.AppCache(
    "published questionnaire rows", maxsize=256
)


def _(message: str, **variables) -> str:
    """``gettext`` in the reader's language on a page; in bokmål from a command."""
    if has_request_context():
        return gettext(message, **variables)
    with force_locale("nb"):
        return gettext(message, **variables)


@lru_cache(maxsize=64)  # a questionnaire's source is parsed once per process
def _parsed(source: str) -> Questionnaire:
    return parse(tomllib.loads(source))


def _from_source(version: int, source: str) -> Questionnaire | None:
    try:
        return _parsed(source)
    except (tomllib.TOMLDecodeError, QuestionnaireError) as error:
        # Stored after it validated, so only a stricter Stigen could refuse it now:
        # leave it out rather than fail every page.
        current_app.logger.error("Published questionnaire %s no longer parses: %s", version, error)
        return None


def available() -> dict[int, Questionnaire]:
    """Every version a respondent may be given or a dashboard may show, by number:
    the shipped files and the versions published in the database."""
    rows = db.session.execute(
        select(PublishedQuestionnaire.version, PublishedQuestionnaire.published_at)
    ).all()
    return _available_from([(version, str(published_at)) for version, published_at in rows])


def _read_published(version: int) -> Questionnaire | None:
    source = db.session.scalars(
        select(PublishedQuestionnaire.source).where(PublishedQuestionnaire.version == version)
    ).one()
    return _from_source(version, source)


def _available_from(rows: list[tuple[int, str]]) -> dict[int, Questionnaire]:
    """``available`` from the published rows' (version, published_at as text)."""
    found = dict(published())
    parsed_rows = PUBLISHED_ROWS.of(current_app)
    for version, published_at in rows:
        if version in found:  # a shipped file wins (publish refuses the number anyway)
            continue
        questionnaire = parsed_rows.get_or_make(
            (version, published_at), partial(_read_published, version)
        )
        if questionnaire is not None:
            found[version] = questionnaire
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


def is_live_clause():
    """SQL: the version whose number is bound as ``version_text`` (its decimal text) is
    the live one, as ``live_version`` decides it, read by the statement itself: for Send
    inn, whose one INSERT may not first ask which version is live. The admins' choice
    (the setting names it), or no choice and ``version_is_configured`` (a bound boolean:
    the version is the configured one). Stricter than ``accepting``, never looser: a
    version in its day of grace after being live, or a setting naming a version that is
    not available, does not hold here; the caller then asks ``for_respondent``."""
    setting = Setting.__table__
    live_key = bindparam("live_setting", LIVE_SETTING, type_=setting.c.key.type)
    chosen = select(setting.c.value).where(setting.c.key == live_key).scalar_subquery()
    return or_(
        chosen == bindparam("version_text", type_=setting.c.value.type),
        and_(
            bindparam("version_is_configured", type_=Boolean),
            ~exists().where(setting.c.key == live_key),
        ),
    )


def live_clause_values(version: int) -> dict:
    """The values ``is_live_clause`` binds, for ``version``."""
    return {
        "version_text": str(version),
        "version_is_configured": version == current_app.config["STIGEN_QUESTIONNAIRE_VERSION"],
    }


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
# What the rows above came to, per app, by the rows themselves: a page pays for the one
# query, and parses nothing while nothing changed. Versions change rarely: the bound only
# keeps old states from piling up.
VERSION_STATES: caching.AppCache[
    tuple, tuple[dict[int, Questionnaire], int, dict[int, datetime]]
] = caching.AppCache("questionnaire version states", maxsize=64)


# What ``for_respondent`` found when it last asked, per app (in ``app.extensions``): the
# one record both its fallback (the database away) and Send inn's short way read.
SEEN = "stigen.versions_seen"


def last_seen() -> dict[int, Questionnaire] | None:
    """The versions ``for_respondent`` found available when it last asked, in this
    process, for this app, without asking again (None before it first asked). A
    version's questions never change once it is available (a number is published once),
    so these may be used to read a posted page; whether that version still takes answers
    is for the database to say (``is_live_clause``)."""
    seen = current_app.extensions.get(SEEN)
    return None if seen is None else seen[0]


def for_respondent() -> tuple[dict[int, Questionnaire], int, frozenset[int]]:
    """The available versions, the live one and those accepting answers, for the
    questionnaire's pages, which must come back even when the database is away (every
    answer is in the form): then what this process saw last for this app, or the shipped
    files and the configured version."""
    try:
        rows = tuple(db.session.execute(_VERSION_ROWS).all())
    except SQLAlchemyError:
        db.session.rollback()
        seen = current_app.extensions.get(SEEN)
        if seen is None:
            configured = current_app.config["STIGEN_QUESTIONNAIRE_VERSION"]
            return dict(published()), configured, frozenset({configured})
        return seen
    states = VERSION_STATES.of(current_app)
    state = states.get(rows)
    if state is None:
        found = _available_from(
            sorted((int(name), value) for kind, name, value in rows if kind == "published")
        )
        settings = {name: value for kind, name, value in rows if kind == "setting"}
        state = (
            found,
            _live_from(found, settings.get(LIVE_SETTING)),
            _retired_from(
                (name, value) for name, value in settings.items() if name.startswith(RETIRED_PREFIX)
            ),
        )
        states.put(rows, state)
    found, live_now, retired = state
    seen = found, live_now, _accepting_from(found, live_now, retired)
    current_app.extensions[SEEN] = seen
    return seen


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
    if problems or questionnaire is None:  # None only with a problem found
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
