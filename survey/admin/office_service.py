"""What the office pages (``admin/offices.py``) and ``flask offices``/``flask periods``
(``admin/office_commands.py``) both do: an office's link and poster words, its status,
and the survey period's changes with their audit details.

The functions take today's date as an argument rather than reading the clock, so the
page and the command decide what "today" is (and tests can pin it there).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _

from ..audit import record
from ..domain.periods import parse_month
from ..extensions import db
from ..links import absolute_url
from ..models import Office
from . import posters


def office_link(
    office: Office, base_url: str | None = None, endpoint: str = "respond.start"
) -> str:
    """The absolute address of the office's start page (or of another page of the office,
    such as its public page ``public.office``); see ``survey.links.absolute_url``."""
    return absolute_url(endpoint, base_url, slug=office.slug)


def set_period(office: Office, opens_on: date | None, closes_on: date | None) -> dict:
    """Set the open period; returns the audit details (the period before and after)."""
    details = {
        "office": office.slug,
        "before": [_iso(office.opens_on), _iso(office.closes_on)],
        "after": [_iso(opens_on), _iso(closes_on)],
    }
    office.opens_on, office.closes_on = opens_on, closes_on
    return details


def open_now(office: Office, today: date) -> dict:
    """Open from the first day of this month, until further notice."""
    return set_period(office, today.replace(day=1), None)


def close_now(office: Office, today: date) -> dict:
    """Closed from today: the period ended yesterday. (A respondent under way still gets
    to submit today: the questionnaire accepts a day's grace.) A start still ahead is
    dropped, so the office does not reopen by itself."""
    yesterday = today - timedelta(days=1)
    opens_on = office.opens_on if office.opens_on and office.opens_on <= yesterday else None
    return set_period(office, opens_on, yesterday)


def period_from_months(opens_from: str, opens_to: str | None) -> tuple[date, date | None]:
    """Dates from ``YYYY-MM`` months (already validated)."""
    first, last = parse_month(opens_from), parse_month(opens_to)
    if first is None:
        raise ValueError(f"not a month: {opens_from!r}")
    return first.start, last.last_day if last else None


def status_of(office: Office, today: date) -> str:
    """ "open", "closed" or "deactivated"."""
    if not office.active:
        return "deactivated"
    return "open" if office.is_open_on(today) else "closed"


def all_offices_details(changes: list[dict]) -> dict:
    """The audit details of one period change made to every active office at once: one
    event for all, each office's period before and after (``set_period``'s details)."""
    return {
        "all_offices": True,
        "offices": {c["office"]: {"before": c["before"], "after": c["after"]} for c in changes},
    }


def create_office(
    slug: str,
    name: str,
    municipality: str,
    county: str,
    opens_on: date,
    closes_on: date | None,
    actor=None,
) -> Office:
    """Add a new office with its first period to the session and audit it (as ``actor``,
    the signed-in account by default); the caller has checked the slug and commits."""
    office = Office(
        slug=slug,
        name=name,
        municipality=municipality,
        county=county,
        opens_on=opens_on,
        closes_on=closes_on,
    )
    db.session.add(office)
    record(
        "office.create",
        {
            "office": slug,
            "name": office.name,
            "municipality": office.municipality,
            "county": office.county,
            "period": [_iso(opens_on), _iso(closes_on)],
        },
        actor=actor,
    )
    return office


def edit_office(office: Office, wanted: dict[str, str | None], actor=None) -> dict:
    """Set the office's ``name``, ``municipality`` and ``county`` to the values in
    ``wanted`` (stripped; None leaves one as it is) and audit what changed, as a rename
    if the name did. The slug never changes. Returns ``{field: [before, after]}`` for
    the fields that changed, empty if none did; the caller commits."""
    changed = {}
    for key, value in wanted.items():
        if value is not None and value.strip() != getattr(office, key):
            changed[key] = [getattr(office, key), value.strip()]
            setattr(office, key, value.strip())
    if changed:
        record(
            "office.rename" if "name" in changed else "office.edit",
            {"office": office.slug, "changed": changed},
            actor=actor,
        )
    return changed


def set_active(office: Office, active: bool, actor=None) -> bool:
    """Activate or deactivate ``office`` and audit it, unless it already is so. A
    deactivated office keeps its responses. Returns whether it changed; the caller
    commits."""
    if office.active == active:
        return False
    office.active = active
    record(
        "office.activate" if active else "office.deactivate", {"office": office.slug}, actor=actor
    )
    return True


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def poster_texts(office: Office, base_url: str | None = None) -> posters.PosterTexts:
    """The poster's words, in the language of the page (bokmål unless switched)."""
    public_page = office_link(office, base_url, endpoint="public.office")
    return posters.PosterTexts(
        office=office.name,
        heading=_("Hvordan opplever du oppfølgingen fra NAV?"),
        about=_(
            "En kort, anonym undersøkelse for deg mellom 18 og 29 år om oppfølgingen du "
            "får fra NAV."
        ),
        anonymity=_(
            "Du er anonym: vi spør ikke om navn eller fødselsnummer, og ingen kan se "
            "hva akkurat du har svart."
        ),
        scan=_("Skann QR-koden med mobilkameraet, eller skriv inn adressen:"),
        duration=_("Det tar 5–8 minutter, og det er frivillig."),
        footer=_("Se hva kontoret gjør med svarene: %(link)s", link=public_page),
    )
