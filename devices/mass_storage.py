"""USB mass-storage recorders: a recorder is a mounted volume (a folder under a mount root).

Discovery polls the mount roots (each folder directly under one is a recorder
volume; hidden names are staging areas and are ignored); ``devices.udev`` adds
labels, UUIDs and USB serials where udev is present. Every access walks the
volume with directory file descriptors and O_NOFOLLOW, so no symbolic link is
ever followed and nothing outside the volume is read or deleted. A listing
remembers the identity (device, inode) of the root and of every folder on the
way to each file; opening or deleting a listed file checks each level with
``fstat`` against it, so a folder swapped (for a link or for another real
folder) after the listing is refused for that file, never read.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from devices import safe_walk
from devices.base import DeviceReader, buffered, marked_important, relative_parts, utc_from_ns
from devices.errors import RecorderClosed, RecorderFileMissing, RecorderUnplugged, UnsafePath
from devices.names import likely_owner
from devices.safe_walk import Identity, open_chain
from devices.udev import UdevVolume, udev_volumes
from domain.errors import DeviceError
from domain.messages import msg
from domain.recorder import RecorderFile, RecorderIdentity, RegistryEntry

__all__ = ["Lookup", "MassStorageRecorder", "PollingWatcher", "UdevVolume", "VolumeEvent",
           "appearing_volume", "identify_volume", "poll_volumes", "registry_lookup", "udev_volumes"]

Lookup = Callable[[str], RegistryEntry | None]
_GONE = frozenset({errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN, errno.ENOMEDIUM})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# --- discovery ------------------------------------------------------------------------------

def poll_volumes(mount_roots: Sequence[Path]) -> set[Path]:
    """Every recorder volume now present: real folders directly under a mount root.

    A mount root that does not exist (yet) holds no volumes; symbolic links and
    hidden names are not volumes.
    """
    volumes: set[Path] = set()
    for root in mount_roots:
        try:
            with os.scandir(root) as entries:
                for entry in entries:
                    if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                        volumes.add(Path(entry.path))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DeviceError(msg("cannot read the mount root {root} ({strerror})", root=root,
                                  strerror=exc.strerror),
                              hint=msg("check the mount root setting and the folder's permissions")) from None
    return volumes


@dataclass(frozen=True)
class VolumeEvent:
    kind: Literal["arrived", "left"]
    volume: Path


class PollingWatcher:
    """Reports volumes arriving under, and leaving, the mount roots.

    The first poll reports every volume already present as arrived (a recorder
    docked before the station started is still ingested).
    """

    def __init__(self, mount_roots: Sequence[Path], interval: float = 1.0) -> None:
        self.mount_roots = tuple(mount_roots)
        self.interval = interval
        self._known: set[Path] = set()

    @property
    def known(self) -> frozenset[Path]:
        return frozenset(self._known)

    def poll_once(self) -> list[VolumeEvent]:
        """What changed since the previous poll: departures first, each group sorted."""
        now = poll_volumes(self.mount_roots)
        events = [VolumeEvent("left", v) for v in sorted(self._known - now)]
        events += [VolumeEvent("arrived", v) for v in sorted(now - self._known)]
        self._known = now
        return events

    def watch(self, stop: threading.Event) -> Iterator[VolumeEvent]:
        """Events until ``stop`` is set, polling every ``interval`` seconds."""
        while not stop.is_set():
            yield from self.poll_once()
            if stop.wait(self.interval):
                return


def appearing_volume(mount_roots: Sequence[Path]) -> Callable[[], Path | None]:
    """A ``wait_for_volume`` probe: the first volume that was not there when this was made."""
    before = poll_volumes(mount_roots)

    def probe() -> Path | None:
        new = sorted(poll_volumes(mount_roots) - before)
        return new[0] if new else None

    return probe


# --- identity -------------------------------------------------------------------------------

def registry_lookup(entries: Mapping[str, RegistryEntry]) -> Lookup:
    """A lookup over a station registry keyed by volume label, UUID or serial (any letter case)."""
    folded = {key.casefold(): entry for key, entry in entries.items()}
    return lambda key: folded.get(key.casefold())


def identify_volume(filenames: Sequence[str], keys: Sequence[str], lookup: Lookup | None) -> RecorderIdentity:
    """Identity from the registry (by any key, then by the serial in file names), else the names."""
    owner = likely_owner(filenames)
    if lookup is not None:
        for key in [*keys, *([owner.serial] if owner else [])]:
            entry = lookup(key)
            if entry is not None:
                return RecorderIdentity(
                    serial=entry.serial or (owner.serial if owner else None), model=entry.model,
                    officer_no=entry.officer_no, officer_name=entry.officer_name,
                    unit_no=entry.unit_no, unit_name=entry.unit_name,
                    device_clock=None, clock_offset_seconds=None, source="registry",
                    unit_code=entry.unit_code)
    return RecorderIdentity(
        serial=owner.serial if owner else None, model=None,
        officer_no=owner.officer_no if owner else None, officer_name=None, unit_no=None,
        unit_name=None, device_clock=None, clock_offset_seconds=None,
        source="files" if owner else "unknown")


# --- the recorder ---------------------------------------------------------------------------

class MassStorageRecorder:
    """A recorder mounted at ``root``. ``keys`` (label, UUID, serial) are tried in the registry."""

    def __init__(self, root: Path, *, lookup: Lookup | None = None, keys: Sequence[str] = (),
                 identity: RecorderIdentity | None = None,
                 unmount_command: Sequence[str] = ("umount",)) -> None:
        self.root = root
        self._lookup = lookup
        self._keys = tuple(keys) or (root.name,)
        self._identity = identity
        self._unmount_command = tuple(unmount_command)
        self._closed = False
        # each listed file's folders (root first) as the latest listing saw them
        self._listed: dict[str, tuple[Identity, ...]] = {}

    def identity(self) -> RecorderIdentity:
        if self._identity is None:
            names = [f.path for f in self.list_files()]
            self._identity = identify_volume(names, self._keys, self._lookup)
        return self._identity

    def volume_root(self) -> Path | None:
        return self.root

    def list_files(self) -> list[RecorderFile]:
        root_fd = self._open_root()
        listed: dict[str, tuple[Identity, ...]] = {}
        try:
            files = list(self._walk(root_fd, "", listed))
        finally:
            os.close(root_fd)
        self._listed = listed
        return files

    def open(self, path: str) -> BinaryIO:
        *folders, name = relative_parts(path)
        parent = self._open_folder(path, folders)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=parent)
        except OSError as exc:
            raise self._translate(exc, path) from None
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UnsafePath(msg("{path} on the recorder is not a regular file", path=path),
                             hint=msg("only regular files are read off a recorder"))
        return buffered(_FdReader(path, fd))

    def delete(self, path: str) -> None:
        *folders, name = relative_parts(path)
        parent = self._open_folder(path, folders)
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafePath(msg("{path} on the recorder is not a regular file; it was not deleted",
                                     path=path),
                                 hint=msg("only regular files are deleted off a recorder"))
            os.unlink(name, dir_fd=parent)
        except OSError as exc:
            raise self._translate(exc, path) from None
        finally:
            os.close(parent)

    def eject(self) -> None:
        """Unmount the volume if it is a mount point; afterwards every call raises RecorderClosed."""
        if not self._closed and os.path.ismount(self.root):
            done = subprocess.run([*self._unmount_command, str(self.root)], capture_output=True,
                                  text=True, timeout=120, check=False)
            if done.returncode != 0:
                raise DeviceError(msg("could not unmount {root}: {stderr}", root=self.root,
                                      stderr=done.stderr.strip()),
                                  hint=msg("close any program using the recorder, then eject it again"))
        self._closed = True

    # --- walking with descriptors ---

    def _open_root(self) -> int:
        if self._closed:
            raise RecorderClosed(msg("the recorder at {root} was ejected", root=self.root),
                                 hint=msg("dock it again to read it"))
        try:
            return os.open(self.root, _DIR_FLAGS)
        except FileNotFoundError:
            raise RecorderUnplugged(msg("the recorder's volume {root} is gone (unplugged?)", root=self.root),
                                    hint=msg("dock the recorder again")) from None
        except OSError as exc:
            raise self._translate(exc, ".") from None

    def _open_folder(self, path: str, folders: Sequence[str]) -> int:
        """A handle on a file's folder, never through a link; for a listed file, every level
        (root first) must still be the folder the listing saw (else ESTALE: "replaced")."""
        fd = self._open_root()
        try:
            return open_chain(fd, folders, self._listed.get(path, ()))
        except OSError as exc:
            raise self._translate(exc, path) from None
        finally:
            os.close(fd)

    def _walk(self, root_fd: int, prefix: str,
              listed: dict[str, tuple[Identity, ...]]) -> Iterator[RecorderFile]:
        # the same walker as `evidence ingest`: by handle, folders checked against what was listed
        for item in safe_walk.walk(root_fd):
            if isinstance(item, safe_walk.Unreadable):
                raise self._translate(item.error, prefix + item.rel)
            info = item.info
            if stat.S_ISREG(info.st_mode):
                rel = prefix + item.rel
                listed[rel] = item.ids
                yield RecorderFile(rel, info.st_size, utc_from_ns(info.st_mtime_ns),
                                   important=marked_important(rel),
                                   locked=not info.st_mode & stat.S_IWUSR)

    def _translate(self, exc: OSError, path: str) -> DeviceError:
        why = exc.strerror or str(exc)
        if exc.errno in _GONE:
            return RecorderUnplugged(msg("the recorder stopped answering while reading {path} ({why})",
                                         path=path, why=why),
                                     hint=msg("check the cable, then dock the recorder again"))
        if exc.errno == errno.ELOOP:
            return UnsafePath(msg("{path} on the recorder goes through a symbolic link; it is not followed",
                                  path=path),
                              hint=msg("copy the file itself onto the recorder if it is evidence"))
        if exc.errno == errno.ESTALE:
            return UnsafePath(msg("{path} on the recorder was replaced while it was read; it is not read",
                                  path=path),
                              hint=msg("leave the recorder still, then dock it again"))
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if not self.root.is_dir():
                return RecorderUnplugged(msg("the recorder's volume {root} is gone (unplugged?)",
                                             root=self.root),
                                         hint=msg("dock the recorder again"))
            return RecorderFileMissing(msg("{path} is not on the recorder", path=path),
                                       hint=msg("list the files again"))
        if exc.errno == errno.EROFS:
            return DeviceError(msg("the recorder's volume is mounted read-only; {path} was not changed",
                                   path=path),
                               hint=msg("mount it read-write to let the station delete ingested files"))
        if exc.errno in (errno.EACCES, errno.EPERM):
            return DeviceError(msg("permission denied on {path} on the recorder ({why})", path=path,
                                   why=why),
                               hint=msg("run the station as a user allowed to read the mounted volume"))
        return DeviceError(msg("recorder file {path}: {why}", path=path, why=why),
                           hint=msg("check the recorder and dock it again"))


class _FdReader(DeviceReader):
    def __init__(self, path: str, fd: int) -> None:
        super().__init__(path)
        self._fd = fd

    def _read_into(self, view: memoryview) -> int:
        return os.readv(self._fd, [view])

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()
