"""Accounts bound to offices, and the tallies dashboards read.

Reviewed by hand. ``tally`` and ``measure_tally`` hold counts and sums per office, month
and questionnaire version, kept current in each submission's transaction; this
migration fills them from the responses already stored. Accounts have no link to any
response table.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

THEMES = ("medvirkning", "stigma", "talmodighet", "relasjon")


def upgrade():
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'leder', 'forsker')", name="role_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "account_office",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "office_id"),
    )
    op.create_table(
        "tally",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        *(sa.Column(f"rung_{rung}", sa.Integer(), nullable=False) for rung in range(1, 9)),
        *(
            sa.Column(
                f"{theme}_{part}", sa.Integer() if part == "n" else sa.Float(), nullable=False
            )
            for theme in THEMES
            for part in ("n", "sum", "sumsq")
        ),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("office_id", "period_start", "questionnaire_version"),
    )
    op.create_table(
        "measure_tally",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("useful_answered", sa.Integer(), nullable=False),
        sa.Column("useful_agreed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("office_id", "period_start", "questionnaire_version", "measure"),
    )
    # Fill the tallies from the responses already stored (frozen here, as of this revision).
    rungs = ", ".join(f"sum(CASE WHEN rung = {r} THEN 1 ELSE 0 END)" for r in range(1, 9))
    themes = ", ".join(
        f"count({t}_index), coalesce(sum({t}_index), 0), coalesce(sum({t}_index * {t}_index), 0)"
        for t in THEMES
    )
    theme_names = ", ".join(f"{t}_n, {t}_sum, {t}_sumsq" for t in THEMES)
    rung_names = ", ".join(f"rung_{r}" for r in range(1, 9))
    op.execute(
        f"INSERT INTO tally (office_id, period_start, questionnaire_version, responses, "
        f"{rung_names}, {theme_names}) "
        f"SELECT office_id, period_start, questionnaire_version, count(*), {rungs}, {themes} "
        f"FROM response GROUP BY office_id, period_start, questionnaire_version"
    )
    if op.get_bind().dialect.name == "postgresql":
        source = "response, json_array_elements_text(response.answers -> 'tilt_deltatt') AS m(v)"
        measure, useful = "m.v", "(response.answers ->> 'tilt_nyttig')::int"
    else:
        source = "response, json_each(response.answers, '$.tilt_deltatt') AS m"
        measure, useful = "m.value", "json_extract(response.answers, '$.tilt_nyttig')"
    op.execute(
        f"INSERT INTO measure_tally (office_id, period_start, questionnaire_version, measure, "
        f"participants, useful_answered, useful_agreed) "
        f"SELECT office_id, period_start, questionnaire_version, {measure}, count(*), "
        f"sum(CASE WHEN {useful} BETWEEN 1 AND 5 THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {useful} IN (4, 5) THEN 1 ELSE 0 END) "
        f"FROM {source} GROUP BY office_id, period_start, questionnaire_version, {measure}"
    )


def downgrade():
    op.drop_table("measure_tally")
    op.drop_table("tally")
    op.drop_table("account_office")
    op.drop_table("account")
