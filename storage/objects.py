"""The object store interface shared by every backend, and its small shared types.

Originals are evidence: a committed object is never overwritten and, while its
retention or legal hold is in force, never deleted. Every backend computes the
SHA-256 of what it was given itself; the store's own checksums are not trusted.

Uploads first go to a temporary place (the content-addressed key is only known
once the whole stream has been hashed) and are then committed under their key.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol

from domain.errors import AlreadyExists, EvidenceError, IntegrityError, NotFound, RetentionLocked
from domain.messages import msg

CHUNK_SIZE = 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Temporary uploads live under this first key segment; callers may not commit there.
TEMPORARY_PREFIX = "tmp/"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_DERIVATIVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_KEY_LENGTH = 1024


class InvalidStorageRequest(EvidenceError):
    """The caller asked for something the store cannot do (bad key, range or date)."""


@dataclass(frozen=True)
class StoredObject:
    """What the store holds under a key. ``sha256`` is the hex digest we computed."""

    key: str
    size: int
    sha256: str
    version_id: str | None
    retain_until: datetime | None
    legal_hold: bool
    content_type: str = DEFAULT_CONTENT_TYPE

    def retention_in_force(self, now: datetime | None = None) -> bool:
        """True while the object may not be deleted (retention not expired or legal hold)."""
        moment = now if now is not None else datetime.now(UTC)
        return self.legal_hold or (self.retain_until is not None and moment < self.retain_until)


class Upload(Protocol):
    """One stream being written; ``commit`` puts it under its key, ``abort`` drops it.

    ``resume_token`` is ``None`` until there is something to resume (S3: once the
    first multipart part was sent; local: at once) and after commit/abort. Persist
    it when it changes; after a crash pass it to ``begin_upload`` and feed the
    stream again from its first byte. S3 then skips the parts the server already
    holds; the local store restarts and removes the interrupted temporary file.
    """

    @property
    def resume_token(self) -> str | None: ...

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes written so far."""
        ...

    @property
    def size(self) -> int: ...

    @property
    def duplicate(self) -> bool:
        """After commit: True when the key already held this content (no second copy)."""
        ...

    def write(self, chunk: bytes | bytearray | memoryview) -> None: ...

    def commit(
        self,
        key: str,
        *,
        retain_until: datetime | None,
        content_type: str | None = None,
        if_absent: bool = True,
    ) -> StoredObject:
        """Store the stream under ``key``; never overwrites.

        Same content already there: with ``if_absent`` the existing object is returned
        (and its retention lengthened to ``retain_until`` if that is later); without it
        ``AlreadyExists``. Different content there: ``IntegrityError``.
        """
        ...

    def abort(self) -> None: ...


