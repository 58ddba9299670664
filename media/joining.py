"""Join a recording's stored playback copies into one MP4: the one place segments are joined.

The copies are fetched from the object store into a working folder beside the
output, each checked against the SHA-256 the catalogue logged for it (a copy
changed in storage is refused, not joined), then joined by stream copy on the wall
clock (:func:`join_timeline`, ``media.playback.join_on_wall_clock``): gaps are black
picture and silence of their true length, overlaps follow the timeline's rule
(``media.recordings.timeline``), so time ``t`` into the file is the recording's start
plus ``t``. Callers decide where the file lives and who may have it; this module reads
no database and writes no custody event.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from domain.errors import IntegrityError, MediaError
from domain.messages import msg
from media.playback import JoinPart, join_on_wall_clock
from media.recordings import Timeline
from storage.objects import CHUNK_SIZE, ObjectStore


class StoredCopy(Protocol):
    """A segment's playback copy in the object store, with its logged SHA-256."""

    @property
    def key(self) -> str: ...

    @property
    def version(self) -> str | None: ...

    @property
    def sha256(self) -> str: ...


def join_timeline(store: ObjectStore, line: Timeline, copies: Mapping[str, StoredCopy],
                  out: Path) -> str:
    """Write the recording's joined MP4 on the wall clock to ``out``; return its SHA-256 (hex).

    ``copies`` maps each evidence id in ``line.pieces`` to its stored playback copy.
    MediaError when the copies cannot be joined by stream copy; IntegrityError when a
    stored copy no longer has its logged SHA-256.
    """
    if not line.pieces:
        raise MediaError(msg("a recording whose segments last no time cannot be joined"),
                         hint=msg("play its segments one by one"))
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="evidence-join-", dir=out.parent))
    try:
        fetched: dict[str, Path] = {}
        parts = []
        for piece in line.pieces:
            path = None
            if piece.evidence_id is not None:
                if piece.evidence_id not in fetched:
                    fetched[piece.evidence_id] = _fetch(store, copies[piece.evidence_id],
                                                        workdir / f"{len(fetched):05d}.mp4")
                path = fetched[piece.evidence_id]
            parts.append(JoinPart(path, piece.microseconds))
        joined = workdir / "joined.mp4"
        join_on_wall_clock(parts, joined)
        digest = _sha256_of(joined)
        joined.replace(out)
        return digest
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _fetch(store: ObjectStore, copy: StoredCopy, part: Path) -> Path:
    digest = hashlib.sha256()
    with store.open(copy.key, copy.version) as reader, part.open("wb") as sink:
        for chunk in reader:
            digest.update(chunk)
            sink.write(chunk)
    if digest.hexdigest() != copy.sha256:
        raise IntegrityError(msg("the stored playback copy {key} does not match its logged SHA-256 "
                                 "({hexdigest} instead of {sha256}); it was not joined", key=copy.key,
                                 hexdigest=digest.hexdigest(), sha256=copy.sha256),
                             hint=msg("run `evidence verify --objects` and remake the playback copy from "
                                      "the original"))
    return part


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
