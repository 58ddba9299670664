"""Viewing sessions: one custody event per playback or download session, not per request.

A video player fetches a file in many HTTP Range requests (and seeks with
more). The server keeps a session per (user, kind, subject): a request joins
the user's latest session for the same footage if that session was last used
within ``IDLE_TIMEOUT`` and the request states no different reason; otherwise
it opens a new session, and only opening appends the custody event
(``evidence:file:viewed`` or ``evidence:file:downloaded``) naming the session.
Sessions live in the database, so every server process agrees on them; the
user's row is locked while deciding, so concurrent requests open one session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from cases import access, tables
from cases.custody_index import logged_object
from cases.errors import InvalidRequest, NotPlayable
from cases.evidence import evidence_row, visible_evidence
from cases.paging import MAX_PAGE, Page
from cases.recordings import PLAYBACK, SegmentCopy, all_recordings, find_recording, segment_copies
from cases.text import REASON_MAX, clean_text
from cases.users import User
from custody.events import EventDraft, Subject
from custody.log import CustodyLog
from domain.errors import IntegrityError
from domain.event_types import EventType
from domain.messages import from_stored, msg
from media.recordings import Recording, Timeline, timeline
from storage import catalog
from storage.db import write_transaction

IDLE_TIMEOUT = timedelta(minutes=30)
VIEWED = EventType.FILE_VIEWED
DOWNLOADED = EventType.FILE_DOWNLOADED
_log = logging.getLogger(__name__)
_IDS_PER_QUERY = 1000  # names of a page's segments, read this many ids at a time


@dataclass(frozen=True)
class ViewSession:
    id: str
    opened: bool  # True when this request opened it (and appended its event)
    first_seq: int  # the custody entry recording the session


@dataclass(frozen=True)
class StoredTarget:
    """What a request will stream: a stored object with its logged SHA-256."""

    evidence_id: str
    evidence_sha256: str
    key: str
    version: str | None
    sha256: str
    size: int
    name: str  # "original" or a derivative name
    original_name: str
    media_type: str = "application/octet-stream"  # what the bytes are, for a browser


DraftsFor = Callable[[str], Sequence[EventDraft]]


TOUCH_INTERVAL = timedelta(seconds=60)


def open_session(log: CustodyLog, user: User, kind: str, subject: str, reason: str | None,
                 drafts_for: DraftsFor, *, now: datetime | None = None,
                 idle: timedelta = IDLE_TIMEOUT) -> ViewSession:
    """Join the user's current session on ``subject`` or open one with ``drafts_for(id)``."""
    moment = now or datetime.now(UTC)
    vs = tables.view_sessions
    # Fast path, no write: a session seen within TOUCH_INTERVAL is joined as it is,
    # so Range requests inside a session cost no durable commit (bench/api.py).
    # The idle timeout is therefore accurate to TOUCH_INTERVAL.
    with log.engine.connect() as conn:
        fresh = conn.execute(select(vs.c.id, vs.c.reason, vs.c.first_seq).where(
            (vs.c.user_name == user.name) & (vs.c.kind == kind) & (vs.c.subject == subject)
            & (vs.c.last_seen_at >= moment - TOUCH_INTERVAL)).order_by(vs.c.last_seen_at.desc())
            .limit(1)).first()
    if fresh is not None and (reason is None or reason == fresh.reason):
        return ViewSession(fresh.id, False, fresh.first_seq)
    with write_transaction(log.engine) as conn:
        # Lock the user's row: their concurrent requests decide one after another.
        conn.execute(select(tables.users.c.name).where(tables.users.c.name == user.name)
                     .with_for_update()).first()
        current = conn.execute(select(vs.c.id, vs.c.reason, vs.c.first_seq).where(
            (vs.c.user_name == user.name) & (vs.c.kind == kind) & (vs.c.subject == subject)
            & (vs.c.last_seen_at >= moment - idle)).order_by(vs.c.last_seen_at.desc())
            .limit(1)).first()
        if current is not None and (reason is None or reason == current.reason):
            conn.execute(update(vs).where(vs.c.id == current.id).values(last_seen_at=moment))
            return ViewSession(current.id, False, current.first_seq)
        session_id = str(uuid.uuid4())
        appended = log.append(list(drafts_for(session_id)), conn)
        first_seq = appended.entries[0].seq
        conn.execute(insert(vs).values(id=session_id, user_name=user.name, kind=kind,
                                       subject=subject, reason=reason, started_at=moment,
                                       last_seen_at=moment, first_seq=first_seq))
        return ViewSession(session_id, True, first_seq)


