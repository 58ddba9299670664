"""Searching and reading evidence, and placing or releasing legal holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select

from cases import access, tables
from cases.custody_index import EVENTS_SHOWN, LoggedEvent, events_for
from cases.errors import AccessDenied, Conflict
from cases.paging import Page
from cases.recordings import all_recordings
from cases.retention import StoredCopy, set_legal_hold
from cases.text import REASON_MAX, clean_text
from cases.times import as_utc
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage import catalog, records
from storage.db import write_transaction
from storage.objects import ObjectStore
from storage.records import EvidenceRecord


@dataclass(frozen=True)
class EvidenceFilter:
    officer_no: str | None = None
    device_serial: str | None = None
    start_from: datetime | None = None  # aware; start_time >= this
    start_to: datetime | None = None  # aware; start_time < this
    case_id: str | None = None
    category: str | None = None
    recording_id: str | None = None
    kind: str | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class EvidenceSummary:
    id: str
    sha256: str
    size: int
    original_name: str
    kind: str
    device_serial: str | None
    officer_no: str | None
    start_time: datetime | None
    duration_ms: int | None
    retention_category: str
    retain_until: datetime | None
    legal_hold: bool
    derivatives_state: str
    ingested_at: datetime


@dataclass(frozen=True)
class Derivative:
    name: str
    sha256: str
    size: int
    method: str
    created_at: datetime


@dataclass(frozen=True)
class CaseRef:
    id: str
    number: str


@dataclass(frozen=True)
class MediaStatus:
    """Whether an item can be shown, and why not: what a page needs to offer the right thing.

    ``state``: ``ok``; ``pending`` (copies still being made); ``damaged`` (the original
    could not be read as media: ``reason`` is the probe's failure); ``no_copy`` (it was
    read, but no playback copy could be made: ``reason`` says why); ``empty`` (zero
    bytes); ``deleted`` (its retention ended).
    """

    state: str
    reason: str | None
    playback: bool  # GET /evidence/{id}/playback
    photo: bool  # GET /evidence/{id}/photo
    poster: bool  # GET /evidence/{id}/poster
    strip: bool  # GET /evidence/{id}/strip
    original_download: bool  # this user may download the original (with a reason)


@dataclass(frozen=True)
class EvidenceDetail:
    summary: EvidenceSummary
    source_path: str
    container: str | None
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    time_source: str
    sequence: int | None
    flags: list[str]
    media: dict[str, Any]
    derivatives_error: str | None
    derivatives: list[Derivative] = field(default_factory=list)
    cases: list[CaseRef] = field(default_factory=list)
    events: list[LoggedEvent] = field(default_factory=list)
    events_truncated: bool = False
    status: MediaStatus | None = None


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")  # cases.viewing.IMAGE_TYPES


def media_status(conn: Connection, user: User, row: EvidenceRecord,
                 copies: set[str]) -> MediaStatus:
    """``row``'s status for ``user``, given the names of its derived copies."""
    flags = set(row.flags)
    if row.deleted_at is not None:
        state, reason = "deleted", f"its retention ended; deleted {row.deleted_at.isoformat()}"
    elif row.size == 0 or "zero_byte" in flags:
        state, reason = "empty", "the recorder wrote a file of zero bytes"
    elif "unplayable" in flags:
        state, reason = "damaged", row.derivatives_error or "the file could not be read as media"
    elif row.derivatives_state == "pending":
        state, reason = "pending", "the playback copy and pictures are still being made"
    elif "no_playback_copy" in flags or row.derivatives_state == "failed":
        state, reason = "no_copy", row.derivatives_error or "no playback copy could be made"
    else:
        state, reason = "ok", None
    present = state not in ("deleted", "empty")
    may_play = user.role in access.PLAY
    try:
        access.require_original_access(conn, user, row)
        download = row.deleted_at is None
    except AccessDenied:
        download = False
    return MediaStatus(
        state=state, reason=reason,
        playback=present and may_play and "playback.mp4" in copies,
        photo=present and may_play and row.kind == "image"
        and row.original_name.lower().endswith(PHOTO_SUFFIXES),
        poster=present and may_play and "poster.jpg" in copies,
        strip=present and may_play and "strip.jpg" in copies,
        original_download=download)


def evidence_row(conn: Connection, evidence_id: str) -> EvidenceRecord:
    record = records.find(conn, evidence_id)
    if record is None:
        raise NotFound(msg("there is no evidence {evidence_id}", evidence_id=evidence_id),
                       hint=msg("search evidence with GET /api/v1/evidence"))
    return record


def visible_evidence(conn: Connection, user: User, evidence_id: str, action: str) -> EvidenceRecord:
    """The catalogue row, once the user may ``action`` it (``cases.access.visible_footage``)."""
    row = evidence_row(conn, evidence_id)
    access.require_sees_footage(conn, user, row, action)
    return row


def search_evidence(engine: Engine, user: User, wanted: EvidenceFilter) -> Page[EvidenceSummary]:
    access.require_role(user, access.READ_EVIDENCE, msg("search evidence"))
    ev = catalog.evidence
    with engine.connect() as conn:
        query = _filtered(conn, user, wanted)
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(ev.c.start_time.desc().nulls_last(),
                                           ev.c.ingested_at.desc(), ev.c.id)
                            .offset(wanted.offset).limit(wanted.limit)).all()
    return Page([summary(records.from_row(row)) for row in rows], total, wanted.offset,
                wanted.limit)