class ObjectStore(Protocol):
    """A store of immutable objects with retention and legal hold."""

    def begin_upload(self, *, resume_token: str | None = None) -> Upload: ...

    def read_back_sha256(self, key: str, version_id: str | None = None) -> tuple[str, int]:
        """Re-read what the store holds (never a cache): (hex SHA-256, size)."""
        ...

    def open(
        self, key: str, version_id: str | None = None, *, start: int = 0, end: int | None = None
    ) -> ObjectReader:
        """Bytes ``[start, end)`` of the object (``end`` exclusive, clamped to its size)."""
        ...

    def head(self, key: str, version_id: str | None = None) -> StoredObject: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Committed keys starting with ``prefix``, in sorted order."""
        ...

    def extend_retention(
        self, key: str, until: datetime, version_id: str | None = None
    ) -> None: ...

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None: ...

    def delete(self, key: str, version_id: str | None = None) -> None: ...

    def temporaries(self) -> builtins.list[str]: ...

    def cleanup_temporaries(self) -> int:
        """Remove every temporary upload, including resumable and running ones."""
        ...


class RawStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class ObjectReader:
    """A byte range of a stored object, read in chunks. Close it, or use ``with``.

    ``start``/``end`` (exclusive) are the range delivered, ``total_size`` is the size
    of the whole object (for an HTTP ``Content-Range``).
    """

    def __init__(self, raw: RawStream, *, key: str, start: int, end: int, total_size: int) -> None:
        self.key = key
        self.start = start
        self.end = end
        self.total_size = total_size
        self._raw = raw
        self._remaining = end - start

    @property
    def length(self) -> int:
        return self.end - self.start

    def read(self, size: int = -1) -> bytes:
        wanted = self._remaining if size < 0 else min(size, self._remaining)
        if wanted == 0:
            return b""
        parts: list[bytes] = []
        missing = wanted
        while missing > 0:
            piece = self._raw.read(missing)
            if not piece:
                delivered = self.length - self._remaining + (wanted - missing)
                raise IntegrityError(
                    msg("Object {key} ended after {delivered} of {length} bytes.", key=self.key,
                        delivered=delivered, length=self.length),
                    hint=msg("The stored object may be truncated; verify it with read_back_sha256."),
                )
            parts.append(piece)
            missing -= len(piece)
        self._remaining -= wanted
        return b"".join(parts)

    def __iter__(self) -> Iterator[bytes]:
        while self._remaining > 0:
            yield self.read(CHUNK_SIZE)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def original_key(sha256_hex: str) -> str:
    """``originals/sha256/ab/cd/<hex>`` for the original whose SHA-256 is ``sha256_hex``."""
    digest = _checked_sha256(sha256_hex)
    return f"originals/sha256/{digest[:2]}/{digest[2:4]}/{digest}"


def derivative_key(original_sha256_hex: str, name: str) -> str:
    """``derivatives/sha256/ab/cd/<hex>/<name>``: a file made from that original."""
    digest = _checked_sha256(original_sha256_hex)
    if not _DERIVATIVE_NAME.fullmatch(name) or ".." in name:
        raise InvalidStorageRequest(
            msg("Derivative name {name!r} is not allowed.", name=name),
            hint=msg("Use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit."),
        )
    return f"derivatives/sha256/{digest[:2]}/{digest[2:4]}/{digest}/{name}"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``InvalidStorageRequest``.

    Keys are relative, '/'-separated, made of letters, digits, '.', '_' and '-', with no
    empty, '.' or '..' segment (so a key can never leave a local store's root), and not
    under the reserved temporary prefix.
    """
    segments = key.split("/")
    if (
        not key
        or len(key) > _MAX_KEY_LENGTH
        or any(s in ("", ".", "..") or not _KEY_SEGMENT.fullmatch(s) for s in segments)
    ):
        raise InvalidStorageRequest(
            msg("Object key {key!r} is not allowed.", key=key),
            hint=msg("Use original_key()/derivative_key(), or '/'-separated segments of letters, digits, "
                     "'.', '_' and '-'."),
        )
    if key.startswith(TEMPORARY_PREFIX):
        raise InvalidStorageRequest(
            msg("Object key {key!r} is under the reserved temporary prefix {temporary_prefix!r}.", key=key,
                temporary_prefix=TEMPORARY_PREFIX),
            hint=msg("Choose a key outside tmp/."),
        )
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: like a key, but may be empty or end with '/'."""
    if prefix:
        validate_key(prefix.removesuffix("/"))
    return prefix


def normalize_retention(until: datetime, *, now: datetime | None = None) -> datetime:
    """``until`` in UTC rounded up to a whole second, refusing naive or past dates.

    Rounding up never shortens what was asked for, and every backend keeps whole
    seconds, so what ``head`` reports equals what was set.
    """
    if until.tzinfo is None or until.utcoffset() is None:
        raise InvalidStorageRequest(
            msg("Retention date {until} has no time zone.", until=until.isoformat()),
            hint=msg("Pass an aware datetime, e.g. datetime.now(UTC) + timedelta(days=...)."),
        )
    utc = until.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    moment = now if now is not None else datetime.now(UTC)
    if utc <= moment:
        raise InvalidStorageRequest(
            msg("Retention date {utc} is not in the future.", utc=utc.isoformat()),
            hint=msg("Retention can only be set to a future date."),
        )
    return utc


def check_range(key: str, start: int, end: int | None, size: int | None = None) -> None:
    """Refuse a negative or reversed range, or (when ``size`` is known) a start past the end."""
    if start < 0 or (end is not None and end < start):
        raise InvalidStorageRequest(
            msg("Byte range [{start}, {end}) of {key} is invalid.", start=start, end=end, key=key),
            hint=msg("Use 0 <= start <= end; end is exclusive and may be None for 'to the end'."),
        )
    if size is not None and start > size:
        raise InvalidStorageRequest(
            msg("Byte range starts at {start} but {key} has only {size} bytes.", start=start, key=key,
                size=size),
            hint=msg("Ask for a range inside the object (HTTP 416)."),
        )


def sha256_of_stream(raw: RawStream) -> tuple[str, int]:
    """Hash a stream to its end in fixed-size chunks: (hex SHA-256, size)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := raw.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _checked_sha256(sha256_hex: str) -> str:
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise InvalidStorageRequest(
            msg("{sha256_hex!r} is not a SHA-256 digest.", sha256_hex=sha256_hex),
            hint=msg("Pass the 64-character lowercase hex digest (hashlib.sha256().hexdigest())."),
        )
    return sha256_hex


