"""What the "Dette gjør vi" pages (``dashboard/notes.py``) and ``flask notes``
(``dashboard/note_commands.py``) both do: a note's text as stored, an office's notes, and
adding a note with its audit event. Who may read and write which office's notes is the
pages' business (``dashboard/notes.py``); the command writes as "shell".
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ..audit import record
from ..domain import periods
from ..extensions import db
from ..models import ActionNote, Office

NOTE_MAX = 600
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str | None) -> str:
    """A note's text as stored: control characters (NUL among them) removed, line
    endings made plain, surrounding space trimmed."""
    text = _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip()


def office_notes(office_id: int) -> list[ActionNote]:
    """An office's notes, newest first."""
    return list(
        db.session.scalars(
            select(ActionNote)
            .where(ActionNote.office_id == office_id)
            .order_by(ActionNote.written_on.desc(), ActionNote.id.desc())
        )
    )


def add_note(
    office: Office, you_said: str, we_do: str, account_id: int | None = None, actor=None
) -> ActionNote:
    """Add a note dated today (in Norway) to the session and audit it (as ``actor``, the
    signed-in account by default); the text is already clean and checked. The caller
    commits."""
    note = ActionNote(
        office_id=office.id,
        written_on=periods.today_in_norway(),
        you_said=you_said,
        we_do=we_do,
        account_id=account_id,
    )
    db.session.add(note)
    db.session.flush()  # the note's id, for the audit event
    record("note.create", {"office": office.slug, "note": note.id}, actor=actor)
    return note
