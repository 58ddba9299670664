"""The append core: what one append writes on top of a locked head, and how it is signed.

Both ways into the log call it: the direct append of custody/log.py (one
transaction on the caller's or a pooled connection) and the grouped append of
custody/queue.py (one sequencer transaction for many writers). It assigns each
prepared draft its sequence number and predecessor, hashes the leaves, extends
the compact range, refuses to sign a tree that forks the last signed one, and
signs the new size. It knows nothing of either caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custody.checkpoint import Checkpoint, sign_checkpoint
from custody.events import JSON, finish_event, format_time
from custody.merkle import CompactRange, NodeKey, root_at
from custody.note import Signer
from custody.results import Appended, AppendResult, StoredCheckpoint
from domain.errors import IntegrityError
from domain.messages import msg

LOCK_HEAD = ("UPDATE custody_head SET size = size WHERE id = 1 "
             "RETURNING size, frontier, last_leaf_hash")
LATEST_CHECKPOINT = "SELECT size, root_hash FROM custody_checkpoints ORDER BY id DESC LIMIT 1"

NodeFetcher = Callable[[Collection[NodeKey]], Mapping[NodeKey, bytes]]


def read_latest(cursor: Any) -> Sequence[Any] | None:
    """The newest checkpoint's (size, root hash), or None for a log never signed."""
    cursor.execute(LATEST_CHECKPOINT)
    row: Sequence[Any] | None = cursor.fetchone()
    return row


@dataclass(frozen=True)
class TreeWrite:
    """The rows one append writes under the head lock, and what it returns."""

    entry_rows: list[tuple[int, bytes, bytes, int | None]]  # seq, leaf, leaf hash, ticket
    node_rows: list[tuple[int, int, bytes]]  # level, index, hash of newly complete subtrees
    head_row: tuple[int, bytes, bytes | None]  # size, frontier, last leaf hash
    checkpoint: StoredCheckpoint
    appended: tuple[Appended, ...]


def node_fetcher(cursor: Any, mark: str) -> NodeFetcher:
    """Reads stored leaf hashes and inner nodes through a DB-API ``cursor`` whose
    driver's parameter placeholder is ``mark``."""

    def fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        found: dict[NodeKey, bytes] = {}
        leaves = [idx for level, idx in keys if level == 0]
        inner = [(level, idx) for level, idx in keys if level > 0]
        if leaves:
            cursor.execute(
                "SELECT seq, leaf_hash FROM custody_entries "  # noqa: S608
                f"WHERE seq IN ({', '.join([mark] * len(leaves))})", tuple(leaves))
            found.update({(0, int(seq)): bytes(h) for seq, h in cursor.fetchall()})
        if inner:
            # OR of (level, idx) pairs: each is a primary-key lookup; a row-value
            # IN (VALUES ...) makes SQLite scan the whole table.
            where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(inner))
            params = tuple(v for key in inner for v in key)
            cursor.execute(f"SELECT level, idx, hash FROM custody_nodes WHERE {where}", params)  # noqa: S608
            found.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in cursor.fetchall()})
        missing = set(keys) - found.keys()
        if missing:
            raise IntegrityError(msg("Merkle nodes missing from the database: {missing}",
                                     missing=sorted(missing)[:5]),
                                 hint=msg("run `evidence verify`"))
        return found
    return fetch


