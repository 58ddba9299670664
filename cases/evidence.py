"""Searching and reading evidence, and placing or releasing legal holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    TextClause,
    case,
    func,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList

from cases import access, tables
from cases.custody_index import EVENTS_SHOWN, LoggedEvent, events_for
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.paging import Page
from cases.recordings import all_recordings, recording_of_segment
from cases.retention import CASE, StoredCopy, set_legal_hold
from cases.tables import DEFAULT_UNIT
from cases.text import REASON_MAX, clean_text
from cases.times import as_utc
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import Message, from_stored, listing, msg
from storage import catalog, records
from storage.db import write_transaction
from storage.objects import ObjectStore
from storage.records import EvidenceRecord

FLAGS = ("unplayable", "no_playback_copy", "zero_byte", "unknown_device", "legal_hold",
         "on_case", "copy_pending", "time_uncertain")
"""What the search can filter on (all those given must hold); ``EvidenceSummary.flags`` names
the same: the stored flags of the ingest (unplayable, no_playback_copy, zero_byte,
unknown_device) and those read from the row (legal_hold; on_case: kept as a case's footage;
copy_pending; time_uncertain: a start taken from the container header or the file's
modification time, or none at all)."""
UNCERTAIN_SOURCES = ("container", "file_mtime")  # media.names: the weakest start times
# Rows any flag but on_case holds for: the partial index ix_evidence_attention (migration 0016,
# which has this text) lists them in the listing's order, and a search by those flags names
# this very text so that SQLite and PostgreSQL see the index applies (they match it exactly).
ATTENTION_SQL = ("(flags <> '[]' OR legal_hold OR derivatives_state IN ('pending', 'failed') "
                 "OR start_time IS NULL OR time_source IN ('container', 'file_mtime'))")
OFFICER_QUERY_MAX = 64
COUNT_AHEAD = 1000  # rows counted past the page; beyond, the total is "at least"


@dataclass(frozen=True)
class EvidenceFilter:
    """A search. ``officer``: an officer number (exact) or part of an officer's name (the
    device registry's, or a user's name), Chinese or not. The window [``time_from``,
    ``time_to``) (aware times) finds every item whose span [start, start + duration]
    overlaps it (an item without a duration: its start instant). ``unit`` narrows the
    caller's scope to one unit; it never widens it."""

    officer: str | None = None
    device_serial: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    unit: str | None = None
    case_id: str | None = None
    category: str | None = None
    recording_id: str | None = None
    kind: str | None = None
    flags: tuple[str, ...] = ()
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
    unit_code: str | None = None
    flags: tuple[str, ...] = ()  # FLAGS that hold for it
    officer_name: str | None = None  # the device registry's name for its recorder's officer
    poster: bool = False  # GET /evidence/{id}/poster answers for this user (search results)


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
    reason: Message | None  # in any language: api.i18n.tr
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
    derivatives_error: Message | None  # shown with api.i18n.tr
    derivatives: list[Derivative] = field(default_factory=list)
    cases: list[CaseRef] = field(default_factory=list)
    events: list[LoggedEvent] = field(default_factory=list)
    events_truncated: bool = False
    status: MediaStatus | None = None
    recording_id: str | None = None  # the recording this segment belongs to (video only)


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")  # cases.viewing.IMAGE_TYPES


def media_status(conn: Connection, user: User, row: EvidenceRecord,
                 copies: set[str]) -> MediaStatus:
    """``row``'s status for ``user``, given the names of its derived copies."""
    flags = set(row.flags)
    # the reason is shown in the reader's language (api.i18n.tr); the stored error of the
    # derive (messages.stored) comes back as its sentence, an old row's English as it is
    found = from_stored(row.derivatives_error) if row.derivatives_error else None
    reason: Message | None
    if row.deleted_at is not None:
        state, reason = "deleted", msg("its retention ended; deleted {time}",
                                       time=row.deleted_at.isoformat())
    elif row.size == 0 or "zero_byte" in flags:
        state, reason = "empty", msg("the recorder wrote a file of zero bytes")
    elif "unplayable" in flags:
        state, reason = "damaged", found or msg("the file could not be read as media")
    elif row.derivatives_state == "pending":
        state, reason = "pending", msg("the playback copy and pictures are still being made")
    elif "no_playback_copy" in flags or row.derivatives_state == "failed":
        state, reason = "no_copy", found or msg("no playback copy could be made")
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
                       hint=msg("find the item by searching the evidence"))
    return record


