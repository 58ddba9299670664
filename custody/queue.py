"""Grouped appends: many PostgreSQL writers, one transaction and one checkpoint per group.

An append holds the log's head row from its first write to its commit. With one
event per commit, eight writer processes were serialised on that lock and on
each commit's WAL flush: about 330 appends/s, no faster than one writer
(bench/custody.py). So a standalone append on PostgreSQL is one call of the
procedure ``custody_append()`` (migration 0007), in two steps:

1. if nobody is sequencing, the writer becomes the sequencer (an advisory
   lock) with its drafts in hand; otherwise it commits its validated drafts to
   ``custody_pending`` (without waiting for the flush: the append is not
   acknowledged before the sequencer's synchronous commit);
2. it waits for the sequencer; if that took our drafts, it reads our entries
   (by ``custody_entries.ticket``) and goes; otherwise it becomes the
   sequencer.

The sequencer appends every queued append (and its own drafts) in one
transaction with one signed checkpoint. Every entry is still committed together
with a checkpoint that covers it, and the head row is locked as for a direct
append, so the log stays gapless and fork-free. A writer that dies after the
first step leaves its drafts queued; the next append, or ``evidence log
checkpoint``, sequences them.
"""
from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine

from custody.append_core import AppendCore
from custody.events import JSON, EventError, check_fits
from custody.queue_wire import (
    SEQUENCER_LOCK,
    UNLOCK,
    Lead,
    begin_and_lead,
    claim,
    prepare,
    run,
    run_command,
    submit,
    write_commit,
)
from custody.results import Appended, AppendResult, StoredCheckpoint
from domain.errors import IntegrityError
from domain.messages import msg

APPLICATION_NAME = "evidence custody queue"  # how its connections show in pg_stat_activity
POOL_SIZE = 4  # queue connections kept open while idle, per process
IDLE_CHECK_S = 2.0  # a connection idle longer is checked before use
GROUP_LIMIT = 500  # queued appends sequenced in one transaction
_DRAFT_FIELDS = frozenset({"type", "actor", "subject", "time", "details"})


