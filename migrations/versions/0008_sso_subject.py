"""Single sign-on: which provider account an SSO-made staff account belongs to (issue 14).

``account.sso_subject`` is a SHA-256 of the provider's issuer and subject (``sub``): an SSO
sign-in finds its account by it, never by username, so a provider user cannot take over a
local account by naming themselves after it. Empty for local accounts.

Reviewed by hand.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("sso_subject", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_account_sso_subject", ["sso_subject"])


def downgrade():
    with op.batch_alter_table("account") as batch:
        batch.drop_constraint("uq_account_sso_subject", type_="unique")
        batch.drop_column("sso_subject")
