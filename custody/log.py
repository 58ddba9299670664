"""The append-only custody log on a SQL database.

Every append is one transaction that locks the head row (``UPDATE ...
RETURNING``: a row lock on PostgreSQL, the write lock on SQLite), writes the
entries and the newly completed Merkle nodes, advances the head and stores a
signed checkpoint of the new size. So a commit is never left without a
checkpoint and concurrent writers form one gapless, fork-free sequence.
What an append writes is built and signed by custody/append_core.py, which the
PostgreSQL queue (custody/queue.py) calls too.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from custody import schema
from custody.append_core import LOCK_HEAD, AppendCore, node_fetcher, read_latest
from custody.events import JSON, EventDraft, prepare_event
from custody.merkle import CompactRange, consistency_proof, inclusion_proof
from custody.note import Signer
from custody.queue import AppendQueue
from custody.results import Appended, AppendResult, StoredCheckpoint
from domain.errors import ConfigError, NotFound, StorageError, StorageUnavailable
from domain.messages import msg


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf: bytes
    leaf_hash: bytes
    path: tuple[bytes, ...]
    checkpoint: str  # the signed note whose root the path leads to

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "size": self.size,
            "leaf": base64.b64encode(self.leaf).decode(),
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [node.hex() for node in self.path],
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    path: tuple[bytes, ...]
    old_checkpoint: str
    new_checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "proof": [node.hex() for node in self.path],
            "old_checkpoint": self.old_checkpoint,
            "new_checkpoint": self.new_checkpoint,
        }


# Execution option marking a transaction that will write: SQLite engines made by
# storage.db begin it with BEGIN IMMEDIATE; other dialects ignore it.
WRITE_OPTION = "evidence_write"


def _write_connection(engine: Engine) -> Connection:
    conn = engine.connect()
    conn.execution_options(**{WRITE_OPTION: True})
    return conn


_HEAD_AND_LATEST = ("SELECT h.size, h.frontier, h.last_leaf_hash, c.size, c.root_hash "
                    "FROM custody_head h LEFT JOIN (SELECT size, root_hash FROM custody_checkpoints "
                    "ORDER BY id DESC LIMIT 1) c WHERE h.id = 1")


@contextmanager
def _cursor(conn: Connection) -> Iterator[Any]:
    """A DB-API cursor inside ``conn``'s transaction."""
    cursor = conn.connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _translate(exc: Exception, dbapi: Any) -> StorageError:
    """SQLAlchemy's errors, and the driver's own from the cursor the append path uses."""
    if isinstance(exc, (OperationalError, dbapi.OperationalError)):
        reason = exc.orig if isinstance(exc, OperationalError) else exc
        return StorageUnavailable(msg("custody database unavailable: {reason}", reason=reason),
                                  hint=msg("check the database server or file, then retry"))
    return StorageError(msg("custody database error: {name}: {reason}", name=exc.__class__.__name__,
                            reason=exc))


