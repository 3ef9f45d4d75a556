"""Offices, responses, comments and submission receipts.

Reviewed by hand. Anonymity lives in this schema (privacy.md): ``response`` has random
UUID ids, a coarse ``period_start`` date and no column for an address, a user agent, a
time of day or a token; free text sits in ``comment`` with no key back to a response;
``submission_receipt`` knows only hashes of form nonces.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

THEME_INDEX_COLUMNS = ("medvirkning_index", "stigma_index", "talmodighet_index", "relasjon_index")


def upgrade():
    op.create_table(
        "office",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=120), nullable=False),
        sa.Column("county", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "submission_receipt",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash"),
    )
    op.create_table(
        "comment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="comment_status_known"
        ),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comment_office_id", "comment", ["office_id"])
    op.create_table(
        "response",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("scoring_version", sa.SmallInteger(), nullable=False),
        sa.Column("rung", sa.SmallInteger(), nullable=True),
        sa.Column("band", sa.SmallInteger(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in THEME_INDEX_COLUMNS),
        sa.CheckConstraint("language IN ('nb', 'nn', 'en')", name="language_known"),
        sa.CheckConstraint("rung IS NULL OR rung BETWEEN 1 AND 8", name="rung_range"),
        sa.CheckConstraint("band IS NULL OR band BETWEEN 1 AND 3", name="band_range"),
        *(
            sa.CheckConstraint(f"{name} IS NULL OR {name} BETWEEN 0 AND 100", name=f"{name}_range")
            for name in THEME_INDEX_COLUMNS
        ),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_response_office_period", "response", ["office_id", "period_start"])
    op.create_index("ix_response_period", "response", ["period_start"])


def downgrade():
    op.drop_index("ix_response_period", table_name="response")
    op.drop_index("ix_response_office_period", table_name="response")
    op.drop_table("response")
    op.drop_index("ix_comment_office_id", table_name="comment")
    op.drop_table("comment")
    op.drop_table("submission_receipt")
    op.drop_table("office")
