"""The append-only custody log on a SQL database.

Every append is one transaction that locks the head row (``UPDATE ...
RETURNING``: a row lock on PostgreSQL, the write lock on SQLite), writes the
entries and the newly completed Merkle nodes, advances the head and stores a
signed checkpoint of the new size. So a commit is never left without a
checkpoint and concurrent writers form one gapless, fork-free sequence.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from custody import schema
from custody.checkpoint import Checkpoint, sign_checkpoint
from custody.events import EventDraft, build_event, format_time
from custody.merkle import CompactRange, NodeKey, consistency_proof, inclusion_proof, root_at
from custody.note import Signer
from domain.errors import ConfigError, IntegrityError, NotFound, StorageError, StorageUnavailable


@dataclass(frozen=True)
class Appended:
    seq: int
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class AppendResult:
    entries: tuple[Appended, ...]
    checkpoint: StoredCheckpoint


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


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _translate(exc: SQLAlchemyError) -> StorageError:
    if isinstance(exc, OperationalError):
        return StorageUnavailable(f"custody database unavailable: {exc.orig}",
                                  hint="check the database server or file, then retry")
    return StorageError(f"custody database error: {exc.__class__.__name__}: {exc}")


class CustodyLog:
    """Append, checkpoint and prove. Takes explicit collaborators; reads no settings."""

    def __init__(self, engine: Engine, signer: Signer, origin: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not origin:
            raise ConfigError("the custody log needs an origin name", hint="run `evidence init`")
        self.engine = engine
        self.signer = signer
        self.origin = origin
        self._clock = clock

    # -- writing -----------------------------------------------------------

    def append(self, drafts: Sequence[EventDraft], conn: Connection | None = None) -> AppendResult:
        """Durably append ``drafts`` in one transaction and sign the new size.

        Given ``conn``, the append joins the caller's transaction, so a record and
        the custody events describing it commit (or vanish) together.
        """
        if not drafts:
            raise ConfigError("nothing to append", hint="pass at least one event")
        try:
            if conn is not None:
                return self._append_locked(conn, drafts)
            with _write_connection(self.engine) as own, own.begin():
                return self._append_locked(own, drafts)
        except SQLAlchemyError as exc:
            raise _translate(exc) from None

    def append_one(self, draft: EventDraft) -> Appended:
        return self.append([draft]).entries[0]

    def _append_locked(self, conn: Connection, drafts: Sequence[EventDraft]) -> AppendResult:
        # Statements on this path are plain driver SQL: building SQLAlchemy
        # expressions cost more per commit than the commit itself (bench/custody.py).
        mark = _placeholder(conn)  # only placeholders are interpolated, never values
        size, frontier_bytes, prev = conn.exec_driver_sql(
            "UPDATE custody_head SET size = size WHERE id = 1 "
            "RETURNING size, frontier, last_leaf_hash").one()
        prev = bytes(prev) if prev is not None else None
        frontier = CompactRange.from_bytes(size, bytes(frontier_bytes))
        self._refuse_fork(conn, frontier)
        now = self._clock()
        now_text = format_time(now)
        entry_rows: list[tuple[int, bytes, bytes]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        appended: list[Appended] = []
        sha256 = hashlib.sha256
        for seq, draft in enumerate(drafts, start=size):
            leaf = build_event(draft, seq, prev.hex() if prev else None, now, now_text)
            leaf_hash = sha256(b"\x00" + leaf).digest()
            entry_rows.append((seq, leaf, leaf_hash))
            node_rows.extend(frontier.append(leaf_hash))
            appended.append(Appended(seq, leaf_hash))
            prev = leaf_hash
        conn.exec_driver_sql(
            f"INSERT INTO custody_entries (seq, leaf, leaf_hash) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
            entry_rows)
        if node_rows:
            conn.exec_driver_sql(
                f"INSERT INTO custody_nodes (level, idx, hash) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
                node_rows)
        conn.exec_driver_sql(
            f"UPDATE custody_head SET size = {mark}, frontier = {mark}, last_leaf_hash = {mark} "  # noqa: S608
            "WHERE id = 1", (frontier.size, frontier.to_bytes(), prev))
        checkpoint = self._sign(conn, frontier.size, frontier.root(), now)
        return AppendResult(tuple(appended), checkpoint)

    def _refuse_fork(self, conn: Connection, frontier: CompactRange) -> None:
        """Never sign a tree that is inconsistent with the last signed one."""
        latest = conn.exec_driver_sql(
            "SELECT size, root_hash FROM custody_checkpoints ORDER BY id DESC LIMIT 1").first()
        if latest is None:
            return
        signed_size, signed_root = int(latest[0]), bytes(latest[1])
        if signed_size > frontier.size:
            raise IntegrityError(
                f"the log holds {frontier.size} entries but checkpoint {signed_size} was signed",
                hint="the log was truncated; run `evidence verify` and restore from backup")
        expected = (frontier.root() if signed_size == frontier.size
                    else root_at(signed_size, self._fetcher(conn)))
        if expected != signed_root:
            raise IntegrityError(
                f"the stored tree does not match signed checkpoint {signed_size}",
                hint="refusing to sign a fork; run `evidence verify`")

    def _sign(self, conn: Connection, size: int, root: bytes, now: datetime) -> StoredCheckpoint:
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        conn.execute(insert(schema.checkpoints).values(
            size=size, root_hash=root, note=note, created_at=now))
        return StoredCheckpoint(size, root, note, now)

    def checkpoint(self) -> StoredCheckpoint:
        """Sign the current size, unless the newest checkpoint already covers it."""
        try:
            with _write_connection(self.engine) as conn, conn.begin():
                head = schema.head
                size, frontier_bytes = conn.execute(
                    update(head).where(head.c.id == 1).values(size=head.c.size)
                    .returning(head.c.size, head.c.frontier)).one()
                frontier = CompactRange.from_bytes(size, frontier_bytes)
                self._refuse_fork(conn, frontier)
                latest = self._latest(conn)
                if latest is not None and latest.size == size:
                    return latest
                return self._sign(conn, size, frontier.root(), self._clock())
        except SQLAlchemyError as exc:
            raise _translate(exc) from None

    def store_document(self, body: bytes) -> str:
        """Keep a bulky detail outside the event; the event carries this SHA-256."""
        digest = hashlib.sha256(body).hexdigest()
        try:
            with _write_connection(self.engine) as conn, conn.begin():
                exists = conn.execute(select(schema.documents.c.sha256)
                                      .where(schema.documents.c.sha256 == digest)).first()
                if exists is None:
                    conn.execute(insert(schema.documents).values(sha256=digest, body=body))
        except SQLAlchemyError as exc:
            raise _translate(exc) from None
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
            raise NotFound(f"custody log has no entry {seq}")
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
            raise NotFound(f"custody document {sha256_hex} is not stored")
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
            raise NotFound(f"no signed checkpoint has size {size}",
                           hint="omit --size to use the latest, or list them with "
                                "`evidence log checkpoints`")
        return _checkpoint_from_row(row)

    # -- proofs ------------------------------------------------------------

    def _fetcher(self, conn: Connection) -> Callable[[Collection[NodeKey]], Mapping[NodeKey, bytes]]:
        def fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
            found: dict[NodeKey, bytes] = {}
            leaves = [idx for level, idx in keys if level == 0]
            inner = [(level, idx) for level, idx in keys if level > 0]
            if leaves:
                rows = conn.execute(select(schema.entries.c.seq, schema.entries.c.leaf_hash)
                                    .where(schema.entries.c.seq.in_(leaves)))
                found.update({(0, int(seq)): bytes(h) for seq, h in rows})
            if inner:
                # OR of (level, idx) pairs: each is a primary-key lookup; a row-value
                # IN (VALUES ...) makes SQLite scan the whole table.
                mark = _placeholder(conn)
                where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(inner))
                params = tuple(v for key in inner for v in key)
                rows2 = conn.exec_driver_sql(
                    f"SELECT level, idx, hash FROM custody_nodes WHERE {where}", params)  # noqa: S608
                found.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in rows2})
            missing = set(keys) - found.keys()
            if missing:
                raise IntegrityError(f"Merkle nodes missing from the database: {sorted(missing)[:5]}",
                                     hint="run `evidence verify`")
            return found
        return fetch

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``index`` is in the signed tree of ``size`` (default: latest)."""
        with self.engine.connect() as conn:
            cp = self._latest(conn) if size is None else None
            if size is None:
                if cp is None:
                    raise NotFound("the custody log has no checkpoint yet",
                                   hint="append an event or run `evidence log checkpoint`")
                size = cp.size
            else:
                cp = self.checkpoint_at(size)
            if not 0 <= index < size:
                raise NotFound(f"entry {index} is not in the tree of size {size}",
                               hint=f"choose an entry from 0 to {size - 1}")
            path = inclusion_proof(index, size, self._fetcher(conn))
            leaf_row = conn.execute(select(schema.entries.c.leaf, schema.entries.c.leaf_hash)
                                    .where(schema.entries.c.seq == index)).one()
        return InclusionProof(index, size, bytes(leaf_row[0]), bytes(leaf_row[1]),
                              tuple(path), cp.note)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        old_cp = self.checkpoint_at(old_size)
        if new_size is None:
            new_cp = self.latest_checkpoint()
            if new_cp is None:
                raise NotFound("the custody log has no checkpoint yet")
        else:
            new_cp = self.checkpoint_at(new_size)
        if old_cp.size > new_cp.size:
            raise NotFound(f"old size {old_cp.size} is larger than new size {new_cp.size}")
        with self.engine.connect() as conn:
            path = consistency_proof(old_cp.size, new_cp.size, self._fetcher(conn))
        return ConsistencyProof(old_cp.size, new_cp.size, tuple(path), old_cp.note, new_cp.note)


def _checkpoint_from_row(row: Any) -> StoredCheckpoint:
    created = row.created_at
    if created.tzinfo is None:  # SQLite keeps no zone; we only ever store UTC
        created = created.replace(tzinfo=UTC)
    return StoredCheckpoint(int(row.size), bytes(row.root_hash), row.note, created)


def count_entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.entries)).scalar_one())
