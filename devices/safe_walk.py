"""Walk and open a volume by directory handle, the one walker of `evidence ingest` and `dock`.

Every folder is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's
handle, and its identity (device, inode) is checked with ``fstat`` against what the
walk saw, so a folder swapped for a symbolic link (or for another folder) while the
walk goes on is never entered: nothing outside the volume is listed or read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
DIR_FLAGS = ROOT_FLAGS | os.O_NOFOLLOW
# O_NONBLOCK: a name swapped for a pipe must not hang the open
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

Identity = tuple[int, int]  # (st_dev, st_ino)


def identity(info: os.stat_result) -> Identity:
    return info.st_dev, info.st_ino


def replaced(name: str) -> OSError:
    return OSError(errno.ESTALE, f"{name!r} was replaced while the volume was read")


def open_folder(name: str, dir_fd: int, expected: Identity | None = None) -> int:
    """Open the folder ``name`` under ``dir_fd``, never through a link (ELOOP), as the walk saw it."""
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except NotADirectoryError:
        # O_DIRECTORY|O_NOFOLLOW reports a link to a folder as "not a directory"
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "symbolic link") from None
        raise
    if expected is not None and identity(os.fstat(fd)) != expected:
        os.close(fd)
        raise replaced(name)
    return fd


def open_chain(root: Path | int, folders: Sequence[str], ids: Sequence[Identity] = ()) -> int:
    """A handle on ``root/folders...``, each level checked against ``ids`` (root first) when given."""
    fd = os.dup(root) if isinstance(root, int) else os.open(root, ROOT_FLAGS)
    try:
        if ids and identity(os.fstat(fd)) != ids[0]:
            raise replaced(str(root))
        for depth, folder in enumerate(folders):
            child = open_folder(folder, fd, ids[depth + 1] if ids else None)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_file(name: str, dir_fd: int, expected: Identity | None = None) -> int:
    """Open the regular file ``name`` under ``dir_fd`` (never a link), as the walk saw it."""
    fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or (expected is not None and identity(info) != expected):
        os.close(fd)
        raise replaced(name) if stat.S_ISREG(info.st_mode) else OSError(
            errno.EINVAL, f"{name!r} is not a regular file")
    return fd


@dataclass(frozen=True)
class Entry:
    """An entry of the volume: its names from the root, what lstat said, and the folders' ids."""

    names: tuple[str, ...]
    info: os.stat_result
    ids: tuple[Identity, ...]  # the root's and each enclosing folder's

    @property
    def rel(self) -> str:
        return "/".join(self.names)


@dataclass(frozen=True)
class Unreadable:
    """A folder that could not be listed or entered, or an entry that could not be examined."""

    names: tuple[str, ...]
    error: OSError
    folder: bool

    @property
    def rel(self) -> str:
        return "/".join(self.names) or "."


def walk(folder_fd: int, descend: Callable[[Entry], bool] = lambda _e: True,
         names: tuple[str, ...] = (), ids: tuple[Identity, ...] = ()) -> Iterator[Entry | Unreadable]:
    """Every entry under the open folder in name order; folders (after their entry) by handle."""
    ids = (*ids, identity(os.fstat(folder_fd)))
    try:
        with os.scandir(folder_fd) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Unreadable(names, exc, folder=True)
        return
    for dir_entry in entries:
        here = (*names, dir_entry.name)
        try:
            info = dir_entry.stat(follow_symlinks=False)  # fstatat on the folder's handle
        except OSError as exc:
            yield Unreadable(here, exc, folder=False)
            continue
        entry = Entry(here, info, ids)
        yield entry
        if not stat.S_ISDIR(info.st_mode) or not descend(entry):
            continue
        try:
            child = open_folder(dir_entry.name, folder_fd, identity(info))
        except OSError as exc:
            yield Unreadable(here, exc, folder=True)
            continue
        try:
            yield from walk(child, descend, here, ids)
        finally:
            os.close(child)
