"""What the export may read: the rows of the current release (``period_start`` before the
release's end), and the disclosure rule's decisions over them (``survey.export.anonymity``),
made once per release, questionnaire version and k, and kept for the life of the process.

The current release comes from ``survey.releases`` (issue 11); this module is the one place
the export asks for it, so tests can put a release in place of it.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from pathlib import Path

import orjson
from flask import current_app, has_app_context

from ..caching import Cache
from .anonymity import (
    LANGUAGE_CODES,
    OTHER,
    QI_ITEMS,
    Decisions,
    decide,
    from_json,
    to_json,
    value_code,
)

CACHE_FORMAT = "f2"  # in the file name: a new format is never read as an old one
# Decisions read or made in this process, by database, file, release, version and k: the
# file is read once. Bound: a few (release, version, k) in use at once.
_DECISIONS: Cache[tuple, Decisions] = Cache(maxsize=4)


def current_release():
    """The release everything is read from, or None before the first one; as the
    dashboards do, a month completed since the newest release is released first."""
    from .. import releases

    return releases.ensure_current()


def released_end() -> date | None:
    release = current_release()
    return None if release is None else release.end


def _iso(day: date, dialect: str):
    return day if dialect == "postgresql" else day.isoformat()


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


MONTH_BITS = 16


def released_combinations(connection, version: int, end: date) -> dict[int, int]:
    """The released rows of one questionnaire version counted by office, month and QI
    combination, each packed in one integer (``pack``). One pass over the table: the three
    items come out of each row's JSON together, and Python counts (a GROUP BY on them
    sorts a million rows, which is slower)."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        items = " || ',' || ".join(
            f"coalesce(CAST(answers -> '{code}' AS text), 'null')" for code in QI_ITEMS
        )
        sql = (
            f"SELECT office_id, period_start, language, '[' || {items} || ']' FROM response "
            "WHERE questionnaire_version = %s AND period_start < %s"
        )
        params: tuple[int, date | str] = (version, end)
    else:
        paths = ", ".join(f"'$.{code}'" for code in QI_ITEMS)
        # ``+period_start``: a full scan, not a million lookups through the period index.
        sql = (
            f"SELECT office_id, period_start, language, json_extract(answers, {paths}) "
            "FROM response WHERE questionnaire_version = ? AND +period_start < ?"
        )
        params = (version, end.isoformat())
    raw = connection.connection.driver_connection
    cursor = raw.cursor(name="stigen_export_qi") if postgres else raw.cursor()
    months: dict = {}
    triples: dict = {}
    counts: Counter = Counter()

    def month_of(start) -> int:
        day = _as_date(start)
        found = months[start] = day.year * 12 + day.month - 1
        return found

    def triple_of(text) -> int:
        values = orjson.loads(text) if text is not None else [None] * len(QI_ITEMS)
        found = triples[text] = _code(values)
        return found

    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(10_000):
            counts.update(
                (
                    office << 2 * MONTH_BITS
                    | (months[start] if start in months else month_of(start)) << MONTH_BITS
                    | LANGUAGE_CODES.get(language, OTHER) << 12
                    | (triples[items] if items in triples else triple_of(items))
                )
                for office, start, language, items in batch
            )
    finally:
        cursor.close()
    return counts


def _code(values) -> int:
    """The three items' part of a QI code (``QI_ITEMS`` order: rel_antall lowest)."""
    code = 0
    for position, value in enumerate(values):
        code |= value_code(value) << (4 * position)
    return code


def unpack(key: int) -> tuple[int, date, int]:
    office, month, code = key >> 2 * MONTH_BITS, (key >> MONTH_BITS) & 0xFFFF, key & 0xFFFF
    return office, date(month // 12, month % 12 + 1, 1), code


def compute(connection, version: int, k: int, end: date, hidden_of=None) -> Decisions:
    """The rule over the released rows (see survey.export.anonymity)."""
    counts = released_combinations(connection, version, end)
    cells: dict[tuple[int, date], int] = Counter()
    combos = []
    for key in sorted(counts):  # by office first: one office is decided at a time
        office, month, code = unpack(key)
        cells[(office, month)] += counts[key]
        combos.append((office, month, code, counts[key]))
    del counts
    hidden = hidden_of(cells) if hidden_of else set()
    return decide(cells, combos, k, end, hidden=hidden)


def shown_by_release(connection, release, version: int) -> set[tuple[int, str]]:
    """The office-months (office, "YYYY-MM") the release's own audit shows (its
    ``responses`` cells), empty when it decided none for this version."""
    from sqlalchemy import select

    from ..models import ReleaseCell

    release_id = getattr(release, "id", None)
    if release_id is None:
        return set()
    rows = connection.execute(
        select(ReleaseCell.scope, ReleaseCell.period).where(
            ReleaseCell.release_id == release_id,
            ReleaseCell.questionnaire_version == version,
            ReleaseCell.family == "responses",
        )
    ).all()
    return {(scope, period) for scope, period in rows if len(period) == 7 and scope}


def _cache_path(release, version: int, k: int) -> Path | None:
    """Where a real release's decisions are kept: they never change, and making them reads
    every released row once."""
    made_at = getattr(release, "made_at", None)
    if not isinstance(getattr(release, "id", None), int) or made_at is None:
        return None
    if not has_app_context():
        return None
    stamp = made_at.strftime("%Y%m%dT%H%M%S%f")
    return (
        Path(current_app.instance_path)
        / "export-decisions"
        / f"release-{release.id}-{stamp}-v{version}-k{k}-{CACHE_FORMAT}.json"
    )


def decisions(
    connection, version: int, k: int, release=None, *, fresh: bool = False
) -> Decisions | None:
    """The rule's decisions for the current release (None when there is none yet): made
    once per release, questionnaire version and k, then read from the instance folder."""
    release = release if release is not None else current_release()
    if release is None:
        return None
    path = _cache_path(release, version, k)
    key = (
        str(connection.engine.url),
        str(path),
        getattr(release, "id", None),
        release.end,
        version,
        k,
    )
    if path is not None and not fresh:
        found = _DECISIONS.get(key)
        if found is not None:
            return found
        if path.exists():
            return _DECISIONS.put(key, from_json(orjson.loads(path.read_bytes())))
    shown = shown_by_release(connection, release, version)

    def hidden_of(cells):  # an office-month the release's audit hides is pooled too
        if not shown:
            return set()
        return {
            (office, month)
            for office, month in cells
            if (office, f"{month.year}-{month.month:02d}") not in shown
        }

    made = compute(connection, version, k, release.end, hidden_of)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        spare = path.with_suffix(f".{os.getpid()}.tmp")
        spare.write_bytes(orjson.dumps(to_json(made)))
        os.replace(spare, path)  # whole or not at all, for other processes reading it
        _DECISIONS.put(key, made)
    return made


def forget() -> None:
    _DECISIONS.clear()
