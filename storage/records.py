"""The evidence record: the one owner of every write to the catalogue tables.

``evidence`` and ``derivatives`` are written here and nowhere else (a test scans
the code): an original with its custody events, its derivatives, a longer
retention, the legal-hold flag and a deletion. Readers get an ``EvidenceRecord``,
typed, with aware UTC times, instead of a database row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, insert, select, update

from custody.events import JSON, EventDraft, Subject, format_time
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from domain.messages import stored as stored_text
from storage import catalog
from storage.db import database_errors, write_transaction
from storage.objects import StoredObject


@dataclass(frozen=True)
class CaptureContext:
    """What a file's start time was computed from, kept so every later run computes the same.

    ``clock_offset_seconds`` is the recorder's clock minus true time (``None``: not
    known); ``station_tz`` names the zone naive recorder times are read in (an IANA
    name, or a fixed offset such as ``+08:00``); ``source_mtime`` is the file's
    modification time on the recorder. Rows ingested before migration 0008 may lack
    any of them.
    """

    clock_offset_seconds: int | None = None
    station_tz: str | None = None
    source_mtime: datetime | None = None

    def to_json(self) -> dict[str, JSON]:
        return {"clock_offset_seconds": self.clock_offset_seconds, "station_tz": self.station_tz,
                "source_mtime": format_time(self.source_mtime) if self.source_mtime else None}


@dataclass(frozen=True)
class MediaFacts:
    """What probing the stored original found, and the start time computed with it."""

    kind: str
    time_source: str
    start_time: datetime | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    duration_ms: int | None = None
    width: int | None = None
    height: int | None = None
    media: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        """The facts as the probe event records them (``media`` stays in the catalogue)."""
        return {"kind": self.kind, "container": self.container, "video_codec": self.video_codec,
                "audio_codec": self.audio_codec, "duration_ms": self.duration_ms,
                "width": self.width, "height": self.height,
                "start_time": format_time(self.start_time) if self.start_time else None,
                "time_source": self.time_source}


@dataclass(frozen=True)
class EvidenceRecord:
    """One catalogue row of ``evidence``, typed. Times are aware UTC."""

    id: str
    sha256: str
    size: int
    object_key: str
    object_version: str | None
    original_name: str
    source_path: str
    device_serial: str | None
    officer_no: str | None
    unit_code: str | None
    kind: str
    container: str | None
    video_codec: str | None
    audio_codec: str | None
    duration_ms: int | None
    width: int | None
    height: int | None
    start_time: datetime | None
    time_source: str
    sequence: int | None
    capture: CaptureContext
    media: Mapping[str, Any]
    flags: tuple[str, ...]
    retention_category: str
    retain_until: datetime | None
    legal_hold: bool
    derivatives_state: str  # pending | done | failed | none
    derivatives_error: str | None
    ingested_at: datetime
    deleted_at: datetime | None

    @property
    def subject(self) -> Subject:
        return Subject(self.id, self.sha256)


@dataclass(frozen=True)
class DerivativeRecord:
    """One derived copy (playback copy, poster, strip) of an original."""

    evidence_id: str
    name: str
    object_key: str
    object_version: str | None
    sha256: str
    size: int
    method: str  # remux | transcode | opencv
    created_at: datetime


@dataclass(frozen=True)
class Provenance:
    """Where a file came from: the station's view of the volume and the recorder."""

    source: str  # path inside the volume (its display form when the bytes are not UTF-8)
    original_name: str
    device_serial: str | None
    officer_no: str | None
    actor: str
    source_b64: str | None = None  # the exact bytes of a path that is not UTF-8
    original_name_b64: str | None = None


@dataclass(frozen=True)
class NewOriginal:
    """What ingest knows of a file before it is probed."""

    start_time: datetime | None
    time_source: str
    sequence: int | None
    capture: CaptureContext
    retain_until: datetime | None
    unit_code: str | None = None
    flags: tuple[str, ...] = ()
    retention_category: str = "standard"
    derivatives_state: str = "pending"  # "none" when there is nothing to derive
    kind: str = "unknown"


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_row(row: Any) -> EvidenceRecord:
    """The typed record of a row selected from ``catalog.evidence`` (all columns)."""
    ingested = utc(row.ingested_at)
    assert ingested is not None  # NOT NULL
    return EvidenceRecord(
        id=row.id, sha256=row.sha256, size=row.size, object_key=row.object_key,
        object_version=row.object_version, original_name=row.original_name,
        source_path=row.source_path, device_serial=row.device_serial, officer_no=row.officer_no,
        unit_code=row.unit_code, kind=row.kind, container=row.container,
        video_codec=row.video_codec, audio_codec=row.audio_codec, duration_ms=row.duration_ms,
        width=row.width, height=row.height, start_time=utc(row.start_time),
        time_source=row.time_source, sequence=row.sequence,
        capture=CaptureContext(row.clock_offset_seconds, row.station_tz, utc(row.source_mtime)),
        media=_json_object(row.media_json), flags=tuple(json_list(row.flags)),
        retention_category=row.retention_category, retain_until=utc(row.retain_until),
        legal_hold=bool(row.legal_hold), derivatives_state=row.derivatives_state,
        derivatives_error=row.derivatives_error, ingested_at=ingested,
        deleted_at=utc(row.deleted_at))


