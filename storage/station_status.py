"""The station feed's table: the latest tile of every dock port of every station.

Operational state, not evidence (see ``domain.station``): rows are overwritten, never
part of the custody log, and a lost row loses nothing but a screen's picture for a moment.

One row per (station, port), upserted by the dock (``ingest.station_feed``) in whatever
process and on whatever machine it runs, and read by the web server. Every write gives the
rows it changes the next numbers of one sequence (``station_status_seq``, a single row).
Writers take that row's lock before they write (PostgreSQL: the UPDATE's row lock;
SQLite: BEGIN IMMEDIATE), so numbers are committed in the order they are handed out: a
reader that has seen number ``n`` has seen every change numbered below it, and
"every row whose ``seq`` is above what I have seen" is exactly what changed since.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from domain.station import PortStatus, Problem
from storage.db import write_transaction

metadata = MetaData()  # migration 0012 creates exactly these

station_status = Table(
    "station_status",
    metadata,
    Column("station", String(128), primary_key=True),
    Column("port", String(255), primary_key=True),  # "" : the station itself
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("station_unit", String(32), nullable=True, index=True),
    Column("device_serial", String(64), nullable=True),
    Column("officer_no", String(64), nullable=True, index=True),
    Column("officer_name", Text, nullable=True),
    Column("recorder_unit", String(32), nullable=True),
    Column("identity_source", String(16), nullable=True),
    Column("files_total", Integer, nullable=False),
    Column("files_done", Integer, nullable=False),
    Column("files_failed", Integer, nullable=False),
    Column("files_wiped", Integer, nullable=False),
    Column("bytes_total", BigInteger, nullable=False),
    Column("bytes_done", BigInteger, nullable=False),
    Column("rate", Float, nullable=False),  # bytes per second
    Column("wipe", String(16), nullable=False),
    Column("problem_code", String(64), nullable=True),
    Column("problem_params", Text, nullable=True),  # JSON object
    Column("retry_at", DateTime(timezone=True), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("stale_after", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row (id 1, made by the migration): the last sequence number handed out.
station_status_seq = Table(
    "station_status_seq",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

_COLUMNS = [c.name for c in station_status.columns if c.name not in ("station", "port", "seq")]


def publish(engine: Engine, statuses: Sequence[PortStatus]) -> int:
    """Write the tiles (the last one of a key wins) in one transaction; returns the highest
    sequence number given. Raises SQLAlchemy's errors: the caller decides what a failed
    write means (the dock keeps the tiles and tries again)."""
    latest = {status.key: status for status in statuses}
    if not latest:
        return 0
    with write_transaction(engine) as conn:
        counter = station_status_seq
        conn.execute(update(counter).where(counter.c.id == 1)
                     .values(value=counter.c.value + len(latest)))
        top = int(conn.execute(select(counter.c.value).where(counter.c.id == 1)).scalar_one())
        for number, status in enumerate(latest.values(), start=top - len(latest) + 1):
            _upsert(conn, _fitted({"station": status.station, "port": status.port,
                                   "seq": number, **_values(status)}))
    return top


def _fitted(row: dict[str, Any]) -> dict[str, Any]:
    """Text cut to its column's length: a recorder's over-long label or serial must not make
    PostgreSQL refuse the write, and with it every other tile of the batch."""
    for column in station_status.columns:
        length = getattr(column.type, "length", None)
        value = row.get(column.name)
        if length is not None and isinstance(value, str) and len(value) > length:
            row[column.name] = value[:length]
    return row


def _upsert(conn: Connection, row: dict[str, Any]) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(station_status).values(**row)
    changed = {name: statement.excluded[name] for name in ("seq", *_COLUMNS)}
    conn.execute(statement.on_conflict_do_update(index_elements=["station", "port"], set_=changed))


def _values(status: PortStatus) -> dict[str, Any]:
    problem = status.problem
    return {
        "state": status.state, "station_unit": status.station_unit,
        "device_serial": status.device_serial, "officer_no": status.officer_no,
        "officer_name": status.officer_name, "recorder_unit": status.recorder_unit,
        "identity_source": status.identity_source, "files_total": status.files_total,
        "files_done": status.files_done, "files_failed": status.files_failed,
        "files_wiped": status.files_wiped, "bytes_total": status.bytes_total,
        "bytes_done": status.bytes_done, "rate": float(status.rate), "wipe": status.wipe,
        "problem_code": problem.code if problem else None,
        "problem_params": json.dumps(dict(problem.params), ensure_ascii=False, sort_keys=True)
        if problem else None,
        "retry_at": status.retry_at, "started_at": status.started_at,
        "stale_after": status.stale_after, "updated_at": status.updated_at,
    }


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time here is stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _status(row: Any) -> PortStatus:
    problem = None
    if row.problem_code is not None:
        try:
            problem = Problem(row.problem_code, json.loads(row.problem_params or "{}"))
        except ValueError:  # a code this version does not know (a newer dock): said generally
            problem = Problem("failed")
    updated = _aware(row.updated_at)
    assert updated is not None
    return PortStatus(
        station=row.station, port=row.port, state=row.state, updated_at=updated,
        station_unit=row.station_unit, device_serial=row.device_serial,
        officer_no=row.officer_no, officer_name=row.officer_name,
        recorder_unit=row.recorder_unit, identity_source=row.identity_source,
        files_total=row.files_total, files_done=row.files_done, files_failed=row.files_failed,
        files_wiped=row.files_wiped, bytes_total=row.bytes_total, bytes_done=row.bytes_done,
        rate=row.rate, wipe=row.wipe, problem=problem, retry_at=_aware(row.retry_at),
        started_at=_aware(row.started_at), stale_after=_aware(row.stale_after))


def read_all(conn: Connection) -> tuple[list[tuple[int, PortStatus]], int]:
    """Every row with its sequence number, by station and port, and the highest number
    among them (0 when there is none): one statement, so one consistent picture."""
    rows = conn.execute(select(station_status)
                        .order_by(station_status.c.station, station_status.c.port)).all()
    tiles = [(int(row.seq), _status(row)) for row in rows]
    return tiles, max((seq for seq, _ in tiles), default=0)


def read_changes(conn: Connection, after: int, limit: int = 1000) -> list[tuple[int, PortStatus]]:
    """The rows changed after sequence number ``after``, oldest change first."""
    rows = conn.execute(select(station_status).where(station_status.c.seq > after)
                        .order_by(station_status.c.seq).limit(limit)).all()
    return [(int(row.seq), _status(row)) for row in rows]
