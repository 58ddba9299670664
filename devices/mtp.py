"""MTP recorders (and phones), through libmtp.

:func:`discover_mtp` lists attached MTP devices (none attached: an empty list).
:class:`MtpRecorder` opens one and implements the Recorder interface: files are
listed recursively on every storage, streamed through a pipe that libmtp writes
in a worker thread (so a file is never held whole in memory and a reader that
stops early cancels the transfer), and deleted by object id.

libmtp is not thread-safe per device: one operation at a time, and an open
stream keeps the device busy until it is read to its end or closed.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from devices import libmtp
from devices.base import DeviceReader, buffered, marked_important, relative_parts, unplugged_during_read
from devices.errors import (
    RecorderBusy,
    RecorderClosed,
    RecorderFileMissing,
    RecorderRefused,
    RecorderUnplugged,
)
from devices.mass_storage import Lookup, identify_volume
from domain.errors import DeviceError
from domain.messages import msg
from domain.recorder import RecorderFile, RecorderIdentity


@dataclass(frozen=True)
class MtpDeviceInfo:
    """An attached MTP device, as the USB bus reports it (not yet opened)."""

    vendor: str
    product: str
    vendor_id: int
    product_id: int
    bus_location: int
    devnum: int


def discover_mtp(lib_path: str | Path | None = None) -> list[MtpDeviceInfo]:
    """Every attached MTP device; an empty list when none is attached."""
    lib = libmtp.load(lib_path)
    raw, count = _detect(lib)
    try:
        return [_info(raw[i]) for i in range(count)]
    finally:
        libmtp.free(ctypes.cast(raw, ctypes.c_void_p).value)


def _detect(lib: ctypes.CDLL) -> tuple[Any, int]:
    raw = ctypes.POINTER(libmtp.RawDevice)()
    count = ctypes.c_int(0)
    code = lib.LIBMTP_Detect_Raw_Devices(ctypes.byref(raw), ctypes.byref(count))
    if code == libmtp.ERROR_NO_DEVICE_ATTACHED:
        return raw, 0
    if code != libmtp.ERROR_NONE:
        raise DeviceError(msg("looking for MTP devices failed (libmtp error {code})", code=code),
                          hint=msg("check that the station may access USB devices (udev rules, or run it "
                                   "as a user in the 'plugdev' group)"))
    return raw, count.value


def _info(raw: libmtp.RawDevice) -> MtpDeviceInfo:
    entry = raw.device_entry
    return MtpDeviceInfo(
        vendor=(entry.vendor or b"").decode("utf-8", errors="replace"),
        product=(entry.product or b"").decode("utf-8", errors="replace"),
        vendor_id=entry.vendor_id, product_id=entry.product_id,
        bus_location=raw.bus_location, devnum=raw.devnum)


@dataclass(frozen=True)
class _Object:
    storage_id: int
    item_id: int
    size: int


class MtpRecorder:
    """An opened MTP device. ``device`` picks one of discover_mtp()'s (default: the first)."""

    def __init__(self, device: MtpDeviceInfo | None = None, *, lib_path: str | Path | None = None,
                 lookup: Lookup | None = None) -> None:
        self._lib = libmtp.load(lib_path)
        self._lookup = lookup
        self._lock = threading.Lock()
        self._index: dict[str, _Object] = {}
        self._identity: RecorderIdentity | None = None
        self._raw, count = _detect(self._lib)
        matches = [i for i in range(count) if device is None or (
            self._raw[i].bus_location == device.bus_location and self._raw[i].devnum == device.devnum)]
        if not matches:
            self._free_raw()
            raise RecorderUnplugged(msg("the MTP recorder is no longer attached"),
                                    hint=msg("plug it in again and unlock it"))
        handle = self._lib.LIBMTP_Open_Raw_Device_Uncached(ctypes.byref(self._raw[matches[0]]))
        if not handle:
            self._free_raw()
            raise DeviceError(msg("the MTP recorder could not be opened"),
                              hint=msg("unlock it, choose 'file transfer' on it if asked, and check that "
                                       "no other program (e.g. a desktop file manager) holds it"))
        self._device: int | None = handle

    # --- the Recorder interface ---

    def identity(self) -> RecorderIdentity:
        if self._identity is None:
            device = self._handle()
            with self._exclusive():
                serial = libmtp.take_string(self._lib.LIBMTP_Get_Serialnumber(device))
                model = libmtp.take_string(self._lib.LIBMTP_Get_Modelname(device))
            names = [f.path for f in self.list_files()]
            found = identify_volume(names, [serial] if serial else [], self._lookup)
            self._identity = RecorderIdentity(
                serial=serial or found.serial, model=found.model or model,
                officer_no=found.officer_no, officer_name=found.officer_name,
                unit_no=found.unit_no, unit_name=found.unit_name, device_clock=None,
                clock_offset_seconds=None, source=found.source, unit_code=found.unit_code)
        return self._identity

    def list_files(self) -> list[RecorderFile]:
        device = self._handle()
        with self._exclusive():
            storages = self._storages(device)
            files: list[RecorderFile] = []
            index: dict[str, _Object] = {}
            for prefix, storage_id in storages:
                self._walk(device, storage_id, libmtp.FILES_AND_FOLDERS_ROOT, prefix, files, index)
            self._index = index
        return sorted(files, key=lambda f: f.path)

    def open(self, path: str) -> BinaryIO:
        target = self._find(path)
        device = self._handle()
        if not self._lock.acquire(blocking=False):
            raise _busy()
        try:
            reader = _PipeReader(self._lib, device, path, target, self._lock)
        except BaseException:
            self._lock.release()
            raise
        return buffered(reader)

    def delete(self, path: str) -> None:
        target = self._find(path)
        device = self._handle()
        with self._exclusive():
            if self._lib.LIBMTP_Delete_Object(device, target.item_id) != 0:
                raise _translate(libmtp.drain_errors(self._lib, device), msg("deleting {path}", path=path))
            self._index.pop(path, None)

    def eject(self) -> None:
        """Release the device (MTP has no eject); further calls raise RecorderClosed."""
        if self._device is not None:
            with self._exclusive():
                self._lib.LIBMTP_Release_Device(self._device)
                self._device = None
                self._free_raw()

    def volume_root(self) -> Path | None:
        return None

    # --- helpers ---

    def _handle(self) -> int:
        if self._device is None:
            raise RecorderClosed(msg("the MTP recorder was released by this station"),
                                 hint=msg("dock it again to read it"))
        return self._device

    def _exclusive(self) -> _Held:
        if not self._lock.acquire(blocking=False):
            raise _busy()
        return _Held(self._lock)

    def _free_raw(self) -> None:
        libmtp.free(ctypes.cast(self._raw, ctypes.c_void_p).value)
        self._raw = ctypes.POINTER(libmtp.RawDevice)()

    def _find(self, path: str) -> _Object:
        relative_parts(path)
        if path not in self._index:
            self.list_files()
        if path not in self._index:
            raise RecorderFileMissing(msg("{path} is not on the MTP recorder", path=path),
                                      hint=msg("list the files again"))
        return self._index[path]

    def _storages(self, device: int) -> list[tuple[str, int]]:
        if self._lib.LIBMTP_Get_Storage(device, libmtp.STORAGE_NOT_SORTED) != 0:
            raise _translate(libmtp.drain_errors(self._lib, device), msg("listing its storage"))
        head = ctypes.cast(device, ctypes.POINTER(libmtp.DeviceHead)).contents
        found: list[tuple[str, int]] = []
        storage = head.storage
        while storage:
            description = (storage.contents.StorageDescription or b"").decode("utf-8", "replace")
            found.append((description.replace("/", "_").strip(), storage.contents.id))
            storage = storage.contents.next
        return _storage_prefixes(found)

    def _walk(self, device: int, storage_id: int, parent: int, prefix: str,
              files: list[RecorderFile], index: dict[str, _Object]) -> None:
        entry = self._lib.LIBMTP_Get_Files_And_Folders(device, storage_id, parent)
        if not entry:
            errors = libmtp.drain_errors(self._lib, device)
            if errors:
                raise _translate(errors, msg("listing {value}", value=prefix or 'its files'))
            return
        folders: list[tuple[int, str]] = []
        while entry:
            item = entry.contents
            name = (item.filename or b"").decode("utf-8", errors="surrogateescape")
            if name and name not in (".", "..") and "/" not in name:
                rel = prefix + name
                if item.filetype == libmtp.FILETYPE_FOLDER:
                    folders.append((item.item_id, rel + "/"))
                else:
                    protection = self._lib.LIBMTP_Get_u16_From_Object(
                        device, item.item_id, libmtp.PROPERTY_PROTECTION_STATUS, 0)
                    files.append(RecorderFile(rel, item.filesize,
                                              datetime.fromtimestamp(item.modificationdate, UTC),
                                              important=marked_important(rel),
                                              locked=protection != 0))
                    index[rel] = _Object(storage_id, item.item_id, item.filesize)
            following = item.next
            self._lib.LIBMTP_destroy_file_t(entry)
            entry = following
        libmtp.drain_errors(self._lib, device)  # e.g. an unsupported ProtectionStatus read
        for item_id, folder in folders:
            self._walk(device, storage_id, item_id, folder, files, index)


