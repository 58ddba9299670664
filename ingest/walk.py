"""Walk a recorder volume safely: never follow a link, never leave the root, skip junk."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devices.safe_walk import ROOT_FLAGS, Entry, Identity, Unreadable, identity, walk

# Folders and files operating systems leave on removable media.
JUNK_DIRS = frozenset({
    "system volume information", ".trashes", ".trash", ".spotlight-v100", ".fseventsd",
    "$recycle.bin", "recycler", ".temporaryitems", "lost+found", ".documentrevisions-v100",
})
JUNK_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", ".volumeicon.icns"})


@dataclass(frozen=True)
class Found:
    """A regular file to ingest. ``rel`` is its path inside the volume, with '/'.

    A file the walk found on a folder also carries the root and the identities of
    the root, each folder on the way and the file itself: it is opened again by
    handle from the root, and only if every level is still what the walk saw.
    """

    path: Path
    rel: str
    size: int
    mtime_ns: int
    root: Path | None = None
    ids: tuple[Identity, ...] = ()
    ino: Identity | None = None


@dataclass(frozen=True)
class Passed:
    """Something not ingested, and why (a symlink, OS junk, a special file, an unreadable folder)."""

    path: Path
    rel: str
    reason: str
    failed: bool = False


def junk_reason(name: str, is_dir: bool) -> str | None:
    lowered = name.lower()
    if is_dir and lowered in JUNK_DIRS:
        return f"operating-system folder {name!r}, not footage"
    if not is_dir and (lowered in JUNK_FILES or name.startswith("._")):
        return f"operating-system file {name!r}, not footage"
    return None


def junk_in_path(path: str) -> str | None:
    """Why a '/'-separated recorder path is OS junk (in any folder on the way), or None."""
    parts = path.split("/")
    for depth, part in enumerate(parts):
        reason = junk_reason(part, is_dir=depth < len(parts) - 1)
        if reason:
            return reason
    return None


def walk_volume(root: Path) -> Iterator[Found | Passed]:
    """Every entry under ``root`` in a stable order, as Found or Passed (by directory handle)."""
    try:
        root_fd = os.open(root, ROOT_FLAGS)
    except OSError as exc:
        yield Passed(root, ".", f"folder cannot be read ({exc.strerror}); check the recorder's "
                     "file system and ingest again", failed=True)
        return
    try:
        for item in walk(root_fd, descend=lambda e: junk_reason(e.names[-1], is_dir=True) is None):
            found = _classify(root, item)
            if found is not None:
                yield found
    finally:
        os.close(root_fd)


def _classify(root: Path, item: Entry | Unreadable) -> Found | Passed | None:
    rel, path = item.rel, root.joinpath(*item.names)
    if isinstance(item, Unreadable):
        why = item.error.strerror or str(item.error)
        if item.error.errno == errno.ESTALE:
            return Passed(path, rel, f"folder was replaced while the volume was read ({why}); "
                          "nothing in its place was read; ingest again once the volume is still",
                          failed=True)
        if item.error.errno == errno.ELOOP:
            return Passed(path, rel, "folder became a symbolic link while the volume was read: "
                          "not followed, nothing outside the volume is read", failed=True)
        if item.folder:
            return Passed(path, rel, f"folder cannot be read ({why}); check the recorder's "
                          "file system and ingest again", failed=True)
        return Passed(path, rel, f"cannot be examined ({why})", failed=True)
    mode = item.info.st_mode
    if stat.S_ISLNK(mode):
        return Passed(path, rel, "symbolic link: not followed, so nothing outside the volume "
                      "is read; copy the file it points to onto the volume if it is evidence")
    is_dir = stat.S_ISDIR(mode)
    reason = junk_reason(item.names[-1], is_dir)
    if reason:
        return Passed(path, rel, reason)
    if is_dir:
        return None  # the walk goes into it
    if stat.S_ISREG(mode):
        return Found(path, rel, item.info.st_size, item.info.st_mtime_ns, root, item.ids,
                     identity(item.info))
    return Passed(path, rel, "not a regular file (device, socket or pipe)")
