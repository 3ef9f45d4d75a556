"""Releases: immutable, audited sets of figures (issue 11).

Adds the release tables (the release, its frozen copy of the tallies, its decisions),
stamps comments with the release that first showed them, and tallies "var nyttig" /
"passet" once per response that took part in a measure (columns on ``tally``) instead of
once per measure ticked (the columns leave ``measure_tally``). Existing tallies get the
new columns computed from the responses, and the measure rows for "ingen" and "vet ikke"
(which are not measures) go. The SQL is written out here, not taken from
``survey.tally``, so that this revision replays the same whatever the code becomes.

Reviewed by hand.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

THEMES = ("medvirkning", "stigma", "talmodighet", "relasjon")
SUMMARY = ("measured", "useful_answered", "useful_agreed", "fit_answered", "fit_agreed")


def _tally_values() -> list[sa.Column]:
    return [
        sa.Column("responses", sa.Integer(), nullable=False),
        *(sa.Column(f"rung_{rung}", sa.Integer(), nullable=False) for rung in range(1, 9)),
        *(
            sa.Column(
                f"{theme}_{part}", sa.Integer() if part == "n" else sa.Float(), nullable=False
            )
            for theme in THEMES
            for part in ("n", "sum", "sumsq")
        ),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SUMMARY),
    ]


def upgrade():
    with op.batch_alter_table("tally") as batch:
        for name in SUMMARY:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("measure_tally") as batch:
        batch.drop_column("useful_agreed")
        batch.drop_column("useful_answered")
    _backfill(op.get_bind().dialect.name)

    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("made_by", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "release_tally",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        *_tally_values(),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("release_id", "period_start", "questionnaire_version", "office_id"),
    )
    op.create_table(
        "release_measure",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint(
            "release_id", "office_id", "period_start", "questionnaire_version", "measure"
        ),
    )
    op.create_table(
        "release_cell",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("family", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", "questionnaire_version", "scope", "period", "family"),
    )
    with op.batch_alter_table("comment") as batch:
        batch.add_column(sa.Column("release_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_comment_release_id_release", "release", ["release_id"], ["id"])
        batch.create_index("ix_comment_release_id", ["release_id"])


def _backfill(dialect: str) -> None:
    """The new tally columns for responses stored before this revision, and no measure
    rows for the options that are not measures."""
    op.execute("DELETE FROM measure_tally WHERE measure IN ('ingen', 'vet_ikke')")
    if dialect == "postgresql":
        measures = (
            "json_array_elements_text(coalesce(response.answers -> 'tilt_deltatt', "
            "'[]'::json)) AS m(measure)"
        )
        element = "m.measure"

        def item(code: str) -> str:
            return f"(response.answers ->> '{code}')::int"
    else:
        measures, element = "json_each(response.answers, '$.tilt_deltatt') AS m", "m.value"

        def item(code: str) -> str:
            return f"json_extract(response.answers, '$.{code}')"

    measured = f"EXISTS (SELECT 1 FROM {measures} WHERE {element} NOT IN ('ingen', 'vet_ikke'))"
    conditions = {
        "measured": measured,
        "useful_answered": f"{measured} AND {item('tilt_nyttig')} BETWEEN 1 AND 5",
        "useful_agreed": f"{measured} AND {item('tilt_nyttig')} IN (4, 5)",
        "fit_answered": f"{measured} AND {item('tilt_passet')} BETWEEN 1 AND 5",
        "fit_agreed": f"{measured} AND {item('tilt_passet')} IN (4, 5)",
    }
    same_cell = (
        "response.office_id = tally.office_id "
        "AND response.period_start = tally.period_start "
        "AND response.questionnaire_version = tally.questionnaire_version"
    )
    assignments = ", ".join(
        f"{name} = (SELECT count(*) FROM response WHERE {same_cell} AND {condition})"
        for name, condition in conditions.items()
    )
    op.execute(f"UPDATE tally SET {assignments}")


def downgrade():
    with op.batch_alter_table("comment") as batch:
        batch.drop_index("ix_comment_release_id")
        batch.drop_constraint("fk_comment_release_id_release", type_="foreignkey")
        batch.drop_column("release_id")
    op.drop_table("release_cell")
    op.drop_table("release_measure")
    op.drop_table("release_tally")
    op.drop_table("release")
    with op.batch_alter_table("measure_tally") as batch:
        batch.add_column(
            sa.Column("useful_answered", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("useful_agreed", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("tally") as batch:
        for name in reversed(SUMMARY):
            batch.drop_column(name)