class CustodyLog:
    """Append, checkpoint and prove. Takes explicit collaborators; reads no settings."""

    def __init__(self, engine: Engine, signer: Signer, origin: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not origin:
            raise ConfigError(msg("the custody log needs an origin name"), hint=msg("run `evidence init`"))
        self.engine = engine
        self.signer = signer
        self.origin = origin
        self.core = AppendCore(signer, origin, clock,
                               mark="?" if engine.dialect.paramstyle == "qmark" else "%s",
                               sqlite=engine.dialect.name == "sqlite")
        # Standalone PostgreSQL appends share transactions through the queue.
        self._queue = AppendQueue(self.core, engine) if engine.dialect.name == "postgresql" else None
        self._dbapi = engine.dialect.loaded_dbapi
        self._db_errors: tuple[type[Exception], ...] = (SQLAlchemyError, self._dbapi.Error)

    def close(self) -> None:
        """Close the connections this log keeps open between appends (the PostgreSQL
        queue's own pool). The engine is the caller's to dispose. A later append
        opens new ones."""
        if self._queue is not None:
            self._queue.close()

    # -- writing -----------------------------------------------------------

    def append(self, drafts: Sequence[EventDraft], conn: Connection | None = None) -> AppendResult:
        """Durably append ``drafts`` in one transaction and sign the new size.

        Given ``conn``, the append joins the caller's transaction, so a record and
        the custody events describing it commit (or vanish) together. Without it,
        PostgreSQL writers go through the shared queue (custody/queue.py), so many
        processes share one transaction and one checkpoint per group.
        """
        if not drafts:
            raise ConfigError(msg("nothing to append"), hint=msg("pass at least one event"))
        prepared = [prepare_event(draft) for draft in drafts]
        try:
            if conn is not None:
                head = conn.exec_driver_sql(LOCK_HEAD).one()  # begins the transaction if need be
                with _cursor(conn) as cursor:
                    return self.core.write_locked(cursor, head, read_latest(cursor), prepared)
            if self._queue is not None:
                return self._queue.append(prepared)
            return self._append_own(prepared)
        except self._db_errors as exc:
            raise _translate(exc, self._dbapi) from None

    def append_one(self, draft: EventDraft) -> Appended:
        return self.append([draft]).entries[0]

    def _append_own(self, prepared: Sequence[Mapping[str, JSON]]) -> AppendResult:
        # A pooled DB-API connection: SQLAlchemy's per-statement work cost more
        # than the statements themselves on this path (bench/custody.py).
        raw = self.engine.raw_connection()
        cursor: Any = raw.cursor()
        try:
            if self.core.sqlite:  # BEGIN IMMEDIATE takes the write lock: a plain read will do
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute(_HEAD_AND_LATEST)
                *head, latest_size, latest_root = cursor.fetchone()
                latest: Sequence[Any] | None = (None if latest_size is None
                                                else (latest_size, latest_root))
            else:
                cursor.execute(LOCK_HEAD)
                head = cursor.fetchone()
                latest = read_latest(cursor)
            result = self.core.write_locked(cursor, head, latest, prepared)
            raw.commit()
            return result
        except BaseException:
            raw.rollback()
            raise
        finally:
            cursor.close()
            raw.close()

    def checkpoint(self) -> StoredCheckpoint:
        """Sign the current size, unless the newest checkpoint already covers it.

        On PostgreSQL, appends queued by writers that died are sequenced first.
        """
        try:
            if self._queue is not None:
                self._queue.drain()
            with _write_connection(self.engine) as conn, conn.begin():
                head = schema.head
                size, frontier_bytes = conn.execute(
                    update(head).where(head.c.id == 1).values(size=head.c.size)
                    .returning(head.c.size, head.c.frontier)).one()
                frontier = CompactRange.from_bytes(size, frontier_bytes)
                latest = self._latest(conn)
                with _cursor(conn) as cursor:
                    signed_last = None if latest is None else (latest.size, latest.root_hash)
                    self.core.refuse_fork(cursor, frontier, signed_last)
                    if latest is not None and latest.size == size:
                        return latest
                    signed = self.core.signed(size, frontier.root(), self.core.clock())
                    self.core.store_checkpoint(cursor, signed)
                    return signed
        except self._db_errors as exc:
            raise _translate(exc, self._dbapi) from None

    def store_document(self, body: bytes) -> str:
        """Keep a bulky detail outside the event; the event carries this SHA-256."""
        digest = hashlib.sha256(body).hexdigest()
        try:
            with _write_connection(self.engine) as conn, conn.begin():
                exists = conn.execute(select(schema.documents.c.sha256)
                                      .where(schema.documents.c.sha256 == digest)).first()
                if exists is None:
                    conn.execute(insert(schema.documents).values(sha256=digest, body=body))
        except self._db_errors as exc:
            raise _translate(exc, self._dbapi) from None
        return digest

    # -- reading -----------------------------------------------------------

    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(schema.head.c.size)).scalar_one())

    def entry(self, seq: int) -> bytes:
        with self.engine.connect() as conn:
            leaf = conn.execute(select(schema.entries.c.leaf)
                                .where(schema.entries.c.seq == seq)).scalar()
        if leaf is None:
            raise NotFound(msg("custody log has no entry {seq}", seq=seq))
        return bytes(leaf)

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        query = select(schema.entries.c.seq, schema.entries.c.leaf).where(
            schema.entries.c.seq >= start).order_by(schema.entries.c.seq)
        if end is not None:
            query = query.where(schema.entries.c.seq < end)
        with self.engine.connect() as conn:
            for seq, leaf in conn.execution_options(yield_per=2000).execute(query):
                yield int(seq), bytes(leaf)

    def document(self, sha256_hex: str) -> bytes:
        with self.engine.connect() as conn:
            body = conn.execute(select(schema.documents.c.body)
                                .where(schema.documents.c.sha256 == sha256_hex)).scalar()
        if body is None:
            raise NotFound(msg("custody document {sha256_hex} is not stored", sha256_hex=sha256_hex))
        return bytes(body)

    def _latest(self, conn: Connection) -> StoredCheckpoint | None:
        row = conn.execute(select(schema.checkpoints).order_by(
            schema.checkpoints.c.id.desc()).limit(1)).first()
        return _checkpoint_from_row(row) if row else None

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            return self._latest(conn)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.checkpoints).order_by(schema.checkpoints.c.id))
            return [_checkpoint_from_row(row) for row in rows]

    def checkpoint_at(self, size: int) -> StoredCheckpoint:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.checkpoints).where(schema.checkpoints.c.size == size)
                               .order_by(schema.checkpoints.c.id).limit(1)).first()
        if row is None:
            raise NotFound(msg("no signed checkpoint has size {size}", size=size),
                           hint=msg("omit --size to use the latest, or list them with `evidence log "
                                    "checkpoints`"))
        return _checkpoint_from_row(row)

    # -- proofs ------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``index`` is in the signed tree of ``size`` (default: latest)."""
        with self.engine.connect() as conn:
            cp = self._latest(conn) if size is None else None
            if size is None:
                if cp is None:
                    raise NotFound(msg("the custody log has no checkpoint yet"),
                                   hint=msg("append an event or run `evidence log checkpoint`"))
                size = cp.size
            else:
                cp = self.checkpoint_at(size)
            if not 0 <= index < size:
                raise NotFound(msg("entry {index} is not in the tree of size {size}", index=index,
                                   size=size),
                               hint=msg("choose an entry from 0 to {value}", value=size - 1))
            with _cursor(conn) as cursor:
                path = inclusion_proof(index, size, node_fetcher(cursor, self.core.mark))
            leaf_row = conn.execute(select(schema.entries.c.leaf, schema.entries.c.leaf_hash)
                                    .where(schema.entries.c.seq == index)).one()
        return InclusionProof(index, size, bytes(leaf_row[0]), bytes(leaf_row[1]),
                              tuple(path), cp.note)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        old_cp = self.checkpoint_at(old_size)
        if new_size is None:
            new_cp = self.latest_checkpoint()
            if new_cp is None:
                raise NotFound(msg("the custody log has no checkpoint yet"))
        else:
            new_cp = self.checkpoint_at(new_size)
        if old_cp.size > new_cp.size:
            raise NotFound(msg("old size {size} is larger than new size {size2}", size=old_cp.size,
                               size2=new_cp.size))
        with self.engine.connect() as conn, _cursor(conn) as cursor:
            path = consistency_proof(old_cp.size, new_cp.size, node_fetcher(cursor, self.core.mark))
        return ConsistencyProof(old_cp.size, new_cp.size, tuple(path), old_cp.note, new_cp.note)


def _checkpoint_from_row(row: Any) -> StoredCheckpoint:
    created = row.created_at
    if created.tzinfo is None:  # SQLite keeps no zone; we only ever store UTC
        created = created.replace(tzinfo=UTC)
    return StoredCheckpoint(int(row.size), bytes(row.root_hash), row.note, created)


def count_entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.entries)).scalar_one())