def visible_evidence(conn: Connection, user: User, evidence_id: str, action: str) -> EvidenceRecord:
    """The catalogue row, once the user may ``action`` it (``cases.access.visible_footage``)."""
    row = evidence_row(conn, evidence_id)
    access.require_sees_footage(conn, user, row, action)
    return row


def search_evidence(engine: Engine, user: User, wanted: EvidenceFilter) -> Page[EvidenceSummary]:
    """One page of what the user may see and the filter finds, newest first.

    The total is counted only up to ``COUNT_AHEAD`` rows past the page (``Page.exact`` is
    False beyond): a count of every match of a broad search would cost more than the page.
    """
    access.require_role(user, access.READ_EVIDENCE, msg("search evidence"))
    ev = catalog.evidence
    with engine.connect() as conn:
        conditions = _conditions(conn, user, wanted)
        if conditions is None:
            return Page([], 0, wanted.offset, wanted.limit)
        visible = access.visible_footage(user)
        ceiling = wanted.offset + wanted.limit + COUNT_AHEAD
        # counted with the scope as it is: without an order to keep, an OR of indexed terms
        # is what the planners answer fastest (SQLite: 0.2 ms where the page's CASE took 20)
        counted = conn.execute(select(func.count()).select_from(
            select(ev.c.id).where(visible, *conditions).limit(ceiling + 1).subquery())
        ).scalar_one()
        rows = conn.execute(_listed().where(_planned(conn, visible), *conditions)
                            .order_by(ev.c.start_time.desc().nulls_last(),
                                      ev.c.ingested_at.desc(), ev.c.id)
                            .offset(wanted.offset).limit(wanted.limit)).all()
    posters = user.role in access.PLAY
    items = [_listed_summary(row, posters) for row in rows]
    # capped: ``counted`` is ceiling + 1, "at least", and the next page is still offered
    return Page(items, counted, wanted.offset, wanted.limit, exact=counted <= ceiling)


@cache
def _listed() -> Select[Any]:
    """The columns a search result shows (in ``_listed_summary``'s order), with its
    recorder's officer name (the device registry's) and whether it has a poster, in the
    page's one statement. Built once: the search adds its conditions to it."""
    ev, dev, der = catalog.evidence, catalog.devices, catalog.derivatives
    return select(
        ev.c.id, ev.c.sha256, ev.c.size, ev.c.original_name, ev.c.kind, ev.c.device_serial,
        ev.c.officer_no, ev.c.start_time, ev.c.duration_ms, ev.c.retention_category,
        ev.c.retain_until, ev.c.legal_hold, ev.c.derivatives_state, ev.c.ingested_at,
        ev.c.unit_code, ev.c.flags, ev.c.time_source, ev.c.deleted_at,
        select(dev.c.officer_name).where(dev.c.serial == ev.c.device_serial)
        .scalar_subquery().label("officer_name"),
        # a scalar subquery (one row at most: the key), not EXISTS, which PostgreSQL
        # answered with a hash of every poster (150 ms)
        select(der.c.name).where(der.c.evidence_id == ev.c.id, der.c.name == "poster.jpg")
        .scalar_subquery().label("poster"))


def _listed_summary(row: Any, posters: bool) -> EvidenceSummary:
    """A row of ``_listed``; ``poster`` as ``media_status`` says (a role that plays footage,
    an item not deleted and not empty). The row is unpacked, not read by name: 50 rows a
    page, every search."""
    (id_, sha256, size, original_name, kind, device_serial, officer_no, start_time,
     duration_ms, retention_category, retain_until, legal_hold, derivatives_state,
     ingested_at, unit_code, stored_flags, time_source, deleted_at, officer_name,
     poster) = row
    start_time, ingested_at = records.utc(start_time), records.utc(ingested_at)
    assert ingested_at is not None  # NOT NULL
    legal_hold = bool(legal_hold)
    return EvidenceSummary(
        id_, sha256, size, original_name, kind, device_serial, officer_no, start_time,
        duration_ms, retention_category, records.utc(retain_until), legal_hold,
        derivatives_state, ingested_at, unit_code,
        _flags(records.json_list(stored_flags), legal_hold, retention_category,
               derivatives_state, start_time, time_source),
        officer_name, posters and poster is not None and deleted_at is None and size > 0)


