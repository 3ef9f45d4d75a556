"""Strip from free text what a machine can find that points at a person (privacy.md):
e-mail addresses and handles, URLs, 11-digit numbers (fødselsnummer, D-nummer,
kontonummer) and phone numbers. Pure.

Matching runs on a normalised copy of the text (NFKC, so full-width digits and "＠" are
plain ones; every dash is "-", every space is " ", invisible format characters are gone),
and what it finds is cut out of the original: everything else stays exactly as written.

Numbers are read as *runs*: digit groups joined by spaces, ".", "/" or "-". A run with 11
digits is removed whatever its check digits say (a fødselsnummer or D-nummer, see
``stdnum.no.fodselsnummer``, a kontonummer in its 4.2.5 grouping, see
``stdnum.no.kontonr``, or a mistyped one); so is a run with 12 or more, any group of 8 or
more digits, and a run that starts with "+" or "00" (an international number, any country:
``phonenumbers``). In other runs, consecutive groups with 8 digits together (a Norwegian
phone number however it is grouped: "987 65 432", "98 765 432", "987/65/432") are removed
unless they read as dates, times or years ("31.12.2024", "2023-2024", "10.30-11.00").
Short numbers ("1. mai", "3 ganger", "2024") are never touched.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

REMOVED = "[fjernet]"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_LOCAL = r"[\w+-]+(?:[ \t]*\.[ \t]*[\w+-]+)*"
_AT = r"[ \t]*(?:@|\((?:at|a)\)|\[(?:at|a)\])[ \t]*"
# (pattern, a cheap search that must find something first: the two long patterns take
# time on long texts of dotted words, and most texts have no "@" and no domain at all)
_PATTERNS = (
    # e-mail addresses, also written with spaces ("ola @ gmail . com") or "(at)"
    (
        re.compile(_LOCAL + _AT + r"[\w-]+(?:[ \t]*\.[ \t]*[\w-]+)*", re.IGNORECASE),
        re.compile(r"@|[(\[]at?[)\]]", re.IGNORECASE),
    ),
    # handles ("@ola.nordmann")
    (re.compile(r"@[\w][\w.]*"), None),
    # URLs, with or without a scheme; no word boundary needed, so "1234https://…" goes too
    (re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE), None),
    (
        re.compile(r"\b[\w-]+(?:\.[\w-]+)*\.(?:no|com|net|org|io|se|dk)(?:/\S*)?\b", re.IGNORECASE),
        re.compile(r"\.(?:no|com|net|org|io|se|dk)", re.IGNORECASE),
    ),
)

# A run of digit groups; a leading "+" or "00" marks an international number.
_RUN = re.compile(r"(?<!\d)(?:(?:\+|00)[ \t]*)?\d+(?:(?:[ \t]*[./-][ \t]*|[ \t]+)\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
# What a run of 8 digits may be without being a phone number: dates, times, years.
_PIECE = (
    r"(?:(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])[./](?:\d{2}|\d{4})"
    r"|(?:[01]?\d|2[0-3])\.[0-5]\d|(?:19|20)\d\d)"
)
_HARMLESS = re.compile(rf"{_PIECE}(?:[ \t]*[-/][ \t]*{_PIECE}|[ \t]+{_PIECE})*")


def _normalise(text: str) -> tuple[str, list[int]]:
    """The text to match on, and for each of its characters the index of the original
    character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cf":  # zero-width space, soft hyphen, joiners: never a separator
            continue
        if category == "Pd" or char == "\u2212":
            plain = "-"
        elif category == "Zs":
            plain = " "
        else:
            plain = unicodedata.normalize("NFKC", char)
            plain = "".join("-" if unicodedata.category(c) == "Pd" else c for c in plain)
        chars.extend(plain)
        origin.extend([index] * len(plain))
    return "".join(chars), origin


def _harmless(piece: str) -> bool:
    return _HARMLESS.fullmatch(piece) is not None


def _international(run: str) -> bool:
    digits = re.sub(r"\D", "", run)
    if len(digits) < 7:
        return False
    try:
        number = phonenumbers.parse("+" + digits.removeprefix("00"), None)
    except phonenumbers.NumberParseException:
        return True  # "+" and a long number: whatever it is, it is not prose
    return phonenumbers.is_possible_number(number) or len(digits) >= 8


def _number_spans(run: re.Match) -> list[tuple[int, int]]:
    """The parts of a run of digit groups that are identifiers, as spans in the text."""
    text, start = run.group(), run.start()
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(text)]
    total = sum(end - begin for begin, end in groups)
    whole = [(start, run.end())]
    if text[0] in "+0" and re.match(r"(?:\+|00)", text) and _international(text):
        return whole
    if total == 11 or any(end - begin >= 8 for begin, end in groups):
        return whole
    if total >= 12:
        return [] if _harmless(text) else whole
    spans = []
    i = 0
    while i < len(groups):
        count, j = 0, i
        while j < len(groups) and count < 8:
            count += groups[j][1] - groups[j][0]
            j += 1
        piece = text[groups[i][0] : groups[j - 1][1]]
        if count == 8 and not _harmless(piece):
            spans.append((start + groups[i][0], start + groups[j - 1][1]))
            i = j
        else:
            i += 1
    return spans


def _spans(normal: str) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for pattern, first in _PATTERNS:
        if first is None or first.search(normal):
            found.extend(m.span() for m in pattern.finditer(normal))
    for run in _RUN.finditer(normal):
        found.extend(_number_spans(run))
    return found


def _cut(text: str) -> str:
    """One pass: every identifier found in the normalised text, cut from the original."""
    normal, origin = _normalise(text)
    spans = sorted((origin[s], origin[e - 1] + 1) for s, e in _spans(normal) if e > s)
    merged: list[list[int]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    for begin, end in reversed(merged):
        text = text[:begin] + REMOVED + text[end:]
    return text


def redact(text: str) -> str:
    """``text`` with every machine-findable identifier replaced by ``[fjernet]``, and
    control characters (which no database should be asked to store) removed. Runs until
    nothing changes: removing one identifier can uncover another ("…no12345678901")."""
    text = _CONTROL.sub("", text)
    for _ in range(5):
        before = text
        text = _cut(text)
        if text == before:
            break
    return text.strip()
