"""One-time access codes and the admission a used code gives. Pure: no Flask, no database.

A code is 8 characters from an alphabet without look-alikes, shown as two groups of four
("K7RM-XH4P"). Of the pairs people confuse on paper and on a phone keyboard — 0/O, 1/I/L,
5/S, 2/Z, 8/B, 6/G, Q/O, U/V — no member is in the alphabet, so a code read off a sheet can
only be typed one way, and a typed look-alike is refused with a message naming it rather
than silently turned into some other code. 20 symbols to the power 8 is about 2.6 × 10¹⁰
codes (34 bits); with the rate limit on the code form, guessing is hopeless.

A batch holds at least ``BATCH_MIN_FLOOR`` (20) codes, or the configured
``STIGEN_CODE_BATCH_MIN`` if higher (``batch_minimum``): a batch's label and its "used"
count must describe a group, never one person.

Only ``code_hash(code, key)`` is stored: an HMAC-SHA256 keyed with the app's
``SECRET_KEY``, so a copy of the code table cannot be tried against every possible code
offline without also having the key. Rotating ``SECRET_KEY`` therefore makes every unused
code invalid (their hashes no longer match), and ends every questionnaire under way on a
code-only office (their admissions no longer verify): print new codes after a rotation.

A used code gives an *admission*: a signed, timed token over the office and the form's
random nonce, carried in the questionnaire's hidden fields and never stored. It holds no
code and no hash of one, so nothing that reaches the database with a response can point
back at the code that let it in (privacy.md).
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from hashlib import sha256

from itsdangerous import BadSignature, URLSafeTimedSerializer

ALPHABET = "3479ACDEFHJKMNPRTWXY"
# Characters never in a code, each with the look-alike(s) people may have meant.
CONFUSABLE = "0O1IL5S2Z8B6GQUV"
LENGTH = 8
GROUP = 4
MAX_COUNT = 5000
# The fewest codes a batch may ever hold (issue 12): "used 1" of a batch of one, labelled
# with a name, says who answered. STIGEN_CODE_BATCH_MIN may raise it, never lower it.
BATCH_MIN_FLOOR = 20
# Typed characters that only separate groups: spaces of any kind, hyphens and dashes, dots.
SEPARATORS = set(" \t\n\r\u00a0\u2009\u202f-\u2010\u2011\u2012\u2013\u2014\u2212_.")
MAX_INPUT = 64  # anything longer is not a code typed by hand

ADMISSION_SALT = "stigen-admission"
ADMISSION_MAX_AGE = 14 * 24 * 3600  # seconds: a questionnaire left open for two weeks


class CodeError(ValueError):
    """A typed text that cannot be a code. ``reason`` is one of ``"empty"``, ``"length"``
    or ``"character"`` (then ``character`` is the first one not in the alphabet)."""

    def __init__(self, reason: str, character: str = ""):
        super().__init__(reason if not character else f"{reason}: {character!r}")
        self.reason = reason
        self.character = character


def generate(count: int, avoid: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``count`` distinct new codes (canonical form, no hyphen) from ``secrets``, none of
    them in ``avoid``."""
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be 1–{MAX_COUNT}, not {count}")
    codes: dict[str, None] = {}  # ordered and unique
    while len(codes) < count:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if code not in avoid:
            codes[code] = None
    return list(codes)


def batch_minimum(configured: int | None = None) -> int:
    """The fewest codes a batch may hold: the configured minimum, never below the floor."""
    return max(BATCH_MIN_FLOOR, configured or 0)


def display(code: str) -> str:
    """The code as printed: two groups of four joined by a hyphen."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(text: str | None) -> str:
    """The canonical code a respondent meant: upper case, separators dropped, full-width
    and other compatibility forms folded (NFKC). Raises ``CodeError`` if it cannot be a
    code at all."""
    text = unicodedata.normalize("NFKC", (text or "")[:MAX_INPUT]).upper()
    kept = "".join(ch for ch in text if ch not in SEPARATORS)
    if not kept:
        raise CodeError("empty")
    for ch in kept:
        if ch not in ALPHABET:
            raise CodeError("character", ch)
    if len(kept) != LENGTH:
        raise CodeError("length")
    return kept


def code_hash(code: str, key: str | bytes) -> str:
    """What is stored for ``code`` (canonical form): HMAC-SHA256 keyed with ``key`` (the
    app's ``SECRET_KEY``), 64 hex digits."""
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, code.encode("ascii"), sha256).hexdigest()


# --- Admission: what a used code gives the questionnaire's form -------------------------


def _serializer(key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=ADMISSION_SALT)


def admission(key: str | bytes, office_id: int, nonce: str) -> str:
    """A signed, timed token saying: this form (``nonce``) may answer for ``office_id``."""
    return _serializer(key).dumps({"office": office_id, "nonce": nonce})


@dataclass(frozen=True)
class Admission:
    office_id: int
    nonce: str


def read_admission(
    key: str | bytes, token: str | None, max_age: int = ADMISSION_MAX_AGE
) -> Admission | None:
    """The admission in ``token`` if it is genuine and not older than ``max_age`` seconds;
    None for anything else (missing, tampered, expired, malformed)."""
    if not token or len(token) > 512:
        return None
    try:
        data = _serializer(key).loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict):
        return None
    office, nonce = data.get("office"), data.get("nonce")
    if type(office) is not int or not isinstance(nonce, str):
        return None
    return Admission(office, nonce)


def admits(
    key: str | bytes,
    token: str | None,
    office_id: int,
    nonce: str,
    max_age: int = ADMISSION_MAX_AGE,
) -> bool:
    """Whether ``token`` admits the form ``nonce`` to answer for ``office_id``."""
    found = read_admission(key, token, max_age)
    return (
        found is not None
        and found.office_id == office_id
        and hmac.compare_digest(found.nonce.encode(), nonce.encode())
    )
