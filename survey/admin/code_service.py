"""What the access-code pages (``admin/codes.py``) and ``flask codes``
(``admin/code_commands.py``) both do: a new batch of codes, the batches' counts, deleting
a batch's unused codes, and the CSV file a batch is handed over in. The codes themselves
(drawing, hashing, display) are in ``survey.domain.access_codes``.

A code exists in clear text only in what ``new_batch`` returns; the table keeps its keyed
hash, the office, the batch label and used/unused (privacy.md).
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select

from .. import audit
from ..domain import access_codes
from ..export.csvfile import CsvFormat, encode, guard
from ..extensions import db
from ..models import AccessCode, Office

CHUNK = 500


class BatchTooSmall(ValueError):
    """A batch below ``batch_minimum()``: its label and "used" count could name a person."""

    def __init__(self, minimum: int):
        super().__init__(f"a batch holds at least {minimum} codes")
        self.minimum = minimum


def batch_minimum() -> int:
    """The fewest codes a batch may hold here (``STIGEN_CODE_BATCH_MIN``, never below 20)."""
    return access_codes.batch_minimum(current_app.config.get("STIGEN_CODE_BATCH_MIN"))


def too_small_message(minimum: int) -> str:
    """Why a batch below ``minimum`` is refused, for the admin page and ``flask codes``."""
    return _(
        "En bunke må ha minst %(min)d koder, så den aldri kan peke ut én person. "
        "Skriv et antall fra %(min)d til %(max)d.",
        min=minimum,
        max=access_codes.MAX_COUNT,
    )


def set_codes_required(office: Office, required: bool, actor=None) -> bool:
    """Switch ``office`` to codes only (``required``) or to its open link, and audit it,
    unless it is so already. Returns whether it changed; the caller commits."""
    if required == office.codes_required:
        return False
    office.codes_required = required
    audit.record("codes.mode", {"office": office.slug, "codes_required": required}, actor=actor)
    return True


def new_batch(office: Office, count: int, batch: str) -> list[str]:
    """Add ``count`` new codes for ``office`` under the label ``batch`` to the session (the
    caller audits and commits) and return them, canonical, in clear text: the only time
    they exist so. ``BatchTooSmall`` below ``batch_minimum()``."""
    minimum = batch_minimum()
    if count < minimum:
        raise BatchTooSmall(minimum)
    key = current_app.config["SECRET_KEY"]
    fresh = access_codes.generate(count)
    while True:
        hashes = {access_codes.code_hash(code, key): code for code in fresh}
        taken = set()
        digests = list(hashes)
        for at in range(0, len(digests), CHUNK):
            chunk = digests[at : at + CHUNK]
            taken |= set(
                db.session.scalars(
                    select(AccessCode.code_hash).where(AccessCode.code_hash.in_(chunk))
                )
            )
        if not taken:
            break
        # An existing code was drawn again (rare): draw replacements for those only.
        keep = [code for digest, code in hashes.items() if digest not in taken]
        fresh = keep + access_codes.generate(len(taken), avoid=set(keep))
    db.session.execute(
        insert(AccessCode),
        [
            {"code_hash": digest, "office_id": office.id, "batch": batch, "used": False}
            for digest in hashes
        ],
    )
    return fresh


def batch_counts(office_id: int | None = None) -> list[tuple[int, str, int, int]]:
    """(office id, batch, used, unused) for every batch, by office and batch label."""
    used = func.sum(case((AccessCode.used.is_(True), 1), else_=0))
    statement = (
        select(AccessCode.office_id, AccessCode.batch, used, func.count() - used)
        .group_by(AccessCode.office_id, AccessCode.batch)
        .order_by(AccessCode.office_id, AccessCode.batch)
    )
    if office_id is not None:
        statement = statement.where(AccessCode.office_id == office_id)
    return [(o, b, int(u or 0), int(n or 0)) for o, b, u, n in db.session.execute(statement)]


def delete_unused(office: Office, batch: str) -> int:
    """Delete the unused codes of ``batch``; used ones stay, to be counted."""
    result = db.session.execute(
        delete(AccessCode).where(
            AccessCode.office_id == office.id, AccessCode.batch == batch, AccessCode.used.is_(False)
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML returns a CursorResult; typed as Result


def csv_bytes(
    office: Office, batch: str, clear: list[str], link: str, fmt: CsvFormat = CsvFormat()
) -> bytes:
    """The codes as CSV: one line per code with its batch, the office and its link."""
    rows = ([access_codes.display(code), guard(batch), guard(office.name), link] for code in clear)
    return b"".join(encode(["code", "batch", "office", "link"], rows, fmt))


def file_label(text: str) -> str:
    """A batch label as a safe piece of a file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "koder"
