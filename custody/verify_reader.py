"""Bulk reads of the custody tables for a verify, and the stored-node check of a part.

SQLite is read through the bare ``sqlite3`` cursor: SQLAlchemy row objects cost
more per entry than the checks themselves. Other databases go through
SQLAlchemy with a server-side cursor, so a million entries are never held in
memory at once. This module imports SQLAlchemy only for the latter, so that a
verify worker reading SQLite starts quickly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, Protocol

from custody.verify_scan import EntryRow

if TYPE_CHECKING:
    from sqlalchemy import Connection

NodeRow = tuple[Any, Any, Any]  # (level, idx, hash)

_ENTRIES = "SELECT seq, leaf, leaf_hash FROM custody_entries ORDER BY seq"
_ENTRIES_FROM = "SELECT seq, leaf, leaf_hash FROM custody_entries WHERE seq >= {seq} ORDER BY seq"
_ALL_NODES = "SELECT level, idx, hash FROM custody_nodes ORDER BY level, idx"
# Nodes of one level in [first, end) whose hash equals the expected one, passed as one
# blob of 32-byte hashes: the database compares, so no row reaches Python.
_MATCHING_NODES = ("SELECT count(*) FROM custody_nodes WHERE level = {level} AND idx >= {first} "
                   "AND idx < {end} AND hash = substr({expected}, "
                   "CAST((idx - {first}) * 32 + 1 AS INTEGER), 32)")


# Expected hashes bound to one statement: 32 MiB, far below SQLite's and PostgreSQL's
# limits on a blob parameter however long the log.
NODES_PER_QUERY = 1 << 20
ROWS_PER_FETCH = 1024


class BulkReader(Protocol):
    def entries(self, offset: int, limit: int | None) -> Iterable[EntryRow]:
        """Entries in seq order: ``limit`` of them after the first ``offset`` (all if None)."""

    def entries_from(self, seq: int, limit: int) -> Iterable[EntryRow]:
        """The first ``limit`` entries with ``seq`` or a higher seq, in seq order."""

    def matching_nodes(self, level: int, first: int, expected: bytes) -> int:
        """How many stored nodes ``first <= idx < first + len(expected) // 32`` at ``level``
        hold exactly the hash ``expected`` has for them."""

    def all_nodes(self) -> Iterable[NodeRow]:
        """Every stored node, ordered by level and idx."""


def _in_batches(cursor: sqlite3.Cursor) -> Iterator[EntryRow]:
    """The cursor's rows, fetched ROWS_PER_FETCH at a time: SQLite's stepping and the
    checks then each run in bursts, which was ~7% quicker a row than alternating."""
    return chain.from_iterable(iter(lambda: cursor.fetchmany(ROWS_PER_FETCH), []))


class SqliteReader:
    """Reads through a ``sqlite3`` connection, inside whatever transaction it has open."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def entries(self, offset: int, limit: int | None) -> Iterable[EntryRow]:
        if limit is None and offset == 0:
            return _in_batches(self._db.execute(_ENTRIES))
        return _in_batches(self._db.execute(_ENTRIES + " LIMIT ? OFFSET ?",
                                            (-1 if limit is None else limit, offset)))

    def entries_from(self, seq: int, limit: int) -> Iterable[EntryRow]:
        return _in_batches(self._db.execute(_ENTRIES_FROM.format(seq="?") + " LIMIT ?",
                                            (seq, limit)))

    def matching_nodes(self, level: int, first: int, expected: bytes) -> int:
        sql = _MATCHING_NODES.format(level="?1", first="?2", end="?3", expected="?4")
        end = first + len(expected) // 32
        return int(self._db.execute(sql, (level, first, end, expected)).fetchone()[0])

    def all_nodes(self) -> Iterable[NodeRow]:
        return self._db.execute(_ALL_NODES)


class SqlAlchemyReader:
    """Reads through a SQLAlchemy connection (PostgreSQL and any other database)."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def _stream(self, sql: str, params: dict[str, int]) -> Iterable[Any]:
        from sqlalchemy import text

        return self._conn.execution_options(yield_per=5000).execute(text(sql), params)

    def entries(self, offset: int, limit: int | None) -> Iterable[EntryRow]:
        if limit is None and offset == 0:
            return self._stream(_ENTRIES, {})
        if limit is None:
            raise ValueError("an entry range needs a limit")
        return self._stream(_ENTRIES + " LIMIT :limit OFFSET :offset",
                            {"limit": limit, "offset": offset})

    def entries_from(self, seq: int, limit: int) -> Iterable[EntryRow]:
        return self._stream(_ENTRIES_FROM.format(seq=":seq") + " LIMIT :limit",
                            {"seq": seq, "limit": limit})

    def matching_nodes(self, level: int, first: int, expected: bytes) -> int:
        from sqlalchemy import text

        sql = _MATCHING_NODES.format(level=":level", first=":first", end=":end",
                                     expected=":expected")
        end = first + len(expected) // 32
        return int(self._conn.execute(text(sql), {"level": level, "first": first, "end": end,
                                                  "expected": expected}).scalar_one())

    def all_nodes(self) -> Iterable[NodeRow]:
        return self._stream(_ALL_NODES, {})


def reader_for(connection: Connection) -> BulkReader:
    """The fastest reader for this connection; SQLite reads join its open transaction."""
    driver = connection.connection.driver_connection
    if isinstance(driver, sqlite3.Connection):
        return SqliteReader(driver)
    return SqlAlchemyReader(connection)


def stored_nodes_match(reader: BulkReader, levels: Sequence[bytes], first_leaf: int,
                       from_level: int = 1) -> bool:
    """True when the stored nodes of levels ``from_level``.. under the leaves from
    ``first_leaf`` on (a multiple of ``2**(len(levels) - 1)``) are exactly ``levels``.

    Nodes outside these ranges are not looked at: the caller counts the table.
    """
    step = 32 * NODES_PER_QUERY
    for level in range(from_level, len(levels)):
        expected = levels[level]
        first = first_leaf >> level
        for start in range(0, len(expected), step):
            chunk = expected[start:start + step]  # the whole level, uncopied, when it fits
            if reader.matching_nodes(level, first + start // 32, chunk) != len(chunk) // 32:
                return False
    return True