def playback_target(log: CustodyLog, user: User, evidence_id: str) -> StoredTarget:
    """The playback copy of an item the user may play."""
    access.require_role(user, access.PLAY, msg("play back evidence"))
    der = catalog.derivatives
    with log.engine.connect() as conn:
        row = visible_evidence(conn, user, evidence_id, msg("play back this evidence"))
        copy = conn.execute(select(der).where((der.c.evidence_id == evidence_id)
                                              & (der.c.name == PLAYBACK))).first()
    if copy is None:
        hints = {"pending": msg("the playback copy is still being made; retry shortly"),
                 "failed": msg("making it failed ({error}); ask for the original",
                               error=from_stored(row.derivatives_error or ""))}
        raise NotPlayable(msg("evidence {evidence_id} ({kind}) has no playback copy",
                              evidence_id=evidence_id, kind=row.kind),
                          hint=hints.get(row.derivatives_state,
                                         msg("still images and damaged files have none; "
                                             "ask for the original")))
    target = StoredTarget(row.id, row.sha256, copy.object_key, copy.object_version, copy.sha256,
                          copy.size, PLAYBACK, row.original_name,
                          "audio/mp4" if row.kind == "audio" else "video/mp4")
    return _as_logged(log.engine, target)


# Photos a browser shows as they are, by the original's file name extension.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".webp": "image/webp", ".gif": "image/gif"}
POSTER, STRIP = "poster.jpg", "strip.jpg"
PREVIEWS = (POSTER, STRIP)


def photo_target(log: CustodyLog, user: User, evidence_id: str) -> StoredTarget:
    """The original of a photo, to be shown in a browser, for a user who may play the item.

    Photos have no playback copy: the original is what is viewed, and viewing it is
    logged like playback (``evidence:file:viewed`` naming the original).
    """
    access.require_role(user, access.PLAY, msg("view photos"))
    with log.engine.connect() as conn:
        row = visible_evidence(conn, user, evidence_id, msg("view this photo"))
    if row.kind != "image":
        raise NotPlayable(msg("evidence {evidence_id} is not a photo but {kind}", evidence_id=evidence_id,
                              kind=row.kind),
                          hint=msg("play it instead"))
    suffix = row.original_name[row.original_name.rfind("."):].lower() if "." in row.original_name \
        else ""
    media_type = IMAGE_TYPES.get(suffix)
    if media_type is None or row.size == 0:
        raise NotPlayable(msg("photo {evidence_id} ({original_name}) is in a format a browser cannot show",
                              evidence_id=evidence_id, original_name=row.original_name),
                          hint=msg("view its poster or download the original"))
    target = StoredTarget(row.id, row.sha256, row.object_key, row.object_version, row.sha256,
                          row.size, "original", row.original_name, media_type)
    return _as_logged(log.engine, target)


def preview_target(log: CustodyLog, user: User, evidence_id: str, name: str) -> StoredTarget:
    """An item's poster or thumbnail strip (``media.thumbnails``), for a user who may play it.

    Previews are pictures of the footage, so they need the right to play it; they are
    served without a custody event, as search results show dozens at once (the event is
    written when the footage itself is played, or a photo viewed at full size).
    """
    assert name in PREVIEWS
    access.require_role(user, access.PLAY, msg("see previews of evidence"))
    der = catalog.derivatives
    with log.engine.connect() as conn:
        row = visible_evidence(conn, user, evidence_id, msg("see previews of this evidence"))
        copy = conn.execute(select(der).where((der.c.evidence_id == evidence_id)
                                              & (der.c.name == name))).first()
    if copy is None:
        what = msg("poster") if name == POSTER else msg("thumbnail strip")
        hints = {"pending": msg("the {what} is still being made; retry shortly", what=what),
                 "failed": msg("making the copies failed ({error})",
                               error=from_stored(row.derivatives_error or ""))}
        raise NotPlayable(msg("evidence {evidence_id} ({kind}) has no {what}", evidence_id=evidence_id,
                              kind=row.kind, what=what),
                          hint=hints.get(row.derivatives_state,
                                         msg("audio and damaged files have no pictures")))
    target = StoredTarget(row.id, row.sha256, copy.object_key, copy.object_version, copy.sha256,
                          copy.size, name, row.original_name, "image/jpeg")
    return _as_logged(log.engine, target)


