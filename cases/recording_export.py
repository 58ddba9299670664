"""Export a recording as one MP4: the one implementation behind the CLI and the HTTP API.

The joined file runs on the wall clock: each gap between segments is black picture and
silence of its true length, and where segments overlap the later one is shown from its
own start (``media.recordings.timeline``). Every export logs this: one
``evidence:recording:exported`` event per segment, naming the segment's playback copy by
its SHA-256, the joined file's SHA-256, where the segment sits in it, every gap and
overlap, and the reason. The same checks as recording playback apply
(``cases.viewing.playable_recording``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cases.errors import Conflict
from cases.recordings import JoinedFile, SegmentCopy, joined_playback
from cases.text import REASON_MAX, clean_optional
from cases.users import User
from cases.viewing import playable_recording
from custody.events import JSON, EventDraft, Subject
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from media.recordings import Gap, Overlap, Timeline, timeline
from storage.db import database_errors, write_transaction
from storage.objects import ObjectStore


def export_recording(log: CustodyLog, store: ObjectStore, user: User, recording_id: str,
                     reason: str | None, cache_dir: Path, now: datetime) -> JoinedFile:
    """The recording's joined MP4 for ``user``, after logging its export once per segment.

    The returned file lives in the cache (``cache_dir``): copy it, do not move it.
    """
    reason = clean_optional(reason, msg("reason"), REASON_MAX)
    recording, copies = playable_recording(log, user, recording_id)
    if [s.evidence_id for s in recording.segments] != [c.evidence_id for c in copies]:
        raise Conflict(msg("recording {recording_id} gained a segment while it was being exported",
                           recording_id=recording_id),
                       hint=msg("export it again"))
    joined = joined_playback(store, recording, copies, cache_dir)
    with database_errors(msg("logging the export")), write_transaction(log.engine) as conn:
        log.append(export_drafts(user, timeline(recording), copies, joined.sha256, reason, now),
                   conn)
    return joined


GAP_FILL = "black picture and silence"  # what a gap is in the joined file


def export_drafts(user: User, line: Timeline, copies: Sequence[SegmentCopy], joined_sha256: str,
                  reason: str | None, now: datetime) -> list[EventDraft]:
    """One event per segment, so each item's own history shows it left the system."""
    gaps: list[JSON] = [_span(gap) for gap in line.gaps]
    overlaps: list[JSON] = [_span(overlap) for overlap in line.overlaps]
    placed = {p.segment.evidence_id: p for p in line.segments}
    drafts = []
    for position, copy in enumerate(copies):
        segment = placed[copy.evidence_id]
        drafts.append(EventDraft(EventType.RECORDING_EXPORTED, user.actor,
                                 Subject(copy.evidence_id, copy.evidence_sha256), {
            "recording": line.recording.recording_id, "position": position,
            "segments": len(copies), "sha256": copy.sha256, "joined_sha256": joined_sha256,
            "in_joined_file": segment.in_joined_file,
            "offset_ms": line.offset_microseconds(segment.segment.start) // 1000,
            "shown_ms": segment.shown_microseconds // 1000,
            "gaps": gaps, "gap_fill": GAP_FILL, "overlaps": overlaps, "reason": reason}, now))
    return drafts


def _span(span: Gap | Overlap) -> JSON:
    return {"start": span.start.isoformat(), "end": span.end.isoformat(),
            "milliseconds": span.microseconds // 1000}
