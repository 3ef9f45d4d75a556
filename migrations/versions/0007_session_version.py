"""Staff sessions that end: a per-account session version (issue 14).

``account.session_version`` is stored in a staff member's session when they sign in and
compared on every request; signing out, a new password, a forced reset, deactivation and a
change of role or offices raise it, so every copy of that account's cookie stops working.
Existing accounts start at 1 (everyone signed in now is signed out once, at their next
request, because their session holds no version yet).

Reviewed by hand.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade():
    with op.batch_alter_table("account") as batch:
        batch.drop_column("session_version")
