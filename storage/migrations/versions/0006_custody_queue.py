"""queue for grouped custody appends (PostgreSQL writers)

Revision ID: 0006
Revises: 0005

Standalone appends on PostgreSQL commit their drafts to custody_pending and
one of the waiting writers sequences the whole queue in one transaction with
one checkpoint (custody/queue.py). custody_entries.ticket names the pending row
an entry came from, so its writer can find the sequence number it was given.
custody_enqueue() makes a writer the sequencer if nobody is, or else queues its
drafts; custody_claim() makes a queued writer the sequencer, or waits for the
current one and returns the writer's entries. Each is one statement, so a
writer that waits sends two (PostgreSQL only).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: a queued row lives until its append is sequenced, and no
    # writer is told of an append before that; after a server crash the queue is
    # empty and those writers got an error, as for any transaction that did not commit.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "custody_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("draft", sa.LargeBinary(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=unlogged,
    )
    op.add_column("custody_entries", sa.Column("ticket", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEAD_ROWS_FUNCTION)
        op.execute(ENQUEUE_FUNCTION)
        op.execute(CLAIM_FUNCTION)


# The session-level advisory lock held by the writer that sequences the queue
# (custody/queue.py); a literal, because a migration must not change later.
# Every function returns rows of one shape, told apart by ``r_kind``:
#   't' ticket=r_num, floor=r_num2 (queued)   'm' our entry: seq=r_num, leaf hash=r_a
#   'h' head: size=r_num, frontier=r_a, last leaf hash=r_b
#   'c' newest checkpoint: size=r_num, root=r_a (and r_note, r_created after 'm' rows)
#   'p' a queued append: ticket=r_num, drafts=r_a
LEAD_ROWS_FUNCTION = """
CREATE FUNCTION custody_lead_rows(p_limit bigint)
RETURNS TABLE (r_kind "char", r_num bigint, r_num2 bigint, r_a bytea, r_b bytea,
               r_note text, r_created timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT 'h'::"char", size, NULL::bigint, frontier, last_leaf_hash, NULL::text,
           NULL::timestamptz FROM custody_head WHERE id = 1
    UNION ALL (SELECT 'c', size, NULL, root_hash, NULL, NULL, NULL FROM custody_checkpoints
               ORDER BY id DESC LIMIT 1)
    UNION ALL (SELECT 'p', id, NULL, draft, NULL, NULL, NULL FROM custody_pending
               ORDER BY id LIMIT p_limit)
$$
"""

ENQUEUE_FUNCTION = """
CREATE FUNCTION custody_enqueue(p_draft bytea, p_limit bigint)
RETURNS TABLE (r_kind "char", r_num bigint, r_num2 bigint, r_a bytea, r_b bytea,
               r_note text, r_created timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF pg_try_advisory_lock(111559248707585) THEN
        -- nobody sequences: the caller does, with its drafts in hand and what it
        -- needs to read (it checks the head is unchanged when it writes)
        RETURN QUERY SELECT * FROM custody_lead_rows(p_limit);
        RETURN;
    END IF;
    -- The queued row need not be on disk when this returns: the sequencer's commit
    -- (synchronous) flushes the WAL past it, and the append is not reported before.
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY INSERT INTO custody_pending (draft, enqueued_at) VALUES (p_draft, now())
        RETURNING 't'::"char", id, (SELECT size FROM custody_head WHERE id = 1), NULL::bytea,
                  NULL::bytea, NULL::text, NULL::timestamptz;
END
$$
"""

CLAIM_FUNCTION = """
CREATE FUNCTION custody_claim(p_ticket bigint, p_floor bigint, p_limit bigint)
RETURNS TABLE (r_kind "char", r_num bigint, r_num2 bigint, r_a bytea, r_b bytea,
               r_note text, r_created timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- waits while another writer sequences; writers that find their entries
    -- done hold the lock only for this function's lookup
    PERFORM pg_advisory_lock(111559248707585);
    RETURN QUERY SELECT 'm'::"char", e.seq, NULL::bigint, e.leaf_hash, NULL::bytea,
                        NULL::text, NULL::timestamptz
        FROM custody_entries e WHERE e.seq >= p_floor AND e.ticket = p_ticket ORDER BY e.seq;
    IF FOUND THEN
        PERFORM pg_advisory_unlock(111559248707585);
        RETURN QUERY SELECT 'c'::"char", size, NULL::bigint, root_hash, NULL::bytea, note,
                            created_at FROM custody_checkpoints ORDER BY id DESC LIMIT 1;
    ELSE
        -- not sequenced yet: the caller sequences, and unlocks when it has committed
        RETURN QUERY SELECT * FROM custody_lead_rows(p_limit);
    END IF;
END
$$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION custody_claim(bigint, bigint, bigint)")
        op.execute("DROP FUNCTION custody_enqueue(bytea, bigint)")
        op.execute("DROP FUNCTION custody_lead_rows(bigint)")
    op.drop_column("custody_entries", "ticket")
    op.drop_table("custody_pending")
