"""An object store in a local folder, for single-machine deployments and tests.

Layout under ``root``: ``objects/<key>`` (the bytes, mode 0444), ``meta/<key>.json``
(our record: SHA-256, retention, legal hold), ``tmp/`` (uploads in progress) and
``.lock`` (serialises commits and metadata changes across processes).

A filesystem has no WORM: retention and legal hold are enforced by this code only.
Objects are never replaced: a commit links the fsynced temporary file into place with
``os.link``, which fails if the key already exists.

Where the file system allows it, uploads are written and read back with ``O_DIRECT``
(past the page cache, in whole aligned blocks staged in an 8 MiB buffer), and SHA-256
runs on a second thread while the disk is busy. Where it refuses (``EINVAL``), the same
code runs through the page cache; the read-back then drops the file's cached pages first.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import fcntl
import hashlib
import itertools
import json
import mmap
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from domain.errors import AlreadyExists, IntegrityError, NotFound, StorageError
from domain.messages import msg
from storage.objects import (
    DEFAULT_CONTENT_TYPE,
    TEMPORARY_PREFIX,
    InvalidStorageRequest,
    ObjectReader,
    StoredObject,
    check_duplicate,
    check_range,
    needs_longer_retention,
    normalize_retention,
    not_found,
    refuse_deletion_if_locked,
    refuse_shortening,
    sha256_of_stream,
    validate_key,
    validate_prefix,
)

_META_FORMAT = 1
_TOKEN_FORMAT = 1
_UPLOAD_SUFFIX = ".upload"
_TEMPORARY_NAME = re.compile(r"[0-9a-f]{32}" + re.escape(_UPLOAD_SUFFIX))
# "failed": a write did not reach the disk; only abort() or a restart can follow.
_UploadState = Literal["open", "failed", "finished", "committed", "aborted"]
# O_DIRECT staging and read-back buffer: a multiple of every logical block size.
_DIRECT_BUFFER = 8 * 1024 * 1024
# O_DIRECT offsets, lengths and addresses are kept multiples of this (>= the usual
# 512-byte or 4 KiB logical block); a device wanting more makes the write fall back.
_DIRECT_ALIGN = 4096
# Smaller chunks are hashed on the calling thread: the hand-over would cost more.
_HASH_INLINE_BELOW = 256 * 1024


@dataclass(frozen=True)
class _Meta:
    sha256: str
    size: int
    content_type: str
    retain_until: datetime | None
    legal_hold: bool
    committed_at: datetime

    def to_json(self) -> bytes:
        record: dict[str, Any] = {
            "format": _META_FORMAT,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
            "legal_hold": self.legal_hold,
            "committed_at": self.committed_at.isoformat(),
        }
        return json.dumps(record, sort_keys=True).encode()

    @classmethod
    def from_json(cls, key: str, raw: bytes) -> _Meta:
        try:
            record = json.loads(raw)
            retain = record["retain_until"]
            return cls(
                sha256=str(record["sha256"]),
                size=int(record["size"]),
                content_type=str(record["content_type"]),
                retain_until=datetime.fromisoformat(retain) if retain else None,
                legal_hold=bool(record["legal_hold"]),
                committed_at=datetime.fromisoformat(record["committed_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(
                msg("The metadata record of {key} is unreadable ({reason}).", key=key, reason=exc),
                hint=msg("Treat the object as suspect; restore the record from a backup or the custody log."),
            ) from exc


class LocalObjectStore:
    """Objects in a folder; see the module docstring for the layout and guarantees."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._meta = root / "meta"
        self._tmp = root / "tmp"
        self._lock_path = root / ".lock"
        with self._os_errors(msg("preparing the object store folders")):
            for folder in (self._objects, self._meta, self._tmp):
                folder.mkdir(parents=True, exist_ok=True)
            self._lock_path.touch(exist_ok=True)

    # --- uploads -------------------------------------------------------------------

    def begin_upload(self, *, resume_token: str | None = None) -> LocalUpload:
        """Start a temporary file.

        A local upload is not continued but restarted (the caller re-feeds the stream
        from the start anyway): ``resume_token`` names the interrupted upload's
        temporary file, which is removed so that no leftover remains.
        """
        if resume_token is not None:
            with self._os_errors(msg("removing the interrupted upload")):
                _remove_temporary(self._tmp / _parse_token(resume_token))
        path = self._tmp / f"{uuid.uuid4().hex}{_UPLOAD_SUFFIX}"
        with self._os_errors(msg("creating a temporary upload file")):
            # Created without O_DIRECT, which is then asked for with fcntl: an open()
            # refusing O_DIRECT may do so after creating the file.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                direct = _try_direct_io(fd)
            except BaseException:
                os.close(fd)
                _remove_temporary(path)
                raise
        return LocalUpload(self, path, fd, direct=direct)

    def temporaries(self) -> builtins.list[str]:
        with self._os_errors(msg("listing temporary uploads")):
            return sorted(TEMPORARY_PREFIX + entry.name for entry in self._tmp.iterdir())

    def cleanup_temporaries(self) -> int:
        removed = 0
        with self._locked(), self._os_errors(msg("removing temporary uploads")):
            for entry in self._tmp.iterdir():
                entry.unlink(missing_ok=True)
                removed += 1
            _fsync_dir(self._tmp)
        return removed

    # --- reading -------------------------------------------------------------------

    def head(self, key: str, version_id: str | None = None) -> StoredObject:
        path = self._object_path(key, version_id)
        with self._os_errors(msg("reading {key}", key=key)):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise not_found(key) from None
            meta = self._read_meta(key)
        if meta is None:
            raise IntegrityError(
                msg("{key} is stored but has no metadata record: its commit was interrupted.", key=key),
                hint=msg("Ingest the same file again; the commit then completes the record."),
            )
        return StoredObject(
            key=key,
            size=size,
            sha256=meta.sha256,
            version_id=None,
            retain_until=meta.retain_until,
            legal_hold=meta.legal_hold,
            content_type=meta.content_type,
        )

    def exists(self, key: str) -> bool:
        return self._object_path(key, None).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        # Walk only the deepest folder the prefix names completely.
        base = self._objects / prefix[: prefix.rfind("/") + 1]
        keys: list[str] = []
        with self._os_errors(msg("listing {prefix!r}", prefix=prefix)):
            for folder, _dirs, files in os.walk(base):
                relative = Path(folder).relative_to(self._objects)
                for name in files:
                    key = (relative / name).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
        yield from sorted(keys)

    def read_back_sha256(self, key: str, version_id: str | None = None) -> tuple[str, int]:
        """Hash the file as it is on disk (O_DIRECT, or its cached pages dropped first)."""
        path = self._object_path(key, version_id)
        with self._os_errors(msg("reading back {key}", key=key)):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise not_found(key) from None
            try:
                if not _try_direct_io(fd):
                    _drop_cached_pages(fd)
                return _sha256_from_disk(fd)
            finally:
                os.close(fd)

    def open(
        self, key: str, version_id: str | None = None, *, start: int = 0, end: int | None = None
    ) -> ObjectReader:
        path = self._object_path(key, version_id)
        check_range(key, start, end)
        with self._os_errors(msg("opening {key}", key=key)):
            try:
                file = path.open("rb")
            except FileNotFoundError:
                raise not_found(key) from None
            size = os.fstat(file.fileno()).st_size
            try:
                check_range(key, start, end, size)
                file.seek(start)
            except BaseException:
                file.close()
                raise
        stop = size if end is None else min(end, size)
        return ObjectReader(file, key=key, start=start, end=stop, total_size=size)

    # --- retention -----------------------------------------------------------------

    def extend_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        self._object_path(key, version_id)
        wanted = normalize_retention(until)
        with self._locked():
            meta = self._existing_meta(key)
            refuse_shortening(key, meta.retain_until, wanted)
            if meta.retain_until != wanted:
                self._write_meta(key, replace(meta, retain_until=wanted))

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        self._object_path(key, version_id)
        with self._locked():
            meta = self._existing_meta(key)
            if meta.legal_hold != on:
                self._write_meta(key, replace(meta, legal_hold=on))

    def delete(self, key: str, version_id: str | None = None) -> None:
        path = self._object_path(key, version_id)
        with self._locked():
            stored = self.head(key)
            refuse_deletion_if_locked(stored)
            with self._os_errors(msg("deleting {key}", key=key)):
                # Object first: a crash in between leaves a stray record, never an
                # object without its retention record.
                path.unlink()
                _fsync_dir(path.parent)
                meta_path = self._meta_path(key)
                meta_path.unlink(missing_ok=True)
                _fsync_dir(meta_path.parent)

    # --- used by LocalUpload -------------------------------------------------------

    def _place(
        self,
        temp: Path,
        key: str,
        *,
        sha256: str,
        size: int,
        retain_until: datetime | None,
        content_type: str,
        if_absent: bool,
    ) -> tuple[StoredObject, bool]:
        """Link the finished temporary file in as ``key``: (object, was it a duplicate)."""
        target = self._object_path(key, None)
        with self._locked(), self._os_errors(msg("committing {key}", key=key)):
            if not target.exists():
                self._make_dirs(self._objects, target.parent)
                os.link(temp, target)  # fails if the key exists: never replaces
                _fsync_dir(target.parent)
                record = _Meta(sha256, size, content_type, retain_until, False, datetime.now(UTC))
                self._write_meta(key, record)
                _remove_temporary(temp)
                return self.head(key), False

            meta = self._read_meta(key)
            if meta is None:
                # An earlier commit stopped between link and record: hash what is stored.
                with target.open("rb") as file:
                    stored_sha256, stored_size = sha256_of_stream(file)
            else:
                stored_sha256, stored_size = meta.sha256, meta.size
            existing = StoredObject(key, stored_size, stored_sha256, None, None, False)
            try:
                check_duplicate(existing, sha256=sha256, size=size, if_absent=if_absent)
            except AlreadyExists:
                _remove_temporary(temp)
                raise
            if meta is None:
                meta = _Meta(sha256, size, content_type, retain_until, False, datetime.now(UTC))
                self._write_meta(key, meta)
            elif needs_longer_retention(meta.retain_until, retain_until):
                self._write_meta(key, replace(meta, retain_until=retain_until))
            _remove_temporary(temp)
            return self.head(key), True

    # --- helpers -------------------------------------------------------------------

    def _object_path(self, key: str, version_id: str | None) -> Path:
        validate_key(key)
        if version_id is not None:
            raise NotFound(
                msg("Version {version_id!r} of {key} does not exist.", version_id=version_id, key=key),
                hint=msg("The local store keeps one version per key; pass version_id=None."),
            )
        return self._objects / key

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    def _read_meta(self, key: str) -> _Meta | None:
        try:
            raw = self._meta_path(key).read_bytes()
        except FileNotFoundError:
            return None
        return _Meta.from_json(key, raw)

    def _existing_meta(self, key: str) -> _Meta:
        self.head(key)  # NotFound / IntegrityError as appropriate
        meta = self._read_meta(key)
        assert meta is not None  # head() checked it under the same lock
        return meta

    def _write_meta(self, key: str, meta: _Meta) -> None:
        """Replace the record atomically: write a temporary file, fsync, rename, fsync dir."""
        target = self._meta_path(key)
        with self._os_errors(msg("writing the metadata record of {key}", key=key)):
            self._make_dirs(self._meta, target.parent)
            temp = self._tmp / f"{uuid.uuid4().hex}.meta"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, meta.to_json())
                os.fsync(fd)
            finally:
                os.close(fd)
            temp.replace(target)
            _fsync_dir(target.parent)

    def _make_dirs(self, base: Path, folder: Path) -> None:
        """Create ``folder`` below ``base``, fsyncing each parent so the entry survives."""
        current = base
        for part in folder.relative_to(base).parts:
            current = current / part
            try:
                current.mkdir()
            except FileExistsError:
                continue
            _fsync_dir(current.parent)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._os_errors(msg("locking the object store")):
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextmanager
    def _os_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise _storage_error(action, self.root, exc) from exc


