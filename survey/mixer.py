"""The mixer: moves waiting submissions from the inbox into the counted tables in
shuffled batches, so that nothing in storage orders responses in time or ties a comment
or a receipt to a response (issue 12, point 1; privacy.md, "Storage forgets order").

A submission makes one durable write, a row in ``inbox`` (``survey.respond.service``).
The mixer takes an office × period's waiting rows as a *batch* and, each in a
transaction of its own:

- **T1 responses**: the claim (a ``mix_batch`` journal row with a random id, and the
  batch id on the inbox rows), then the batch's responses, scored
  (``survey.domain.scoring.score``, here rather than in the request, which keeps the submission
  one write), added to the tallies and inserted under fresh random ids;
- **T2 comments**: the batch's free texts, as ``held`` comments;
- **T3 receipts**: the batch's nonce hashes; the batch's inbox rows and its journal row
  are deleted.

Three transactions, one per counted table, is the fewest that keeps the tables from
sharing a transaction id; the claim and the clearing ride along, since the inbox rows
they touch hold the answers, texts and nonce hash together anyway (nothing is linked
that the inbox row did not already link).

**Order.** On SQLite the four tables are WITHOUT ROWID tables keyed by random ids: a new
row lands at a random place among the others, and no column counts writes, so adding
the batch is all a step does. On PostgreSQL every row carries its writer's transaction
id (``xmin``) and lies where it was written (``ctid``), so T1–T3 also rewrite every row of
the office × period, with the new ones, in a random order, in the database (responses
under fresh ids, comments and receipts under their own keys): every live row of an
office × period then carries the last mix's transaction id and lies in a random order,
and the three tables never share a transaction.

A flush takes up to ``GROUPS_PER_STEP`` office × periods through each step together,
one batch (and journal row) each, in one transaction per step.

Each step commits its journal step (``mix_batch.step``) with its own work, so a mixer
stopped anywhere loses and duplicates nothing: a mixer stopped inside T1 leaves the rows
waiting, unclaimed; one stopped after T1 or T2 leaves a journalled batch, which every mix
and flush first finishes (``recover``). Each step locks the office's row on PostgreSQL (``FOR NO
KEY UPDATE``, which still lets submissions point at the office), so two workers mixing at
once take turns; on SQLite a step runs under ``BEGIN IMMEDIATE`` and is retried when the
database is busy.

Comments then reach the moderation queue (``held`` -> ``pending``) per office × period,
all held ones at once, when at least k are held or the period has ended: in T2 itself
when due then (on PostgreSQL inside the rewrite, so they keep its transaction id), else in
one statement when a flush finds the period ended. The moderator never sees a comment
close to when it was written, only in batches of at least k or at the period's end
(issue 11, point 6).

**When.** After a submission commits, if its office × period has at least
``batch_size`` waiting rows (the submission's own INSERT counts them), the batch is mixed
by a thread of the worker's own (``Background``), so the respondent's request is the one
durable write and the thank-you does not wait for the mix; with
``STIGEN_MIX_IN_BACKGROUND`` off it is mixed in the request, before the redirect
(``after_submission``). A worker stopped while its thread mixes leaves a journalled
batch, which the next mix finishes. The batch is ``STIGEN_MIX_BATCH``, never smaller than the smallest
group shown (k); by default max(k, 10) on PostgreSQL, where waiting rows show their
arrival order, and max(k, 50) on SQLite, where they lie in the order of their random key;
on PostgreSQL it is also at least a tenth of the office × period (``REWRITE_SHARE``), so
that a submission costs about ten row rewrites however large an office's month grows. ``flush(before)`` mixes every waiting row, whatever the count, of
periods starting before ``before`` (or all): releases call it first. ``flask mix`` (ended
periods; with ``--all`` everything) is for a nightly cron or NAIS job, and on PostgreSQL it
then runs VACUUM on the rewritten tables, so the dead versions of the rows (with their old
transaction ids and places) do not wait for autovacuum.

What is left to someone who runs the database: the inbox holds up to one batch per
office × period, in arrival order on PostgreSQL (their own transaction ids) until it is
mixed; the write-ahead log, its archives and backups hold every write as it happened; on
PostgreSQL the dead versions of rewritten rows stay in their pages until VACUUM; on
SQLite which B-tree page a row sits on says a little about when the page was split (see
docs/privacy-model.md).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import date
from functools import partial
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import caching, tally, versions
from .domain.periods import coarse_date, today_in_norway
from .domain.scoring import SCORING_VERSION, score
from .extensions import db
from .models import (
    Comment,
    Inbox,
    MixBatch,
    Office,
    Response,
    SubmissionReceipt,
)

# The journal's steps: a batch's row says the last step committed. CLAIMED alone is only
# found in a journal left by a Stigen that claimed in a transaction of its own (before T1
# took the claim in); recovery still finishes it, as it finishes a batch left after its
# receipts by a Stigen that cleared the inbox in a fourth transaction.
CLAIMED, RESPONSES, COMMENTS, RECEIPTS = 0, 1, 2, 3
BUSY_TRIES = 8  # a step retried this often when SQLite says the database is busy
# A flush takes this many office × periods through each step in one transaction: one
# commit for many small rewrites (all of them then share a transaction id, which says
# nothing more than that they were mixed by the same flush).
GROUPS_PER_STEP = 50

# For crash tests: called with the step just committed (RESPONSES..RECEIPTS); a test makes
# it raise or end the process, as a crash between two steps would.
after_step: Callable[[int], None] | None = None


# PostgreSQL rewrites the whole office × period at each mix (see ``_reorders``), so a batch
# is at least this share of it: each submission then costs a bounded number of row
# rewrites (about REWRITE_SHARE), however large the office's month grows.
REWRITE_SHARE = 10


# The size of each office × period as this app, in this process, last mixed it: a hint
# for the batch size, never a count shown or stored (another process's mixes make it a
# little stale, and one that left the cache is learnt again at the next mix). Bound:
# every office's open periods.
GROUP_SIZES: caching.AppCache[tuple[int, date], int] = caching.AppCache(
    "mixed group sizes", maxsize=4096
)


def _group_sizes() -> caching.Cache[tuple[int, date], int]:
    return GROUP_SIZES.of(current_app)


# The default batch where waiting rows show their arrival order (PostgreSQL: transaction
# ids), so they wait briefly; and where they do not (SQLite: keyed by the nonce's hash),
# so a larger batch spreads a mix's fixed cost (five short transactions) over more
# submissions at no cost to anonymity.
BATCH_ORDERED, BATCH_UNORDERED = 10, 50


def batch_size(group: tuple[int, date] | None = None) -> int:
    """How many waiting submissions of an office × period make a batch mixed at once:
    the configured size (default max(k, 10) on PostgreSQL, max(k, 50) on SQLite; never
    below k), and on PostgreSQL at least a tenth of the office × period, which each mix
    rewrites."""
    configured = current_app.config.get("STIGEN_MIX_BATCH")
    k = current_app.config["STIGEN_K"]
    ordered = db.engine.dialect.name == "postgresql"
    smallest = max(
        int(configured) if configured else BATCH_ORDERED if ordered else BATCH_UNORDERED, k
    )
    held = _group_sizes().get(group, 0) if group is not None else 0
    return max(smallest, -(-held // REWRITE_SHARE))


# --- entry points ---------------------------------------------------------------------------


def after_submission(office_id: int, period_start: date, waiting: int) -> int:
    """Mix the office × period if a batch has gathered (``waiting``: how many wait, as
    the submission's own INSERT counted them, ``survey.respond.service``): in the
    worker's mixing thread (``Background``), or here with ``STIGEN_MIX_IN_BACKGROUND``
    off. Returns how many were mixed here. The submission is stored already: a failure
    here is logged and left to the next mix (its rows wait in the inbox, or in a
    journalled batch that recovery finishes)."""
    try:
        if waiting < batch_size((office_id, period_start)):
            return 0
        if current_app.config.get("STIGEN_MIX_IN_BACKGROUND"):
            Background.of(current_app).put((office_id, period_start))
            return 0
        return mix(office_id, period_start)
    except Exception as error:  # noqa: BLE001 - stored already; the next mix tries again
        # The kind of error only: a database error's text would carry the rows' values.
        db.session.rollback()
        current_app.logger.warning(
            "Mixing after a submission failed (%s); it is left waiting.", type(error).__name__
        )
        return 0


class Background:
    """The worker's mixing thread: mixes the office × periods handed to it, one at a
    time, each as ``mix`` does (journalled, so a worker stopped mid-mix loses nothing:
    the next mix finishes its batch). Started in the process that first needs it (after
    gunicorn's fork), one per app; an office × period already waiting is not queued
    twice. ``drain`` waits until nothing is left (tests, and a clean stop)."""

    def __init__(self, app):
        self.app = app
        self.pending: set[tuple[int, date]] = set()
        self.queue: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = 0

    @classmethod
    def of(cls, app) -> Background:
        app = getattr(app, "_get_current_object", lambda: app)()  # the app, not its proxy
        if "stigen_mixer" not in app.extensions:
            app.extensions["stigen_mixer"] = cls(app)
        return app.extensions["stigen_mixer"]

    def put(self, group: tuple[int, date]) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive() or self.pid != os.getpid():
                # A forked worker holds a copy of its parent's object but none of its
                # threads: start this process's own.
                self.queue, self.pending, self.pid = queue.Queue(), set(), os.getpid()
                self.thread = threading.Thread(target=self._run, name="stigen-mixer", daemon=True)
                self.thread.start()
            if group in self.pending:
                return
            self.pending.add(group)
        self.queue.put(group)

    def drain(self) -> None:
        self.queue.join()

    def _run(self) -> None:
        while True:
            group = self.queue.get()
            with self.lock:
                self.pending.discard(group)
            try:
                with self.app.app_context():
                    mix(*group)
            except Exception as error:  # noqa: BLE001 - stored already; the next mix tries
                # The kind of error only: a database error's text would carry the rows.
                self.app.logger.warning(
                    "Mixing in the background failed (%s); it is left waiting.",
                    type(error).__name__,
                )
            finally:
                self.queue.task_done()


def drain(app) -> None:
    """Wait until the worker's mixing thread has mixed everything handed to it."""
    background = app.extensions.get("stigen_mixer")
    if background is not None and background.pid == os.getpid():
        background.drain()


def mix(office_id: int, period_start: date) -> int:
    """Finish journalled batches, then mix the waiting rows of one office × period (its
    held comments released in the rewrite if due). Returns how many were mixed."""
    with _session() as session:
        _recover(session)
        return _mix_waiting(session, [(office_id, period_start)])


def flush(before: date | None = None) -> int:
    """Mix every waiting submission (of periods starting before ``before``, or all),
    whatever the count, and release held comments that are due. Returns how many
    submissions were mixed. Runs in sessions of its own: call it with no write under way
    in ``db.session`` (on SQLite that write would hold the lock this needs)."""
    mixed = 0
    with _session() as session:
        _recover(session)
        query = (
            select(Inbox.office_id, Inbox.period_start).where(Inbox.batch_id.is_(None)).distinct()
        )
        if before is not None:
            query = query.where(Inbox.period_start < before)
        groups = sorted(session.execute(query).all())
        session.rollback()
        for at in range(0, len(groups), GROUPS_PER_STEP):
            mixed += _mix_waiting(session, groups[at : at + GROUPS_PER_STEP])
        held = session.execute(
            select(Comment.office_id, Comment.period_start)
            .where(Comment.status == "held")
            .distinct()
        ).all()
        session.rollback()
        for office_id, period_start in held:
            _release(session, office_id, period_start)
    return mixed


def recover() -> int:
    """Finish every batch in the journal (a mixer stopped between steps). Returns how
    many batches were finished."""
    with _session() as session:
        return _recover(session)


def _recover(session: Session) -> int:
    batches = sorted(
        session.execute(select(MixBatch.office_id, MixBatch.period_start, MixBatch.id)).all()
    )
    session.rollback()
    for at in range(0, len(batches), GROUPS_PER_STEP):
        _run(session, batches[at : at + GROUPS_PER_STEP], recovering=True)
    return len(batches)


# --- the steps ------------------------------------------------------------------------------


def _mix_waiting(session: Session, groups: list[tuple[int, date]]) -> int:
    """Claim the waiting rows of ``groups`` (office × periods), one batch each, and take
    the batches through the steps together: each step one transaction for them all, the
    claim in the first (T1), so that a mixer stopped inside it leaves the rows waiting."""
    batches = [(office_id, period_start, uuid.uuid4()) for office_id, period_start in groups]
    known = versions.available()  # once for all the batches, not once each

    def claim_and_respond() -> tuple[int, list]:
        claimed, kept = 0, []
        for office_id, period_start, batch_id in batches:
            batch = _claim(session, batch_id, office_id, period_start)
            if batch:
                _responses(session, batch, office_id, period_start, known)
                session.execute(
                    insert(MixBatch).values(
                        id=batch_id, office_id=office_id, period_start=period_start, step=RESPONSES
                    )
                )
                claimed += len(batch)
                kept.append((office_id, period_start, batch_id))
        return claimed, kept

    claimed, kept = _step(session, [office for office, _, _ in batches], claim_and_respond)
    if not kept:
        return 0
    _done(RESPONSES)
    _run(session, kept)
    return claimed


def _run(
    session: Session, batches: Sequence[tuple[int, date, uuid.UUID]], recovering: bool = False
) -> None:
    """Take claimed batches through the steps they have not yet committed: each step in
    one transaction for all of them, each batch's journal row moving with its work.
    Only ``recover`` meets a batch that T1 has not finished (claimed by an older Stigen)."""
    offices = [office_id for office_id, _, _ in batches]
    steps: list[tuple[int, Callable]] = [(COMMENTS, _comments), (RECEIPTS, _receipts)]
    if recovering:
        steps.insert(0, (RESPONSES, partial(_responses, known=versions.available())))
        steps.append((RECEIPTS + 1, _clear))  # after an older Stigen's receipts step
    for number, work in steps:

        def step(number=number, work=work) -> int:
            return sum(
                _journalled(session, batch_id, number, office_id, period_start, work)
                for office_id, period_start, batch_id in batches
            )

        if _step(session, offices, step):
            _done(number)


def _done(number: int) -> None:
    if after_step is not None:
        after_step(number)


def _step(session: Session, offices: list[int], work: Callable[[], object]):
    """Run ``work`` in a transaction of its own holding the offices' locks (taken in
    the order of their ids, so that two mixers cannot deadlock), and commit; retried
    while SQLite is busy. Returns what ``work`` returned."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for attempt in range(BUSY_TRIES):
        try:
            if postgres:
                session.execute(
                    select(Office.id)
                    .where(Office.id.in_(sorted(set(offices))))
                    .order_by(Office.id)
                    .with_for_update(key_share=True)
                )
                result = work()
                session.commit()
                return result
            # Take the write lock before reading, so the rows read are the rows rewritten.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            result = work()
            session.commit()
            return result
        except OperationalError as error:
            session.rollback()
            busy = "locked" in str(error) or "busy" in str(error)
            if postgres or not busy or attempt == BUSY_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
        except BaseException:
            session.rollback()
            raise
    return None  # not reached


@contextmanager
def _session():
    """A session of the mixer's own, on one connection held throughout. On SQLite its
    steps commit without waiting for the disk (WAL with ``synchronous=NORMAL``), as they
    do on PostgreSQL (``synchronous_commit = off``, set in each step). Safe: a step lost
    to a power cut takes its journal step with it, and every later one too (the log is
    written in order), so the next mix redoes it from the inbox rows, which only the last
    step deletes; the submission's own write stays fully durable. The connection gets
    its setting back before it returns to the pool."""
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            was = int(raw.execute("PRAGMA synchronous").fetchone()[0])
            raw.execute("PRAGMA synchronous=NORMAL")
        else:
            # For the connection, once: set in each step it cost a round trip per step.
            connection.exec_driver_sql("SET synchronous_commit = off")
            connection.commit()
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            if connection.in_transaction():
                connection.rollback()
            if sqlite:
                raw.execute(f"PRAGMA synchronous={was}")
            elif not connection.invalidated:
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()


def _claim(
    session: Session, batch_id: uuid.UUID, office_id: int, period_start: date
) -> list[Inbox]:
    """Mark the office × period's waiting rows as the batch; returns them (one round
    trip: UPDATE … RETURNING). The caller journals the batch in the same transaction."""
    return list(
        session.scalars(
            update(Inbox)
            .where(
                Inbox.office_id == office_id,
                Inbox.period_start == period_start,
                Inbox.batch_id.is_(None),
            )
            .values(batch_id=batch_id)
            .returning(Inbox),
            execution_options={"synchronize_session": False},
        )
    )


def _journalled(
    session: Session, batch_id: uuid.UUID, number: int, office_id: int, period_start: date, work
) -> bool:
    """Do step ``number`` of the batch if the journal says it is next (a concurrent
    mixer may have done it), and record it, in the same transaction."""
    step = session.scalar(select(MixBatch.step).where(MixBatch.id == batch_id))
    if step is None or step != number - 1:
        return False
    batch = session.execute(select(Inbox).where(Inbox.batch_id == batch_id)).scalars().all()
    work(session, batch, office_id, period_start)
    if number >= RECEIPTS:
        session.execute(delete(MixBatch).where(MixBatch.id == batch_id))
    else:
        session.execute(update(MixBatch).where(MixBatch.id == batch_id).values(step=number))
    return True


def _reorders(session: Session) -> bool:
    """Whether a mix rewrites the whole office × period. On PostgreSQL, yes: every row
    carries its writer's transaction id (``xmin``) and lies where it was written
    (``ctid``), so only rows written again together, in a random order, forget when they
    came. On SQLite, no: the tables are WITHOUT ROWID tables keyed by random ids, so a new
    row lands at a random place among the others and no column counts writes."""
    return session.get_bind().dialect.name == "postgresql"


def _rewrite(
    session: Session,
    table,
    office_id: int,
    period_start: date,
    new: list[dict],
    change: dict | None = None,
) -> None:
    """Add ``new`` to the office × period of ``table``; on PostgreSQL then move every row
    of it (keys kept, every column copied, whoever added it) to a new place in a random
    order, in one statement done by the database. ``change`` sets columns on rows
    matching a condition, as {column: (value where, new value)}, in the same rewrite."""
    if new:
        session.execute(insert(table), new)
    where = (table.c.office_id == office_id, table.c.period_start == period_start)
    if not _reorders(session):
        for column, (was, becomes) in (change or {}).items():
            session.execute(
                update(table).where(*where, table.c[column] == was).values({column: becomes})
            )
        return
    names = [column.name for column in table.columns]
    values = []
    for name in names:
        if change and name in change:
            values.append(f"CASE WHEN {name} = :was_{name} THEN :becomes_{name} ELSE {name} END")
        else:
            values.append(name)
    parameters = {"office_id": office_id, "period_start": period_start}
    for name, (was, becomes) in (change or {}).items():
        parameters |= {f"was_{name}": was, f"becomes_{name}": becomes}
    # The rows under each key are deleted and inserted again by the same statement: the
    # unique check sees the old version as deleted by this transaction.
    session.execute(
        text(
            f"WITH moved AS (DELETE FROM {table.name} WHERE office_id = :office_id "
            f"AND period_start = :period_start RETURNING {', '.join(names)}) "
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"SELECT {', '.join(values)} FROM moved ORDER BY random()"
        ),
        parameters,
    )


def _complete(table, row: dict) -> dict:
    """``row`` with every column of ``table``: the rest at their scalar defaults or None,
    so all rows of one INSERT have the same keys."""
    full = {}
    for column in table.columns:
        if column.key in row:
            full[column.key] = row[column.key]
        elif column.default is not None and column.default.is_scalar:
            full[column.key] = column.default.arg
        else:
            full[column.key] = None
    return full


def _responses(
    session: Session, batch: list[Inbox], office_id: int, period_start: date, known: dict
) -> None:
    table = Response.__table__
    new = []
    for row in batch:
        questionnaire = known.get(row.questionnaire_version)
        if questionnaire is None:
            raise RuntimeError(
                f"questionnaire version {row.questionnaire_version} is not "
                "available: its waiting responses cannot be scored"
            )
        scores = score(questionnaire, row.answers)
        new.append(
            _complete(
                table,
                {
                    "id": uuid.uuid4(),
                    "office_id": office_id,
                    "period_start": period_start,
                    "questionnaire_version": row.questionnaire_version,
                    "language": row.language,
                    "answers": row.answers,
                    "scoring_version": SCORING_VERSION,
                    "rung": scores.rung,
                    "band": scores.band,
                    "theme_indices": scores.stored_indices,
                },
            )
        )
    _renumber(session, table, office_id, period_start, new)
    _add_to_tallies(session, new, known)


def _renumber(session: Session, table, office_id: int, period_start: date, new: list[dict]) -> None:
    """Add ``new`` to the office × period; on PostgreSQL (``_reorders``) then move every
    row of it to a fresh random id in a random order, deleted and inserted again by one
    statement done by the database. The answers never travel through Python (the rewrite
    is the mixer's main cost), and the ids new rows were inserted under never outlive this
    transaction."""
    if new:
        session.execute(insert(table), new)
    if not _reorders(session):
        return
    names = ", ".join(column.name for column in table.columns if column.key != "id")
    moved = session.execute(
        text(
            f"WITH moved AS (DELETE FROM {table.name} WHERE office_id = :office_id "
            f"AND period_start = :period_start RETURNING {names}) "
            f"INSERT INTO {table.name} (id, {names}) "
            f"SELECT gen_random_uuid(), {names} FROM moved ORDER BY random()"
        ),
        {"office_id": office_id, "period_start": period_start},
    )
    # DML returns a CursorResult; typed as Result
    _group_sizes().put((office_id, period_start), moved.rowcount)  # type: ignore[attr-defined]


def _add_to_tallies(session: Session, new: list[dict], known: dict) -> None:
    """The new responses' increments (each by its version's ``[scoring]``, from the
    questionnaires ``known``), summed per tally row first (one upsert per key)."""
    rows: dict[tuple, dict] = {}
    keyed: tuple[dict[tuple, dict], ...] = ({}, {})  # measure rows, theme rows
    names = ("measure", "theme")
    for response in new:
        key = tuple(response[name] for name in tally.KEY)
        scoring = known[response["questionnaire_version"]].scoring
        row, *groups = tally.increments(SimpleNamespace(**response), scoring)
        total = rows.setdefault(key, dict.fromkeys(row, 0))
        for name, value in row.items():
            total[name] += value
        for sums, name, entries in zip(keyed, names, groups, strict=True):
            for entry in entries:
                parts = sums.setdefault(
                    (*key, entry[name]), {part: 0 for part in entry if part != name}
                )
                for part, value in entry.items():
                    if part != name:
                        parts[part] += value
    tally.add_rows(
        session,
        [dict(zip(tally.KEY, key, strict=True)) | row for key, row in rows.items()],
        *(
            [dict(zip((*tally.KEY, name), key, strict=True)) | parts for key, parts in sums.items()]
            for sums, name in zip(keyed, names, strict=True)
        ),
    )


def _comments(session: Session, batch: list[Inbox], office_id: int, period_start: date) -> None:
    table = Comment.__table__
    new = [
        _complete(
            table,
            {
                "id": uuid.uuid4(),
                "office_id": office_id,
                "period_start": period_start,
                "questionnaire_version": row.questionnaire_version,
                "language": row.language,
                "item_code": code,
                "body": body,
                "status": "held",
            },
        )
        for row in batch
        for code, body in sorted(row.texts.items())
        if body
    ]

    # Released in the rewrite itself when due, so that on PostgreSQL every comment of the
    # office × period keeps one transaction id, not one per release.
    held = (
        len(new)
        + session.scalars(
            select(func.count())
            .select_from(table)
            .where(
                table.c.office_id == office_id,
                table.c.period_start == period_start,
                table.c.status == "held",
            )
        ).one()
    )
    due = held and _due(held, period_start)
    _rewrite(
        session,
        table,
        office_id,
        period_start,
        new,
        change={"status": ("held", "pending")} if due else None,
    )


def _due(held: int, period_start: date) -> bool:
    """Whether ``held`` comments of a period starting ``period_start`` go to the queue:
    at least k of them, or the period has ended (its start is before the current one's)."""
    precision = current_app.config["STIGEN_DATE_PRECISION"]
    ended = period_start < coarse_date(today_in_norway(), precision)
    return held >= current_app.config["STIGEN_K"] or ended


def _receipts(session: Session, batch: list[Inbox], office_id: int, period_start: date) -> None:
    """The receipts, and the batch's inbox rows deleted (its journal row goes with them,
    ``_journalled``): after this nothing of the batch waits."""
    table = SubmissionReceipt.__table__
    _clear(session, batch, office_id, period_start)
    _rewrite(
        session,
        table,
        office_id,
        period_start,
        [
            _complete(
                table,
                {
                    "nonce_hash": row.nonce_hash,
                    "office_id": office_id,
                    "period_start": period_start,
                },
            )
            for row in batch
        ],
    )


def _clear(session: Session, batch: list[Inbox], office_id: int, period_start: date) -> None:
    session.execute(delete(Inbox).where(Inbox.nonce_hash.in_([row.nonce_hash for row in batch])))


# --- held comments to the moderation queue --------------------------------------------------


def _release(session: Session, office_id: int, period_start: date) -> int:
    """``held`` -> ``pending`` for the office × period, in one statement, when at least k
    are held or the period has ended (its start is before the current period's)."""

    def work() -> int:
        held = session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.office_id == office_id,
                Comment.period_start == period_start,
                Comment.status == "held",
            )
        )
        if not held or not _due(held, period_start):
            return 0
        return session.execute(
            update(Comment)
            .where(
                Comment.office_id == office_id,
                Comment.period_start == period_start,
                Comment.status == "held",
            )
            .values(status="pending")
        ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult; typed as Result

    return _step(session, [office_id], work)


# --- flask mix ------------------------------------------------------------------------------


def vacuum() -> None:
    """PostgreSQL: VACUUM the rewritten tables, outside a transaction, so the dead
    versions of rewritten rows (their old transaction ids and places) are cleared now
    rather than when autovacuum comes by. Nothing to do on SQLite (secure_delete)."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.rollback()  # an open snapshot would keep the dead versions VACUUM is to clear
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in (
            "inbox",
            "mix_batch",
            "response",
            "comment",
            "submission_receipt",
            "tally",
            "measure_tally",
            "theme_tally",
        ):
            connection.execute(text(f"VACUUM {name}"))


@click.command("mix")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Mix every waiting submission, also of the running period.",
)
@with_appcontext
def mix_command(everything: bool) -> None:
    """Mix waiting submissions into the counted tables (ended periods; --all for all)."""
    precision = current_app.config["STIGEN_DATE_PRECISION"]
    before = None if everything else coarse_date(today_in_norway(), precision)
    mixed = flush(before)
    vacuum()
    click.echo(f"Mixed {mixed} waiting submissions.")


__all__ = [
    "Background",
    "after_submission",
    "batch_size",
    "drain",
    "flush",
    "mix",
    "mix_command",
    "recover",
    "vacuum",
]
