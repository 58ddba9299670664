"""Play a recording as one continuous stream: join its segments' playback copies.

The joined file closes the gaps between segments, so the gaps are logged with
the export and must be shown beside it (the full-process requirement).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from custody.events import JSON, EventDraft, Subject
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from ingest.playback import join_segments
from storage import catalog
from storage.db import database_errors, write_transaction
from storage.objects import ObjectStore


def export_recording(log: CustodyLog, store: ObjectStore, recording_id: str,
                     segment_ids: Sequence[str], gaps: list[JSON], out: Path,
                     actor: str, now: datetime, reason: str | None = None) -> Path:
    """Write one MP4 of the recording's segments to ``out``; log an export event per segment."""
    dv, ev = catalog.derivatives, catalog.evidence
    with database_errors("finding playback copies"), log.engine.connect() as conn:
        rows = {r.evidence_id: r for r in conn.execute(
            select(dv.c.evidence_id, dv.c.object_key, dv.c.object_version, ev.c.sha256)
            .join(ev, ev.c.id == dv.c.evidence_id)
            .where(dv.c.name == "playback.mp4", dv.c.evidence_id.in_(segment_ids)))}
    missing = [s for s in segment_ids if s not in rows]
    if missing:
        raise NotFound(f"segments without a playback copy: {missing}",
                       hint="run `evidence ingest` again to finish pending playback copies")
    with tempfile.TemporaryDirectory(prefix="evidence-join-") as tmp:
        paths = []
        for index, evidence_id in enumerate(segment_ids):
            row = rows[evidence_id]
            path = Path(tmp) / f"{index:05d}.mp4"
            with store.open(row.object_key, row.object_version) as reader, path.open("wb") as f:
                for chunk in reader:
                    f.write(chunk)
            paths.append(path)
        join_segments(paths, out)
    with database_errors("logging the export"), write_transaction(log.engine) as conn:
        log.append([EventDraft(EventType.RECORDING_EXPORTED, actor,
                               Subject(sid, rows[sid].sha256),
                               {"recording": recording_id, "position": i, "output": str(out),
                                "gaps": gaps, "reason": reason}, now)
                    for i, sid in enumerate(segment_ids)], conn)
    return out