def officer_numbers(conn: Connection, officer: str) -> list[str]:
    """The officer numbers ``officer`` names: itself (a number, whole), and the numbers of the
    officers whose name contains it (the device registry's officer names and the users'
    names; case-insensitive for Latin). Looked up first, so that the search itself is an
    IN on the officer index (an OR with a subquery kept PostgreSQL from it: 416 ms)."""
    dev, users = catalog.devices, tables.users
    needle = officer.lower()
    by_name = union(
        select(dev.c.officer_no).where(dev.c.officer_no.is_not(None),
                                       func.lower(dev.c.officer_name).contains(
                                           needle, autoescape=True)),
        select(users.c.officer_no).where(users.c.officer_no.is_not(None),
                                         func.lower(users.c.name).contains(
                                             needle, autoescape=True)))
    return sorted({officer, *conn.execute(by_name).scalars()})


def flag_condition(flag: str) -> ColumnElement[bool]:
    """The rows ``flag`` (one of FLAGS) holds for, as ``flags_of`` reads them."""
    ev = catalog.evidence
    stored = ev.c.flags.contains(f'"{flag}"', autoescape=True)
    if flag == "legal_hold":
        return ev.c.legal_hold.is_(True)
    if flag == "on_case":
        return ev.c.retention_category == CASE
    if flag == "copy_pending":
        return ev.c.derivatives_state == "pending"
    if flag == "no_playback_copy":
        return or_(stored, ev.c.derivatives_state == "failed")
    if flag == "time_uncertain":
        return or_(ev.c.start_time.is_(None), ev.c.time_source.in_(UNCERTAIN_SOURCES))
    if flag in FLAGS:
        return stored
    raise InvalidRequest(msg("unknown flag {flag!r}", flag=flag),
                         hint=msg("use one of: {flags}", flags=listing(FLAGS)))


def flags_of(record: EvidenceRecord) -> tuple[str, ...]:
    """The FLAGS that hold for ``record`` (the same rules as ``flag_condition``), then any
    other flag the ingest stored."""
    return _flags(record.flags, record.legal_hold, record.retention_category,
                  record.derivatives_state, record.start_time, record.time_source)


def _flags(stored: Iterable[str], legal_hold: bool, retention_category: str,
           derivatives_state: str, start_time: datetime | None,
           time_source: str | None) -> tuple[str, ...]:
    found = set(stored)
    if legal_hold:
        found.add("legal_hold")
    if retention_category == CASE:
        found.add("on_case")
    if derivatives_state == "pending":
        found.add("copy_pending")
    if derivatives_state == "failed":
        found.add("no_playback_copy")
    if start_time is None or time_source in UNCERTAIN_SOURCES:
        found.add("time_uncertain")
    return (*(f for f in FLAGS if f in found), *sorted(found - set(FLAGS)))


def _longest_ms(conn: Connection) -> int:
    """The longest duration stored (``ix_evidence_duration_ms`` answers at once)."""
    return int(conn.execute(select(func.max(catalog.evidence.c.duration_ms))).scalar() or 0)


def window_condition(conn: Connection, time_from: datetime | None,
                     time_to: datetime | None) -> list[ColumnElement[bool]]:
    """Spans [start, end_time] overlapping [time_from, time_to). The start is bounded below
    by time_from less the longest duration, so the listing index is read over a range."""
    ev = catalog.evidence
    conditions: list[ColumnElement[bool]] = []
    if time_to is not None:
        conditions.append(ev.c.start_time < as_utc(time_to))
    if time_from is not None:
        low = as_utc(time_from)
        conditions.append(ev.c.end_time >= low)
        try:
            conditions.append(ev.c.start_time >= low - timedelta(milliseconds=_longest_ms(conn)))
        except OverflowError:  # a window from the year 1: no lower bound
            conditions.append(ev.c.start_time.is_not(None))
    return conditions


def _planned(conn: Connection, visible: ColumnElement[bool]) -> ColumnElement[bool]:
    """The scope condition, written so that SQLite's planner keeps the listing's order.

    A scope of several parts (a unit's footage OR footage on managed cases OR granted) is an
    OR of indexed terms, and SQLite answers it with a MULTI-INDEX OR: every row of the unit
    collected and then sorted (a first page took 400 ms at 100,000 items). Inside a CASE the
    OR is checked row by row while an index is read in the listing's order (or by the
    officer, recorder or time), and a page stops after its rows. PostgreSQL plans the OR
    itself (bench/search_plans.py)."""
    if (conn.dialect.name == "sqlite" and isinstance(visible, BooleanClauseList)
            and visible.operator is operators.or_):
        return case((visible, 1), else_=0) == 1
    return visible


