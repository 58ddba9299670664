"""Recordings (segments grouped by ``media.recordings``) and their joined playback file.

A recording is played as one MP4: the segments' playback copies are joined by
stream copy on the wall clock (``media.joining.join_timeline``: a gap is black picture
and silence of its true length, never closed) into a cache file named after the
recording, the SHA-256 values of its playback copies and the timeline's pieces, so a
new segment gives a new file. The joined file's SHA-256 is computed once, when it is made,
and serves as its ETag. The cache is a convenience, not evidence: the custody
events name each segment's playback copy by its logged SHA-256.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import Connection, func, select

from cases.errors import NotPlayable
from domain.errors import MediaError, NotFound
from domain.messages import msg
from media.joining import join_timeline
from media.recordings import Recording, Segment, group_recordings, timeline
from storage import catalog
from storage.objects import ObjectStore

PLAYBACK = "playback.mp4"


@dataclass(frozen=True)
class SegmentCopy:
    """A segment's playback copy as the catalogue records it."""

    evidence_id: str
    evidence_sha256: str
    officer_no: str | None
    key: str
    version: str | None
    sha256: str
    size: int


@dataclass(frozen=True)
class JoinedFile:
    path: Path
    sha256: str
    size: int


_SEGMENT_FILTER = (catalog.evidence.c.kind == "video",
                   catalog.evidence.c.start_time.is_not(None),
                   catalog.evidence.c.duration_ms.is_not(None))
# Grouping every video row in Python took 1.6 s per request at 100k items
# (bench/api.py), so the grouping is kept per database until the segment set changes.
_cache: dict[str, tuple[tuple[object, ...], list[Recording]]] = {}
_cache_lock = threading.Lock()


def _segments_fingerprint(conn: Connection) -> tuple[object, ...]:
    """Changes whenever a segment is added: rows only join the set (ingest and
    derivation write kind, start time and duration once) and never leave it."""
    ev = catalog.evidence
    row = conn.execute(select(func.count(), func.sum(ev.c.duration_ms), func.max(ev.c.ingested_at),
                              func.max(ev.c.start_time)).where(*_SEGMENT_FILTER)).one()
    return tuple(row)


def all_recordings(conn: Connection) -> list[Recording]:
    """Every recording in the catalogue (see media.recordings for the grouping rule)."""
    key = str(conn.engine.url)
    fingerprint = _segments_fingerprint(conn)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    ev = catalog.evidence
    rows = conn.execute(select(ev.c.id, ev.c.device_serial, ev.c.start_time, ev.c.duration_ms,
                               ev.c.sequence).where(*_SEGMENT_FILTER))
    segments = [Segment(r.id, r.device_serial,
                        r.start_time if r.start_time.tzinfo else r.start_time.replace(tzinfo=UTC),
                        r.duration_ms, r.sequence) for r in rows]
    recordings = group_recordings(segments)
    with _cache_lock:
        _cache[key] = (fingerprint, recordings)
    return recordings


_index: dict[str, tuple[list[Recording], dict[str, str]]] = {}


def recording_of_segment(conn: Connection, evidence_id: str) -> str | None:
    """The id of the recording whose segment ``evidence_id`` is, or None; the lookup table
    is made once per grouping (``all_recordings``' cache), not per call."""
    recordings = all_recordings(conn)
    key = str(conn.engine.url)
    with _cache_lock:
        kept = _index.get(key)
    if kept is None or kept[0] is not recordings:
        kept = (recordings, {segment.evidence_id: recording.recording_id
                             for recording in recordings for segment in recording.segments})
        with _cache_lock:
            _index[key] = kept
    return kept[1].get(evidence_id)


def find_recording(conn: Connection, recording_id: str) -> Recording:
    for recording in all_recordings(conn):
        if recording.recording_id == recording_id:
            return recording
    raise NotFound(msg("there is no recording {recording_id}", recording_id=recording_id),
                   hint=msg("find the recording by searching the evidence"))


def segment_copies(conn: Connection, recording: Recording) -> list[SegmentCopy]:
    """Each segment's playback copy, in recording order; NotPlayable if one is missing."""
    ev, der = catalog.evidence, catalog.derivatives
    ids = [segment.evidence_id for segment in recording.segments]
    rows = {r.id: r for r in conn.execute(
        select(ev.c.id, ev.c.sha256, ev.c.officer_no, der.c.object_key, der.c.object_version,
               der.c.sha256.label("copy_sha256"), der.c.size)
        .outerjoin(der, (der.c.evidence_id == ev.c.id) & (der.c.name == PLAYBACK))
        .where(ev.c.id.in_(ids)))}
    copies = []
    for evidence_id in ids:
        row = rows[evidence_id]
        if row.object_key is None:
            raise NotPlayable(msg("segment {evidence_id} of recording {recording_id} has no playback copy, "
                                  "so the recording cannot be joined", evidence_id=evidence_id,
                                  recording_id=recording.recording_id),
                              hint=msg("play the other segments one by one, or retry once the playback "
                                       "copies are made"))
        copies.append(SegmentCopy(row.id, row.sha256, row.officer_no, row.object_key,
                                  row.object_version, row.copy_sha256, row.size))
    return copies


JOIN_FORMAT = "wall-clock-1"  # part of the cache name: files joined the old way are not reused


def joined_playback(store: ObjectStore, recording: Recording, copies: list[SegmentCopy],
                    cache_dir: Path) -> JoinedFile:
    """The recording's joined MP4 on the wall clock, made on first use and kept in ``cache_dir``."""
    recording_id = recording.recording_id
    line = timeline(recording)
    plan = [JOIN_FORMAT, *(c.sha256 for c in copies),
            *(f"{p.evidence_id}:{p.start.isoformat()}:{p.microseconds}" for p in line.pieces)]
    content = hashlib.sha256("\n".join(plan).encode()).hexdigest()[:32]
    target = cache_dir / f"{recording_id}-{content}.mp4"
    sidecar = target.with_name(target.name + ".sha256")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{target.name}.lock"):
        if not (target.exists() and sidecar.exists()):
            _build(store, recording, copies, target, sidecar)
        digest = sidecar.read_text(encoding="ascii").strip()
    return JoinedFile(target, digest, target.stat().st_size)


def _build(store: ObjectStore, recording: Recording, copies: list[SegmentCopy], target: Path,
           sidecar: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="evidence-cache-", dir=target.parent))
    try:
        joined = workdir / "joined.mp4"
        try:
            digest = join_timeline(store, timeline(recording),
                                   {c.evidence_id: c for c in copies}, joined)
        except MediaError as exc:
            raise NotPlayable(msg("the segments of this recording cannot be joined: {reason}",
                                  reason=exc.message),
                              hint=msg("play the segments one by one")) from None
        staged = workdir / "sha256"
        staged.write_text(digest + "\n", encoding="ascii")
        joined.replace(target)
        staged.replace(sidecar)  # written last: a file without it is rebuilt
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per recording across threads and worker processes."""
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
