"""Playback copies, posters and thumbnail strips, made from the *stored* original.

Runs in a worker pool after the original is safe, so transcoding never holds
an original back. Each derivative is stored under its original's hash with its
own SHA-256, read back, and linked to the original by a custody event.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from domain.errors import EvidenceError, IntegrityError, MediaError
from media.names import parse_name, resolve_start_time
from media.playback import make_playback_copy
from media.probe import MediaInfo, probe
from media.thumbnails import make_poster, make_strip
from storage.objects import ObjectStore, StoredObject, derivative_key

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class DeriveOutcome:
    made: list[tuple[str, str, StoredObject]]  # (name, method, stored)
    metadata: dict[str, Any]  # catalogue columns to update
    flags: list[str]
    error: str | None


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
        raise IntegrityError(f"derivative {key} reads back wrong", hint="check the store, rerun")
    return stored


def media_columns(info: MediaInfo) -> dict[str, Any]:
    return {"kind": info.kind, "container": info.container, "video_codec": info.video_codec,
            "audio_codec": info.audio_codec, "duration_ms": info.duration_ms,
            "width": info.width, "height": info.height}


def derive(store: ObjectStore, row: dict[str, Any], *, station_tz: tzinfo,
           clock_offset_seconds: int, retain_until: datetime | None) -> DeriveOutcome:
    """Probe the stored original and make its derivatives; never raises for bad media."""
    flags = list(json.loads(row["flags"]))
    media_extra = json.loads(row.get("media_json") or "{}")
    if row["size"] == 0:
        return DeriveOutcome([], {}, flags, None)
    workdir = Path(tempfile.mkdtemp(prefix="evidence-derive-"))
    try:
        with materialize(store, row["object_key"], row["object_version"], workdir) as src:
            try:
                info = probe(src)
            except MediaError as exc:
                flags.append("unplayable")
                return DeriveOutcome([], {}, sorted(set(flags)), f"cannot be probed: {exc}")
            metadata = media_columns(info)
            mtime = datetime.fromisoformat(media_extra["source_mtime"]) if "source_mtime" in \
                media_extra else datetime.now(UTC)
            start, source = resolve_start_time(parse_name(row["original_name"]), info, mtime,
                                               clock_offset_seconds, station_tz)
            metadata.update(start_time=start, time_source=source, media_json=json.dumps(
                {**media_extra, "tags": info.tags, "camera_make": info.camera_make,
                 "camera_model": info.camera_model}, ensure_ascii=False, sort_keys=True))
            made: list[tuple[str, str, StoredObject]] = []
            error = None
            try:
                made.extend(_make_all(store, src, info, row["sha256"], workdir, retain_until))
            except MediaError as exc:
                flags.append("no_playback_copy")
                error = str(exc)
            return DeriveOutcome(made, metadata, sorted(set(flags)), error)
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