def refuse_deletion_if_locked(stored: StoredObject) -> None:
    """Raise ``RetentionLocked`` while ``stored`` is under legal hold or retention."""
    if stored.legal_hold:
        raise RetentionLocked(
            msg("{key} is under legal hold and cannot be deleted.", key=stored.key),
            hint=msg("Release the legal hold first, if you are authorised to."),
        )
    if stored.retention_in_force():
        assert stored.retain_until is not None
        raise RetentionLocked(
            msg("{key} is retained until {retain_until} and cannot be deleted before then.", key=stored.key,
                retain_until=stored.retain_until.isoformat()),
            hint=msg("Wait until the retention has expired."),
        )


def refuse_shortening(key: str, current: datetime | None, wanted: datetime) -> None:
    """Raise ``RetentionLocked`` if ``wanted`` would end the retention earlier."""
    if current is not None and wanted < current:
        raise RetentionLocked(
            msg("Refused to shorten the retention of {key} from {current} to {wanted}.", key=key,
                current=current.isoformat(), wanted=wanted.isoformat()),
            hint=msg("Retention can only be lengthened."),
        )


def check_duplicate(
    existing: StoredObject, *, sha256: str, size: int, if_absent: bool
) -> None:
    """Accept committing (sha256, size) onto ``existing`` only if it is the same content."""
    if (existing.sha256, existing.size) != (sha256, size):
        raise IntegrityError(
            msg("{key} already holds different content (SHA-256 {sha256}, {size} bytes; this upload "
                "{sha2562}, {size2} bytes); nothing was overwritten.", key=existing.key,
                sha256=existing.sha256, size=existing.size, sha2562=sha256, size2=size),
            hint=msg("The stored object may be damaged or tampered with: verify it with read_back_sha256 "
                     "and investigate. Call abort() to drop this upload."),
        )
    if not if_absent:
        raise AlreadyExists(
            msg("{key} already holds this content.", key=existing.key),
            hint=msg("Commit with if_absent=True to accept an identical existing object."),
        )


def needs_longer_retention(current: datetime | None, wanted: datetime | None) -> bool:
    return wanted is not None and (current is None or wanted > current)


def not_found(key: str, version_id: str | None = None) -> NotFound:
    what = f"version {version_id} of {key}" if version_id else key
    return NotFound(msg("No object is stored as {what}.", what=what),
                    hint=msg("Check the key and version."))