def original_target(log: CustodyLog, user: User, evidence_id: str,
                    reason: str | None) -> StoredTarget:
    """The original of an item the user may download, once they said why.

    The original leaves the system, so a reason is required (and recorded in the
    ``evidence:file:downloaded`` event); it is asked for after the access check, so a user
    who may not download learns that first.
    """
    with log.engine.connect() as conn:
        access.require_role(user, access.DOWNLOAD_ORIGINAL, msg("download originals"))
        row = visible_evidence(conn, user, evidence_id, msg("download this original"))
        access.require_original_access(conn, user, row)
    if reason is None:
        raise InvalidRequest(msg("downloading an original needs a reason"),
                             hint=msg("say why in `reason` (for example ?reason=disclosure+to+defence); it "
                                      "is recorded in the custody event"))
    clean_text(reason, msg("reason"), REASON_MAX)
    target = StoredTarget(row.id, row.sha256, row.object_key, row.object_version, row.sha256,
                          row.size, "original", row.original_name)
    return _as_logged(log.engine, target)


def recording_segments(log: CustodyLog, user: User, recording_id: str) -> list[SegmentCopy]:
    """The playback copies of a recording's segments, if the user may play all of them."""
    return playable_recording(log, user, recording_id)[1]


def playable_recording(log: CustodyLog, user: User,
                       recording_id: str) -> tuple[Recording, list[SegmentCopy]]:
    """The recording and its segments' playback copies, if the user may play all of them."""
    access.require_role(user, access.PLAY, msg("play back recordings"))
    with log.engine.connect() as conn:
        recording = find_recording(conn, recording_id)
        ids = [s.evidence_id for s in recording.segments]
        hidden = set(ids) - _visible_among(conn, user, ids)
        if hidden:
            access.require_sees_footage(conn, user, evidence_row(conn, sorted(hidden)[0]),
                                        msg("play back this recording"))
        copies = segment_copies(conn, recording)
    for c in copies:
        _as_logged(log.engine, StoredTarget(c.evidence_id, c.evidence_sha256, c.key, c.version,
                                            c.sha256, c.size, PLAYBACK, ""))
    return recording, copies


def _as_logged(engine: Engine, target: StoredTarget) -> StoredTarget:
    """``target`` if its catalogue row names the object its custody event recorded; else
    IntegrityError, so a row edited to point at other bytes serves nothing."""
    logged = logged_object(engine, target.evidence_id, target.name)
    stored = (target.key, target.version, target.sha256, target.size)
    if logged is None or (logged.key, logged.version, logged.sha256, logged.size or target.size) != stored:
        named = "no custody event names it" if logged is None else (
            f"entry {logged.seq} recorded {logged.key} (SHA-256 {logged.sha256})")
        _log.error("catalogue row of evidence %s (%s) names %s (SHA-256 %s) but %s",
                   target.evidence_id, target.name, target.key, target.sha256, named)
        raise IntegrityError(
            msg("the catalogue's {target} of evidence {evidence_id} is not the object its custody events "
                "recorded ({named}); nothing was served", target=target.name,
                evidence_id=target.evidence_id, named=named),
            hint=msg("run `evidence verify`; the catalogue row may have been edited"))
    return target