class LocalUpload:
    """A temporary file being written and hashed; see ``storage.objects.Upload``.

    With ``direct``, bytes go to the disk in whole aligned blocks with O_DIRECT: they
    are staged in a page-aligned buffer (or written straight from the caller's buffer
    when that is aligned) and the unaligned tail is written through the page cache at
    commit. Each chunk is hashed on a second thread while it is written.
    """

    def __init__(self, store: LocalObjectStore, path: Path, fd: int, *,
                 direct: bool = False) -> None:
        self._store = store
        self._path = path
        self._fd = fd
        self._digest = hashlib.sha256()
        self._size = 0
        self._state: _UploadState = "open"
        self._duplicate = False
        self._staging: mmap.mmap | None = mmap.mmap(-1, _DIRECT_BUFFER) if direct else None
        self._staged = 0  # bytes waiting in the staging buffer
        self._hasher: ThreadPoolExecutor | None = None

    @property
    def resume_token(self) -> str | None:
        if self._state not in ("open", "failed"):
            return None
        return json.dumps({"format": _TOKEN_FORMAT, "temporary": self._path.name})

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    @property
    def duplicate(self) -> bool:
        return self._duplicate

    @property
    def temporary_path(self) -> Path:
        return self._path

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Write and hash ``chunk``; the caller may reuse its buffer once this returns."""
        self._require("open", msg("write to"))
        view = _byte_view(chunk)
        hashing = self._hash(view)
        try:
            with self._store._os_errors(msg("writing a temporary upload")):
                if self._staging is None:
                    _write_all(self._fd, view)
                else:
                    self._write_direct(view, self._staging)
        except BaseException:
            self._state = "failed"  # part of the chunk may be on disk
            raise
        finally:
            if hashing is not None:
                hashing.result()  # the hash thread is done with the caller's buffer
        self._size += view.nbytes

    def commit(
        self,
        key: str,
        *,
        retain_until: datetime | None,
        content_type: str | None = None,
        if_absent: bool = True,
    ) -> StoredObject:
        validate_key(key)
        retain = normalize_retention(retain_until) if retain_until is not None else None
        if self._state == "open":
            try:
                with self._store._os_errors(msg("finishing a temporary upload")):
                    self._write_staged_tail()
                    os.fchmod(self._fd, 0o444)  # the file is read-only before it is visible
                    # Also needed after O_DIRECT: the file size, its extents and the
                    # device's write cache.
                    os.fsync(self._fd)
            except BaseException:
                self._state = "failed"  # never fsync twice: an error may have lost pages
                raise
            self._release_resources()
            with self._store._os_errors(msg("finishing a temporary upload")):
                os.close(self._fd)
            self._state = "finished"
        self._require("finished", msg("commit"))
        try:
            stored, self._duplicate = self._store._place(
                self._path, key, sha256=self.sha256, size=self._size, retain_until=retain,
                content_type=content_type or DEFAULT_CONTENT_TYPE, if_absent=if_absent,
            )
        except AlreadyExists:
            self._state = "aborted"
            raise
        self._state = "committed"
        return stored

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._release_resources()
        with self._store._os_errors(msg("removing a temporary upload")):
            if self._state in ("open", "failed"):
                os.close(self._fd)
            _remove_temporary(self._path)
        self._state = "aborted"

    def _hash(self, view: memoryview) -> Future[None] | None:
        """Hash ``view`` on the hash thread (hashlib releases the GIL), or here if small."""
        if view.nbytes < _HASH_INLINE_BELOW:
            self._digest.update(view)
            return None
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(1, thread_name_prefix="upload-sha256")
        return self._hasher.submit(self._digest.update, view)

    def _write_direct(self, view: memoryview, staging: mmap.mmap) -> None:
        """Write whole staging buffers with O_DIRECT; keep the rest staged."""
        if self._staged == 0 and view.nbytes >= _DIRECT_ALIGN and _is_aligned(view):
            # Straight from the caller's aligned buffer: no copy.
            whole = view.nbytes - view.nbytes % _DIRECT_ALIGN
            _write_all(self._fd, view[:whole])
            view = view[whole:]
        with memoryview(staging) as stage:
            while view:
                taken = min(_DIRECT_BUFFER - self._staged, view.nbytes)
                stage[self._staged:self._staged + taken] = view[:taken]
                self._staged += taken
                view = view[taken:]
                if self._staged == _DIRECT_BUFFER:
                    _write_all(self._fd, stage)
                    self._staged = 0

    def _write_staged_tail(self) -> None:
        """Write what is staged: its whole blocks with O_DIRECT, the rest through the cache."""
        if self._staging is None:
            return
        with memoryview(self._staging) as stage:
            whole = self._staged - self._staged % _DIRECT_ALIGN
            if whole:
                _write_all(self._fd, stage[:whole])
            if whole < self._staged:
                _stop_direct_io(self._fd)  # a partial block cannot be written with O_DIRECT
                _write_all(self._fd, stage[whole:self._staged])
        self._staged = 0

    def _release_resources(self) -> None:
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None
        if self._staging is not None:
            _close_buffer(self._staging)
            self._staging = None

    def _require(self, state: _UploadState, action: str) -> None:
        if self._state != state:
            raise InvalidStorageRequest(
                msg("Cannot {action} an upload that is {state}.", action=action, state=self._state),
                hint=msg("Abort it, or start again with begin_upload(resume_token=...) and feed the stream "
                         "from its start."),
            )


def _storage_error(action: str, root: Path, exc: OSError) -> StorageError:
    if exc.errno == errno.ENOSPC:
        return StorageError(msg("The disk is full while {action}.", action=action),
                            hint=msg("Free space on the disk holding {root} and retry.", root=root))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(msg("Permission denied while {action} ({strerror}).", action=action,
                                strerror=exc.strerror),
                            hint=msg("Check that the service may write to {root}.", root=root))
    return StorageError(msg("Failed while {action}: {reason}.", action=action, reason=exc),
                        hint=msg("Check the disk holding {root} and retry.", root=root))


def _parse_token(token: str) -> str:
    """The temporary file name in a resume token; refuses anything else (no paths)."""
    try:
        record = json.loads(token)
        name = record["temporary"]
        valid = record["format"] == _TOKEN_FORMAT and bool(_TEMPORARY_NAME.fullmatch(name))
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidStorageRequest(
            msg("The resume token is not one this store issued."),
            hint=msg("Pass the resume_token of a local upload, or start a new upload."),
        )
    return str(name)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError as exc:
            # O_DIRECT refused this block (an alignment the device does not accept, or
            # the rest of a short write): go on through the page cache; fsync follows.
            if exc.errno == errno.EINVAL and _stop_direct_io(fd):
                continue
            raise
        view = view[written:]


def _try_direct_io(fd: int) -> bool:
    """Switch ``fd`` to O_DIRECT; False if its file system refuses (EINVAL)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return False
    return True


