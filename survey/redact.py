"""Strip from free text what a machine can find that points at a person (privacy.md):
e-mail addresses, URLs, 11-digit numbers (fødselsnummer) and phone numbers. Pure."""

from __future__ import annotations

import re

REMOVED = "[fjernet]"

_PATTERNS = (
    # e-mail addresses
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.UNICODE),
    # URLs, with or without a scheme
    re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE),
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


def redact(text: str) -> str:
    """``text`` with every machine-findable identifier replaced by ``[fjernet]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(REMOVED, text)
    return text.strip()
