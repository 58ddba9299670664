"""Playback copies, posters and thumbnail strips, made from the *stored* original.

Runs in a worker pool after the original is safe, so transcoding never holds
an original back. Each derivative is stored under its original's hash with its
own SHA-256, read back, and linked to the original by a custody event.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from domain.errors import EvidenceError, IntegrityError, MediaError
from domain.messages import msg
from ingest.capture import start_time
from media.playback import make_playback_copy
from media.probe import MediaInfo, probe
from media.thumbnails import make_poster, make_strip
from storage.objects import ObjectStore, StoredObject, derivative_key
from storage.records import EvidenceRecord, MediaFacts

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class DeriveOutcome:
    made: list[tuple[str, str, StoredObject]]  # (name, method, stored)
    facts: MediaFacts | None  # None when the original could not be probed
    flags: list[str]
    error: str | None  # a domain.messages.Message when made here (kept with messages.stored)


@contextmanager
def materialize(store: ObjectStore, key: str, version: str | None, workdir: Path) -> Iterator[Path]:
    """A local file with the stored original's bytes (the store's own file when local)."""
    local = getattr(store, "local_path", None)
    if callable(local):
        yield local(key, version)
        return
    target = workdir / "original"
    with store.open(key, version) as reader, target.open("wb") as out:
        for chunk in reader:
            out.write(chunk)
    yield target


def store_file(store: ObjectStore, path: Path, key: str, retain_until: datetime | None) -> StoredObject:
    upload = store.begin_upload()
    try:
        with path.open("rb") as src:
            while chunk := src.read(CHUNK):
                upload.write(chunk)
        stored = upload.commit(key, retain_until=retain_until)
    except BaseException:
        upload.abort()
        raise
    digest, size = store.read_back_sha256(stored.key, stored.version_id)
    if digest != stored.sha256 or size != stored.size:
        raise IntegrityError(msg("derivative {key} reads back wrong", key=key),
                             hint=msg("check the store, rerun"))
    return stored


def media_facts(info: MediaInfo, start: datetime, time_source: str,
                extra: Mapping[str, Any]) -> MediaFacts:
    return MediaFacts(
        kind=info.kind, container=info.container, video_codec=info.video_codec,
        audio_codec=info.audio_codec, duration_ms=info.duration_ms, width=info.width,
        height=info.height, start_time=start, time_source=time_source,
        media={**extra, "tags": info.tags, "camera_make": info.camera_make,
               "camera_model": info.camera_model})


def derive(store: ObjectStore, evidence: EvidenceRecord, *, retain_until: datetime | None,
           fallback_tz: tzinfo) -> DeriveOutcome:
    """Probe the stored original and make its derivatives; never raises for bad media.

    The start time is computed from the capture context stored with the record
    (``ingest.capture``); ``fallback_tz`` serves only records made before it was stored.
    """
    flags = list(evidence.flags)
    if evidence.size == 0:
        return DeriveOutcome([], None, flags, None)
    workdir = Path(tempfile.mkdtemp(prefix="evidence-derive-"))
    try:
        with materialize(store, evidence.object_key, evidence.object_version, workdir) as src:
            try:
                info = probe(src)
            except MediaError as exc:
                flags.append("unplayable")
                return DeriveOutcome([], None, sorted(set(flags)),
                                     msg("cannot be probed: {problem}", problem=exc))
            start, source = start_time(evidence.original_name, evidence.capture, info,
                                       fallback_tz=fallback_tz, fallback_mtime=evidence.ingested_at)
            facts = media_facts(info, start, source, evidence.media)
            made: list[tuple[str, str, StoredObject]] = []
            error = None
            try:
                made.extend(_make_all(store, src, info, evidence.sha256, workdir, retain_until))
            except MediaError as exc:
                flags.append("no_playback_copy")
                error = exc.args[0]  # its Message, hint included: translated when shown
            return DeriveOutcome(made, facts, sorted(set(flags)), error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _make_all(store: ObjectStore, src: Path, info: MediaInfo, sha256: str, workdir: Path,
              retain_until: datetime | None) -> Iterator[tuple[str, str, StoredObject]]:
    playback = make_playback_copy(src, workdir / "playback.mp4", media=info)
    if playback is not None:
        yield ("playback.mp4", playback.method,
               store_file(store, playback.path, derivative_key(sha256, "playback.mp4"), retain_until))
    if info.kind in ("video", "image"):
        for name, maker in (("poster.jpg", make_poster), ("strip.jpg", make_strip)):
            try:
                made = maker(src, workdir / name, kind=info.kind)
            except EvidenceError:
                continue  # a picture is a convenience; the playback copy is what matters
            if made is not None:
                yield name, "opencv", store_file(store, made, derivative_key(sha256, name),
                                                 retain_until)