@dataclass(frozen=True)
class AppendCore:
    """Builds, signs and (on the direct path) writes appends for one log.

    ``mark`` is the parameter placeholder of the cursors it is given ("?" for
    sqlite3, "%s" for psycopg); ``sqlite`` says how checkpoint times are stored.
    """

    signer: Signer
    origin: str
    clock: Callable[[], datetime]
    mark: str
    sqlite: bool

    def build_write(self, cursor: Any, head: Sequence[Any], latest: Sequence[Any] | None,
                    prepared: Sequence[Mapping[str, JSON]],
                    tickets: Sequence[int | None] | None = None) -> TreeWrite:
        """The rows that append ``prepared`` after ``head`` (size, frontier, last leaf
        hash), and the signed checkpoint of the new size.

        Refuses to sign a fork of ``latest``, the newest checkpoint's (size, root
        hash). ``tickets`` name the queued appends (custody/queue.py) the entries
        come from. Reads only in the rare case that the head is past the latest
        checkpoint, so a pipelined caller can send every write in one round trip.
        """
        size, frontier_bytes, prev = head
        prev = bytes(prev) if prev is not None else None
        frontier = CompactRange.from_bytes(size, bytes(frontier_bytes))
        self.refuse_fork(cursor, frontier, latest)
        now = self.clock()
        now_text = format_time(now)
        entry_rows: list[tuple[int, bytes, bytes, int | None]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        appended: list[Appended] = []
        sha256 = hashlib.sha256
        for seq, fields, ticket in zip(range(size, size + len(prepared)), prepared,
                                       tickets or [None] * len(prepared), strict=True):
            leaf = finish_event(fields, seq, prev.hex() if prev else None, now_text)
            leaf_hash = sha256(b"\x00" + leaf).digest()
            entry_rows.append((seq, leaf, leaf_hash, ticket))
            node_rows.extend(frontier.append(leaf_hash))
            appended.append(Appended(seq, leaf_hash))
            prev = leaf_hash
        return TreeWrite(entry_rows, node_rows, (frontier.size, frontier.to_bytes(), prev),
                         self.signed(frontier.size, frontier.root(), now), tuple(appended))

    def write_locked(self, cursor: Any, head: Sequence[Any], latest: Sequence[Any] | None,
                     prepared: Sequence[Mapping[str, JSON]]) -> AppendResult:
        """Append prepared drafts after ``head``, whose row the cursor's transaction
        has locked, with plain statements on that cursor, and sign the new size.

        ``latest`` is the newest checkpoint's (size, root hash) read under that lock
        (``read_latest``).
        """
        write = self.build_write(cursor, head, latest, prepared)
        mark = self.mark  # only placeholders are interpolated, never values
        cursor.executemany(
            "INSERT INTO custody_entries (seq, leaf, leaf_hash, ticket) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}, {mark})", write.entry_rows)
        if write.node_rows:
            cursor.executemany(
                f"INSERT INTO custody_nodes (level, idx, hash) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
                write.node_rows)
        cursor.execute(
            f"UPDATE custody_head SET size = {mark}, frontier = {mark}, last_leaf_hash = {mark} "  # noqa: S608
            "WHERE id = 1", write.head_row)
        self.store_checkpoint(cursor, write.checkpoint)
        return AppendResult(write.appended, write.checkpoint)

    def refuse_fork(self, cursor: Any, frontier: CompactRange, latest: Sequence[Any] | None) -> None:
        """Never sign a tree that is inconsistent with the last signed one (``latest``)."""
        if latest is None:
            return
        signed_size, signed_root = int(latest[0]), bytes(latest[1])
        if signed_size > frontier.size:
            raise IntegrityError(
                msg("the log holds {size} entries but checkpoint {signed_size} was signed",
                    size=frontier.size, signed_size=signed_size),
                hint=msg("the log was truncated; run `evidence verify` and restore from backup"))
        expected = (frontier.root() if signed_size == frontier.size
                    else root_at(signed_size, node_fetcher(cursor, self.mark)))
        if expected != signed_root:
            raise IntegrityError(
                msg("the stored tree does not match signed checkpoint {signed_size}",
                    signed_size=signed_size),
                hint=msg("refusing to sign a fork; run `evidence verify`"))

    def signed(self, size: int, root: bytes, now: datetime) -> StoredCheckpoint:
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        return StoredCheckpoint(size, root, note, now)

    def store_checkpoint(self, cursor: Any, cp: StoredCheckpoint) -> None:
        mark = self.mark
        # SQLite keeps DateTime columns as text; this is the text SQLAlchemy writes.
        created: datetime | str = (
            cp.created_at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            if self.sqlite else cp.created_at)
        cursor.execute(
            "INSERT INTO custody_checkpoints (size, root_hash, note, created_at) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}, {mark})", (cp.size, cp.root_hash, cp.note, created))
