"""The statements of the grouped append (custody/queue.py), sent through libpq directly.

psycopg's cursor layer (query conversion, array adaptation, result loading)
cost more client CPU than the statements themselves on this path, so these go
through ``psycopg.pq``: prepared statements with binary parameters and results,
and the sequencer's write as simple-protocol text (with its BEGIN/COMMIT and the
unlock, one round trip) in which only integers, hex strings and ISO timestamps
made here are interpolated, never caller text (the note travels hex-encoded).
"""

# ruff: noqa: S608 -- SQL text here interpolates only int(), bytes.hex() and isoformat() output

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.pq import ExecStatus

from custody.results import Appended, AppendResult, StoredCheckpoint

SEQUENCER_LOCK = 0x6576_6964_0001  # the advisory lock of custody_claim() (migration 0006)
UNLOCK = f"SELECT pg_advisory_unlock({SEQUENCER_LOCK})"

_ENQUEUE = b"SELECT * FROM custody_enqueue($1, $2)"
_CLAIM = b"SELECT * FROM custody_claim($1, $2, $3)"
_BYTEA, _INT8 = 17, 20  # type OIDs
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _checked(result: Any, expected: ExecStatus = ExecStatus.TUPLES_OK) -> Any:
    if result.status != expected:
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
_STATEMENTS = {b"custody_enqueue": (_ENQUEUE, [_BYTEA, _INT8]),
               b"custody_claim": (_CLAIM, [_INT8, _INT8, _INT8]),
               b"custody_lead": (_LEAD, [_INT8, _INT8, _INT8])}


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


@dataclass
class Lead:
    """What the sequencer needs to read. ``locked``: read under the head row lock;
    otherwise the write must check the head is still ``head`` (``write_commit``)."""

    head: tuple[int, bytes, bytes | None]  # size, frontier, last leaf hash
    latest: tuple[int, bytes] | None  # newest checkpoint: size, root hash
    mine: list[Appended]  # our entries, if a sequencer before us took them
    pending: list[tuple[int, bytes]]  # the oldest queued appends: ticket, drafts
    locked: bool


@dataclass(frozen=True)
class Queued:
    ticket: int
    floor: int  # a size the append's entries will be at or past


def enqueue(pg: Any, body: bytes, limit: int) -> Queued | Lead:
    """Queue an append's drafts, or, when nobody was sequencing, hold SEQUENCER_LOCK and
    get what the sequencer reads (its drafts are then not queued)."""
    result = _prepared(pg, b"custody_enqueue", [body, _int8(limit)])
    if result.get_value(0, 0) == b"t":
        return Queued(_from_int8(result.get_value(0, 1)), _from_int8(result.get_value(0, 2)))
    return _lead_rows(result)


def claim(pg: Any, ticket: int, floor: int, limit: int) -> AppendResult | Lead:
    """Wait for the sequencer: our entries if it took them, or else we now hold
    SEQUENCER_LOCK, with what the sequencer reads."""
    result = _prepared(pg, b"custody_claim", [_int8(ticket), _int8(floor), _int8(limit)])
    value = result.get_value
    if value(0, 0) != b"m":
        return _lead_rows(result)
    last = result.ntuples - 1  # the 'c' row after the entries
    entries = tuple(Appended(_from_int8(value(row, 1)), value(row, 3)) for row in range(last))
    created = _PG_EPOCH + timedelta(microseconds=_from_int8(value(last, 6)))
    return AppendResult(entries, StoredCheckpoint(_from_int8(value(last, 1)), value(last, 3),
                                                  value(last, 5).decode(), created))


def _lead_rows(result: Any) -> Lead:
    lead = Lead((0, b"", None), None, [], [], locked=False)
    value = result.get_value
    for row in range(result.ntuples):
        kind, number, blob = value(row, 0), _from_int8(value(row, 1)), value(row, 3)
        if kind == b"h":
            lead.head = (number, blob, value(row, 4))
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
    lead = _lead_rows(_prepared(pg, b"custody_lead", [_int8(limit), _int8(floor), _int8(mine)]))
    lead.locked = True
    return lead


def write_commit(pg: Any, entries: Sequence[tuple[int, bytes, bytes, int | None]],
                 nodes: Sequence[tuple[int, int, bytes]], checkpoint: StoredCheckpoint,
                 tickets: Sequence[int], head: tuple[int, bytes, bytes | None],
                 unlock: bool, expect_size: int | None) -> None:
    """Write one group's rows and commit, and with ``unlock`` hand the sequencer lock
    back: one round trip.

    With ``expect_size`` (the head was read without its row lock) the transaction
    begins here and fails unless the head still has that size: a direct append in
    between raises a division by zero (or a duplicate key) and nothing is written.
    """
    parts = ["INSERT INTO custody_entries (seq, leaf, leaf_hash, ticket) VALUES " + ", ".join(
        f"({int(seq)}, {_hex(leaf)}, {_hex(leaf_hash)}, {'NULL' if t is None else int(t)})"
        for seq, leaf, leaf_hash, t in entries)]
    if nodes:
        parts.append("INSERT INTO custody_nodes (level, idx, hash) VALUES " + ", ".join(
            f"({int(level)}, {int(idx)}, {_hex(node)})" for level, idx, node in nodes))
    created = checkpoint.created_at.astimezone(UTC).isoformat()
    parts.append(
        "INSERT INTO custody_checkpoints (size, root_hash, note, created_at) VALUES "
        f"({int(checkpoint.size)}, {_hex(checkpoint.root_hash)}, "
        f"convert_from({_hex(checkpoint.note.encode())}, 'UTF8'), '{created}'::timestamptz)")
    if tickets:
        parts.append("DELETE FROM custody_pending WHERE id IN ("
                     + ", ".join(str(int(t)) for t in tickets) + ")")
    size, frontier, last = head
    last_sql = "NULL" if last is None else _hex(last)
    update = (f"UPDATE custody_head SET size = {int(size)}, frontier = {_hex(frontier)}, "
              f"last_leaf_hash = {last_sql} WHERE id = 1")
    if expect_size is None:
        ctes = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts))
        sql = f"WITH {ctes} {update}; COMMIT"
    else:
        parts.append(f"{update} AND size = {int(expect_size)} RETURNING 1")
        ctes = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts))
        sql = f"BEGIN; WITH {ctes} SELECT 1 / (SELECT count(*)::int FROM w{len(parts) - 1}); COMMIT"
    if unlock:
        run(pg, f"{sql}; {UNLOCK}")
    else:
        run_command(pg, sql)


def _hex(data: bytes) -> str:
    return f"decode('{data.hex()}', 'hex')"
