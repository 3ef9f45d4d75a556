"""Demo content for the administration pages: free text waiting for moderation (with the
kinds of risk the queue marks), some already approved, and "dette gjør vi" notes, so that
every page of the demo has something to show. Invented text; nobody real."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import func, select

from ..domain.periods import today_in_norway
from ..extensions import db
from ..models import ActionNote, Comment, Office

COMMENTS = (
    ("Jeg fikk endelig være med på å bestemme hvilket tiltak jeg skulle prøve.", "approved"),
    ("Det hadde hjulpet å vite hvem jeg skulle ringe når planen ble endret.", "approved"),
    ("Veilederen min tok seg tid og hørte på hva jeg ville. Det betydde mye.", "approved"),
    ("Jeg følte meg mer som en sak enn som et menneske på det første møtet.", "approved"),
    ("Kari på kontoret var veldig grei, men jeg ventet 3 uker på svar.", "pending"),
    ("Tiltaket i Bodø passet ikke, og ingen spurte meg før jeg ble sendt dit.", "pending"),
    (
        "Jeg er 23 år og har hatt fire veiledere på ett år. Det er slitsomt å begynne på nytt.",
        "pending",
    ),
    ("Skulle ønske møtene var på ettermiddagen, jeg har deltidsjobb om morgenen.", "pending"),
)

NOTES = (
    (
        "Det er vanskelig å nå veilederen når noe endrer seg.",
        "Faste telefontider tirsdag og torsdag, og svar på meldinger innen to arbeidsdager.",
    ),
    (
        "Dere vet ikke alltid hvorfor et tiltak blir foreslått.",
        "Alle får en oversikt over tiltakene på første møte og velger sammen med veilederen.",
    ),
)


def seed_administration(offices: list[Office], seed: int = 1) -> None:
    """Add demo comments and notes once (not if any note exists). The caller commits."""
    if db.session.scalar(select(func.count()).select_from(ActionNote)):
        return
    rng = random.Random(seed)
    today = today_in_norway()
    this_month = today.replace(day=1)
    last_month = (this_month.replace(day=1) - date.resolution).replace(day=1)
    for office in offices:
        for body, status in rng.sample(COMMENTS, 5):
            db.session.add(
                Comment(
                    office_id=office.id,
                    period_start=rng.choice((last_month, this_month)),
                    questionnaire_version=1,
                    language="nb",
                    item_code="hel_fritekst",
                    body=body,
                    status=status,
                )
            )
    # NAV Bodø (the demo leader's office) first, so its public page shows notes.
    for office in sorted(offices, key=lambda office: office.slug != "bodo")[:3]:
        for you_said, we_do in NOTES:
            db.session.add(
                ActionNote(office_id=office.id, written_on=today, you_said=you_said, we_do=we_do)
            )
