"""A submission already mixed is never stored again, however its resend races the mix
(issue 12; PostgreSQL only).

Send inn inserts into ``inbox`` only if no receipt holds its nonce's hash (``NOT EXISTS``
in the same statement), and the inbox key refuses a second row while the first waits. On
PostgreSQL the ``NOT EXISTS`` reads the statement's snapshot: a resend whose statement
began before the mixer's receipts transaction committed, and whose key check then waited
for that transaction's deletion of the first row, would be stored a second time (and the
next mix of its office × period would fail on the receipt's key). This trigger runs after
the row is in, with a snapshot of its own, so it sees the receipt and refuses the row as a
duplicate key: the app then answers "stored before", as for any resend.

SQLite needs nothing: a write transaction holds the whole database, and a statement whose
snapshot is older than the last write cannot write at all.

Reviewed by hand.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # VOLATILE: under READ COMMITTED each query in it takes a fresh snapshot. No value of
    # the row goes into the message (the server may log it).
    op.execute(
        """
        CREATE FUNCTION inbox_refuses_mixed() RETURNS trigger
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM submission_receipt
                       WHERE submission_receipt.nonce_hash = NEW.nonce_hash) THEN
                RAISE EXCEPTION 'the submission was mixed already'
                    USING ERRCODE = 'unique_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER inbox_refuses_mixed AFTER INSERT ON inbox "
        "FOR EACH ROW EXECUTE FUNCTION inbox_refuses_mixed()"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER inbox_refuses_mixed ON inbox")
    op.execute("DROP FUNCTION inbox_refuses_mixed()")
