"""What the respondent side does with a submission: store it whole, once, or not at all.

One durable write: a row in the inbox, keyed by the hash of the form's nonce, with the
redacted free texts; ``survey.mixer`` moves it into the counted tables in a shuffled batch
(issue 12). The row is inserted only if no receipt holds the hash (it was mixed already),
and its key refuses a second while it waits: a double-click or a resent form is stored
once. On PostgreSQL a trigger (migration 0010) looks for the receipt again once the row
is in, with a fresh snapshot: a resend whose statement began before the mix's last step
committed, and then found the first row gone, is refused too. After the commit the
office × period is mixed if a batch has gathered (``mixer.after_submission``).

Two ways in, one statement each, built once so that a submission pays for no statement
building: ``save`` for an office the view has looked up (and checked: open, its access
code), and ``save_at_open_office`` for Send inn straight from the office's link, which
finds the office, checks that it is open and needs no code and that the answers' version
is live, and inserts, all in the one INSERT … SELECT (the common case: one round trip, no
office object, no question asked first).
"""

from __future__ import annotations

import hashlib
from datetime import date

from flask import current_app
from sqlalchemy import bindparam, exists, insert, literal, literal_column, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import mixer, versions
from ..domain.periods import coarse_date
from ..domain.redaction import redact
from ..extensions import db
from ..models import ANSWER_GRACE, Inbox, Office, SubmissionReceipt

_COLUMNS = (
    "nonce_hash",
    "office_id",
    "period_start",
    "questionnaire_version",
    "language",
    "answers",
    "texts",
)


def _into_inbox(office_id):
    """INSERT INTO inbox … SELECT the submission's values (``office_id`` a bound value or
    the office table's column) WHERE no receipt holds its nonce's hash."""
    inbox, receipts = Inbox.__table__, SubmissionReceipt.__table__
    values = [
        office_id.label(name)
        if name == "office_id"
        else bindparam(name, type_=inbox.c[name].type).label(name)
        for name in _COLUMNS
    ]
    values.append(literal(None, inbox.c.batch_id.type).label("batch_id"))
    unmixed = ~exists().where(
        receipts.c.nonce_hash == bindparam("nonce_hash", type_=inbox.c.nonce_hash.type)
    )
    return select(*values).where(unmixed), [*_COLUMNS, "batch_id"]


def _returning_waiting(statement):
    """… RETURNING the office and how many submissions of its office × period wait to be
    mixed, so that deciding whether to mix costs no second round trip. PostgreSQL's
    subquery reads the statement's snapshot, without the new row; SQLite's sees it: the
    one place that knows (``_waiting``)."""
    # Written out: SQLAlchemy drops the table names inside a RETURNING clause on SQLite.
    count = literal_column(
        "(SELECT count(*) FROM inbox AS waiting WHERE waiting.office_id = inbox.office_id "
        "AND waiting.period_start = inbox.period_start AND waiting.batch_id IS NULL)"
    )
    return statement.returning(Inbox.__table__.c.office_id, count)


def _waiting(counted: int) -> int:
    """The count ``_returning_waiting`` read, with the new row on either database."""
    return counted + (1 if db.engine.dialect.name == "postgresql" else 0)


def _for_office():
    chosen, names = _into_inbox(bindparam("office_id", type_=Inbox.__table__.c.office_id.type))
    return _returning_waiting(insert(Inbox.__table__).from_select(names, chosen))


def _at_open_office():
    """The same, with the office found by its slug in the same statement, and only if it
    takes answers today (``Office.takes_answers_on``: open today, or ``ANSWER_GRACE``
    ago, bound as ``yesterday``) and answers without an access code, and the answers'
    questionnaire version is the live one (``versions.is_live_clause``)."""
    chosen, names = _into_inbox(Office.id)
    open_now = Office.is_open_on(bindparam("today", type_=Office.__table__.c.opens_on.type))
    open_before = Office.is_open_on(
        bindparam(
            "yesterday",  # today - ANSWER_GRACE
            type_=Office.__table__.c.opens_on.type,
        )
    )
    chosen = chosen.select_from(Office.__table__).where(
        Office.slug == bindparam("slug"),
        Office.codes_required.is_(False),
        open_now | open_before,
        versions.is_live_clause(),
    )
    return _returning_waiting(insert(Inbox.__table__).from_select(names, chosen))


_FOR_OFFICE = _for_office()
_AT_OPEN_OFFICE = _at_open_office()


def submission_row(
    questionnaire, answers: dict, texts: dict, nonce: str, language: str, today: date
) -> dict:
    """The inbox row's values (without the office): the period coarsened, the free texts
    redacted, the nonce hashed."""
    return {
        "nonce_hash": hashlib.sha256(nonce.encode()).hexdigest(),
        "period_start": coarse_date(today, current_app.config["STIGEN_DATE_PRECISION"]),
        "questionnaire_version": questionnaire.version,
        "language": language,
        "answers": answers,
        "texts": {code: cleaned for code, text in texts.items() if (cleaned := redact(text))},
    }


def _stored_before(nonce_hash: str) -> bool:
    """After the key refused a row: is the submission there (waiting or mixed)?"""
    try:
        return (
            db.session.get(Inbox, nonce_hash) is not None
            or db.session.get(SubmissionReceipt, nonce_hash) is not None
        )
    except SQLAlchemyError:
        db.session.rollback()
        return False


def save(office: Office, row: dict) -> bool:
    """Store the submission ``row`` (``submission_row``) at ``office``, which the caller
    has checked. Returns False if the database could not take it (nothing is then
    stored); True if stored now or before."""
    try:
        # One statement: a receipt (mixed before) makes it insert nothing, a waiting row
        # with the same key makes it fail; both mean stored before.
        stored = db.session.execute(_FOR_OFFICE, {**row, "office_id": office.id}).first()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _stored_before(row["nonce_hash"])  # a double-click or a resent form
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("A submission could not be stored; nothing was saved.")
        return False
    if stored is not None:
        mixer.after_submission(stored[0], row["period_start"], _waiting(stored[1]))
    return True


def save_at_open_office(slug: str, row: dict, today: date) -> bool | None:
    """Store ``row`` at the office ``slug`` if it takes answers today
    (``Office.takes_answers_on``) and needs no access code, and the row's questionnaire
    version is live (``versions.is_live_clause``). True if stored now or before; None if
    nothing was stored and the caller should take the long way (no such office, closed,
    code-only, another version live, mixed before, or the database away), which finds
    out which and says so."""
    try:
        stored = db.session.execute(
            _AT_OPEN_OFFICE,
            {
                **row,
                **versions.live_clause_values(row["questionnaire_version"]),
                "slug": slug,
                "today": today,
                "yesterday": today - ANSWER_GRACE,
            },
        ).first()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _stored_before(row["nonce_hash"]) or None
    except SQLAlchemyError:
        db.session.rollback()
        return None
    if stored is None:
        return None
    mixer.after_submission(stored[0], row["period_start"], _waiting(stored[1]))
    return True