def _conditions(conn: Connection, user: User,
                wanted: EvidenceFilter) -> list[ColumnElement[bool] | TextClause] | None:
    """The search's conditions but the user's scope, or None when it can find nothing."""
    ev = catalog.evidence
    if (wanted.time_from is not None and wanted.time_to is not None
            and wanted.time_from >= wanted.time_to):
        raise InvalidRequest(msg("the search's time window ends before it starts"),
                             hint=msg("give a 'from' time earlier than the 'to' time"))
    conditions: list[ColumnElement[bool] | TextClause] = []
    if wanted.officer is not None:
        conditions.append(ev.c.officer_no.in_(officer_numbers(conn, wanted.officer)))
    if wanted.device_serial is not None:
        conditions.append(ev.c.device_serial == wanted.device_serial)
    conditions.extend(window_condition(conn, wanted.time_from, wanted.time_to))
    if wanted.unit is not None:
        # within what the user sees (the condition above); footage from before units counts
        # as the default unit's
        conditions.append(ev.c.unit_code == wanted.unit if wanted.unit != DEFAULT_UNIT
                          else func.coalesce(ev.c.unit_code, DEFAULT_UNIT) == DEFAULT_UNIT)
    if wanted.category is not None:
        conditions.append(ev.c.retention_category == wanted.category)
    if wanted.kind is not None:
        conditions.append(ev.c.kind == wanted.kind)
    for flag in dict.fromkeys(wanted.flags):
        conditions.append(flag_condition(flag))
    if set(wanted.flags) - {"on_case"}:
        conditions.append(text(ATTENTION_SQL))  # implied by those flags: for the index
    if wanted.case_id is not None:
        # only a case the user may know of: else the filter would tell which of the
        # footage they see is on a case they may not read
        ce, readable = tables.case_evidence, select(tables.cases.c.id).where(
            access.named_cases(user))
        conditions.append(ev.c.id.in_(select(ce.c.evidence_id).where(
            ce.c.case_id == wanted.case_id, ce.c.case_id.in_(readable))))
    if wanted.recording_id is not None:
        members = [segment.evidence_id for recording in all_recordings(conn)
                   if recording.recording_id == wanted.recording_id
                   for segment in recording.segments]
        if not members:
            return None
        conditions.append(ev.c.id.in_(members))
    return conditions


def summary(record: EvidenceRecord, officer_name: str | None = None) -> EvidenceSummary:
    return EvidenceSummary(
        id=record.id, sha256=record.sha256, size=record.size, original_name=record.original_name,
        kind=record.kind, device_serial=record.device_serial, officer_no=record.officer_no,
        start_time=record.start_time, duration_ms=record.duration_ms,
        retention_category=record.retention_category, retain_until=record.retain_until,
        legal_hold=record.legal_hold, derivatives_state=record.derivatives_state,
        ingested_at=record.ingested_at, unit_code=record.unit_code, flags=flags_of(record),
        officer_name=officer_name)


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
        recording = recording_of(conn, row)
    events = events_for(engine, evidence_id=evidence_id, limit=EVENTS_SHOWN + 1)
    return EvidenceDetail(
        summary=summary(row), source_path=row.source_path, container=row.container,
        video_codec=row.video_codec, audio_codec=row.audio_codec, width=row.width,
        height=row.height, time_source=row.time_source, sequence=row.sequence,
        flags=list(row.flags), media=dict(row.media),
        derivatives_error=from_stored(row.derivatives_error) if row.derivatives_error else None,
        derivatives=derivatives, cases=on_cases,
        events=events[:EVENTS_SHOWN], events_truncated=len(events) > EVENTS_SHOWN, status=status,
        recording_id=recording)


def recording_of(conn: Connection, row: EvidenceRecord) -> str | None:
    """The id of the recording ``row`` is a segment of (GET /recordings/{id}), or None for
    what is no segment: not a video, or without a start time or duration."""
    if row.kind != "video" or row.start_time is None or row.duration_ms is None:
        return None
    return recording_of_segment(conn, row.id)


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
