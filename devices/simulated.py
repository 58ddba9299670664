"""A simulated USB mass-storage recorder, for the demo and the tests.

No test machine has a physical body camera to plug in and pull out, so this
folder stands in for one: ``dock()`` makes its volume appear under a mount root
(one atomic rename), ``undock()`` takes it away cleanly, ``yank()`` takes it away
mid-transfer (open streams fail on their next read), and ``fail_read_after()``
makes the next read of one file fail after N bytes, as an unplugged recorder does.
While undocked its files wait in a hidden folder under the mount root, which the
mount-root poll ignores, so what the station deleted stays deleted on re-docking.
"""

from __future__ import annotations

import errno
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from devices.base import DeviceReader, buffered
from devices.errors import RecorderUnplugged
from devices.mass_storage import Lookup, MassStorageRecorder
from domain.errors import DeviceError
from domain.messages import msg
from domain.recorder import RecorderFile, RecorderIdentity

DEFAULT_FIRST_CLIP = datetime(2024, 3, 15, 9, 30, 0)


def gat947_name(serial: str, officer_no: str, local_start: datetime, sequence: int,
                extension: str = "MP4") -> str:
    """A GA/T 947 style file name: ``<serial>_<officer>_<YYYYMMDDhhmmss>_<seq>.<ext>``."""
    return f"{serial}_{officer_no}_{local_start:%Y%m%d%H%M%S}_{sequence:04d}.{extension}"


class SimulatedRecorder:
    """A recorder under ``mount_root``, named ``label`` (default: its serial) when docked.

    ``files`` maps recorder paths to contents; a plain sequence of contents is
    named GA/T 947 style, one clip a minute from ``first_clip`` (device-local time).
    It implements the Recorder interface while docked.
    """

    def __init__(self, mount_root: Path, serial: str, officer_no: str,
                 files: Mapping[str, bytes] | Sequence[bytes], *, label: str | None = None,
                 lookup: Lookup | None = None, first_clip: datetime = DEFAULT_FIRST_CLIP) -> None:
        self.mount_root = mount_root
        self.serial, self.officer_no = serial, officer_no
        self.label = label or serial
        self.lookup = lookup
        self._parked = mount_root / f".parked-{self.label}"
        self._faults: dict[str, int] = {}
        self._yanks = 0
        self._mass: MassStorageRecorder | None = None
        if not isinstance(files, Mapping):
            files = {gat947_name(serial, officer_no, first_clip + timedelta(minutes=i), i + 1): data
                     for i, data in enumerate(files)}
        if self._parked.exists() or self.volume.exists():
            raise DeviceError(msg("a simulated recorder labelled {label} already exists under {mount_root}",
                                  label=self.label, mount_root=mount_root),
                              hint=msg("give each simulated recorder its own label"))
        staging = mount_root / f".staging-{uuid.uuid4().hex}"
        for rel, data in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staging.mkdir(parents=True, exist_ok=True)
        staging.rename(self._parked)

    @classmethod
    def from_folder(cls, mount_root: Path, serial: str, officer_no: str, folder: Path, *,
                    label: str | None = None, lookup: Lookup | None = None) -> SimulatedRecorder:
        """A recorder holding a copy of ``folder`` (links copied as links, not followed)."""
        recorder = cls(mount_root, serial, officer_no, {}, label=label, lookup=lookup)
        recorder._parked.rmdir()
        shutil.copytree(folder, recorder._parked, symlinks=True)
        return recorder

    @property
    def volume(self) -> Path:
        """Where the volume appears while docked."""
        return self.mount_root / self.label

    @property
    def docked(self) -> bool:
        return self._mass is not None

    def dock(self) -> Path:
        """Make the volume appear under the mount root in one rename; returns its path."""
        if self._mass is not None:
            raise DeviceError(msg("simulated recorder {label} is already docked", label=self.label))
        self._parked.rename(self.volume)
        self._mass = MassStorageRecorder(self.volume, lookup=self.lookup)
        return self.volume

    def undock(self) -> None:
        """Take the volume away cleanly (its files stay on the recorder)."""
        if self._mass is not None:
            self.volume.rename(self._parked)
            self._mass = None

    def yank(self) -> None:
        """Pull the recorder out mid-transfer: the volume vanishes and open streams fail."""
        self._yanks += 1
        self.undock()

    def fail_read_after(self, path: str, nbytes: int) -> None:
        """The next open() of ``path`` gives a stream that fails after ``nbytes`` bytes."""
        self._faults[path] = nbytes

    # --- the Recorder interface ---

    def identity(self) -> RecorderIdentity:
        return self._docked().identity()

    def list_files(self) -> list[RecorderFile]:
        return self._docked().list_files()

    def open(self, path: str) -> BinaryIO:
        inner = self._docked().open(path)
        return buffered(_FaultyReader(path, inner, self, self._faults.pop(path, None)))

    def delete(self, path: str) -> None:
        self._docked().delete(path)

    def eject(self) -> None:
        self._docked().eject()
        self.undock()

    def volume_root(self) -> Path | None:
        return self.volume if self._mass is not None else None

    def _docked(self) -> MassStorageRecorder:
        if self._mass is None:
            raise RecorderUnplugged(msg("simulated recorder {label} is not docked", label=self.label),
                                    hint=msg("dock it first"))
        return self._mass


class _FaultyReader(DeviceReader):
    """Passes a file through until the recorder is yanked or the byte limit is reached."""

    def __init__(self, path: str, inner: BinaryIO, recorder: SimulatedRecorder,
                 fail_after: int | None) -> None:
        super().__init__(path)
        self._inner = inner
        self._recorder = recorder
        self._yanks_at_open = recorder._yanks
        self._fail_after = fail_after

    def _read_into(self, view: memoryview) -> int:
        if self._recorder._yanks != self._yanks_at_open:
            raise OSError(errno.EIO, "simulated: recorder yanked out of the dock")
        want = len(view)
        if self._fail_after is not None:
            want = min(want, self._fail_after - self.position)
            if want <= 0:
                raise OSError(errno.EIO, "simulated: recorder unplugged mid-file")
        data = self._inner.read(want)
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()