class AppendQueue:
    """The grouped append of custody/queue.py for one log on PostgreSQL.

    ``core`` builds and signs each group's write (custody/append_core.py), as it
    does a direct append's; ``engine`` only names the database: the queue keeps
    its own connections.

    One writer at a time sequences, holding an advisory lock; the others wait
    for that lock inside ``custody_append()`` and, if their entries are done,
    release it within the same call. A waiting writer's append is one round
    trip, the sequencer's write one more (custody/queue_wire.py).
    """

    def __init__(self, core: AppendCore, engine: Engine, idle_check_s: float = IDLE_CHECK_S) -> None:
        # Nothing here refers back to the log that owns the queue, so its
        # connections close as soon as the log is dropped, without the cycle collector.
        self._core = core
        self._idle_check_s = idle_check_s
        self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._idle: list[_Held] = []
        self._pool_lock = threading.Lock()

    def append(self, prepared: Sequence[Mapping[str, JSON]]) -> AppendResult:
        for fields in prepared:
            check_fits(fields)  # a queued draft must never fail when it is sequenced
        with self._connection() as pg:
            outcome = submit(pg, orjson.dumps(list(prepared)), GROUP_LIMIT)
            if isinstance(outcome, AppendResult):  # the sequencer we waited for took them
                return outcome
            queued = outcome.queued
            if queued is None:  # nobody was sequencing: we do, drafts in hand
                done = self._sequence_unlocking(pg, None, 0, own=prepared, lead=outcome)
                if done is None:
                    raise IntegrityError(msg("the sequencer lost its own events"),
                                         hint=msg("run `evidence verify`"))
                return done
            lead = outcome
            while True:
                done = self._sequence_unlocking(pg, queued.ticket, queued.floor, lead=lead)
                if done is not None:
                    return done
                # a queue longer than one group: ours is in a later one
                claimed = claim(pg, queued.ticket, queued.floor, GROUP_LIMIT)
                if isinstance(claimed, AppendResult):  # another sequencer took it
                    return claimed
                lead = claimed

    def drain(self) -> None:
        """Sequence every queued append (those of writers that died). Refuses if rows
        that are not queued appends remain."""
        with self._connection() as pg:
            pg.execute("SELECT pg_advisory_lock(%s)", (SEQUENCER_LOCK,))
            self._sequence_unlocking(pg, None, 0, until_empty=True)

    def _sequence_unlocking(self, pg: Any, ticket: int | None, floor: int,
                            own: Sequence[Mapping[str, JSON]] = (), until_empty: bool = False,
                            lead: Lead | None = None) -> AppendResult | None:
        try:
            return self._sequence(pg, ticket, floor, own, until_empty, lead)
        except BaseException:
            if pg.info.transaction_status != TransactionStatus.IDLE:  # failed mid-way
                pg.execute("ROLLBACK")
            run(pg, UNLOCK)
            raise

    def close(self) -> None:
        """Close the connections kept idle between appends; later appends open new ones."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for held in idle:
            held.close()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """An autocommit connection to the log's database, from this queue's own pool.

        Kept open between appends and outside the engine's pool: a pool checkout
        and its liveness query cost more than the two statements a waiting writer
        sends. Checked with a query only after it has been idle a while, as pools
        do, or when its socket shows the server closed or reset it (an idle
        connection has nothing to read otherwise), so that an append after a
        database outage does not fail on a connection from before it. At most
        POOL_SIZE stay open while idle; more are opened when that many appends run
        at once, and closed after.
        """
        held = self._checkout()
        pg = held.connection
        if time.monotonic() - held.used >= self._idle_check_s or _hung_up(pg):
            try:
                pg.execute("SELECT 1")
            except psycopg.OperationalError:
                pg.close()
                held.connection = pg = self._connect()
        broken = False
        try:
            yield pg
        except BaseException:
            if pg.closed or pg.info.transaction_status == TransactionStatus.UNKNOWN:
                broken = True
            elif pg.info.transaction_status != TransactionStatus.IDLE:
                pg.execute("ROLLBACK")  # a statement failed mid-transaction
            raise
        finally:
            held.used = time.monotonic()
            self._checkin(held, broken)

    def _checkout(self) -> _Held:
        with self._pool_lock:
            while self._idle:
                held = self._idle.pop()
                if held.pid == os.getpid() and not held.connection.closed:
                    return held
        return _Held(self._connect(), os.getpid())

    def _checkin(self, held: _Held, broken: bool) -> None:
        if not broken and held.pid == os.getpid() and not held.connection.closed:
            with self._pool_lock:
                if len(self._idle) < POOL_SIZE:
                    self._idle.append(held)
                    return
        held.close()

    def _connect(self) -> Any:
        params = {**self._connect_args[1], "application_name": APPLICATION_NAME}
        pg = psycopg.connect(*self._connect_args[0], **params, autocommit=True)
        prepare(pg)
        return pg

    def _sequence(self, pg: Any, ticket: int | None, floor: int,
                  own: Sequence[Mapping[str, JSON]], until_empty: bool,
                  lead: Lead | None) -> AppendResult | None:
        """As the sequencer (holding SEQUENCER_LOCK), append the queue; release the lock.

        A group is one transaction with one checkpoint: the oldest queued appends
        and ``own``, drafts this writer did not queue. One group, or with
        ``until_empty`` as many as it takes to empty the queue. ``lead`` is what
        ``submit``/``claim`` read for the first group without the head row lock;
        if a direct append moved the head since, that group is redone under the
        lock. Returns this writer's entries (for ``own`` or ``ticket``), or None
        when a later group will take them (or there were none).
        """
        result: AppendResult | None = None
        made = 0
        while made == 0 or until_empty:
            if lead is None:
                lead = begin_and_lead(pg, ticket, floor, GROUP_LIMIT)
            end = "ROLLBACK" if lead.locked else ""  # an unlocked read began no transaction
            if lead.mine:  # a sequencer before us took them after all
                run(pg, f"ROLLBACK; {UNLOCK}")
                return AppendResult(tuple(lead.mine), self._latest(pg))
            if ticket is not None and made == 0 and len(lead.pending) < GROUP_LIMIT and all(
                    row_ticket != ticket for row_ticket, _ in lead.pending):
                if end:
                    run_command(pg, end)
                raise IntegrityError(
                    msg("queued custody events vanished before they were sequenced"),
                    hint=msg("someone removed rows from custody_pending; run `evidence verify`"))
            group = self._group(pg, lead.pending, ticket, lead.locked)
            if made == 0:
                group.add_own(own)
            if not group.prepared:
                if end:
                    run_command(pg, end)
                if lead.pending:
                    raise IntegrityError(
                        msg("custody_pending holds {pending_count} rows that are not queued appends",
                            pending_count=len(lead.pending)),
                        hint=msg("they were edited in the database; run `evidence verify` and "
                                            "restore them from backup"))
                break
            write = self._core.build_write(pg.cursor(), lead.head, lead.latest,
                                           group.prepared, group.ticket_per_entry)
            try:
                write_commit(pg, write.entry_rows, write.node_rows, write.checkpoint,
                             group.tickets, write.head_row, unlock=not until_empty,
                             expect_size=None if lead.locked else lead.head[0])
            except psycopg.errors.SerializationFailure:
                if lead.locked:
                    raise
                lead = None  # a direct append moved the head: nothing was written; redo, locked
                continue
            made += 1
            lead = None
            entries = group.entries_of(ticket, write.appended)
            if entries:
                result = AppendResult(entries, write.checkpoint)
        if until_empty or made == 0:
            run(pg, UNLOCK)
        return result

    @staticmethod
    def _latest(pg: Any) -> StoredCheckpoint:
        return _checkpoint(pg.execute("SELECT size, root_hash, note, created_at "
                                      "FROM custody_checkpoints ORDER BY id DESC LIMIT 1").fetchone())

    @staticmethod
    def _group(pg: Any, rows: Sequence[Any], ticket: int | None, in_transaction: bool) -> _Group:
        group = _Group()
        for row_ticket, body in rows:
            drafts = _load(bytes(body))
            if drafts is not None:
                group.add(int(row_ticket), drafts)
            elif row_ticket == ticket:  # only an edited row fails: ours is dropped and refused
                pg.execute("DELETE FROM custody_pending WHERE id = %s", (ticket,))
                if in_transaction:
                    pg.execute("COMMIT")
                raise EventError(msg("queued custody append {ticket} was altered before sequencing",
                                     ticket=ticket))
        return group


def _hung_up(pg: Any) -> bool:
    """Whether an idle connection's socket is readable: closed, reset or told to close."""
    try:
        socket = pg.pgconn.socket
    except psycopg.OperationalError:  # libpq has dropped the socket already
        return True
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    return bool(poller.poll(0))


