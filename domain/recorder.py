"""What a docked recorder says about itself and its files (shared by devices/, ingest/, api/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# Where a recorder's identity came from, strongest first:
#   sdk       the recorder answered the vendor SDK (GA/T 947.4 GetZFYInfo)
#   registry  the station's device registry knew its label, UUID or serial
#   files     only its footage's GA/T 947 file names named a serial and officer
#   unknown   nothing identified it; its footage is still ingested
IdentitySource = Literal["sdk", "registry", "files", "unknown"]


@dataclass(frozen=True)
class RecorderIdentity:
    """Who a recorder belongs to, and how far its clock was off when it docked.

    ``clock_offset_seconds`` is device minus station time (positive: the device
    runs fast), measured before any clock sync; ``None`` when it could not be read.
    ``device_clock`` is the device's clock reading as an aware time, when read.
    ``clock_synced`` says whether the station set the device clock during docking
    (``None``: no sync was attempted).
    """

    serial: str | None
    model: str | None
    officer_no: str | None
    officer_name: str | None
    unit_no: str | None
    unit_name: str | None
    device_clock: datetime | None
    clock_offset_seconds: int | None
    source: IdentitySource
    clock_synced: bool | None = None
    unit_code: str | None = None  # our organisation's unit, from the device registry


@dataclass(frozen=True)
class RecorderFile:
    """One file on a recorder. ``path`` is relative, '/'-separated; ``mtime`` is aware UTC.

    ``important`` and ``locked`` are the recorder's own marks (a protected or
    "important" clip); they are hints for the operator, not a custody fact.
    """

    path: str
    size: int
    mtime: datetime
    important: bool
    locked: bool


@dataclass(frozen=True)
class RegistryEntry:
    """What the station's device registry knows about one recorder (by label, UUID or serial)."""

    officer_no: str | None
    officer_name: str | None = None
    unit_no: str | None = None
    unit_name: str | None = None
    serial: str | None = None
    model: str | None = None
    unit_code: str | None = None  # our organisation's unit the recorder belongs to
