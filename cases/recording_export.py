"""Export a recording as one MP4: the one implementation behind the CLI and the HTTP API.

The joined file closes the gaps between segments, so every export logs them:
one ``evidence:recording:exported`` event per segment, naming the segment's
playback copy by its SHA-256, the joined file's SHA-256, the gaps and the reason.
The same checks as recording playback apply (``cases.viewing.recording_segments``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cases.errors import Conflict
from cases.recordings import JoinedFile, SegmentCopy, find_recording, joined_playback
from cases.text import REASON_MAX, clean_optional
from cases.users import User
from cases.viewing import recording_segments
from custody.events import JSON, EventDraft, Subject
from custody.log import CustodyLog
from domain.event_types import EventType
from media.recordings import Gap
from storage.db import database_errors, write_transaction
from storage.objects import ObjectStore


def export_recording(log: CustodyLog, store: ObjectStore, user: User, recording_id: str,
                     reason: str | None, cache_dir: Path, now: datetime) -> JoinedFile:
    """The recording's joined MP4 for ``user``, after logging its export once per segment.

    The returned file lives in the cache (``cache_dir``): copy it, do not move it.
    """
    reason = clean_optional(reason, "reason", REASON_MAX)
    copies = recording_segments(log, user, recording_id)
    with database_errors("finding the recording"), log.engine.connect() as conn:
        recording = find_recording(conn, recording_id)
    if [s.evidence_id for s in recording.segments] != [c.evidence_id for c in copies]:
        raise Conflict(f"recording {recording_id} gained a segment while it was being exported",
                       hint="export it again")
    joined = joined_playback(store, recording_id, copies, cache_dir)
    with database_errors("logging the export"), write_transaction(log.engine) as conn:
        log.append(export_drafts(user, recording_id, copies, recording.gaps, joined.sha256,
                                 reason, now), conn)
    return joined


def export_drafts(user: User, recording_id: str, copies: Sequence[SegmentCopy], gaps: Sequence[Gap],
                  joined_sha256: str, reason: str | None, now: datetime) -> list[EventDraft]:
    """One event per segment, so each item's own history shows it left the system."""
    closed: list[JSON] = [{"start": gap.start.isoformat(), "end": gap.end.isoformat(),
                           "milliseconds": gap.microseconds // 1000} for gap in gaps]
    return [EventDraft(EventType.RECORDING_EXPORTED, user.actor,
                       Subject(copy.evidence_id, copy.evidence_sha256),
                       {"recording": recording_id, "position": position, "segments": len(copies),
                        "sha256": copy.sha256, "joined_sha256": joined_sha256, "gaps": closed,
                        "reason": reason}, now)
            for position, copy in enumerate(copies)]
