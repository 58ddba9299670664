"""An object store in a local folder, for single-machine deployments and tests.

Layout under ``root``: ``objects/<key>`` (the bytes, mode 0444), ``meta/<key>.json``
(our record: SHA-256, retention, legal hold), ``tmp/`` (uploads in progress) and
``.lock`` (serialises commits and metadata changes across processes).

A filesystem has no WORM: retention and legal hold are enforced by this code only.
Objects are never replaced: a commit links the fsynced temporary file into place with
``os.link``, which fails if the key already exists.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from domain.errors import AlreadyExists, IntegrityError, NotFound, StorageError
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
                f"The metadata record of {key} is unreadable ({exc}).",
                hint="Treat the object as suspect; restore the record from a backup or the "
                "custody log.",
            ) from exc


class LocalObjectStore:
    """Objects in a folder; see the module docstring for the layout and guarantees."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._meta = root / "meta"
        self._tmp = root / "tmp"
        self._lock_path = root / ".lock"
        with self._os_errors("preparing the object store folders"):
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
            with self._os_errors("removing the interrupted upload"):
                _remove_temporary(self._tmp / _parse_token(resume_token))
        path = self._tmp / f"{uuid.uuid4().hex}{_UPLOAD_SUFFIX}"
        with self._os_errors("creating a temporary upload file"):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return LocalUpload(self, path, fd)

    def temporaries(self) -> builtins.list[str]:
        with self._os_errors("listing temporary uploads"):
            return sorted(TEMPORARY_PREFIX + entry.name for entry in self._tmp.iterdir())

    def cleanup_temporaries(self) -> int:
        removed = 0
        with self._locked(), self._os_errors("removing temporary uploads"):
            for entry in self._tmp.iterdir():
                entry.unlink(missing_ok=True)
                removed += 1
            _fsync_dir(self._tmp)
        return removed

    # --- reading -------------------------------------------------------------------

    def head(self, key: str, version_id: str | None = None) -> StoredObject:
        path = self._object_path(key, version_id)
        with self._os_errors(f"reading {key}"):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise not_found(key) from None
            meta = self._read_meta(key)
        if meta is None:
            raise IntegrityError(
                f"{key} is stored but has no metadata record: its commit was interrupted.",
                hint="Ingest the same file again; the commit then completes the record.",
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
        with self._os_errors(f"listing {prefix!r}"):
            for folder, _dirs, files in os.walk(base):
                relative = Path(folder).relative_to(self._objects)
                for name in files:
                    key = (relative / name).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
        yield from sorted(keys)

    def read_back_sha256(self, key: str, version_id: str | None = None) -> tuple[str, int]:
        """Hash the file as it is on disk: its pages are dropped from the cache first."""
        path = self._object_path(key, version_id)
        with self._os_errors(f"reading back {key}"):
            try:
                file = path.open("rb", buffering=0)
            except FileNotFoundError:
                raise not_found(key) from None
            with file:
                # The commit fsynced the file, so its cached pages are clean and
                # DONTNEED drops them: the read below comes from the disk, not memory.
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                return sha256_of_stream(file)

    def open(
        self, key: str, version_id: str | None = None, *, start: int = 0, end: int | None = None
    ) -> ObjectReader:
        path = self._object_path(key, version_id)
        check_range(key, start, end)
        with self._os_errors(f"opening {key}"):
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
            with self._os_errors(f"deleting {key}"):
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
        with self._locked(), self._os_errors(f"committing {key}"):
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
                f"Version {version_id!r} of {key} does not exist.",
                hint="The local store keeps one version per key; pass version_id=None.",
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
        with self._os_errors(f"writing the metadata record of {key}"):
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
        with self._os_errors("locking the object store"):
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
    """A temporary file being written and hashed; see ``storage.objects.Upload``."""

    def __init__(self, store: LocalObjectStore, path: Path, fd: int) -> None:
        self._store = store
        self._path = path
        self._fd = fd
        self._digest = hashlib.sha256()
        self._size = 0
        self._state: _UploadState = "open"
        self._duplicate = False

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
        self._require("open", "write to")
        try:
            with self._store._os_errors("writing a temporary upload"):
                _write_all(self._fd, chunk)
        except BaseException:
            self._state = "failed"  # part of the chunk may be on disk, unhashed
            raise
        self._digest.update(chunk)
        self._size += len(chunk)

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
            with self._store._os_errors("finishing a temporary upload"):
                os.fchmod(self._fd, 0o444)  # the file is read-only before it is visible
                os.fsync(self._fd)
                os.close(self._fd)
            self._state = "finished"
        self._require("finished", "commit")
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
        with self._store._os_errors("removing a temporary upload"):
            if self._state in ("open", "failed"):
                os.close(self._fd)
            _remove_temporary(self._path)
        self._state = "aborted"

    def _require(self, state: _UploadState, action: str) -> None:
        if self._state != state:
            raise InvalidStorageRequest(
                f"Cannot {action} an upload that is {self._state}.",
                hint="Abort it, or start again with begin_upload(resume_token=...) and "
                "feed the stream from its start.",
            )


def _storage_error(action: str, root: Path, exc: OSError) -> StorageError:
    if exc.errno == errno.ENOSPC:
        return StorageError(f"The disk is full while {action}.",
                            hint=f"Free space on the disk holding {root} and retry.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(f"Permission denied while {action} ({exc.strerror}).",
                            hint=f"Check that the service may write to {root}.")
    return StorageError(f"{action[:1].upper()}{action[1:]} failed: {exc}.",
                        hint=f"Check the disk holding {root} and retry.")


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
            "The resume token is not one this store issued.",
            hint="Pass the resume_token of a local upload, or start a new upload.",
        )
    return str(name)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _remove_temporary(path: Path) -> None:
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