def _filtered(conn: Connection, user: User, wanted: EvidenceFilter) -> Select[Any]:
    ev = catalog.evidence
    query = select(ev).where(access.visible_footage(user))
    if wanted.officer_no is not None:
        query = query.where(ev.c.officer_no == wanted.officer_no)
    if wanted.device_serial is not None:
        query = query.where(ev.c.device_serial == wanted.device_serial)
    if wanted.start_from is not None:
        query = query.where(ev.c.start_time >= as_utc(wanted.start_from))
    if wanted.start_to is not None:
        query = query.where(ev.c.start_time < as_utc(wanted.start_to))
    if wanted.category is not None:
        query = query.where(ev.c.retention_category == wanted.category)
    if wanted.kind is not None:
        query = query.where(ev.c.kind == wanted.kind)
    if wanted.case_id is not None:
        # only a case the user may know of: else the filter would tell which of the
        # footage they see is on a case they may not read
        ce, readable = tables.case_evidence, select(tables.cases.c.id).where(
            access.named_cases(user))
        query = query.where(ev.c.id.in_(select(ce.c.evidence_id).where(
            ce.c.case_id == wanted.case_id, ce.c.case_id.in_(readable))))
    if wanted.recording_id is not None:
        members = [segment.evidence_id for recording in all_recordings(conn)
                   if recording.recording_id == wanted.recording_id
                   for segment in recording.segments]
        query = query.where(ev.c.id.in_(members))
    return query


def summary(record: EvidenceRecord) -> EvidenceSummary:
    return EvidenceSummary(
        id=record.id, sha256=record.sha256, size=record.size, original_name=record.original_name,
        kind=record.kind, device_serial=record.device_serial, officer_no=record.officer_no,
        start_time=record.start_time, duration_ms=record.duration_ms,
        retention_category=record.retention_category, retain_until=record.retain_until,
        legal_hold=record.legal_hold, derivatives_state=record.derivatives_state,
        ingested_at=record.ingested_at)


def evidence_detail(engine: Engine, user: User, evidence_id: str) -> EvidenceDetail:
    access.require_role(user, access.READ_EVIDENCE, msg("read evidence"))
    ce, cs = tables.case_evidence, tables.cases
    with engine.connect() as conn:
        row = visible_evidence(conn, user, evidence_id, msg("read this evidence"))
        derivatives = [Derivative(d.name, d.sha256, d.size, d.method, d.created_at)
                       for d in records.derivatives_of(conn, evidence_id)]
        on_cases = [CaseRef(c.id, c.number) for c in conn.execute(
            select(cs.c.id, cs.c.number).join(ce, ce.c.case_id == cs.c.id)
            .where(ce.c.evidence_id == evidence_id, access.named_cases(user)).order_by(cs.c.number))]
        status = media_status(conn, user, row, {d.name for d in derivatives})
    events = events_for(engine, evidence_id=evidence_id, limit=EVENTS_SHOWN + 1)
    return EvidenceDetail(
        summary=summary(row), source_path=row.source_path, container=row.container,
        video_codec=row.video_codec, audio_codec=row.audio_codec, width=row.width,
        height=row.height, time_source=row.time_source, sequence=row.sequence,
        flags=list(row.flags), media=dict(row.media),
        derivatives_error=row.derivatives_error, derivatives=derivatives, cases=on_cases,
        events=events[:EVENTS_SHOWN], events_truncated=len(events) > EVENTS_SHOWN, status=status)


def change_legal_hold(log: CustodyLog, store: ObjectStore, user: User, evidence_id: str, on: bool,
                      reason: str, now: datetime | None = None) -> EvidenceSummary:
    """Place (``on``) or release the legal hold on every copy of an item, with its event.

    The store is changed inside the database transaction: if the store refuses,
    nothing is recorded; the event and the catalogue commit together.
    """
    action = msg("place a legal hold") if on else msg("release a legal hold")
    access.require_role(user, access.LEGAL_HOLD, action)
    reason = clean_text(reason, msg("reason for the legal hold"), REASON_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        row = evidence_row(conn, evidence_id)
        if row.deleted_at is not None:
            raise Conflict(msg("evidence {evidence_id} was deleted when its retention ended "
                               "({deleted_at}); there is nothing left to hold", evidence_id=evidence_id,
                               deleted_at=row.deleted_at.isoformat()))
        access.require_owner_admin(conn, user, row, access.LEGAL_HOLD, action)
        if row.legal_hold == on:
            raise Conflict(msg("evidence {evidence_id} is already under legal hold",
                               evidence_id=evidence_id) if on else
                           msg("evidence {evidence_id} is not under legal hold",
                               evidence_id=evidence_id))
        copies: list[StoredCopy] = set_legal_hold(conn, store, row, on)
        log.append([EventDraft(EventType.HOLD_PLACED if on else EventType.HOLD_RELEASED,
                               user.actor, row.subject, {
            "reason": reason, "copies": [copy.ref() for copy in copies]}, moment)], conn)
        return summary(evidence_row(conn, evidence_id))
