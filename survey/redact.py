"""Strip from free text what a machine can find that points at a person (privacy.md):
e-mail addresses, URLs, 11-digit numbers (fødselsnummer) and phone numbers. Pure."""

from __future__ import annotations

import re

REMOVED = "[fjernet]"

_PATTERNS = (
    # e-mail addresses
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.UNICODE),
    # URLs, with or without a scheme; no word boundary needed, so "1234https://…" goes too
    re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE),
    re.compile(r"\b[\w-]+(?:\.[\w-]+)*\.(?:no|com|net|org|io|se|dk)(?:/\S*)?\b", re.IGNORECASE),
    # fødselsnummer: 11 digits, perhaps split as 6+5
    re.compile(r"(?<!\d)\d{6}[ .-]?\d{5}(?!\d)"),
    # Norwegian phone numbers: optional +47/0047, then 8 digits in common groupings
    re.compile(
        r"(?<![\w+])(?:(?:\+|00)\s?47[\s.-]?)?"
        r"(?:\d{8}|\d{3}[\s.-]?\d{2}[\s.-]?\d{3}|\d{2}(?:[\s.-]?\d{2}){3}|\d{4}[\s.-]?\d{4})"
        r"(?!\d)"
    ),
)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def redact(text: str) -> str:
    """``text`` with every machine-findable identifier replaced by ``[fjernet]``, and
    control characters (which no database should be asked to store) removed. Runs until
    nothing changes: removing one identifier can uncover another ("…no12345678901")."""
    text = _CONTROL.sub("", text)
    for _ in range(5):
        before = text
        for pattern in _PATTERNS:
            text = pattern.sub(REMOVED, text)
        if text == before:
            break
    return text.strip()
