"""SQLAlchemy Core tables of the evidence catalogue (what was ingested, and its copies).

The custody log is the record of truth; these tables are the searchable index
beside it, written in the same transaction as the custody events they describe.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()


def span_end(start: datetime | None, duration_ms: int | None) -> datetime | None:
    """The end of an item's span: its start plus its duration (an item without one: its
    start); None without a start. ``evidence.end_time`` holds it (migration 0016)."""
    return None if start is None else start + timedelta(milliseconds=duration_ms or 0)


def _end_time_default(context: Any) -> datetime | None:
    """An insert that names no end_time gets the end of the span it inserts."""
    values = context.get_current_parameters()
    return span_end(values.get("start_time"), values.get("duration_ms"))


evidence = Table(
    "evidence",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("object_version", Text, nullable=True),
    Column("original_name", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("device_serial", String(64), nullable=True, index=True),
    Column("officer_no", String(64), nullable=True, index=True),
    Column("kind", String(16), nullable=False),
    Column("container", String(64), nullable=True),
    Column("video_codec", String(64), nullable=True),
    Column("audio_codec", String(64), nullable=True),
    Column("duration_ms", BigInteger, nullable=True, index=True),  # the longest: 0016
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("start_time", DateTime(timezone=True), nullable=True, index=True),
    Column("time_source", String(32), nullable=False),
    Column("sequence", Integer, nullable=True),
    Column("media_json", Text, nullable=False),
    Column("flags", Text, nullable=False),  # JSON list: corrupt, zero_byte, unknown_device, ...
    Column("retention_category", String(64), nullable=False),
    Column("retain_until", DateTime(timezone=True), nullable=True),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("derivatives_state", String(16), nullable=False),  # pending | done | failed | none
    Column("derivatives_error", Text, nullable=True),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=True),  # by the retention job only
    # the unit the footage belongs to: its recorder's, else the station's (migration 0008)
    Column("unit_code", String(32), nullable=True, index=True),
    # capture context: what the start time was computed from (migration 0008)
    Column("clock_offset_seconds", BigInteger, nullable=True),  # device minus true time
    Column("station_tz", String(64), nullable=True),  # IANA zone naive recorder times are read in
    Column("source_mtime", DateTime(timezone=True), nullable=True),  # on the recorder
    # the end of the span [start_time, start_time + duration_ms], for the time search (0016)
    Column("end_time", DateTime(timezone=True), nullable=True, default=_end_time_default),
)

derivatives = Table(
    "derivatives",
    metadata,
    Column("evidence_id", String(36), ForeignKey("evidence.id"), primary_key=True),
    Column("name", String(64), primary_key=True),  # playback.mp4, poster.jpg, strip.jpg
    Column("object_key", Text, nullable=False),
    Column("object_version", Text, nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("method", String(32), nullable=False),  # remux | transcode | opencv
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The station's device registry: which recorder belongs to which officer.
devices = Table(
    "devices",
    metadata,
    Column("serial", String(64), primary_key=True),
    Column("officer_no", String(64), nullable=True),
    Column("officer_name", Text, nullable=True),
    Column("unit", Text, nullable=True),  # free text from before units existed
    Column("label", String(128), nullable=True, unique=True),  # volume label or UUID
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("unit_code", String(32), nullable=True),  # the unit its footage belongs to (0008)
    # retired by an admin (0014); its footage still belongs to its last unit
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Column("retired_by", String(128), nullable=True),
    Column("retired_reason", Text, nullable=True),
)
