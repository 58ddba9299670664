"""Walk a recorder volume safely: never follow a link, never leave the root, skip junk."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Folders and files operating systems leave on removable media.
JUNK_DIRS = frozenset({
    "system volume information", ".trashes", ".trash", ".spotlight-v100", ".fseventsd",
    "$recycle.bin", "recycler", ".temporaryitems", "lost+found", ".documentrevisions-v100",
})
JUNK_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", ".volumeicon.icns"})


@dataclass(frozen=True)
class Found:
    """A regular file to ingest. ``rel`` is its path inside the volume, with '/'."""

    path: Path
    rel: str
    size: int
    mtime_ns: int


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
    """Every entry under ``root`` in a stable order, as Found or Passed."""
    yield from _walk(root, root)


def _walk(root: Path, folder: Path) -> Iterator[Found | Passed]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        rel = folder.relative_to(root).as_posix() or "."
        yield Passed(folder, rel, f"folder cannot be read ({exc.strerror}); check the recorder's "
                     "file system and ingest again", failed=True)
        return
    for entry in entries:
        path = Path(entry.path)
        rel = path.relative_to(root).as_posix()
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield Passed(path, rel, f"cannot be examined ({exc.strerror})", failed=True)
            continue
        if stat.S_ISLNK(info.st_mode):
            yield Passed(path, rel, "symbolic link: not followed, so nothing outside the volume "
                         "is read; copy the file it points to onto the volume if it is evidence")
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        reason = junk_reason(entry.name, is_dir)
        if reason:
            yield Passed(path, rel, reason)
        elif is_dir:
            yield from _walk(root, path)
        elif stat.S_ISREG(info.st_mode):
            yield Found(path, rel, info.st_size, info.st_mtime_ns)
        else:
            yield Passed(path, rel, "not a regular file (device, socket or pipe)")