def visible_recordings(log: CustodyLog, user: User, offset: int = 0,
                       limit: int = MAX_PAGE) -> Page[tuple[Recording, list[str]]]:
    """One page of the recordings the user may see, each with its segments' original names.

    A recording is listed when the user may see every segment of it.
    """
    access.require_role(user, access.READ_EVIDENCE, msg("list recordings"))
    ev = catalog.evidence
    with log.engine.connect() as conn:
        recordings = all_recordings(conn)
        if not access.sees_all_footage(user):  # reading every video id costs time at 100k items
            visible = {evidence_id for (evidence_id,) in conn.execute(
                select(ev.c.id).where(ev.c.kind == "video", access.visible_footage(user)))}
            recordings = [r for r in recordings
                          if all(s.evidence_id in visible for s in r.segments)]
        page = recordings[offset:offset + limit]
        wanted = [s.evidence_id for r in page for s in r.segments]
        names: dict[str, str] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            names.update((row.id, row.original_name) for row in conn.execute(
                select(ev.c.id, ev.c.original_name).where(
                    ev.c.id.in_(wanted[start:start + _IDS_PER_QUERY]))))
    return Page([(r, [names[s.evidence_id] for s in r.segments]) for r in page],
                len(recordings), offset, limit)


@dataclass(frozen=True)
class SegmentFacts:
    """What the catalogue says of one segment: its name and whether it can be played."""

    original_name: str
    officer_no: str | None
    playback: bool  # it has a playback copy
    derivatives_state: str


@dataclass(frozen=True)
class RecordingDetail:
    timeline: Timeline
    segments: dict[str, SegmentFacts]  # by evidence id

    @property
    def joined_playable(self) -> bool:
        """Every segment the joined file shows has a playback copy."""
        return all(self.segments[p.segment.evidence_id].playback
                   for p in self.timeline.segments if p.in_joined_file)


def recording_detail(log: CustodyLog, user: User, recording_id: str) -> RecordingDetail:
    """A recording's timeline (``media.recordings.timeline``: every segment on the wall clock,
    every gap and overlap exactly), for a user who may see every segment of it."""
    access.require_role(user, access.READ_EVIDENCE, msg("read recordings"))
    ev, der = catalog.evidence, catalog.derivatives
    with log.engine.connect() as conn:
        recording = find_recording(conn, recording_id)
        ids = [s.evidence_id for s in recording.segments]
        hidden = set(ids) - _visible_among(conn, user, ids)
        if hidden:
            access.require_sees_footage(conn, user, evidence_row(conn, sorted(hidden)[0]),
                                        msg("read this recording"))
        facts: dict[str, SegmentFacts] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            for row in conn.execute(
                    select(ev.c.id, ev.c.original_name, ev.c.officer_no, ev.c.derivatives_state,
                           der.c.name.label("copy"))
                    .outerjoin(der, (der.c.evidence_id == ev.c.id) & (der.c.name == PLAYBACK))
                    .where(ev.c.id.in_(ids[start:start + _IDS_PER_QUERY]))):
                facts[row.id] = SegmentFacts(row.original_name, row.officer_no,
                                             row.copy is not None, row.derivatives_state)
    return RecordingDetail(timeline(recording), facts)


def _visible_among(conn: Connection, user: User, evidence_ids: list[str]) -> set[str]:
    ev = catalog.evidence
    found: set[str] = set()
    for start in range(0, len(evidence_ids), _IDS_PER_QUERY):
        found.update(evidence_id for (evidence_id,) in conn.execute(select(ev.c.id).where(
            ev.c.id.in_(evidence_ids[start:start + _IDS_PER_QUERY]), access.visible_footage(user))))
    return found


def target_drafts(user: User, target: StoredTarget, event_type: str, reason: str | None,
                  now: datetime) -> DraftsFor:
    """The one event opening a session on one item's playback copy or original."""
    def drafts(session_id: str) -> list[EventDraft]:
        return [EventDraft(event_type, user.actor, Subject(target.evidence_id, target.evidence_sha256),
                           {"session": session_id, "copy": target.name, "sha256": target.sha256,
                            "size": target.size, "reason": reason}, now)]
    return drafts


def recording_drafts(user: User, recording_id: str, copies: Sequence[SegmentCopy],
                     joined_sha256: str, reason: str | None, now: datetime) -> DraftsFor:
    """One event per segment, so each item's own history shows it was viewed."""
    def drafts(session_id: str) -> list[EventDraft]:
        return [EventDraft(VIEWED, user.actor, Subject(c.evidence_id, c.evidence_sha256), {
            "session": session_id, "copy": PLAYBACK, "sha256": c.sha256, "size": c.size,
            "recording_id": recording_id, "joined_sha256": joined_sha256, "segment": number,
            "segments": len(copies), "reason": reason}, now)
            for number, c in enumerate(copies)]
    return drafts
