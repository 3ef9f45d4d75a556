"""Unlinkable storage: the submission inbox and the mixer's journal (issue 12).

Reviewed by hand. A submission now writes one row to ``inbox``; ``survey.mixer`` moves
waiting rows into ``response``, ``comment`` and ``submission_receipt`` in shuffled
batches per office × period, journalled in ``mix_batch``. ``submission_receipt`` gains
the office (so an office × period's receipts are rewritten together; None for receipts
stored before this revision), and ``comment.status`` the value ``held`` (mixed, not yet
released to the moderation queue).

The rows already stored were written in submission order, so they are rewritten here in
a random order: on SQLite the four tables become WITHOUT ROWID tables (rows lie in the
order of their random key, and no rowid counts submissions), recreated with explicit
SQL and filled in random order; on PostgreSQL each table is emptied with TRUNCATE (new
files, so no dead row versions stay behind in submission order) and filled again in
random order in this transaction (one transaction id for every row).

Downgrade refuses while any submission waits in the inbox (``flask mix --all`` first):
the inbox cannot be mixed without the app's scoring. Held comments become pending.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

THEME_INDEX_COLUMNS = ("medvirkning_index", "stigma_index", "talmodighet_index", "relasjon_index")


def _response_columns():
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
    ]


def _comment_columns(statuses: str):
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(f"status IN ({statuses})", name="comment_status_known"),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]


def _receipt_columns(with_office: bool):
    return [
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        *(
            [sa.Column("office_id", sa.Integer(), sa.ForeignKey("office.id"), nullable=True)]
            if with_office
            else []
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash"),
    ]


OLD_STATUSES = "'pending', 'approved', 'rejected'"
NEW_STATUSES = "'held', 'pending', 'approved', 'rejected'"
RESPONSE_INDEXES = {
    "ix_response_office_period": ["office_id", "period_start"],
    "ix_response_period": ["period_start"],
}
COMMENT_INDEXES = {"ix_comment_office_id": ["office_id"]}
RECEIPT_INDEXES = {"ix_submission_receipt_office_period": ["office_id", "period_start"]}


def _sqlite_recreate(
    name: str,
    columns: list,
    indexes: dict,
    copied: list[str],
    with_rowid: bool,
    set_values: str = "",
) -> None:
    """Recreate ``name`` (SQLite) with ``columns``, copying ``copied`` in random order."""
    op.create_table(f"{name}_new", *columns, sqlite_with_rowid=with_rowid)
    names = ", ".join(copied)
    op.execute(f"INSERT INTO {name}_new ({names}) SELECT {names} FROM {name} ORDER BY random()")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)
    for index, on in indexes.items():
        op.create_index(index, name, on)


def _response_names():
    return [c.name for c in _response_columns() if isinstance(c, sa.Column)]


def _postgres_reshuffle(name: str) -> None:
    """Empty ``name`` and fill it again in random order, in this transaction."""
    op.execute(f"CREATE TEMPORARY TABLE shuffled AS SELECT * FROM {name} ORDER BY random()")
    op.execute(f"TRUNCATE {name}")
    op.execute(f"INSERT INTO {name} SELECT * FROM shuffled")
    op.execute("DROP TABLE shuffled")


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    comment_names = [c.name for c in _comment_columns(NEW_STATUSES) if isinstance(c, sa.Column)]
    if sqlite:
        _sqlite_recreate(
            "response", _response_columns(), RESPONSE_INDEXES, _response_names(), with_rowid=False
        )
        _sqlite_recreate(
            "comment",
            _comment_columns(NEW_STATUSES),
            COMMENT_INDEXES,
            comment_names,
            with_rowid=False,
        )
        _sqlite_recreate(
            "submission_receipt",
            _receipt_columns(True),
            RECEIPT_INDEXES,
            ["nonce_hash", "period_start"],
            with_rowid=False,
        )
    else:
        op.add_column("submission_receipt", sa.Column("office_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "submission_receipt_office_id_fkey",
            "submission_receipt",
            "office",
            ["office_id"],
            ["id"],
        )
        op.create_index(
            "ix_submission_receipt_office_period",
            "submission_receipt",
            ["office_id", "period_start"],
        )
        op.drop_constraint("comment_status_known", "comment", type_="check")
        op.create_check_constraint("comment_status_known", "comment", f"status IN ({NEW_STATUSES})")
        for name in ("response", "comment", "submission_receipt"):
            _postgres_reshuffle(name)

    op.create_table(
        "inbox",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("questionnaire_version", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("nonce_hash"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_inbox_office_period", "inbox", ["office_id", "period_start"])
    op.create_table(
        "mix_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )


def downgrade():
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT count(*) FROM inbox")).scalar()
    journalled = bind.execute(sa.text("SELECT count(*) FROM mix_batch")).scalar()
    if waiting or journalled:
        raise RuntimeError(
            f"{waiting} submissions wait in the inbox: run `flask mix --all` before "
            "downgrading, or they would be lost."
        )
    op.drop_table("mix_batch")
    op.drop_index("ix_inbox_office_period", table_name="inbox")
    op.drop_table("inbox")
    op.execute("UPDATE comment SET status = 'pending' WHERE status = 'held'")
    if bind.dialect.name == "sqlite":
        comment_names = [c.name for c in _comment_columns(OLD_STATUSES) if isinstance(c, sa.Column)]
        _sqlite_recreate(
            "response", _response_columns(), RESPONSE_INDEXES, _response_names(), with_rowid=True
        )
        _sqlite_recreate(
            "comment",
            _comment_columns(OLD_STATUSES),
            COMMENT_INDEXES,
            comment_names,
            with_rowid=True,
        )
        _sqlite_recreate(
            "submission_receipt",
            _receipt_columns(False),
            {},
            ["nonce_hash", "period_start"],
            with_rowid=True,
        )
    else:
        op.drop_constraint("comment_status_known", "comment", type_="check")
        op.create_check_constraint("comment_status_known", "comment", f"status IN ({OLD_STATUSES})")
        op.drop_index("ix_submission_receipt_office_period", table_name="submission_receipt")
        op.drop_constraint(
            "submission_receipt_office_id_fkey", "submission_receipt", type_="foreignkey"
        )
        op.drop_column("submission_receipt", "office_id")
