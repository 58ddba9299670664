"""Join a recording's stored playback copies into one MP4: the one place segments are joined.

The copies are fetched from the object store into a working folder beside the
output, each checked against the SHA-256 the catalogue logged for it (a copy
changed in storage is refused, not joined), then joined by stream copy
(``media.playback.join_segments``). Callers decide where the file lives and who
may have it; this module reads no database and writes no custody event.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from domain.errors import IntegrityError, MediaError
from media.playback import join_segments
from storage.objects import CHUNK_SIZE, ObjectStore


class StoredCopy(Protocol):
    """A segment's playback copy in the object store, with its logged SHA-256."""

    @property
    def key(self) -> str: ...

    @property
    def version(self) -> str | None: ...

    @property
    def sha256(self) -> str: ...


def join_stored_copies(store: ObjectStore, copies: Sequence[StoredCopy], out: Path) -> str:
    """Write the joined MP4 of ``copies`` (in order) to ``out``; return its SHA-256 (hex).

    MediaError when the copies cannot be joined by stream copy; IntegrityError when a
    stored copy no longer has its logged SHA-256.
    """
    if not copies:
        raise MediaError("a recording without segments cannot be joined",
                         hint="list recordings with `evidence recordings`")
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="evidence-join-", dir=out.parent))
    try:
        parts = [_fetch(store, copy, workdir / f"{number:05d}.mp4") for number, copy in enumerate(copies)]
        joined = workdir / "joined.mp4"
        join_segments(parts, joined)
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
        raise IntegrityError(f"the stored playback copy {copy.key} does not match its logged SHA-256 "
                             f"({digest.hexdigest()} instead of {copy.sha256}); it was not joined",
                             hint="run `evidence verify --objects` and remake the playback copy "
                                  "from the original")
    return part


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