def find(conn: Connection, evidence_id: str) -> EvidenceRecord | None:
    row = conn.execute(select(catalog.evidence).where(catalog.evidence.c.id == evidence_id)).first()
    return None if row is None else from_row(row)


def find_by_sha256(conn: Connection, sha256: str) -> EvidenceRecord | None:
    row = conn.execute(select(catalog.evidence).where(catalog.evidence.c.sha256 == sha256)).first()
    return None if row is None else from_row(row)


def expired(conn: Connection, now: datetime,
            among: ColumnElement[bool] | None = None) -> list[EvidenceRecord]:
    """Evidence not yet deleted whose retention date has passed, oldest date first
    (only rows matching ``among``, a condition on the evidence table, when given)."""
    ev = catalog.evidence
    query = select(ev).where(ev.c.deleted_at.is_(None), ev.c.retain_until.is_not(None),
                             ev.c.retain_until < now)
    if among is not None:
        query = query.where(among)
    return [from_row(row) for row in conn.execute(query.order_by(ev.c.retain_until, ev.c.id))]


def derivatives_of(conn: Connection, evidence_id: str) -> list[DerivativeRecord]:
    """The derived copies of one original, by name."""
    der = catalog.derivatives
    return [derivative_from_row(row) for row in conn.execute(
        select(der).where(der.c.evidence_id == evidence_id).order_by(der.c.name))]


def pending_derivatives(engine: Engine, evidence_id: str | None = None) -> list[EvidenceRecord]:
    """Evidence whose playback copy and thumbnails are still to be made (resumes a crash)."""
    ev = catalog.evidence
    query = select(ev).where(ev.c.derivatives_state == "pending").order_by(ev.c.ingested_at, ev.c.id)
    if evidence_id is not None:
        query = query.where(ev.c.id == evidence_id)
    with database_errors(msg("listing pending derivatives")), engine.connect() as conn:
        return [from_row(row) for row in conn.execute(query)]


def object_ref(stored: StoredObject) -> dict[str, JSON]:
    return {"key": stored.key, "sha256": stored.sha256, "size": stored.size,
            "version": stored.version_id}


def record_original(log: CustodyLog, stored: StoredObject, prov: Provenance, new: NewOriginal, *,
                    now: datetime) -> tuple[str, bool]:
    """Record an ingested (or seen-again) original; returns (evidence id, duplicate)."""
    with database_errors(msg("recording an original")), write_transaction(log.engine) as conn:
        existing = find_by_sha256(conn, stored.sha256)
        seen: dict[str, JSON] = {"source": prov.source, "original_name": prov.original_name,
                                 "device": prov.device_serial, "officer": prov.officer_no}
        if prov.source_b64 is not None:  # a name that is not UTF-8 keeps its exact bytes
            seen |= {"source_b64": prov.source_b64, "original_name_b64": prov.original_name_b64}
        if existing is not None:
            log.append([EventDraft(EventType.FILE_SEEN_AGAIN, prov.actor, existing.subject, seen,
                                   now)], conn)
            return existing.id, True
        evidence_id = str(uuid.uuid4())
        subject = Subject(evidence_id, stored.sha256)
        log.append([
            EventDraft(EventType.FILE_INGESTED, prov.actor, subject, {
                **seen, "size": stored.size, "object": object_ref(stored),
                "retain_until": format_time(stored.retain_until) if stored.retain_until else None,
                "flags": list[JSON](new.flags), "unit_code": new.unit_code,
                "capture": new.capture.to_json()}, now),
            EventDraft(EventType.FILE_VERIFIED, prov.actor, subject, {
                "read_back_sha256": stored.sha256, "key": stored.key,
                "version": stored.version_id}, now),
        ], conn)
        conn.execute(insert(catalog.evidence).values(
            id=evidence_id, sha256=stored.sha256, size=stored.size, object_key=stored.key,
            object_version=stored.version_id, original_name=prov.original_name,
            source_path=prov.source, device_serial=prov.device_serial,
            officer_no=prov.officer_no, unit_code=new.unit_code, kind=new.kind,
            start_time=new.start_time, time_source=new.time_source, sequence=new.sequence,
            clock_offset_seconds=new.capture.clock_offset_seconds,
            station_tz=new.capture.station_tz, source_mtime=new.capture.source_mtime,
            media_json="{}", flags=json.dumps(list(new.flags)),
            retention_category=new.retention_category, retain_until=new.retain_until,
            legal_hold=False, derivatives_state=new.derivatives_state, ingested_at=now))
        return evidence_id, False