def _storage_prefixes(storages: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """One storage: paths start at its root. Several: each gets a distinct first folder."""
    if len(storages) == 1:
        return [("", storages[0][1])]
    used: set[str] = set()
    named = []
    for description, storage_id in storages:
        name = description if description and description not in used else f"storage-{storage_id:08x}"
        used.add(name)
        named.append((name + "/", storage_id))
    return named


class _Held:
    """Releases an already-acquired lock on leaving a with-block."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _PipeReader(DeviceReader):
    """libmtp writes the file into a pipe from a worker thread; we read the other end."""

    def __init__(self, lib: ctypes.CDLL, device: int, path: str, target: _Object,
                 lock: threading.Lock) -> None:
        super().__init__(path)
        self._lib, self._device, self._target, self._lock = lib, device, target, lock
        self._read_fd, self._write_fd = os.pipe2(os.O_CLOEXEC)
        self._result: int | None = None
        self._errors: list[tuple[int, str]] = []
        self._worker = threading.Thread(target=self._transfer, name=f"mtp-read {path}", daemon=True)
        self._worker.start()

    def _transfer(self) -> None:
        try:
            self._result = self._lib.LIBMTP_Get_File_To_File_Descriptor(
                self._device, self._target.item_id, self._write_fd, None, None)
            if self._result != 0:
                self._errors = libmtp.drain_errors(self._lib, self._device)
        finally:
            os.close(self._write_fd)

    def _read_into(self, view: memoryview) -> int:
        count = os.readv(self._read_fd, [view])
        if count == 0:
            self._worker.join()
            if self._result != 0:
                why = "; ".join(text for _, text in self._errors) or f"libmtp error {self._result}"
                raise unplugged_during_read(self.path, self.position, why)
            if self.position != self._target.size:
                raise RecorderUnplugged(
                    msg("the MTP recorder sent {position} of the {size} bytes of {path}",
                        position=self.position, size=self._target.size, path=self.path),
                    hint=msg("list the files again and read it again"))
        return count

    def close(self) -> None:
        if not self.closed:
            os.close(self._read_fd)  # a transfer still running fails on the closed pipe and ends
            self._worker.join()
            self._lock.release()
        super().close()


def _busy() -> RecorderBusy:
    return RecorderBusy(msg("the MTP recorder is still sending another file"),
                        hint=msg("read that file to its end or close it first"))


def _translate(errors: list[tuple[int, str]], doing: str) -> DeviceError:
    text = "; ".join(t for _, t in errors) or "no detail from libmtp"
    numbers = {n for n, _ in errors}
    if numbers & {libmtp.ERROR_USB_LAYER, libmtp.ERROR_NO_DEVICE_ATTACHED, libmtp.ERROR_PTP_LAYER}:
        return RecorderUnplugged(msg("the MTP recorder stopped answering while {doing} ({text})",
                                     doing=doing, text=text),
                                 hint=msg("check the cable, unlock the recorder and dock it again"))
    if numbers & {libmtp.ERROR_CANCELLED}:
        return RecorderRefused(msg("the MTP recorder cancelled {doing} ({text})", doing=doing, text=text),
                               hint=msg("unlock the recorder and try again"))
    return DeviceError(msg("the MTP recorder failed while {doing} ({text})", doing=doing, text=text),
                       hint=msg("dock it again; if it keeps failing, restart the recorder"))
