"""Copy one original into the object store with one read of the source, then prove the copy.

The store hashes the bytes as they are written; the source is never read twice.
The read-back re-reads what the store holds (not a cache) and must match before
anything is recorded as ingested.
"""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from devices.safe_walk import open_chain, open_file
from domain.errors import EvidenceError, IntegrityError
from domain.messages import msg
from ingest.walk import Found
from media.name_bytes import display_name
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


def copy_original(item: Found, store: ObjectStore, retain_until: datetime | None,
                  on_chunk: Callable[[int], None] | None = None) -> CopiedOriginal:
    """Stream a file the walk found into ``store``, opened by handle from the walk's root.

    Every folder on the way and the file must still be what the walk saw, and none
    may be a link: a folder swapped for a link to elsewhere is never read through.
    """
    *folders, name = item.rel.split("/")
    shown = display_name(item.rel)
    parent = -1
    try:
        parent = open_chain(item.root or item.path.parent, folders if item.root else (), item.ids)
        fd = open_file(name, parent, item.ino)
    except OSError as exc:
        if parent >= 0:
            os.close(parent)
        why = exc.strerror or str(exc)
        if exc.errno in (errno.ELOOP, errno.ESTALE):
            raise SourceReadError(msg("{shown} was not read: a folder or the file on its path was replaced "
                                      "while the volume was read ({why})", shown=shown, why=why),
                                  hint=msg("nothing outside the volume is read; let the volume be still, "
                                           "then ingest again")) from None
        raise SourceReadError(msg("cannot open {shown}: {why}", shown=shown, why=why),
                              hint=msg("check the file's permissions on the recorder")) from None
    before = os.fstat(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def unchanged(copied: int) -> None:
        after = os.fstat(fd)
        try:
            now: os.stat_result | None = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError:
            now = None
        if (copied != before.st_size or after.st_size != before.st_size
                or after.st_mtime_ns != before.st_mtime_ns or now is None
                or now.st_ino != before.st_ino or now.st_size != before.st_size):
            raise SourceChanged(msg("{shown} changed while it was read ({st_size} -> {copied} bytes): it "
                                    "is still being written", shown=shown, st_size=before.st_size,
                                    copied=copied),
                                hint=msg("let the recorder finish, then ingest again"))

    try:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            return copy_stream(stream, display_name(name), before.st_size, before.st_mtime_ns, store,
                               retain_until, on_chunk, unchanged)
    finally:
        os.close(parent)


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
                    msg("read error in {name} at byte {offset} of {size}: {strerror}", name=name,
                        offset=offset, size=size, strerror=exc.strerror),
                    hint=msg("the recorder may have been unplugged; dock it again and the ingest "
                             "resumes")) from None
            if not n:
                break
            upload.write(view[:n])
            offset += n
            if on_chunk is not None:
                on_chunk(n)
        if unchanged is not None:
            unchanged(offset)
        elif offset != size:
            raise SourceChanged(msg("{name} changed while it was read ({size} -> {offset} bytes)",
                                    name=name, size=size, offset=offset),
                                hint=msg("let the recorder finish, then dock it again"))
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
            msg("stored copy {key} reads back as {digest} ({size} bytes), not {sha256} ({size2} bytes)",
                key=copied.stored.key, digest=digest, size=size, sha256=copied.sha256, size2=copied.size),
            hint=msg("the store corrupted the copy; check its health, then ingest again"))
