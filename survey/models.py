"""Stigen's tables. Models describe data; views commit, models never do.

Anonymity is a property of this schema (privacy.md): a response row holds the office,
a coarse period start date, the questionnaire version, the language and the answers with
their scores. There is no column for an address, a user agent, a time of day, a token
or anything handed to a person, and ids are random UUIDs, never sequence numbers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

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
    and_,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db

# A questionnaire under way when its office's period ends may still be sent for this long.
ANSWER_GRACE = timedelta(days=1)


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

    @hybrid_method
    def is_open_on(self, day: date) -> bool:
        """Whether a respondent may answer on ``day``: active and inside the open period."""
        return (
            self.active
            and (self.opens_on is None or self.opens_on <= day)
            and (self.closes_on is None or day <= self.closes_on)
        )

    @is_open_on.expression  # type: ignore[no-redef]  # SQLAlchemy's hybrid: one name, two rules
    def is_open_on(cls, day):  # noqa: N805 - the same rule as SQL, for the submission's insert
        return and_(
            cls.active.is_(True),
            or_(cls.opens_on.is_(None), cls.opens_on <= day),
            or_(cls.closes_on.is_(None), cls.closes_on >= day),
        )

    def takes_answers_on(self, day: date) -> bool:
        """Whether answers sent on ``day`` are taken: open then, or ``ANSWER_GRACE``
        before, so that whoever was under way when the period ended is not lost."""
        return self.is_open_on(day) or self.is_open_on(day - ANSWER_GRACE)

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
    # Theme code -> index 0-100, for the themes the questionnaire version declares and the
    # response answered enough of (``survey.domain.scoring``): a theme absent here has no index.
    # One JSON value, not a column per theme, so a version with a new theme needs no
    # migration.
    theme_indices: Mapped[dict] = mapped_column(JSON, default=dict)

    office: Mapped[Office] = relationship(back_populates="responses")

    __table_args__ = (
        CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
        CheckConstraint("rung IS NULL OR rung BETWEEN 1 AND 8", name="rung_range"),
        CheckConstraint("band IS NULL OR band BETWEEN 1 AND 3", name="band_range"),
        Index("ix_response_office_period", "office_id", "period_start"),
        Index("ix_response_period", "period_start"),
        # On SQLite the rows lie in the order of their random id, not of a rowid that
        # counts submissions (issue 12; ``survey.mixer`` rewrites them in random order).
        {"sqlite_with_rowid": False},
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
    # "held": mixed in (``survey.mixer``) but not yet released to the moderation queue,
    # which gets comments per office and period in batches of at least k or at the
    # period's end, never one close to when it was written (issue 11, point 6).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The release that first showed it to leaders (``survey.releases``); None until an
    # approved comment's office and period are in a release. Leaders read stamped ones only.
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"), index=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('held', 'pending', 'approved', 'rejected')", name="comment_status_known"
        ),
        {"sqlite_with_rowid": False},
    )


class SubmissionReceipt(db.Model):
    """Proof that a form was stored once, so a double-click or a resent form is not
    stored twice. Holds the hash of a random number that lived only in the form, and the
    coarse period; nothing points from here to a response."""

    __tablename__ = "submission_receipt"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The office, so that the mixer can rewrite an office × period's receipts together
    # (each then carries the same transaction id); None for receipts from before 0005.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    period_start: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        Index("ix_submission_receipt_office_period", "office_id", "period_start"),
        {"sqlite_with_rowid": False},
    )


class Inbox(db.Model):
    """A submission waiting to be mixed: the one durable write a submission makes.

    ``survey.mixer`` moves inbox rows into ``response``, ``comment`` and
    ``submission_receipt`` in shuffled batches per office and period, each table in a
    transaction of its own, and then deletes them. Keyed by the hash of the form's nonce,
    which is the double-submit guard while the row waits. The free texts are already
    redacted. Until mixed, these rows are in arrival order to whoever runs the database
    (PostgreSQL transaction ids): at most one batch per office × period (privacy model).
    """

    __tablename__ = "inbox"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    period_start: Mapped[date] = mapped_column(Date)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger)
    language: Mapped[str] = mapped_column(String(2))
    answers: Mapped[dict] = mapped_column(JSON)
    texts: Mapped[dict] = mapped_column(JSON)  # item code -> redacted free text
    # The mix that has claimed this row (``MixBatch.id``), None while it waits.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        Index("ix_inbox_office_period", "office_id", "period_start"),
        {"sqlite_with_rowid": False},
    )


class MixBatch(db.Model):
    """The mixer's journal: one row per batch under way, with the last step committed
    (0 claimed, 1 responses, 2 comments, 3 receipts). Each step commits its row with its
    own work, so a mixer stopped anywhere is finished by the next one, nothing lost and
    nothing twice. Deleted with the batch's inbox rows in the last step."""

    __tablename__ = "mix_batch"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    period_start: Mapped[date] = mapped_column(Date)
    step: Mapped[int] = mapped_column(SmallInteger, default=0)

    __table_args__ = ({"sqlite_with_rowid": False},)


# --- Aggregates kept current at submission --------------------------------------------
# One row per office, month (the stored coarse date) and questionnaire version, updated in
# the submission's own transaction, so that dashboards sum a few thousand rows instead of
# scanning every response. ``survey.tally`` owns how rows are added and rebuilt.

