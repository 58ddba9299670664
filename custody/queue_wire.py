"""The statements of the grouped append (custody/queue.py), sent through libpq directly.

psycopg's cursor layer (query conversion, array adaptation, result loading)
cost more client CPU than the statements themselves on this path, so these go
through ``psycopg.pq``: statements prepared once per connection, with binary
parameters (arrays built here) and binary results. The procedures and
functions they call are those of migrations 0006 and 0007.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.pq import DiagnosticField, ExecStatus

from custody.results import Appended, AppendResult, StoredCheckpoint
from domain.errors import IntegrityError
from domain.messages import msg

SEQUENCER_LOCK = 0x6576_6964_0001  # the advisory lock of custody_append() and custody_claim()
UNLOCK = f"SELECT pg_advisory_unlock({SEQUENCER_LOCK})"

_APPEND = (b"CALL custody_append($1, $2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
           b"NULL, NULL)")
_CLAIM = b"SELECT * FROM custody_claim($1, $2, $3)"
_BOOL, _BYTEA, _INT8, _TEXT, _TIMESTAMPTZ = 16, 17, 20, 25, 1184  # type OIDs
_INT8_ARRAY, _BYTEA_ARRAY = 1016, 1001
_NULL_LENGTH = b"\xff\xff\xff\xff"  # an array element's length -1: NULL
_WRITE = b"CALL custody_write(" + b", ".join(b"$%d" % n for n in range(1, 18)) + b")"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _checked(result: Any, expected: ExecStatus = ExecStatus.TUPLES_OK) -> Any:
    if result.status != expected:
        if result.error_field(DiagnosticField.SQLSTATE) is None:
            # libpq's own error, not the server's: the connection failed (psycopg's
            # cursors say OperationalError here too; error_from_result says DatabaseError)
            raise psycopg.OperationalError(
                result.error_message.decode("utf-8", "replace").strip())
        raise psycopg.errors.error_from_result(result)
    return result


def run(pg: Any, sql: str) -> Any:
    """Run statements (simple protocol); the last statement's rows, as text."""
    return _checked(pg.pgconn.exec_(sql.encode()))


def run_command(pg: Any, sql: str) -> None:
    _checked(pg.pgconn.exec_(sql.encode()), ExecStatus.COMMAND_OK)


# After the head row lock: the sequencer's reads and our entries, as of then.
_LEAD = (b"SELECT * FROM custody_lead_rows($1) UNION ALL "
         b"SELECT 'm', seq, NULL, leaf_hash, NULL, NULL, NULL FROM custody_entries "
         b"WHERE seq >= $2 AND ticket = $3")
_STATEMENTS = {b"custody_append": (_APPEND, [_BYTEA, _INT8]),
               b"custody_claim": (_CLAIM, [_INT8, _INT8, _INT8]),
               b"custody_lead": (_LEAD, [_INT8, _INT8, _INT8]),
               b"custody_write": (_WRITE, [
                   _INT8_ARRAY, _BYTEA_ARRAY, _BYTEA_ARRAY, _INT8_ARRAY,
                   _INT8_ARRAY, _INT8_ARRAY, _BYTEA_ARRAY,
                   _INT8, _BYTEA, _TEXT, _TIMESTAMPTZ,
                   _INT8_ARRAY, _INT8, _BYTEA, _BYTEA, _INT8, _BOOL])}


def prepare(pg: Any) -> None:
    """Prepare a new connection's statements (parsed and planned once)."""
    for name, (sql, types) in _STATEMENTS.items():
        _checked(pg.pgconn.prepare(name, sql, types), ExecStatus.COMMAND_OK)


def _prepared(pg: Any, name: bytes, params: Sequence[bytes]) -> Any:
    return _checked(pg.pgconn.exec_prepared(name, list(params), [1] * len(params), 1))