def record_derivatives(log: CustodyLog, evidence: EvidenceRecord, actor: str,
                       made: Sequence[tuple[str, str, StoredObject]], facts: MediaFacts | None,
                       flags: Iterable[str], error: str | None, now: datetime) -> None:
    """Store derivative rows, media facts and flags, with one custody event per derivative."""
    der = catalog.derivatives
    flag_list = sorted(set(flags))
    with database_errors(msg("recording derivatives")), write_transaction(log.engine) as conn:
        drafts = [EventDraft(EventType.FILE_PROBED, actor, evidence.subject, {
            "metadata": facts.to_json() if facts else {}, "flags": list[JSON](flag_list),
            "error": None if error is None else str(error)}, now)]  # the event: English
        for name, method, stored in made:
            drafts.append(EventDraft(EventType.FILE_DERIVED, actor, evidence.subject, {
                "name": name, "method": method, "object": object_ref(stored)}, now))
            conn.execute(der.delete().where((der.c.evidence_id == evidence.id) & (der.c.name == name)))
            conn.execute(insert(der).values(
                evidence_id=evidence.id, name=name, object_key=stored.key,
                object_version=stored.version_id, sha256=stored.sha256, size=stored.size,
                method=method, created_at=now))
        log.append(drafts, conn)
        state = "failed" if error else ("done" if made else "none")
        columns: dict[str, Any] = {}
        if facts is not None:
            columns = {"kind": facts.kind, "container": facts.container,
                       "video_codec": facts.video_codec, "audio_codec": facts.audio_codec,
                       "duration_ms": facts.duration_ms, "width": facts.width,
                       "height": facts.height, "start_time": facts.start_time,
                       "end_time": catalog.span_end(facts.start_time, facts.duration_ms),
                       "time_source": facts.time_source,
                       "media_json": json.dumps(dict(facts.media), ensure_ascii=False,
                                                sort_keys=True)}
        conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence.id).values(
            derivatives_state=state, derivatives_error=None if error is None else stored_text(error),
            flags=json.dumps(flag_list),
            **columns))


def record_derived_copy(conn: Connection, log: CustodyLog, evidence: EvidenceRecord, actor: str,
                        name: str, method: str, stored: StoredObject, now: datetime) -> None:
    """Record one more derivative made later (a redacted copy), with its ``derived`` event,
    in the caller's transaction."""
    log.append([EventDraft(EventType.FILE_DERIVED, actor, evidence.subject, {
        "name": name, "method": method, "object": object_ref(stored)}, now)], conn)
    conn.execute(insert(catalog.derivatives).values(
        evidence_id=evidence.id, name=name, object_key=stored.key,
        object_version=stored.version_id, sha256=stored.sha256, size=stored.size,
        method=method, created_at=now))


def extend_retention(conn: Connection, evidence_id: str, category: str, until: datetime) -> None:
    """Record a longer retention (the caller lengthened the objects' own, in this transaction)."""
    conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence_id).values(
        retention_category=category, retain_until=until))


def set_legal_hold_flag(conn: Connection, evidence_id: str, on: bool) -> None:
    """Record a legal hold placed or released (the caller set it on the objects)."""
    conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence_id)
                 .values(legal_hold=on))


def mark_deleted(conn: Connection, evidence_id: str, now: datetime) -> None:
    """Record that the retention job deleted the original and its copies (logged first)."""
    conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence_id)
                 .values(deleted_at=now))


def derivative_from_row(row: Any) -> DerivativeRecord:
    """The typed record of a row selected from ``catalog.derivatives``."""
    created = utc(row.created_at)
    assert created is not None  # NOT NULL
    return DerivativeRecord(row.evidence_id, row.name, row.object_key, row.object_version,
                            row.sha256, row.size, row.method, created)


def json_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
