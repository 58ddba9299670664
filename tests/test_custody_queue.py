"""Grouped appends on PostgreSQL (custody/queue.py): crashes, tampering, mixing, reconnects."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import orjson
import psycopg
import pytest
from sqlalchemy import Engine, text

from custody.events import EventDraft, decode_event, prepare_event
from custody.log import CustodyLog
from custody.note import Ed25519Signer
from custody.queue import APPLICATION_NAME, GROUP_LIMIT, POOL_SIZE, AppendQueue
from custody.queue_wire import SEQUENCER_LOCK, Lead, submit
from custody.results import AppendResult
from custody.verify import verify_database
from domain.errors import IntegrityError
from storage.db import make_engine, migrate, write_transaction
from tests.conftest import ORIGIN, _pg_schema_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    engine = make_engine(_pg_schema_url(pg_database_url))
    migrate(engine)
    yield engine
    engine.dispose()


def _draft(n: int, actor: str = "writer:test") -> EventDraft:
    return EventDraft("evidence:test:appended", actor, details={"n": n})


def _queue_as_a_dead_writer(engine: Engine, drafts: list[EventDraft]) -> int:
    """Commit drafts to the queue exactly as append's first step does, then stop."""
    body = orjson.dumps([prepare_event(d) for d in drafts])
    with engine.begin() as conn:
        return int(conn.execute(text("INSERT INTO custody_pending (draft, enqueued_at) "
                                     "VALUES (:d, now()) RETURNING id"), {"d": body}).scalar_one())


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM custody_pending")).scalar_one())