class _Held:
    """A queue connection, the process that opened it and when it was last used."""

    def __init__(self, connection: Any, pid: int) -> None:
        self.connection = connection
        self.pid = pid  # a forked child must not use its parent's connection
        self.used = time.monotonic()

    def close(self) -> None:
        # Closing in a forked child would end the parent's session on the shared socket.
        if self.pid == os.getpid() and not self.connection.closed:
            self.connection.close()

    def __del__(self) -> None:
        self.close()


class _Group:
    """The appends one sequencer transaction takes: queued ones in ticket order,
    then the sequencer's own."""

    def __init__(self) -> None:
        self.tickets: list[int] = []
        self.counts: list[int] = []
        self.prepared: list[Mapping[str, JSON]] = []
        self.own = 0

    def add(self, ticket: int, drafts: Sequence[Mapping[str, JSON]]) -> None:
        self.tickets.append(ticket)
        self.counts.append(len(drafts))
        self.prepared.extend(drafts)

    def add_own(self, drafts: Sequence[Mapping[str, JSON]]) -> None:
        self.own = len(drafts)
        self.prepared.extend(drafts)

    @property
    def ticket_per_entry(self) -> list[int | None]:
        queued: list[int | None] = [
            t for t, n in zip(self.tickets, self.counts, strict=True) for _ in range(n)]
        return queued + [None] * self.own

    def entries_of(self, ticket: int | None, entries: Sequence[Appended]) -> tuple[Appended, ...]:
        """The entries of queued append ``ticket``, or with None the sequencer's own."""
        if ticket is None:
            return tuple(entries[len(entries) - self.own:]) if self.own else ()
        start = 0
        for each, count in zip(self.tickets, self.counts, strict=True):
            if each == ticket:
                return tuple(entries[start:start + count])
            start += count
        return ()


def _checkpoint(row: Any) -> StoredCheckpoint:
    if row is None:
        raise IntegrityError(msg("custody entries exist but no checkpoint covers them"),
                             hint=msg("run `evidence verify`"))
    size, root, note, created = row
    return StoredCheckpoint(int(size), bytes(root), note, created)


def _load(body: bytes) -> list[dict[str, JSON]] | None:
    """A queued append's drafts as they were validated, or None if the row was edited."""
    try:
        drafts = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(drafts, list) or not drafts:
        return None
    for fields in drafts:
        if not isinstance(fields, dict) or fields.keys() != _DRAFT_FIELDS:
            return None
        try:
            check_fits(fields)
        except EventError:
            return None
    return drafts
