"""Mounted block devices, from udev (via pyudev) joined with /proc/mounts.

Used where udev is present to learn a mounted recorder's label, file-system UUID
and USB serial (keys for the station's device registry). Without udev, without
libudev, or with no device, the answer is an empty list: discovery then relies on
polling the mount roots (``devices.mass_storage.PollingWatcher``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC_MOUNTS = Path("/proc/mounts")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_HEX_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class UdevVolume:
    """A mounted block device that holds a file system."""

    device_node: str
    mount_point: Path
    fs_type: str
    label: str | None
    uuid: str | None
    serial: str | None
    usb: bool

    def keys(self) -> tuple[str, ...]:
        """Registry keys for this volume, most specific first: serial, UUID, label."""
        return tuple(key for key in (self.serial, self.uuid, self.label) if key)


@dataclass(frozen=True)
class Mount:
    source: str
    mount_point: Path
    fs_type: str


def parse_mounts(text: str) -> list[Mount]:
    """Entries of /proc/mounts; spaces and other characters come octal-escaped (``\\040``)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            source, target, fs_type = (_unescape_octal(field) for field in fields[:3])
            mounts.append(Mount(source, Path(target), fs_type))
    return mounts


def udev_volumes(*, usb_only: bool = True, mounts_file: Path = PROC_MOUNTS) -> list[UdevVolume]:
    """Mounted block devices with a file system (USB ones only, by default), by mount point."""
    try:
        mounts = parse_mounts(mounts_file.read_text(encoding="utf-8", errors="surrogateescape"))
    except OSError:
        return []
    by_node: dict[str, Mount] = {}
    for mount in mounts:
        if mount.source.startswith("/dev/"):
            by_node.setdefault(os.path.realpath(mount.source), mount)
    if not by_node:
        return []
    try:
        import pyudev

        context = pyudev.Context()
        devices = list(context.list_devices(subsystem="block"))
    except (ImportError, OSError, LookupError):
        return []  # no libudev, or no udev at all: polling the mount roots still works
    volumes = []
    for device in devices:
        volume = _volume(device, by_node)
        if volume is not None and (volume.usb or not usb_only):
            volumes.append(volume)
    return sorted(volumes, key=lambda v: v.mount_point)


def _volume(device: Any, by_node: dict[str, Mount]) -> UdevVolume | None:
    try:
        node = device.device_node
        mount = by_node.get(os.path.realpath(node)) if node else None
        if mount is None:
            return None
        properties = device.properties
        label = _decode_hex(properties.get("ID_FS_LABEL_ENC")) or properties.get("ID_FS_LABEL")
        return UdevVolume(
            device_node=str(node), mount_point=mount.mount_point,
            fs_type=properties.get("ID_FS_TYPE") or mount.fs_type,
            label=label or None, uuid=properties.get("ID_FS_UUID") or None,
            serial=properties.get("ID_SERIAL_SHORT") or properties.get("ID_SERIAL") or None,
            usb=device.find_parent("usb") is not None)
    except (OSError, LookupError):
        return None  # the device went away while it was being read


def _unescape_octal(field: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def _decode_hex(value: str | None) -> str | None:
    if not value:
        return None
    raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("utf-8"))
    return raw.decode("utf-8", errors="replace")
