"""procedures for the grouped custody append: one round trip each (PostgreSQL)

Revision ID: 0007
Revises: 0006

A waiting writer sent two statements per append: custody_enqueue() to commit
its drafts to custody_pending, then custody_claim() to wait for the sequencer.
custody_append() is a procedure, so it commits the queued row and then waits,
in one CALL; it replaces custody_enqueue(), which is dropped. custody_claim()
stays for the rare retry (a queue longer than one group).

The sequencer's write was one SQL text of five statements, parsed and planned
anew for every group: about 1.1 ms of the 2.6 ms between groups with eight
writers (bench/custody.py). custody_write() takes the rows as array parameters
of a prepared CALL, so its statements are planned once per connection.

A waiting writer finds its entries by ticket (and seq >= the size when it
queued, since tickets restart if the unlogged queue's sequence does). Those
statements run with generic plans, which cannot tell that the seq range is
short: they scanned the primary key from the parameter to the end of the table,
or could choose a sequential scan on a large log. A partial index on the ticket
makes the lookup an index probe whatever the log's size.
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"

# The results travel as arrays of the rows custody_lead_rows() returns (kinds
# 'h', 'c', 'p'), because a procedure returns one row of INOUT parameters:
#   r_ticket, r_floor  the queued append's ticket and a size its entries will be
#                      at or past; NULL when the caller became the sequencer
#                      without queueing (its drafts are then in its hands)
#   r_cp_size ...      set when the sequencer took the append: its entries are
#                      r_num (seq) and r_a (leaf hash), then the newest checkpoint
#   otherwise          the caller holds the sequencer lock; r_kind, r_num, r_a,
#                      r_b are what the sequencer reads
# The lock key is a literal, as in 0006: a migration must not change later.
# A queued append's entries (seq, leaf hash) if a sequencer took it, with the
# newest checkpoint; all NULL if not. One SELECT, so the planner inlines it.
TAKEN_FUNCTION = """
CREATE FUNCTION custody_taken(p_ticket bigint, p_floor bigint)
RETURNS TABLE (seqs bigint[], leaf_hashes bytea[], cp_size bigint, cp_root bytea,
               cp_note text, cp_created timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT e.seqs, e.leaf_hashes, c.size, c.root_hash, c.note, c.created_at
    FROM (SELECT array_agg(seq ORDER BY seq) AS seqs,
                 array_agg(leaf_hash ORDER BY seq) AS leaf_hashes
          FROM custody_entries WHERE ticket = p_ticket AND seq >= p_floor) e
    LEFT JOIN LATERAL (SELECT size, root_hash, note, created_at FROM custody_checkpoints
                       ORDER BY id DESC LIMIT 1) c ON e.seqs IS NOT NULL
$$
"""

APPEND_PROCEDURE = """
CREATE PROCEDURE custody_append(
    p_draft bytea, p_limit bigint,
    INOUT r_ticket bigint DEFAULT NULL, INOUT r_floor bigint DEFAULT NULL,
    INOUT r_kind "char"[] DEFAULT NULL, INOUT r_num bigint[] DEFAULT NULL,
    INOUT r_a bytea[] DEFAULT NULL, INOUT r_b bytea[] DEFAULT NULL,
    INOUT r_cp_size bigint DEFAULT NULL, INOUT r_cp_root bytea DEFAULT NULL,
    INOUT r_note text DEFAULT NULL, INOUT r_created timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_lock(111559248707585) THEN
        -- Somebody sequences: queue the drafts. The row need not be on disk when
        -- this commits: the sequencer's commit (synchronous) flushes the WAL past
        -- it, and the append is not reported before.
        PERFORM set_config('synchronous_commit', 'off', true);
        INSERT INTO custody_pending (draft, enqueued_at) VALUES (p_draft, now())
            RETURNING id, (SELECT size FROM custody_head WHERE id = 1) INTO r_ticket, r_floor;
        COMMIT;
        -- Wait for the sequencer; writers whose entries are done hold the lock
        -- only for this lookup. (Waiting in share mode, to be woken all at once,
        -- cost more server CPU per append in bench/custody.py, not less.)
        PERFORM pg_advisory_lock(111559248707585);
        SELECT * INTO r_num, r_a, r_cp_size, r_cp_root, r_note, r_created
            FROM custody_taken(r_ticket, r_floor);
        IF r_num IS NOT NULL THEN
            PERFORM pg_advisory_unlock(111559248707585);
            RETURN;
        END IF;
    END IF;
    -- the caller sequences, and unlocks when it has committed
    SELECT array_agg(l.r_kind), array_agg(l.r_num), array_agg(l.r_a), array_agg(l.r_b)
        INTO r_kind, r_num, r_a, r_b FROM custody_lead_rows(p_limit) l;
END
$$
"""


# Writes one group: the head first (the row lock a direct append takes first too),
# then its entries, the new Merkle nodes, the checkpoint, and removes the queued
# appends it took. With p_expect_size (the head was read without its row lock)
# it fails with serialization_failure, writing nothing, if the head moved. With
# p_commit it commits and releases the sequencer lock; otherwise the caller's
# transaction goes on.
WRITE_PROCEDURE = """
CREATE PROCEDURE custody_write(
    p_seq bigint[], p_leaf bytea[], p_leaf_hash bytea[], p_ticket bigint[],
    p_level bigint[], p_idx bigint[], p_node bytea[],
    p_cp_size bigint, p_cp_root bytea, p_cp_note text, p_cp_created timestamptz,
    p_taken bigint[], p_size bigint, p_frontier bytea, p_last bytea,
    p_expect_size bigint, p_commit boolean)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE custody_head SET size = p_size, frontier = p_frontier, last_leaf_hash = p_last
        WHERE id = 1 AND (p_expect_size IS NULL OR size = p_expect_size);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the custody log head moved since the sequencer read it'
            USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO custody_entries (seq, leaf, leaf_hash, ticket)
        SELECT * FROM unnest(p_seq, p_leaf, p_leaf_hash, p_ticket);
    INSERT INTO custody_nodes (level, idx, hash) SELECT * FROM unnest(p_level, p_idx, p_node);
    INSERT INTO custody_checkpoints (size, root_hash, note, created_at)
        VALUES (p_cp_size, p_cp_root, p_cp_note, p_cp_created);
    DELETE FROM custody_pending WHERE id = ANY (p_taken);
    IF p_commit THEN
        COMMIT;
        PERFORM pg_advisory_unlock(111559248707585);
    END IF;
END
$$
"""


TICKET_INDEX = "ix_custody_entries_ticket"


def upgrade() -> None:
    # SQLite has no queue and every ticket NULL, but the same schema everywhere.
    op.create_index(TICKET_INDEX, "custody_entries", ["ticket"],
                    postgresql_where=sa.text("ticket IS NOT NULL"),
                    sqlite_where=sa.text("ticket IS NOT NULL"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TAKEN_FUNCTION)
        op.execute(APPEND_PROCEDURE)
        op.execute(WRITE_PROCEDURE)
        op.execute("DROP FUNCTION custody_enqueue(bytea, bigint)")


def downgrade() -> None:
    op.drop_index(TICKET_INDEX, table_name="custody_entries")
    if op.get_bind().dialect.name == "postgresql":
        # The text of custody_enqueue() as 0006 created it, not a copy of it.
        op.execute(context.script.get_revision("0006").module.ENQUEUE_FUNCTION)
        op.execute("DROP PROCEDURE custody_append(bytea, bigint, bigint, bigint, \"char\"[], "
                   "bigint[], bytea[], bytea[], bigint, bytea, text, timestamptz)")
        op.execute("DROP FUNCTION custody_taken(bigint, bigint)")
        op.execute("DROP PROCEDURE custody_write(bigint[], bytea[], bytea[], bigint[], bigint[], "
                   "bigint[], bytea[], bigint, bytea, text, timestamptz, bigint[], bigint, "
                   "bytea, bytea, bigint, boolean)")
