"""The one way Stigen keeps what it has worked out, so that each cache says how large it
may grow and how an entry leaves it.

Two kinds, by what a cached value depends on:

- A pure function of its arguments (a parsed pattern, a formatted number, a quantile):
  ``functools.lru_cache`` with a ``maxsize`` stated at the function, or ``functools.cache``
  on a function of no arguments (one entry, for the life of the process).
- Anything read from outside the process (the database, a file, a provider's keys) or
  belonging to one app: a ``Cache`` below, made at the call site with its bound, and
  emptied explicitly by whoever knows what changed (``discard``, ``clear``). One that
  belongs to an app is declared as an ``AppCache``: every app (tests make many) gets its
  own, kept in ``app.extensions``, and ``clear(app)`` empties them all.

The eviction rule of a ``Cache``: when it holds ``maxsize`` entries, adding one drops the
oldest added (first in, first out). Reading takes no lock and moves nothing, so the hot
paths (a dashboard, the questionnaire's pages) pay one dictionary lookup; an entry that
leaves is only worked out again. Correctness never rests on the bound: an entry that may
become wrong is keyed by what would change it (a release's id, a row's timestamp, a
file's mtime) or dropped by ``discard``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, overload

from flask import Flask

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_EXTENSION = "stigen.caches"
_DECLARING = threading.Lock()  # making an app's cache the first time


class Cache(Generic[K, V]):
    """A mapping of at most ``maxsize`` entries; when full, adding drops the oldest added.
    Safe to share between threads: reads are single dictionary lookups, writes take the
    cache's lock."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("a cache holds at least one entry")
        self.maxsize = maxsize
        # Re-entrant: what ``get_or_make`` builds may read the same cache.
        self.lock = threading.RLock()
        self._entries: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def keys(self) -> list[K]:
        """The keys held now, oldest first."""
        return list(self._entries)

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: V) -> V: ...
    def get(self, key, default=None):
        return self._entries.get(key, default)

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` (dropping the oldest entry if full); returns it."""
        with self.lock:
            if key not in self._entries:
                while len(self._entries) >= self.maxsize:
                    del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value

    __setitem__ = put

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value under ``key``, made by ``make()`` if missing. Made under the cache's
        lock, so that threads asking together make it once (and a cache's values are made
        one at a time)."""
        try:
            return self._entries[key]
        except KeyError:
            pass
        with self.lock:
            try:
                return self._entries[key]
            except KeyError:
                return self.put(key, make())

    def discard(self, stale: Callable[[K], bool]) -> None:
        """Drop every entry whose key ``stale`` says will not be asked for again."""
        with self.lock:
            self._entries = {key: value for key, value in self._entries.items() if not stale(key)}

    def clear(self) -> None:
        with self.lock:
            self._entries = {}


class AppCache(Generic[K, V]):
    """A cache declared once in a module and held per app: ``DECLARED.of(app)`` is that
    app's ``Cache``, made empty on first use."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self.maxsize = maxsize

    def of(self, app: Flask) -> Cache[K, V]:
        caches = app.extensions.get(_EXTENSION)
        found = caches.get(self.name) if caches is not None else None
        if found is None:
            with _DECLARING:
                caches = app.extensions.setdefault(_EXTENSION, {})
                found = caches.setdefault(self.name, Cache(self.maxsize))
        return found


def clear(app: Flask) -> None:
    """Empty every cache ``app`` holds (tests and benchmarks: a process's first request)."""
    for cache in list(app.extensions.get(_EXTENSION, {}).values()):
        cache.clear()


__all__ = ["AppCache", "Cache", "clear"]
