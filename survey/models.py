"""Stigen's tables. Models describe data; views commit, models never do.

Anonymity is a property of this schema (privacy.md): a response row holds the office,
a coarse period start date, the questionnaire version, the language and the answers with
their scores. There is no column for an address, a user agent, a time of day, a token
or anything handed to a person, and ids are random UUIDs, never sequence numbers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db

THEME_INDEX_COLUMNS = {
    "medvirkning": "medvirkning_index",
    "stigma": "stigma_index",
    "talmodighet": "talmodighet_index",
    "relasjon": "relasjon_index",
}


class Office(db.Model):
    """A NAV office whose young users answer through its own link."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(120), default="")
    county: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # The questionnaire is open from ``opens_on`` through ``closes_on`` (both inclusive; None
    # means no limit on that side). Admins set them to whole months, so that survey periods
    # line up with the dashboard's reporting periods.
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    # Only respondents with a one-time access code may answer (see ``AccessCode``).
    codes_required: Mapped[bool] = mapped_column(default=False)

    responses: Mapped[list[Response]] = relationship(back_populates="office")

    def is_open_on(self, day: date) -> bool:
        """Whether a respondent may answer on ``day``: active and inside the open period."""
        return (
            self.active
            and (self.opens_on is None or self.opens_on <= day)
            and (self.closes_on is None or day <= self.closes_on)
        )

    def __repr__(self) -> str:
        return f"<Office {self.slug}>"


class Response(db.Model):
    """One submitted questionnaire, with the scores computed once at submission."""

    __tablename__ = "response"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    # First day of the month (or ISO week) of submission: never the day, never the time.
    period_start: Mapped[date] = mapped_column(Date)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger)
    language: Mapped[str] = mapped_column(String(2))
    # Item code -> value (int, or a list of option codes for multi-choice items).
    # Free text is not here: it lives in ``comment``, with no link back to this row.
    answers: Mapped[dict] = mapped_column(JSON)
    scoring_version: Mapped[int] = mapped_column(SmallInteger)
    rung: Mapped[int | None] = mapped_column(SmallInteger)
    band: Mapped[int | None] = mapped_column(SmallInteger)
    medvirkning_index: Mapped[float | None] = mapped_column(Float)
    stigma_index: Mapped[float | None] = mapped_column(Float)
    talmodighet_index: Mapped[float | None] = mapped_column(Float)
    relasjon_index: Mapped[float | None] = mapped_column(Float)

    office: Mapped[Office] = relationship(back_populates="responses")

    __table_args__ = (
        CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
        CheckConstraint("rung IS NULL OR rung BETWEEN 1 AND 8", name="rung_range"),
        CheckConstraint("band IS NULL OR band BETWEEN 1 AND 3", name="band_range"),
        *(
            CheckConstraint(f"{col} IS NULL OR {col} BETWEEN 0 AND 100", name=f"{col}_range")
            for col in THEME_INDEX_COLUMNS.values()
        ),
        Index("ix_response_office_period", "office_id", "period_start"),
        Index("ix_response_period", "period_start"),
    )


class Comment(db.Model):
    """A free-text answer, kept apart from its response so the two cannot be joined.

    Leaders and researchers see only comments a moderator has approved (possibly with
    a part redacted, which replaces the body); a rejected comment keeps no text.
    """

    __tablename__ = "comment"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger)
    language: Mapped[str] = mapped_column(String(2))
    item_code: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="comment_status_known"
        ),
    )


class SubmissionReceipt(db.Model):
    """Proof that a form was stored once, so a double-click or a resent form is not
    stored twice. Holds the hash of a random number that lived only in the form, and the
    coarse period; nothing points from here to a response."""

    __tablename__ = "submission_receipt"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)


# --- Aggregates kept current at submission --------------------------------------------
# One row per office, month (the stored coarse date) and questionnaire version, updated in
# the submission's own transaction, so that dashboards sum a few thousand rows instead of
# scanning every response. ``survey.tally`` owns how rows are added and rebuilt.

RUNGS = range(1, 9)

tally_table = Table(
    "tally",
    db.metadata,
    Column("office_id", Integer, ForeignKey("office.id"), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("questionnaire_version", SmallInteger, primary_key=True),
    Column("responses", Integer, nullable=False, default=0),
    *(Column(f"rung_{rung}", Integer, nullable=False, default=0) for rung in RUNGS),
    *(
        Column(f"{theme}_{part}", Float if part != "n" else Integer, nullable=False, default=0)
        for theme in THEME_INDEX_COLUMNS
        for part in ("n", "sum", "sumsq")
    ),
)


class Tally(db.Model):
    """Counts and sums of one office's responses in one month, for one version."""

    __table__ = tally_table


class MeasureTally(db.Model):
    """How many took part in each measure (tiltak), and how useful they found it."""

    __tablename__ = "measure_tally"

    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    participants: Mapped[int] = mapped_column(default=0)
    # Of the participants: how many answered the usefulness item, and how many agreed (4–5).
    useful_answered: Mapped[int] = mapped_column(default=0)
    useful_agreed: Mapped[int] = mapped_column(default=0)


# --- Accounts -----------------------------------------------------------------------------

ROLES = ("admin", "leder", "forsker")

account_office = Table(
    "account_office",
    db.metadata,
    Column("account_id", Integer, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class Account(UserMixin, db.Model):
    """Someone who signs in: an administrator, an office leader or a researcher."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # A forced password reset: the hash of a one-time token shown to the admin once, and
    # when it stops working. Both empty when no reset is pending.
    reset_token_hash: Mapped[str | None] = mapped_column(String(64))
    reset_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    offices: Mapped[list[Office]] = relationship(secondary=account_office, order_by="Office.name")

    __table_args__ = (CheckConstraint("role IN ('admin', 'leder', 'forsker')", name="role_known"),)

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def sees_all_offices(self) -> bool:
        return self.role in ("admin", "forsker")


# --- Audit --------------------------------------------------------------------------------

class AuditEvent(db.Model):
    """Who did what, and when: staff actions and every export. Staff are not anonymous;
    nothing here refers to a response."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(80))  # username, or "shell" for flask commands
    action: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


# --- One-time access codes ------------------------------------------------------------------

class AccessCode(db.Model):
    """A one-time code for an office that answers by invitation. Only a keyed hash of the
    code is kept, and whether it has been used: nothing here points at a response, and no
    response points here (privacy.md)."""

    __tablename__ = "access_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"), index=True)
    # A label for the batch it was printed in (e.g. "2026-11 venterom"), so admins can
    # see how many of a batch are used; never a person.
    batch: Mapped[str] = mapped_column(String(80), default="")
    used: Mapped[bool] = mapped_column(default=False)


# --- Questionnaire versions and site settings ----------------------------------------------

class PublishedQuestionnaire(db.Model):
    """A questionnaire version published from the admin pages (the TOML source as
    uploaded, after it validated). Versions shipped as files in ``survey/questionnaires``
    are not repeated here."""

    __tablename__ = "questionnaire_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(80))


class Setting(db.Model):
    """A setting admins change at runtime (e.g. which questionnaire version is live)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- "Dette gjør vi" ----------------------------------------------------------------------

class ActionNote(db.Model):
    """What an office changes in response to its results ("Dere sa … – vi gjør …"), written
    by its leaders and shown on the office's public page."""

    __tablename__ = "action_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"), index=True)
    written_on: Mapped[date] = mapped_column(Date)
    you_said: Mapped[str] = mapped_column(Text)
    we_do: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
