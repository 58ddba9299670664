"""Copy one original into the object store with one read of the source, then prove the copy.

The store hashes the bytes as they are written; the source is never read twice.
The read-back re-reads what the store holds (not a cache) and must match before
anything is recorded as ingested.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from domain.errors import EvidenceError, IntegrityError
from storage.objects import ObjectStore, StoredObject, original_key

CHUNK = 8 * 1024 * 1024


class SourceChanged(EvidenceError):
    """The file grew, shrank or was replaced while it was read: still being written."""


class SourceReadError(EvidenceError):
    """Reading the source failed part-way (the recorder was unplugged, or a bad sector)."""


@dataclass(frozen=True)
class CopiedOriginal:
    stored: StoredObject
    sha256: str
    size: int
    mtime_ns: int
    already_stored: bool


def copy_original(path: Path, store: ObjectStore, retain_until: datetime | None,
                  on_chunk: Callable[[int], None] | None = None) -> CopiedOriginal:
    """Stream the file at ``path`` (never through a link) into ``store``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceReadError(f"cannot open {path.name}: {exc.strerror}",
                              hint="check the file's permissions on the recorder") from None
    before = os.fstat(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def unchanged(copied: int) -> None:
        after = os.fstat(fd)
        try:
            now: os.stat_result | None = path.lstat()
        except OSError:
            now = None
        if (copied != before.st_size or after.st_size != before.st_size
                or after.st_mtime_ns != before.st_mtime_ns or now is None
                or now.st_ino != before.st_ino or now.st_size != before.st_size):
            raise SourceChanged(f"{path.name} changed while it was read ({before.st_size} -> "
                                f"{copied} bytes): it is still being written",
                                hint="let the recorder finish, then ingest again")

    with os.fdopen(fd, "rb", buffering=0) as stream:
        return copy_stream(stream, path.name, before.st_size, before.st_mtime_ns, store,
                           retain_until, on_chunk, unchanged)


def copy_stream(stream: BinaryIO, name: str, size: int, mtime_ns: int, store: ObjectStore,
                retain_until: datetime | None, on_chunk: Callable[[int], None] | None,
                unchanged: Callable[[int], None] | None = None) -> CopiedOriginal:
    """Copy an open source stream of ``size`` bytes into ``store`` under its content address."""
    upload = store.begin_upload()
    # Page-aligned (mmap): a store writing with O_DIRECT can write straight from it.
    buffer = mmap.mmap(-1, CHUNK)
    view = memoryview(buffer)
    try:
        offset = 0
        while True:
            try:
                n = stream.readinto(buffer)  # type: ignore[attr-defined]
            except OSError as exc:
                raise SourceReadError(
                    f"read error in {name} at byte {offset} of {size}: {exc.strerror}",
                    hint="the recorder may have been unplugged; dock it again and the ingest "
                         "resumes") from None
            if not n:
                break
            upload.write(view[:n])
            offset += n
            if on_chunk is not None:
                on_chunk(n)
        if unchanged is not None:
            unchanged(offset)
        elif offset != size:
            raise SourceChanged(f"{name} changed while it was read ({size} -> {offset} bytes)",
                                hint="let the recorder finish, then dock it again")
        stored = upload.commit(original_key(upload.sha256), retain_until=retain_until)
        return CopiedOriginal(stored, upload.sha256, offset, mtime_ns, upload.duplicate)
    except BaseException:
        upload.abort()
        raise
    finally:
        view.release()
        with suppress(BufferError):  # a slice kept alive by a traceback: the collector frees it
            buffer.close()


def read_back(store: ObjectStore, copied: CopiedOriginal) -> None:
    """Raise IntegrityError unless what the store holds is what we read from the source."""
    digest, size = store.read_back_sha256(copied.stored.key, copied.stored.version_id)
    if digest != copied.sha256 or size != copied.size:
        raise IntegrityError(
            f"stored copy {copied.stored.key} reads back as {digest} ({size} bytes), "
            f"not {copied.sha256} ({copied.size} bytes)",
            hint="the store corrupted the copy; check its health, then ingest again")
