"""Themes as data (issue 18): a questionnaire version with a new theme needs no migration.

Reviewed by hand. A response's theme indices move from one column per theme
(``medvirkning_index`` …) into one JSON object ``response.theme_indices`` ({theme: index},
only the themes the response has an index of), and the tallies' three columns per theme
(``<theme>_n``, ``_sum``, ``_sumsq``, on ``tally`` and ``release_tally``) into rows of
``theme_tally`` and ``release_theme`` (one per office, month, version and theme; none where
no response has the theme's index). Releases keep exactly the figures they were audited on.

The response rows are rewritten: on SQLite the table is recreated (WITHOUT ROWID, as
0005 made it) and filled in random order; on PostgreSQL one UPDATE in this transaction
rewrites each row in its stored (already random) order, with one transaction id for all.

Downgrade puts the four themes that had columns back into their columns; the indices
and tallies of any other theme (a version published after this revision) are lost.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The themes that had columns before this revision.
THEMES = ("medvirkning", "stigma", "talmodighet", "relasjon")
PARTS = ("n", "sum", "sumsq")
KEY = ("office_id", "period_start", "questionnaire_version")
RESPONSE_INDEXES = {
    "ix_response_office_period": ["office_id", "period_start"],
    "ix_response_period": ["period_start"],
}


def _response_columns(with_json: bool) -> list:
    """The response table after (``with_json``) or before this revision."""
    if with_json:
        scores = [sa.Column("theme_indices", sa.JSON(), nullable=False)]
        checks = []
    else:
        scores = [sa.Column(f"{theme}_index", sa.Float(), nullable=True) for theme in THEMES]
        checks = [
            sa.CheckConstraint(
                f"{theme}_index IS NULL OR {theme}_index BETWEEN 0 AND 100",
                name=f"{theme}_index_range",
            )
            for theme in THEMES
        ]
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("scoring_version", sa.SmallInteger(), nullable=False),
        sa.Column("rung", sa.SmallInteger(), nullable=True),
        sa.Column("band", sa.SmallInteger(), nullable=True),
        *scores,
        sa.CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
        sa.CheckConstraint("rung IS NULL OR rung BETWEEN 1 AND 8", name="rung_range"),
        sa.CheckConstraint("band IS NULL OR band BETWEEN 1 AND 3", name="band_range"),
        *checks,
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]


COMMON = [
    "id",
    "office_id",
    "period_start",
    "questionnaire_version",
    "language",
    "answers",
    "scoring_version",
    "rung",
    "band",
]


def _sqlite_rewrite_response(with_json: bool, scores: list[str], values: list[str]) -> None:
    """Recreate ``response`` (SQLite) with the new columns, filled in random order."""
    op.create_table("response_new", *_response_columns(with_json), sqlite_with_rowid=False)
    names = ", ".join(COMMON + scores)
    selected = ", ".join(COMMON + values)
    op.execute(
        f"INSERT INTO response_new ({names}) SELECT {selected} FROM response ORDER BY random()"
    )
    op.drop_table("response")
    op.rename_table("response_new", "response")
    for index, on in RESPONSE_INDEXES.items():
        op.create_index(index, "response", on)


def _theme_table(name: str, released: bool) -> None:
    op.create_table(
        name,
        *([sa.Column("release_id", sa.Integer(), nullable=False)] if released else []),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("theme", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("sumsq", sa.Float(), nullable=False),
        *(
            [sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE")]
            if released
            else []
        ),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint(*(["release_id"] if released else []), *KEY, "theme"),
    )


def upgrade():
    _theme_table("theme_tally", released=False)
    _theme_table("release_theme", released=True)
    for source, target, head in (
        ("tally", "theme_tally", []),
        ("release_tally", "release_theme", ["release_id"]),
    ):
        keys = ", ".join([*head, *KEY])
        for theme in THEMES:
            op.execute(
                f"INSERT INTO {target} ({keys}, theme, n, sum, sumsq) "
                f"SELECT {keys}, '{theme}', {theme}_n, {theme}_sum, {theme}_sumsq "
                f"FROM {source} WHERE {theme}_n > 0"
            )
        with op.batch_alter_table(source) as batch:
            for theme in THEMES:
                for part in PARTS:
                    batch.drop_column(f"{theme}_{part}")

    if op.get_bind().dialect.name == "sqlite":
        # json_patch with a null member drops it: only the themes with an index stay.
        pairs = ", ".join(f"'{theme}', {theme}_index" for theme in THEMES)
        _sqlite_rewrite_response(
            True, ["theme_indices"], [f"json_patch('{{}}', json_object({pairs}))"]
        )
    else:
        op.add_column("response", sa.Column("theme_indices", sa.JSON(), nullable=True))
        pairs = ", ".join(f"'{theme}', {theme}_index" for theme in THEMES)
        op.execute(
            f"UPDATE response SET theme_indices = json_strip_nulls(json_build_object({pairs}))"
        )
        op.alter_column("response", "theme_indices", nullable=False)
        for theme in THEMES:  # their CHECK constraints go with them
            op.drop_column("response", f"{theme}_index")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite_response(
            False,
            [f"{theme}_index" for theme in THEMES],
            [f"json_extract(theme_indices, '$.{theme}')" for theme in THEMES],
        )
    else:
        for theme in THEMES:
            op.add_column("response", sa.Column(f"{theme}_index", sa.Float(), nullable=True))
        op.execute(
            "UPDATE response SET "
            + ", ".join(
                f"{theme}_index = CAST(theme_indices ->> '{theme}' AS double precision)"
                for theme in THEMES
            )
        )
        for theme in THEMES:
            op.create_check_constraint(
                f"{theme}_index_range",
                "response",
                f"{theme}_index IS NULL OR {theme}_index BETWEEN 0 AND 100",
            )
        op.drop_column("response", "theme_indices")

    for target, source, head in (
        ("tally", "theme_tally", []),
        ("release_tally", "release_theme", ["release_id"]),
    ):
        with op.batch_alter_table(target) as batch:
            for theme in THEMES:
                for part in PARTS:
                    batch.add_column(
                        sa.Column(
                            f"{theme}_{part}",
                            sa.Integer() if part == "n" else sa.Float(),
                            nullable=False,
                            server_default="0",
                        )
                    )
        same = " AND ".join(f"s.{name} = {target}.{name}" for name in [*head, *KEY])
        op.execute(
            f"UPDATE {target} SET "
            + ", ".join(
                f"{theme}_{part} = coalesce((SELECT s.{part} FROM {source} AS s "
                f"WHERE {same} AND s.theme = '{theme}'), 0)"
                for theme in THEMES
                for part in PARTS
            )
        )
    op.drop_table("release_theme")
    op.drop_table("theme_tally")
