"""queue for grouped custody appends (PostgreSQL writers)

Revision ID: 0006
Revises: 0005

Standalone appends on PostgreSQL commit their drafts to custody_pending and
one of the waiting writers sequences the whole queue in one transaction with
one checkpoint (custody/queue.py). custody_entries.ticket names the pending row
an entry came from, so its writer can find the sequence number it was given.
custody_claim() makes a writer the sequencer, or waits for the current one and
returns the writer's entries, in one statement (PostgreSQL only).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "custody_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("draft", sa.LargeBinary(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("custody_entries", sa.Column("ticket", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_FUNCTION)


# The session-level advisory lock held by the writer that sequences the queue
# (custody/queue.py); a literal, because a migration must not change later.
CLAIM_FUNCTION = """
CREATE FUNCTION custody_claim(p_ticket bigint, p_floor bigint)
RETURNS TABLE (leads boolean, seq bigint, leaf_hash bytea, cp_size bigint,
               cp_root bytea, cp_note text, cp_created timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF pg_try_advisory_lock(111559248707585) THEN
        -- the caller sequences, and unlocks when it has committed
        RETURN QUERY SELECT true, NULL::bigint, NULL::bytea, NULL::bigint, NULL::bytea,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    -- wait for the current sequencer to commit, then release at once
    PERFORM pg_advisory_lock_shared(111559248707585);
    PERFORM pg_advisory_unlock_shared(111559248707585);
    RETURN QUERY SELECT false, e.seq, e.leaf_hash, c.size, c.root_hash, c.note, c.created_at
        FROM custody_entries e
        CROSS JOIN (SELECT size, root_hash, note, created_at FROM custody_checkpoints
                    ORDER BY id DESC LIMIT 1) c
        WHERE e.seq >= p_floor AND e.ticket = p_ticket ORDER BY e.seq;
END
$$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION custody_claim(bigint, bigint)")
    op.drop_column("custody_entries", "ticket")
    op.drop_table("custody_pending")
