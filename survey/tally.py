"""The tallies dashboards read, kept in one place: what one response adds (pure), how
that is written in the submission's own transaction, and how the tallies are rebuilt
from the responses (after a bulk load, or to repair).

Which items the measures, "var nyttig" and "passet" come from, and which answers agree,
each questionnaire version says in its ``[scoring]`` table (``questionnaire.Scoring``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .models import RUNGS, THEME_PARTS, MeasureTally, Response, ThemeTally, tally_table
from .questionnaire import DONT_KNOW, Scoring

# What a version without a ``[scoring]`` table declares (every shipped version's items).
DEFAULT_SCORING = Scoring()
KEY = ("office_id", "period_start", "questionnaire_version")


def measures_taken(answers: dict, scoring: Scoring = DEFAULT_SCORING) -> list[str]:
    """The measures a response says it took part in (options such as "ingen" and "vet
    ikke", ``scoring.not_measures``, are not)."""
    taken = answers.get(scoring.measures_item) or []
    return [code for code in taken if code not in scoring.not_measures]


def increments(
    response: Response | SimpleNamespace, scoring: Scoring = DEFAULT_SCORING
) -> tuple[dict, list[dict], list[dict]]:
    """What one response adds to the tallies: the tally row's increments, one
    measure-tally row per measure taken part in, and one theme-tally row per theme it has
    an index of. Pure.

    "Tilt_nyttig" and "tilt_passet" ask about the last measure only, so they are counted
    once per response that took part in any measure (in the tally row), never per
    measure ticked, and not at all for a response that took part in none."""
    row = {"responses": 1, **{f"rung_{r}": int(response.rung == r) for r in RUNGS}}
    themes = [
        {"theme": theme, "n": 1, "sum": value, "sumsq": value**2}
        for theme, value in (response.theme_indices or {}).items()
        if value is not None
    ]
    taken = measures_taken(response.answers, scoring)
    row["measured"] = int(bool(taken))
    for item, name in ((scoring.useful_item, "useful"), (scoring.fit_item, "fit")):
        value = response.answers.get(item)
        answered = bool(taken) and value is not None and value != DONT_KNOW
        row[f"{name}_answered"] = int(answered)
        row[f"{name}_agreed"] = int(answered and value in scoring.agree)
    measures = [{"measure": code, "participants": 1} for code in taken]
    return row, measures, themes


_UPSERTS: dict[tuple, object] = {}  # (dialect, table, key, value columns) -> statement


def _upsert_many(session, table, key_columns, rows: Sequence[dict]) -> None:
    """Add each row's values to the row with the same key, or insert it; one statement
    executed for all rows. The statement is built once per dialect, table and columns
    (a submission runs this twice: building it was a third of its time)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    values = tuple(name for name in rows[0] if name not in key_columns)
    cache_key = (dialect, table.name, tuple(key_columns), values)
    statement = _UPSERTS.get(cache_key)
    if statement is None:
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = make(table)
        statement = _UPSERTS[cache_key] = statement.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={name: table.c[name] + statement.excluded[name] for name in values},
        )
    session.execute(statement, rows)


def add(session, response: Response, scoring: Scoring = DEFAULT_SCORING) -> None:
    """Add one response to the tallies, in the caller's transaction (``scoring``: its
    questionnaire version's)."""
    key = {name: getattr(response, name) for name in KEY}
    row, measures, themes = increments(response, scoring)
    add_rows(
        session,
        [key | row],
        [key | measure for measure in measures],
        [key | theme for theme in themes],
    )


def add_rows(
    session,
    tally_rows: Sequence[dict],
    measure_rows: Sequence[dict],
    theme_rows: Sequence[dict] = (),
) -> None:
    """Add ready-made increments (keyed rows) to the three tallies."""
    _upsert_many(session, tally_table, KEY, tally_rows)
    _upsert_many(session, MeasureTally.__table__, (*KEY, "measure"), measure_rows)
    _upsert_many(session, ThemeTally.__table__, (*KEY, "theme"), list(theme_rows))


class Summer:
    """Adds up the increments of many responses that repeat a few distinct ones (synthetic
    data): each distinct response's increments become one vector, once; a sum over any
    choice of them is then a C-level column sum. Pure; the result is what ``add`` would
    have written for those responses one by one."""

    # The keyed rows ``increments`` gives after the tally row: their key, and their parts
    # (the first part is a count: a keyed row whose count sums to 0 is left out).
    GROUPS = (("measure", ("participants",)), ("theme", THEME_PARTS))

    def __init__(self):
        self.names: list[str] = []
        self.rows: list[tuple] = []  # per distinct response: its tally values, in ``names``
        self.keyed: list[tuple] = []  # and per group its (code, *parts) tuples
        self.vectors: list[tuple] = []
        self.columns: list[tuple[int, str, int]] = []  # (group, code, place in a vector)

    def add(self, increments: tuple) -> int:
        """Take one distinct response's increments (as ``increments`` gives them); return
        its index."""
        row, *groups = increments
        if not self.names:
            self.names = list(row)
        self.rows.append(tuple(row[name] for name in self.names))
        self.keyed.append(
            tuple(
                tuple((entry[key], *(entry[p] for p in parts)) for entry in entries)
                for (key, parts), entries in zip(self.GROUPS, groups, strict=True)
            )
        )
        self.vectors = []
        return len(self.rows) - 1

    def _vectors(self) -> list[tuple]:
        if not self.vectors:
            self.columns, width = [], len(self.names)
            for group, (_, parts) in enumerate(self.GROUPS):
                for code in sorted({entry[0] for keyed in self.keyed for entry in keyed[group]}):
                    self.columns.append((group, code, width))
                    width += len(parts)
            where = {(group, code): at for group, code, at in self.columns}
            for row, keyed in zip(self.rows, self.keyed, strict=True):
                vector = [*row, *[0] * (width - len(self.names))]
                for group, entries in enumerate(keyed):
                    for code, *values in entries:
                        for n, value in enumerate(values):
                            vector[where[(group, code)] + n] += value
                self.vectors.append(tuple(vector))
        return self.vectors

    def sum(self, chosen) -> tuple[dict, list[dict], list[dict]]:
        """The tally row's values, the measure rows and the theme rows (without their
        key) for the responses ``chosen``: indices of added ones, repeated as they occur."""
        vectors = self._vectors()
        sums = [sum(column) for column in zip(*map(vectors.__getitem__, chosen), strict=False)]
        row = dict(zip(self.names, sums, strict=False))
        groups: list[list[dict]] = [[] for _ in self.GROUPS]
        for group, code, at in self.columns:
            key, parts = self.GROUPS[group]
            if sums[at]:
                groups[group].append(
                    {key: code, **dict(zip(parts, sums[at : at + len(parts)], strict=False))}
                )
        measures, themes = groups  # in the order of GROUPS
        return row, measures, themes


def rebuild(session, scorings: dict[int, Scoring] | None = None) -> None:
    """Recompute the tallies from the responses, in the caller's transaction: the same
    figures ``increments`` gives, as a GROUP BY per questionnaire version (each read with
    its own ``[scoring]``; ``scorings`` by version, by default every available version's)
    and one over every theme index."""
    if scorings is None:
        from . import versions

        scorings = {number: q.scoring for number, q in versions.available().items()}
    session.execute(delete(tally_table))
    session.execute(delete(MeasureTally.__table__))
    session.execute(delete(ThemeTally.__table__))
    dialect = session.get_bind().dialect.name
    r = Response.__table__.c
    stored = session.scalars(select(r.questionnaire_version).distinct()).all()
    for version in sorted(stored):
        scoring = scorings.get(version, DEFAULT_SCORING)
        columns = [
            r.office_id,
            r.period_start,
            r.questionnaire_version,
            func.count(),
            *(func.sum(case((r.rung == rung, 1), else_=0)) for rung in RUNGS),
        ]
        names = [*KEY, "responses", *(f"rung_{rung}" for rung in RUNGS)]
        measured: ColumnElement[bool] = literal_column(_measured_sql(dialect, scoring))
        columns.append(func.sum(case((measured, 1), else_=0)))
        names.append("measured")
        for item, name in ((scoring.useful_item, "useful"), (scoring.fit_item, "fit")):
            value: ColumnElement[int] = literal_column(_item_sql(dialect, item))
            columns += [
                func.sum(case((and_(measured, value.between(1, 5)), 1), else_=0)),
                func.sum(case((and_(measured, value.in_(scoring.agree)), 1), else_=0)),
            ]
            names += [f"{name}_answered", f"{name}_agreed"]
        grouped = (
            select(*columns)
            .where(r.questionnaire_version == version)
            .group_by(r.office_id, r.period_start, r.questionnaire_version)
        )
        session.execute(insert(tally_table).from_select(names, grouped))
        session.execute(text(_measure_rebuild_sql(dialect, scoring)), {"version": version})
    session.execute(text(_theme_rebuild_sql(dialect)))


def _item_sql(dialect: str, item: str) -> str:
    """A scale item's value in a response's answers, as an integer (NULL if missing)."""
    if dialect == "postgresql":
        return f"(response.answers ->> '{item}')::int"
    return f"json_extract(response.answers, '$.{item}')"


def _measures_source(dialect: str, scoring: Scoring) -> tuple[str, str]:
    """The rows of a response's measures array, and the name of one element's text.
    Item and option codes are lower snake_case ascii (``questionnaire.CODE_RE``)."""
    item = scoring.measures_item
    if dialect == "postgresql":
        return (
            f"json_array_elements_text(coalesce(response.answers -> '{item}', "
            "'[]'::json)) AS m(measure)",
            "m.measure",
        )
    return f"json_each(response.answers, '$.{item}') AS m", "m.value"


def _is_measure_sql(element: str, scoring: Scoring) -> str:
    """Whether an element of the measures array is a measure (not "ingen" and the like)."""
    if not scoring.not_measures:
        return "1 = 1"
    return f"{element} NOT IN ({', '.join(repr(code) for code in scoring.not_measures)})"


def _measured_sql(dialect: str, scoring: Scoring) -> str:
    """Whether a response took part in any measure (a boolean SQL expression)."""
    source, element = _measures_source(dialect, scoring)
    return f"(EXISTS (SELECT 1 FROM {source} WHERE {_is_measure_sql(element, scoring)}))"


def _measure_rebuild_sql(dialect: str, scoring: Scoring) -> str:
    """One INSERT … SELECT over the measures array of every response of one version
    (``:version``): JSON functions differ between SQLite and PostgreSQL, the rest is the
    same."""
    source, measure = _measures_source(dialect, scoring)
    return f"""
        INSERT INTO measure_tally (office_id, period_start, questionnaire_version, measure,
                                   participants)
        SELECT response.office_id, response.period_start, response.questionnaire_version,
               {measure}, count(*)
        FROM response, {source}
        WHERE response.questionnaire_version = :version
          AND {_is_measure_sql(measure, scoring)}
        GROUP BY response.office_id, response.period_start, response.questionnaire_version,
                 {measure}
    """


def _theme_rebuild_sql(dialect: str) -> str:
    """One INSERT … SELECT over every response's theme indices (a JSON object)."""
    if dialect == "postgresql":
        source, value = "json_each_text(response.theme_indices) AS t(key, value)", "t.value::float"
    else:
        source, value = "json_each(response.theme_indices) AS t", "t.value"
    return f"""
        INSERT INTO theme_tally (office_id, period_start, questionnaire_version, theme,
                                 n, sum, sumsq)
        SELECT response.office_id, response.period_start, response.questionnaire_version,
               t.key, count(*), sum({value}), sum({value} * {value})
        FROM response, {source}
        WHERE t.value IS NOT NULL
        GROUP BY response.office_id, response.period_start, response.questionnaire_version,
                 t.key
    """


__all__ = ["Summer", "add", "increments", "measures_taken", "rebuild"]
