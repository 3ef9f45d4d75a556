"""Stigen's tables. Models describe data; views commit, models never do.

Anonymity is a property of this schema (privacy.md): a response row holds the office,
a coarse period start date, the questionnaire version, the language and the answers with
their scores. There is no column for an address, a user agent, a time of day, a token
or anything handed to a person, and ids are random UUIDs, never sequence numbers.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

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

    responses: Mapped[list[Response]] = relationship(back_populates="office")

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

    Leaders never see a comment that a moderator has not approved (status stays
    ``pending`` until moderation exists).
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
