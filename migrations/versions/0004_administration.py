"""Administration: open periods and access-code mode per office, one-time access codes,
password resets, questionnaire versions published from the admin pages, settings, and
the offices' "dette gjør vi" notes.

Reviewed by hand. ``access_code`` holds a keyed hash and used/unused only; no table gains
a column that points at a response, and ``response`` is not touched. Existing offices stay
open (no dates) and keep their open link (``codes_required`` false).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("opens_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("closes_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("codes_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("reset_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reset_expires", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "access_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=80), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index("ix_access_code_office_id", "access_code", ["office_id"])
    op.create_table(
        "questionnaire_version",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "action_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("you_said", sa.Text(), nullable=False),
        sa.Column("we_do", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_action_note_office_id", "action_note", ["office_id"])


def downgrade():
    op.drop_index("ix_action_note_office_id", table_name="action_note")
    op.drop_table("action_note")
    op.drop_table("setting")
    op.drop_table("questionnaire_version")
    op.drop_index("ix_access_code_office_id", table_name="access_code")
    op.drop_table("access_code")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("reset_expires")
        batch.drop_column("reset_token_hash")
    with op.batch_alter_table("office") as batch:
        batch.drop_column("codes_required")
        batch.drop_column("closes_on")
        batch.drop_column("opens_on")