def _int8(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def _from_int8(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True)


@dataclass(frozen=True)
class Queued:
    ticket: int
    floor: int  # a size the append's entries will be at or past


@dataclass
class Lead:
    """What the sequencer needs to read. ``locked``: read under the head row lock;
    otherwise the write must check the head is still ``head`` (``write_commit``)."""

    head: tuple[int, bytes, bytes | None]  # size, frontier, last leaf hash
    latest: tuple[int, bytes] | None  # newest checkpoint: size, root hash
    mine: list[Appended]  # our entries, if a sequencer before us took them
    pending: list[tuple[int, bytes]]  # the oldest queued appends: ticket, drafts
    locked: bool
    queued: Queued | None = None  # our append's place in the queue, if it was queued


def submit(pg: Any, body: bytes, limit: int) -> AppendResult | Lead:
    """Queue an append's drafts and wait for the sequencer (``custody_append``, one
    round trip): our entries if it took them; otherwise we hold SEQUENCER_LOCK, with
    what the sequencer reads and, in ``Lead.queued``, our place in the queue if the
    drafts were queued (if not, nobody was sequencing and they are only in our hands).
    """
    value = _prepared(pg, b"custody_append", [body, _int8(limit)]).get_value
    ticket, floor, kinds, nums, blobs, others, cp_size, cp_root, note, created = (
        value(0, 0), value(0, 1), value(0, 2), value(0, 3), value(0, 4), value(0, 5),
        value(0, 6), value(0, 7), value(0, 8), value(0, 9))
    if cp_size is not None:  # the sequencer took our append
        entries = tuple(Appended(_from_int8(_required(seq)), _required(leaf_hash))
                        for seq, leaf_hash in zip(_array(nums), _array(blobs), strict=True))
        when = _PG_EPOCH + timedelta(microseconds=_from_int8(_required(created)))
        return AppendResult(entries, StoredCheckpoint(
            _from_int8(cp_size), _required(cp_root), _required(note).decode(), when))
    lead = _lead(zip(_array(kinds), _array(nums), _array(blobs), _array(others), strict=True))
    if ticket is not None:
        lead.queued = Queued(_from_int8(ticket), _from_int8(_required(floor)))
    return lead


def claim(pg: Any, ticket: int, floor: int, limit: int) -> AppendResult | Lead:
    """Wait for the sequencer: our entries if it took them, or else we now hold
    SEQUENCER_LOCK, with what the sequencer reads."""
    result = _prepared(pg, b"custody_claim", [_int8(ticket), _int8(floor), _int8(limit)])
    value = result.get_value
    if value(0, 0) != b"m":
        return _lead(_rows(result))
    last = result.ntuples - 1  # the 'c' row after the entries
    entries = tuple(Appended(_from_int8(value(row, 1)), value(row, 3)) for row in range(last))
    created = _PG_EPOCH + timedelta(microseconds=_from_int8(value(last, 6)))
    return AppendResult(entries, StoredCheckpoint(_from_int8(value(last, 1)), value(last, 3),
                                                  value(last, 5).decode(), created))


def _rows(result: Any) -> Iterator[tuple[bytes, bytes, bytes, bytes | None]]:
    """custody_lead_rows()' columns kind, number, blob and second blob, row by row."""
    value = result.get_value
    return ((value(row, 0), value(row, 1), value(row, 3), value(row, 4))
            for row in range(result.ntuples))


def _lead(rows: Iterable[tuple[bytes | None, bytes | None, bytes | None, bytes | None]]) -> Lead:
    lead = Lead((0, b"", None), None, [], [], locked=False)
    for kind, number_or_none, blob_or_none, other in rows:
        number, blob = _from_int8(_required(number_or_none)), _required(blob_or_none)
        if kind == b"h":
            lead.head = (number, blob, other)
        elif kind == b"c":
            lead.latest = (number, blob)
        elif kind == b"m":
            lead.mine.append(Appended(number, blob))
        else:
            lead.pending.append((number, blob))
    lead.pending.sort()  # in ticket order, whatever order UNION ALL returned them in
    lead.mine.sort(key=lambda entry: entry.seq)
    return lead


def begin_and_lead(pg: Any, ticket: int | None, floor: int, limit: int) -> Lead:
    """Begin a transaction, lock the head row (which also excludes direct appends),
    then read what the sequencer reads, and our entries if a sequencer took them."""
    run(pg, "BEGIN; SELECT 1 FROM custody_head WHERE id = 1 FOR UPDATE")
    mine = -1 if ticket is None else ticket
    lead = _lead(_rows(_prepared(pg, b"custody_lead", [_int8(limit), _int8(floor), _int8(mine)])))
    lead.locked = True
    return lead


def write_commit(pg: Any, entries: Sequence[tuple[int, bytes, bytes, int | None]],
                 nodes: Sequence[tuple[int, int, bytes]], checkpoint: StoredCheckpoint,
                 tickets: Sequence[int], head: tuple[int, bytes, bytes | None],
                 unlock: bool, expect_size: int | None) -> None:
    """Write one group's rows (``custody_write``) and commit, and with ``unlock`` hand
    the sequencer lock back.

    With ``expect_size`` the head was read without its row lock: the write is its
    own transaction, one round trip, and fails with SerializationFailure, writing
    nothing, unless the head still has that size. Without it, the caller's
    transaction (which locked the head row) is committed here.
    """
    size, frontier, last = head
    created = (checkpoint.created_at - _PG_EPOCH) // timedelta(microseconds=1)
    own_transaction = expect_size is not None
    if own_transaction and not unlock:
        raise ValueError("a write in its own transaction always hands the lock back")
    params = [
        _int8_array([seq for seq, _, _, _ in entries]),
        _array_param(_BYTEA, [leaf for _, leaf, _, _ in entries]),
        _array_param(_BYTEA, [leaf_hash for _, _, leaf_hash, _ in entries]),
        _array_param(_INT8, [None if t is None else _int8(t) for _, _, _, t in entries]),
        _int8_array([level for level, _, _ in nodes]),
        _int8_array([idx for _, idx, _ in nodes]),
        _array_param(_BYTEA, [node for _, _, node in nodes]),
        _int8(checkpoint.size), checkpoint.root_hash, checkpoint.note.encode(), _int8(created),
        _int8_array(tickets),
        _int8(size), frontier, last,
        None if expect_size is None else _int8(expect_size),
        b"\x01" if own_transaction else b"\x00",
    ]
    _checked(pg.pgconn.exec_prepared(b"custody_write", params, [1] * len(params), 1),
             ExecStatus.COMMAND_OK)
    if own_transaction:
        return
    if unlock:
        run(pg, f"COMMIT; {UNLOCK}")
    else:
        run_command(pg, "COMMIT")


def _array_param(element_type: int, elements: Sequence[bytes | None]) -> bytes:
    """A one-dimensional array in PostgreSQL's binary format."""
    if not elements:
        return struct.pack(">iiI", 0, 0, element_type)
    has_null = None in elements
    header = struct.pack(">iiIii", 1, has_null, element_type, len(elements), 1)
    return header + b"".join(
        _NULL_LENGTH if element is None else len(element).to_bytes(4, "big") + element
        for element in elements)


def _int8_array(values: Sequence[int]) -> bytes:
    """A bigint[] without NULLs, the common case, packed in one call."""
    if not values:
        return struct.pack(">iiI", 0, 0, _INT8)
    count = len(values)
    return struct.pack(f">iiIii{'iq' * count}", 1, 0, _INT8, count, 1,
                       *[part for value in values for part in (8, value)])


def _required(value: bytes | None) -> bytes:
    if value is None:
        raise IntegrityError(msg("the custody queue returned NULL where a value belongs"),
                             hint=msg("the queue's functions may have been edited; run `evidence verify`"))
    return value


def _array(data: bytes | None) -> list[bytes | None]:
    """The elements of a one-dimensional array in PostgreSQL's binary format."""
    if data is None:
        return []  # array_agg over no rows
    dimensions = int.from_bytes(data[0:4], "big")
    if dimensions == 0:
        return []
    if dimensions != 1:
        raise IntegrityError(msg("the custody queue returned a {dimensions}-dimensional array",
                                 dimensions=dimensions),
                             hint=msg("the queue's functions may have been edited; run `evidence verify`"))
    count = int.from_bytes(data[12:16], "big")
    elements: list[bytes | None] = []
    position = 20  # after ndim, has-nulls flag, element type, length and lower bound
    for _ in range(count):
        length = int.from_bytes(data[position:position + 4], "big", signed=True)
        position += 4
        if length < 0:
            elements.append(None)
        else:
            elements.append(data[position:position + length])
            position += length
    return elements
