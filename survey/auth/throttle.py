"""The sign-in throttle: slows guessing down without letting anybody aim a lockout
(issue 14; OWASP Authentication Cheat Sheet, "Protect against automated attacks").

Failed sign-ins are counted three ways, each for an hour from its first failure:

- per username and address: after ``PAIR.free`` failures that address must wait before it
  may try that username again, longer after every further failure (capped);
- per address, whatever the usernames: after ``ADDRESS.free`` failures the address waits
  (one address spraying random usernames slows only itself);
- per username, from every address: once it is under attack (``USERNAME.free``), every
  address that has *itself* failed for it waits a little after its own failure (capped, a
  slow-down, never a block).

A wait is checked before the password is, and a refused attempt is not counted. An
address that has not failed for a username is never held back by anybody else's failures
for it: a correct password from there gets through while the username is under attack
from elsewhere. A successful sign-in forgets that address's failures for that username
(not the address's own count, which an attacker could otherwise reset with an account of
their own).

Counters live in the rate limiter's storage (memory, or Redis with
``STIGEN_RATELIMIT_STORAGE``) under keyed hashes, so they share its lifetime and reach:
nothing here is written to the database or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from flask import current_app, request

from ..extensions import limiter

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Rule:
    free: int  # failures before the first wait
    first: float  # seconds of the first wait; each further failure doubles it
    cap: float  # the longest wait


PAIR = Rule(free=5, first=30, cap=15 * 60)
ADDRESS = Rule(free=20, first=30, cap=15 * 60)
USERNAME = Rule(free=10, first=5, cap=5 * 60)


# --- pure rules (no Flask) ---------------------------------------------------------------


def wait_after(rule: Rule, failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure before the next try."""
    if failures < rule.free:
        return 0.0
    return float(min(rule.first * 2 ** min(failures - rule.free, 32), rule.cap))


def pair_wait(pair_failures: int, username_failures: int) -> float:
    """The wait an address earns for a username by failing on it: its own count, or the
    username's count from everywhere when that is the longer (only addresses that fail
    for a username ever get this)."""
    return max(wait_after(PAIR, pair_failures), wait_after(USERNAME, username_failures))


def whole_minutes(seconds: float) -> int:
    """A wait as the sign-in page says it: whole minutes, at least one."""
    return max(1, math.ceil(seconds / 60))


# --- with the rate limiter's storage --------------------------------------------------------


def enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def client_address() -> str:
    """The client as the rate limiter sees it (after ``STIGEN_TRUSTED_PROXIES``)."""
    return request.remote_addr or "-"


def _key(kind: str, *parts: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(
        secret, "\x00".join((kind, *parts)).encode("utf-8", "replace"), hashlib.sha256
    ).hexdigest()[:32]
    return f"stigen-signin:{kind}:{digest}"


def _keys(username: str, address: str) -> dict[str, str]:
    return {
        "pair": _key("pair", username, address),
        "address": _key("address", address),
        "username": _key("username", username),
        "pair_hold": _key("pair-hold", username, address),
        "address_hold": _key("address-hold", address),
    }


def _remaining(storage, key: str, now: float) -> float:
    if not storage.get(key):
        return 0.0
    return max(0.0, storage.get_expiry(key) - now)


def _hold(storage, key: str, seconds: float) -> None:
    storage.clear(key)
    if seconds > 0:
        storage.incr(key, math.ceil(seconds))  # whole seconds: Redis's EXPIRE takes no others


def wait_for(username: str, address: str | None = None) -> float:
    """Seconds this address must still wait before trying ``username``: 0 to go ahead."""
    if not enabled():
        return 0.0
    keys = _keys(username, address or client_address())
    now = time.time()
    storage = limiter.storage
    return max(
        _remaining(storage, keys["pair_hold"], now), _remaining(storage, keys["address_hold"], now)
    )


def failed(username: str, address: str | None = None) -> None:
    """Count a failed sign-in and set the waits it earns."""
    if not enabled():
        return
    keys = _keys(username, address or client_address())
    storage = limiter.storage
    pair = storage.incr(keys["pair"], WINDOW_SECONDS)
    by_address = storage.incr(keys["address"], WINDOW_SECONDS)
    by_username = storage.incr(keys["username"], WINDOW_SECONDS)
    _hold(storage, keys["pair_hold"], pair_wait(pair, by_username))
    _hold(storage, keys["address_hold"], wait_after(ADDRESS, by_address))


def succeeded(username: str, address: str | None = None) -> None:
    """Forget this address's failures for this username."""
    if not enabled():
        return
    keys = _keys(username, address or client_address())
    limiter.storage.clear(keys["pair"])
    limiter.storage.clear(keys["pair_hold"])