RUNGS = range(1, 9)
# "Tilt_nyttig" and "tilt_passet" ask about the *last* measure taken part in, so they are
# tallied once per response that took part in any measure (``measured``), not per measure.
MEASURE_SUMMARY_COLUMNS = (
    "measured",
    "useful_answered",
    "useful_agreed",
    "fit_answered",
    "fit_agreed",
)

tally_table = Table(
    "tally",
    db.metadata,
    Column("office_id", Integer, ForeignKey("office.id"), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("questionnaire_version", SmallInteger, primary_key=True),
    Column("responses", Integer, nullable=False, default=0),
    *(Column(f"rung_{rung}", Integer, nullable=False, default=0) for rung in RUNGS),
    *(Column(name, Integer, nullable=False, default=0) for name in MEASURE_SUMMARY_COLUMNS),
)


class Tally(db.Model):
    """Counts and sums of one office's responses in one month, for one version."""

    __table__ = tally_table


class MeasureTally(db.Model):
    """How many took part in each measure (tiltak); "ingen" and "vet ikke" are not measures.
    How useful the last measure was is in the tally (``MEASURE_SUMMARY_COLUMNS``)."""

    __tablename__ = "measure_tally"

    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    participants: Mapped[int] = mapped_column(default=0)


# The parts of a theme's mean and its interval: how many have an index, their sum and the
# sum of their squares.
THEME_PARTS = ("n", "sum", "sumsq")


class ThemeTally(db.Model):
    """Each theme's index summed (``THEME_PARTS``) over the responses that have one; a row
    per theme, so that themes are data (a new theme in a questionnaire version is new rows,
    never a new column). No row where no response has the theme's index."""

    __tablename__ = "theme_tally"

    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    sum: Mapped[float] = mapped_column(Float, default=0.0)
    sumsq: Mapped[float] = mapped_column(Float, default=0.0)


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
    # Kept in the staff session at sign-in and compared on every request: raising it
    # (sign-out, new password, reset, deactivation, new role or offices) ends every
    # session of the account at its next request (survey.auth.sessions).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Single sign-on (survey.auth.oidc): a SHA-256 of the provider's issuer and subject for
    # an account made by an SSO sign-in, whose role and offices the provider's groups set
    # at every sign-in; None for a local account.
    sso_subject: Mapped[str | None] = mapped_column(String(64), unique=True)

    offices: Mapped[list[Office]] = relationship(secondary=account_office, order_by="Office.name")

    __table_args__ = (CheckConstraint("role IN ('admin', 'leder', 'forsker')", name="role_known"),)

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt

    def check_password(self, password: str) -> bool:
        try:
            return check_password_hash(self.password_hash, password)
        except UnicodeEncodeError:  # a lone surrogate: no password it could ever be
            return False

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


# --- Releases -------------------------------------------------------------------------------
# Everything staff and the public see is read from the current release: a frozen copy of
# the tallies of whole, ended months, and the audited decisions of which cells may be
# shown. ``survey.releases`` owns how one is made; nothing here is ever updated.


class Release(db.Model):
    """One published, audited set of figures covering every month up to ``through``."""

    __tablename__ = "release"

    # 1, 2, 3, …: a new release takes the next number, so two workers publishing at once
    # collide on the primary key and only one release is made.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    through: Mapped[date] = mapped_column(Date)  # first day of the last month covered
    k: Mapped[int] = mapped_column(Integer)
    made_by: Mapped[str] = mapped_column(String(80))
    # Cells shown and hidden per family, audit findings: never a hidden cell's count.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def end(self) -> date:
        """The first day after the last month the release covers."""
        index = self.through.year * 12 + self.through.month
        return date(index // 12, index % 12 + 1, 1)


release_tally_table = Table(
    "release_tally",
    db.metadata,
    Column("release_id", Integer, ForeignKey("release.id", ondelete="CASCADE"), primary_key=True),
    *(
        Column(
            c.name,
            c.type,
            primary_key=c.primary_key,
            nullable=c.nullable,
            default=0 if not c.primary_key else None,
        )
        for c in tally_table.columns
        if c.name != "office_id"
    ),
    Column("office_id", Integer, ForeignKey("office.id"), primary_key=True),
)


class ReleaseTally(db.Model):
    """A tally row as it was when released (one month of one office and version)."""

    __table__ = release_tally_table


class ReleaseMeasure(db.Model):
    """A measure-tally row as it was when released."""

    __tablename__ = "release_measure"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    participants: Mapped[int] = mapped_column(default=0)


class ReleaseTheme(db.Model):
    """A theme-tally row as it was when released."""

    __tablename__ = "release_theme"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    sum: Mapped[float] = mapped_column(Float, default=0.0)
    sumsq: Mapped[float] = mapped_column(Float, default=0.0)


class ReleaseCell(db.Model):
    """A cell the release's audit decided to show: a family of figures (``responses``,
    ``ladder``, ``theme:<code>``, ``measure:<code>``, ``useful``, ``fit``) for a scope
    (office id, 0 for the country) and reporting period. Hidden cells have no row."""

    __tablename__ = "release_cell"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    questionnaire_version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    scope: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    family: Mapped[str] = mapped_column(String(80), primary_key=True)