def test_a_lone_writer_sequences_its_own_appends_without_queueing(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    results = [log.append([_draft(2 * i), _draft(2 * i + 1)]) for i in range(5)]
    assert [e.seq for r in results for e in r.entries] == list(range(10))
    assert [r.checkpoint.size for r in results] == [2, 4, 6, 8, 10]
    with pg_engine.connect() as conn:
        tickets = conn.execute(text("SELECT ticket FROM custody_entries ORDER BY seq")).scalars().all()
    assert tickets == [None] * 10  # nobody else was sequencing, so nothing was queued
    assert _pending(pg_engine) == 0
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok


def test_a_dead_writers_queued_events_are_sequenced_by_the_next_append(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    log.append([_draft(0)])
    ticket = _queue_as_a_dead_writer(pg_engine, [_draft(1, "writer:died"), _draft(2, "writer:died")])
    result = log.append([_draft(3)])
    actors = [decode_event(leaf)["actor"] for _, leaf in log.entries()]
    assert actors == ["writer:test", "writer:died", "writer:died", "writer:test"]
    with pg_engine.connect() as conn:
        tickets = conn.execute(text("SELECT ticket FROM custody_entries ORDER BY seq")).scalars().all()
    assert tickets == [None, ticket, ticket, None]
    assert result.entries[0].seq == 3 and result.checkpoint.size == 4
    assert _pending(pg_engine) == 0
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok


def test_log_checkpoint_drains_the_queue(pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    _queue_as_a_dead_writer(pg_engine, [_draft(0, "writer:died")])
    checkpoint = log.checkpoint()
    assert checkpoint.size == 1 and _pending(pg_engine) == 0
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok


def test_an_edited_queue_row_is_refused_not_sequenced(pg_engine: Engine,
                                                      signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_pending (draft, enqueued_at) "
                          "VALUES ('{\"not\": \"a draft\"}', now())"))
    appended = log.append([_draft(0)])  # other writers are not held up by it
    assert appended.entries[0].seq == 0
    with pytest.raises(IntegrityError, match="custody_pending holds 1 rows"):
        log.checkpoint()
    assert log.size() == 1  # nothing of the edited row reached the log


def test_events_over_the_size_limit_are_refused_before_they_are_queued(
        pg_engine: Engine, signer: Ed25519Signer, pg_database_url: str) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    too_big = EventDraft("evidence:test:big", "writer:test", details={"x": "y" * 70_000})
    outcome: list[BaseException] = []

    def append() -> None:
        try:
            log.append([too_big])
        except Exception as exc:
            outcome.append(exc)

    # Another session is sequencing, so the draft would be queued if it passed the check.
    with psycopg.connect(pg_database_url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (SEQUENCER_LOCK,))
        writer = threading.Thread(target=append)
        writer.start()
        writer.join(30)  # a queued draft would wait here for the lock instead
        finished = not writer.is_alive()
        queued = _pending(pg_engine)
    writer.join(30)
    assert finished and queued == 0
    assert len(outcome) == 1 and "over the 65535 limit" in str(outcome[0])
    assert log.size() == 0


def test_queued_and_transaction_joined_appends_interleave_into_one_log(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)

    def queued(worker: int) -> None:
        for n in range(20):
            log.append([_draft(n, f"writer:queued-{worker}")])

    def joined() -> None:
        for n in range(20):
            with write_transaction(pg_engine) as conn:
                log.append([_draft(n, "writer:joined")], conn)

    threads = [threading.Thread(target=queued, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=joined))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert log.size() == 80 and _pending(pg_engine) == 0
    report = verify_database(pg_engine, signer.verifier(), ORIGIN)
    assert report.ok, report.problems


def test_a_connection_the_server_dropped_is_replaced(pg_engine: Engine,
                                                     signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    log._queue = AppendQueue(log.core, log.engine, idle_check_s=0)  # check before every use
    log.append([_draft(0)])
    with pg_engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = :name"), {"name": APPLICATION_NAME}).scalar_one()
    assert killed == 1
    assert log.append([_draft(1)]).entries[0].seq == 1
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok


def test_a_direct_append_between_the_sequencers_read_and_write_is_not_overwritten(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    """The sequencer reads the head without its row lock; its write must notice a move."""
    log = CustodyLog(pg_engine, signer, ORIGIN)
    log.append([_draft(0)])
    queue = AppendQueue(log.core, log.engine)
    own = [prepare_event(_draft(2, "writer:queued"))]
    with queue._connection() as pg:
        lead = submit(pg, orjson.dumps(own), GROUP_LIMIT)
        assert isinstance(lead, Lead) and lead.head[0] == 1 and lead.queued is None  # we sequence
        with write_transaction(pg_engine) as conn:  # meanwhile a caller's transaction appends
            log.append([_draft(1, "writer:joined")], conn)
        result = queue._sequence_unlocking(pg, None, 0, own=own, lead=lead)
    assert result is not None and [e.seq for e in result.entries] == [2]
    actors = [decode_event(leaf)["actor"] for _, leaf in log.entries()]
    assert actors == ["writer:test", "writer:joined", "writer:queued"]
    report = verify_database(pg_engine, signer.verifier(), ORIGIN)
    assert report.ok, report.problems
    assert log.append([_draft(3)]).entries[0].seq == 3  # and the sequencer lock was handed back


def test_many_threads_leave_at_most_a_small_pool_of_queue_connections_open(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    start = threading.Barrier(12)

    def writer(target: CustodyLog, worker: int) -> None:
        start.wait()
        for n in range(5):
            target.append([_draft(n, f"writer:{worker}")])

    threads = [threading.Thread(target=writer, args=(log, w)) for w in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert log.size() == 60
    assert isinstance(log._queue, AppendQueue)
    kept = [held.connection for held in log._queue._idle]
    assert 1 <= len(kept) <= POOL_SIZE and not any(c.closed for c in kept)  # the rest closed
    del log  # dropping the log closes the ones it kept
    assert all(c.closed for c in kept)


def test_a_waiting_writers_lookup_stays_an_index_probe_on_a_large_log(pg_engine: Engine) -> None:
    """custody_append() finds a writer's entries with a generic plan, which cannot see
    that ``seq >= floor`` is short; without the ticket index it walked the primary key
    to the end of the table, or could scan the whole log."""
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_entries (seq, leaf, leaf_hash, ticket) "
                          "SELECT g, '\\x00', sha256(int8send(g)), g FROM generate_series(0, 49999) g"))
        conn.execute(text("ANALYZE custody_entries"))
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.execute(text("PREPARE taken(bigint, bigint) AS SELECT * FROM custody_taken($1, $2)"))
        plan = "\n".join(conn.execute(text("EXPLAIN EXECUTE taken(40000, 0)")).scalars())
        conn.execute(text("DEALLOCATE taken"))
        probed = conn.execute(text("SELECT seqs FROM custody_taken(40000, 0)")).scalar_one()
    assert "ix_custody_entries_ticket" in plan, plan
    assert "Seq Scan on custody_entries" not in plan, plan
    assert probed == [40000]


def test_an_append_queued_behind_more_than_one_group_is_sequenced_by_its_own_writer(
        pg_engine: Engine, signer: Ed25519Signer, pg_database_url: str) -> None:
    """The first GROUP_LIMIT queued appends go in one group; the writer behind them
    then sequences a second group holding its own."""
    body = [orjson.dumps([prepare_event(_draft(n, "writer:died"))]) for n in range(GROUP_LIMIT)]
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_pending (draft, enqueued_at) VALUES (:d, now())"),
                     [{"d": b} for b in body])
    log = CustodyLog(pg_engine, signer, ORIGIN)
    results: list[object] = []
    writer = threading.Thread(target=lambda: results.append(log.append([_draft(0)])))
    with psycopg.connect(pg_database_url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (SEQUENCER_LOCK,))  # somebody sequences
        writer.start()
        pause = threading.Event()  # never set: a bounded wait between polls
        while _pending(pg_engine) < GROUP_LIMIT + 1 and writer.is_alive():
            pause.wait(0.01)  # until the writer's drafts are queued behind the rest
        other.execute("SELECT pg_advisory_unlock(%s)", (SEQUENCER_LOCK,))
    writer.join(60)
    assert len(results) == 1 and not writer.is_alive()
    result = results[0]
    assert isinstance(result, AppendResult)
    assert [e.seq for e in result.entries] == [GROUP_LIMIT]
    assert [c.size for c in log.checkpoints()] == [GROUP_LIMIT, GROUP_LIMIT + 1]
    assert _pending(pg_engine) == 0
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok


def test_closing_the_log_closes_its_queue_connections_and_a_later_append_reopens(
        pg_engine: Engine, signer: Ed25519Signer) -> None:
    log = CustodyLog(pg_engine, signer, ORIGIN)
    log.append([_draft(0)])
    assert isinstance(log._queue, AppendQueue)
    kept = [held.connection for held in log._queue._idle]
    assert kept and not any(c.closed for c in kept)
    log.close()
    assert all(c.closed for c in kept) and log._queue._idle == []
    assert log.append([_draft(1)]).entries[0].seq == 1
    log.close()
    assert verify_database(pg_engine, signer.verifier(), ORIGIN).ok
