"""The history of signed checkpoints, each checked against the one before it and the log.

Every append signs a checkpoint, and every one is kept (``custody_checkpoints``,
numbered in the order they were stored). Read newest first, a page shows each
checkpoint with its *breaks*: what does not hold between it and the checkpoint
stored before it, or between it and the entries as they are now. Nothing is
left out of the list for being wrong; a break is shown where it is.

Break kinds:

* ``bad_signature``: the note does not verify with the log's key and origin.
* ``altered``: the size or root stored beside the note is not what the note signs.
* ``numbering_gap``: checkpoints numbered between this one and the one before it are
  not stored (deleted; on PostgreSQL also a write that failed after it was numbered).
* ``rolled_back``: it signs fewer entries than the nearest older validly signed one.
* ``beyond_log``: it signs more entries than the log holds now: entries were removed.
* ``root_mismatch``: the entries now stored do not hash to the root it signs.
* ``inconsistent``: the tree it signs does not extend the one the nearest older validly
  signed checkpoint signs (RFC 9162 consistency proof, built from the stored nodes, fails).
* ``unreadable``: the stored Merkle nodes needed to check it are missing or malformed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from custody import schema
from custody.append_core import NodeFetcher, node_fetcher
from custody.log import CustodyLog
from custody.merkle import consistency_proof, root_at
from custody.note import Verifier
from custody.proofs import CheckpointCheck, ConsistencyCheck, check_checkpoint, check_consistency
from domain.errors import IntegrityError, NotFound
from domain.messages import msg

FETCH_BACK = 50  # older checkpoints read at a time when the ones before a page are forged


@dataclass(frozen=True)
class Break:
    kind: str
    message: str


@dataclass(frozen=True)
class HistoryEntry:
    number: int  # its id in custody_checkpoints: the order checkpoints were stored in
    size: int  # as stored beside the note
    root_hash: bytes  # as stored beside the note
    created_at: datetime
    check: CheckpointCheck  # the note, read and its signature checked
    previous: int | None  # the number of the checkpoint stored before it
    compared_with: int | None  # the nearest older checkpoint whose signature verifies
    breaks: tuple[Break, ...]


@dataclass(frozen=True)
class HistoryPage:
    log_size: int  # entries in the log now
    total: int  # checkpoints stored
    offset: int
    limit: int
    items: list[HistoryEntry]

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.items)
        return following if following < self.total and self.items else None


@contextmanager
def _nodes(log: CustodyLog, conn: Connection) -> Iterator[NodeFetcher]:
    cursor = conn.connection.cursor()
    try:
        yield node_fetcher(cursor, log.core.mark)
    finally:
        cursor.close()


def _created(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def checkpoint_history(log: CustodyLog, verifier: Verifier, origin: str | None,
                       offset: int = 0, limit: int = 50) -> HistoryPage:
    """Checkpoints newest first, each with its breaks."""
    cps = schema.checkpoints
    with log.engine.connect() as conn:
        log_size = int(conn.execute(select(schema.head.c.size)).scalar_one())
        total = int(conn.execute(select(func.count()).select_from(cps)).scalar_one())
        # one more than the page: the last item's predecessor
        rows = list(conn.execute(select(cps).order_by(cps.c.id.desc()).offset(offset)
                                 .limit(limit + 1)))
        older = _OlderSigned(conn, rows, [check_checkpoint(r.note, verifier, origin) for r in rows],
                             verifier, origin)
        items = []
        with _nodes(log, conn) as fetch:
            for position, row in enumerate(rows[:limit]):
                before = rows[position + 1] if position + 1 < len(rows) else None
                signed_before = older.before(position)
                check = older.checks[position]
                breaks = _breaks(row, check, before, signed_before, log_size, fetch)
                items.append(HistoryEntry(
                    int(row.id), int(row.size), bytes(row.root_hash), _created(row.created_at),
                    check, int(before.id) if before is not None else None,
                    signed_before[0] if signed_before is not None else None, tuple(breaks)))
    return HistoryPage(log_size, total, offset, limit, items)


class _OlderSigned:
    """For each checkpoint of a page, the nearest older one whose signature verifies (read
    further back than the page when the ones just before it are forged)."""

    def __init__(self, conn: Connection, rows: list[Any], checks: list[CheckpointCheck],
                 verifier: Verifier, origin: str | None) -> None:
        self._conn, self._verifier, self._origin = conn, verifier, origin
        self.rows, self.checks = rows, checks
        self._exhausted = len(rows) == 0

    def before(self, position: int) -> tuple[int, CheckpointCheck] | None:
        index = position + 1
        while True:
            while index < len(self.rows):
                if self.checks[index].problem is None:
                    return int(self.rows[index].id), self.checks[index]
                index += 1
            if self._exhausted or not self._read_more():
                return None

    def _read_more(self) -> bool:
        cps = schema.checkpoints
        more = list(self._conn.execute(select(cps).where(cps.c.id < self.rows[-1].id)
                                       .order_by(cps.c.id.desc()).limit(FETCH_BACK)))
        if not more:
            self._exhausted = True
            return False
        self.rows += more
        self.checks += [check_checkpoint(r.note, self._verifier, self._origin) for r in more]
        return True


def _breaks(row: Any, check: CheckpointCheck, before: Any,
            signed_before: tuple[int, CheckpointCheck] | None, log_size: int,
            fetch: NodeFetcher) -> list[Break]:
    found: list[Break] = []
    expected_number = int(before.id) + 1 if before is not None else 1
    if int(row.id) != expected_number:
        first, last = expected_number, int(row.id) - 1
        which = f"#{first}" if first == last else f"#{first} to #{last}"
        found.append(Break("numbering_gap", f"checkpoint {which} before this one is not stored: "
                           "it was deleted, or (PostgreSQL) a write failed after numbering it"))
    if check.problem is not None:
        found.append(Break("bad_signature", check.problem))
        return found
    assert check.size is not None and check.root_hash is not None
    if (check.size, check.root_hash) != (int(row.size), bytes(row.root_hash)):
        found.append(Break("altered", f"the size and root stored beside checkpoint #{row.id} "
                           f"({row.size}, {bytes(row.root_hash).hex()}) are not the ones it signs "
                           f"({check.size}, {check.root_hash.hex()})"))
    earlier = signed_before[1] if signed_before is not None else None
    number = signed_before[0] if signed_before is not None else None
    if earlier is not None and earlier.size is not None and earlier.size > check.size:
        found.append(Break("rolled_back", f"it signs {check.size} entries, fewer than the "
                           f"{earlier.size} checkpoint #{number} signs: the log was rolled back"))
    if check.size > log_size:
        found.append(Break("beyond_log", f"it signs {check.size} entries but the log holds "
                           f"{log_size}: entries were removed"))
        return found
    try:
        if root_at(check.size, fetch) != check.root_hash:
            found.append(Break("root_mismatch", f"the first {check.size} entries as stored now "
                               "do not hash to the root it signs: entries were changed"))
        if earlier is not None and earlier.size is not None and earlier.size <= check.size:
            verdict = check_consistency(earlier, check, consistency_proof(
                earlier.size, check.size, fetch))
            if not verdict.verified:
                found.append(Break("inconsistent", f"the tree it signs does not extend the one "
                                   f"checkpoint #{number} signs: {verdict.problem}"))
    except IntegrityError as exc:
        found.append(Break("unreadable", exc.message))
    return found


@dataclass(frozen=True)
class StoredNote:
    number: int
    created_at: datetime
    check: CheckpointCheck


def _stored(conn: Connection, number: int, verifier: Verifier, origin: str | None) -> StoredNote:
    row = conn.execute(select(schema.checkpoints).where(schema.checkpoints.c.id == number)).first()
    if row is None:
        raise NotFound(msg("there is no checkpoint #{number}", number=number),
                       hint=msg("pick one from the checkpoint history"))
    return StoredNote(number, _created(row.created_at), check_checkpoint(row.note, verifier, origin))


@dataclass(frozen=True)
class CheckpointConsistency:
    old: StoredNote
    new: StoredNote
    log_size: int
    result: ConsistencyCheck


def consistency_between(log: CustodyLog, verifier: Verifier, origin: str | None,
                        old_number: int, new_number: int) -> CheckpointConsistency:
    """Whether the tree checkpoint ``new_number`` signs extends the one ``old_number`` signs,
    by an RFC 9162 consistency proof built from the stored nodes."""
    with log.engine.connect() as conn:
        log_size = int(conn.execute(select(schema.head.c.size)).scalar_one())
        old = _stored(conn, old_number, verifier, origin)
        new = _stored(conn, new_number, verifier, origin)
        result = _consistency(log, conn, old.check, new.check, log_size)
    return CheckpointConsistency(old, new, log_size, result)


def _consistency(log: CustodyLog, conn: Connection, old: CheckpointCheck, new: CheckpointCheck,
                 log_size: int) -> ConsistencyCheck:
    if old.problem is not None or new.problem is not None:
        return check_consistency(old, new, [])  # says which signature fails
    assert old.size is not None and new.size is not None
    if old.size > new.size:
        return ConsistencyCheck(old, new, (), False,
                                f"the newer checkpoint signs {new.size} entries, fewer than the "
                                f"older one's {old.size}: the log was rolled back")
    if new.size > log_size:
        return ConsistencyCheck(old, new, (), False,
                                f"the newer checkpoint signs {new.size} entries but the log holds "
                                f"{log_size}: entries were removed, so no proof can be built")
    try:
        with _nodes(log, conn) as fetch:
            proof = consistency_proof(old.size, new.size, fetch)
    except IntegrityError as exc:
        return ConsistencyCheck(old, new, (), False, exc.message)
    return check_consistency(old, new, proof)
