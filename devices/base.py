"""The Recorder interface every adapter implements, and what adapters share.

A recorder is docked, identified, listed, read file by file, told to delete
what the station has safely stored, and ejected. Every failure is a
``domain.errors.DeviceError`` (see ``devices.errors``) whose message says what to do.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from devices.errors import RecorderUnplugged, UnsafePath
from domain.messages import msg
from domain.recorder import RecorderFile, RecorderIdentity

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

READ_BUFFER = 1024 * 1024

# Folder and name marks recorders use for clips the officer flagged or protected.
# They are hints shown to the operator, so a recorder that marks nothing loses nothing.
IMPORTANT_FOLDERS = frozenset({"important", "imp", "event", "events", "emergency", "sos", "重要"})
IMPORTANT_SUFFIXES = ("_imp", "_sos", "_event", "_important")


@runtime_checkable
class Recorder(Protocol):
    """A docked recorder. Paths are relative to the recorder, '/'-separated."""

    def identity(self) -> RecorderIdentity:
        """Who it belongs to and its clock offset (measured before any sync)."""
        ...

    def list_files(self) -> list[RecorderFile]:
        """Every regular file on it, in a stable order; links and special files are left out."""
        ...

    def open(self, path: str) -> BinaryIO:
        """A read-only stream of one file; a vanished device raises RecorderUnplugged."""
        ...

    def delete(self, path: str) -> None:
        """Delete one file on the recorder; refuses '..', absolute paths and links."""
        ...

    def eject(self) -> None:
        """Release the recorder; further calls raise RecorderClosed."""
        ...

    def volume_root(self) -> Path | None:
        """The mounted folder holding its files (mass storage), else None."""
        ...


def relative_parts(path: str) -> tuple[str, ...]:
    """Split a recorder path into names, refusing anything that could leave the recorder."""
    if not path or "\x00" in path:
        raise UnsafePath(msg("recorder path {path!r} is empty or holds a NUL byte", path=path),
                         hint=msg("pass a path exactly as list_files() returned it"))
    if path.startswith("/"):
        raise UnsafePath(msg("recorder path {path!r} is absolute", path=path),
                         hint=msg("pass a path relative to the recorder, as list_files() returned it"))
    parts = tuple(path.split("/"))
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath(msg("recorder path {path!r} has an empty, '.' or '..' part", path=path),
                         hint=msg("pass a path exactly as list_files() returned it"))
    return parts


def marked_important(path: str) -> bool:
    """Whether the recorder's own folder or name marks flag this clip as important."""
    parts = path.lower().split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return any(part in IMPORTANT_FOLDERS for part in parts[:-1]) or stem.endswith(IMPORTANT_SUFFIXES)


def utc_from_ns(ns: int) -> datetime:
    """An aware UTC time from nanoseconds since the epoch, without float rounding."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)


def unplugged_during_read(path: str, offset: int, cause: str) -> RecorderUnplugged:
    return RecorderUnplugged(
        msg("recorder unplugged during read of {path} at byte {offset} ({cause})", path=path, offset=offset,
            cause=cause),
        hint=msg("dock the recorder again; the file is then read again from its start"))


class DeviceReader(io.RawIOBase):
    """A read-only raw stream over one recorder file that counts what it has read.

    Subclasses implement ``_read_into``; any OSError it raises becomes
    RecorderUnplugged naming the file and the byte reached.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.closed:
            raise ValueError("read from a closed recorder stream")
        view = memoryview(buffer).cast("B")
        try:
            count = self._read_into(view)
        except OSError as exc:
            raise unplugged_during_read(self.path, self.position, exc.strerror or str(exc)) from None
        self.position += count
        return count

    @abstractmethod
    def _read_into(self, view: memoryview) -> int:
        """Fill the start of ``view``; return the byte count, 0 at the end of the file."""


def buffered(raw: io.RawIOBase) -> BinaryIO:
    """Wrap a raw recorder stream the way open() hands it out."""
    return io.BufferedReader(raw, READ_BUFFER)
