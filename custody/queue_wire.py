"""The statements of the grouped append (custody/queue.py), sent through libpq directly.

psycopg's cursor layer (query conversion, array adaptation, result loading)
cost more client CPU than the statements themselves on this path, so these go
through ``psycopg.pq``: a waiting writer's two statements with binary parameters
and results, and the sequencer's two round trips as simple-protocol text in
which only integers, hex strings and ISO timestamps made here are interpolated,
never caller text (the checkpoint note travels hex-encoded).
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

_ENQUEUE = b"SELECT * FROM custody_enqueue($1)"
_CLAIM = b"SELECT * FROM custody_claim($1, $2)"
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


_STATEMENTS = {b"custody_enqueue": (_ENQUEUE, [_BYTEA]), b"custody_claim": (_CLAIM, [_INT8, _INT8])}


def prepare(pg: Any) -> None:
    """Prepare a new connection's two waiting-writer statements (parsed and planned once)."""
    for name, (sql, types) in _STATEMENTS.items():
        _checked(pg.pgconn.prepare(name, sql, types), ExecStatus.COMMAND_OK)


def _prepared(pg: Any, name: bytes, params: Sequence[bytes]) -> Any:
    return _checked(pg.pgconn.exec_prepared(name, list(params), [1] * len(params), 1))


def _int8(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def _from_int8(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True)


def enqueue(pg: Any, body: bytes) -> tuple[int | None, int]:
    """Queue an append's drafts: (its ticket, a size its entries will be at or past), or
    (None, 0) when nobody was sequencing and this writer now holds SEQUENCER_LOCK."""
    result = _prepared(pg, b"custody_enqueue", [body])
    ticket = result.get_value(0, 0)
    if ticket is None:
        return None, 0
    return _from_int8(ticket), _from_int8(result.get_value(0, 1))


def claim(pg: Any, ticket: int, floor: int) -> AppendResult | None:
    """Wait for the sequencer; our entries if it took them, else None (we now hold the lock)."""
    result = _prepared(pg, b"custody_claim", [_int8(ticket), _int8(floor)])
    if result.get_value(0, 0) == b"\x01":
        return None
    value = result.get_value
    entries = tuple(Appended(_from_int8(value(row, 1)), value(row, 2))
                    for row in range(result.ntuples))
    last = result.ntuples - 1
    created = _PG_EPOCH + timedelta(microseconds=_from_int8(value(last, 6)))
    return AppendResult(entries, StoredCheckpoint(_from_int8(value(last, 3)), value(last, 4),
                                                  value(last, 5).decode(), created))


@dataclass
class Lead:
    """What the sequencer reads under the head lock."""

    head: tuple[int, bytes, bytes | None]  # size, frontier, last leaf hash
    latest: tuple[int, bytes] | None  # newest checkpoint: size, root hash
    mine: list[Appended]  # our entries, if a sequencer before us took them
    pending: list[tuple[int, bytes]]  # the oldest queued appends: ticket, drafts


def begin_and_lead(pg: Any, ticket: int | None, floor: int, limit: int) -> Lead:
    """Begin a transaction, lock the head row (which also excludes direct appends)
    and read the newest checkpoint, our entries and the oldest queued appends."""
    sql = (
        "BEGIN; "
        "WITH h AS (SELECT size, frontier, last_leaf_hash FROM custody_head WHERE id = 1 "
        "FOR UPDATE) "
        "SELECT 'h', size, frontier, last_leaf_hash FROM h "
        "UNION ALL (SELECT 'c', size, root_hash, NULL FROM custody_checkpoints "
        "ORDER BY id DESC LIMIT 1) "
        "UNION ALL SELECT 'm', seq, leaf_hash, NULL FROM custody_entries "
        f"WHERE seq >= {int(floor)} AND ticket = {-1 if ticket is None else int(ticket)} "
        f"UNION ALL (SELECT 'p', id, draft, NULL FROM custody_pending ORDER BY id LIMIT {int(limit)}) "
        "ORDER BY 1, 2")
    result = run(pg, sql)
    lead = Lead((0, b"", None), None, [], [])
    value = result.get_value
    for row in range(result.ntuples):
        kind, number, blob = value(row, 0), int(value(row, 1)), _bytea(value(row, 2))
        if kind == b"h":
            last = value(row, 3)
            lead.head = (number, blob, None if last is None else _bytea(last))
        elif kind == b"c":
            lead.latest = (number, blob)
        elif kind == b"m":
            lead.mine.append(Appended(number, blob))
        else:
            lead.pending.append((number, blob))
    return lead


def _bytea(text: bytes) -> bytes:
    """A bytea in text output (hex format: ``\\x0a0b``)."""
    return bytes.fromhex(text[2:].decode())


def write_commit(pg: Any, entries: Sequence[tuple[int, bytes, bytes, int | None]],
                 nodes: Sequence[tuple[int, int, bytes]], checkpoint: StoredCheckpoint,
                 tickets: Sequence[int], head: tuple[int, bytes, bytes | None],
                 unlock: bool) -> None:
    """Write one group's rows and commit, and with ``unlock`` hand the sequencer lock
    back: one round trip."""
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
    ctes = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts))
    last_sql = "NULL" if last is None else _hex(last)
    sql = (f"WITH {ctes} UPDATE custody_head SET size = {int(size)}, "
           f"frontier = {_hex(frontier)}, last_leaf_hash = {last_sql} WHERE id = 1; COMMIT")
    if unlock:
        run(pg, f"{sql}; {UNLOCK}")
    else:
        run_command(pg, sql)


def _hex(data: bytes) -> str:
    return f"decode('{data.hex()}', 'hex')"