def _stop_direct_io(fd: int) -> bool:
    """Clear O_DIRECT on ``fd``; True if it was set."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if not flags & os.O_DIRECT:
        return False
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
    return True


def _drop_cached_pages(fd: int) -> None:
    # Committed files were fsynced, so their cached pages are clean and DONTNEED
    # drops them: what is read next comes from the disk, not memory.
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _read_from_disk(fd: int, view: memoryview) -> int:
    """One read into an aligned buffer, past the page cache either way; 0 at the end.

    An O_DIRECT read returns the file's unaligned tail short. Reading on from there
    (to see the end) gives 0 on some file systems and EINVAL on others: that, like
    any other refusal, continues buffered with the cached pages dropped.
    """
    while True:
        try:
            return os.readv(fd, [view])
        except OSError as exc:
            if exc.errno == errno.EINVAL and _stop_direct_io(fd):
                _drop_cached_pages(fd)
                continue
            raise


def _sha256_from_disk(fd: int) -> tuple[str, int]:
    """Hash ``fd`` to its end; two buffers, so one is hashed while the other is read."""
    digest = hashlib.sha256()
    size = 0
    buffers = [mmap.mmap(-1, _DIRECT_BUFFER), mmap.mmap(-1, _DIRECT_BUFFER)]
    hashed: list[Future[None] | None] = [None, None]
    try:
        # Leaving the block waits for the hash thread, also after an error.
        with ThreadPoolExecutor(1, thread_name_prefix="read-back-sha256") as hasher:
            for turn in itertools.count():
                slot = turn % 2
                previous = hashed[slot]
                if previous is not None:
                    previous.result()  # this buffer is hashed: it may be refilled
                view = memoryview(buffers[slot])
                got = _read_from_disk(fd, view)
                if not got:
                    break
                hashed[slot] = hasher.submit(digest.update, view[:got])
                size += got
            for pending in hashed:
                if pending is not None:
                    pending.result()
    finally:
        for buffer in buffers:
            _close_buffer(buffer)
    return digest.hexdigest(), size


def _byte_view(chunk: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(chunk)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _is_aligned(view: memoryview) -> bool:
    """Whether a writable buffer starts on an O_DIRECT boundary (read-only: unknown)."""
    if view.readonly:
        return False
    return ctypes.addressof(ctypes.c_char.from_buffer(view)) % _DIRECT_ALIGN == 0


def _close_buffer(buffer: mmap.mmap) -> None:
    # A view still alive (held by an exception's traceback): the collector unmaps it.
    with suppress(BufferError):
        buffer.close()


def _remove_temporary(path: Path) -> None:
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
