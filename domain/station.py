"""What a docking station shows about each recorder it docks: the tiles of the station screen.

A ``PortStatus`` is one tile: a dock port (a recorder's volume, an MTP or SDK recorder)
of one station, or the station itself (``port == STATION_PORT``: alive or stopped). The
dock (``ingest.station``) makes one at every change; the terminal table of `evidence dock`
and the station feed (``ingest.station_feed`` into ``storage.station_status``, read by the
web server's station screen) consume the same objects.

This is operational state, not evidence: a tile says what a station is doing now and is
overwritten at the next change. It is not a custody event, is never hashed or signed,
and nothing about footage is decided from it; the custody events the dock writes
(``station:recorder:docked`` ... ``evidence:file:wiped``) stay the record of what happened.

A problem is a stable code and its parameters (``Problem``), never an exception's text, so
a screen can say it in the reader's language: ``PROBLEMS`` holds the English sentence of
every code (a ``str.format`` template with named fields); translations key on the code.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

STATION_PORT = ""  # the port of the station's own tile
PortState = Literal[
    "docked",        # identified, its files listed
    "transferring",  # copying, reading back, recording
    "retrying",      # the store or database is unreachable: waiting until retry_at
    "wiping",        # deleting what is proven stored
    "done",          # every file stored (and wiped, with the wipe policy)
    "incomplete",    # finished, but some files failed or were left on the recorder
    "failed",        # the dock itself failed (recorder unreadable, wipe not logged, ...)
    "stopped",       # the station stopped during this dock; what is left stays on the recorder
    "removed",       # the recorder was taken out after its dock: the tile goes away
    "online",        # the station's own tile: the dock daemon runs
    "offline",       # the station's own tile: the dock daemon stopped
]
PORT_STATES: tuple[PortState, ...] = (
    "docked", "transferring", "retrying", "wiping", "done", "incomplete", "failed", "stopped",
    "removed", "online", "offline")
WipeState = Literal[
    "off",      # the policy keeps files on the recorder
    "waiting",  # the policy wipes; nothing proven stored is deleted yet
    "wiping",
    "done",     # every file stored and unchanged was deleted
    "partial",  # some files stay on the recorder (failed, changed, or the station stopped)
]
WIPE_STATES: tuple[WipeState, ...] = ("off", "waiting", "wiping", "done", "partial")
ParamValue = str | int

# Every problem a tile can show: code -> English sentence. Fields name the parameters.
PROBLEMS: dict[str, str] = {
    # the station, for the whole recorder
    "store_unreachable": (
        "The evidence store or the database cannot be reached. {files} file(s) will be "
        "tried again (attempt {attempt}); nothing is deleted from the recorder meanwhile."),
    "storage_failed": (
        "The evidence store or the database refused the work. The files stay on the "
        "recorder; tell the administrator."),
    "recorder_unplugged": (
        "The recorder was unplugged before its files were copied. Plug it in again to finish."),
    "recorder_refused": "The recorder refused the station's request. Dock it again.",
    "recorder_password_refused": (
        "The recorder refused the station's password. The administrator must set the "
        "station's recorder password."),
    "recorder_volume_timeout": (
        "The recorder's storage did not appear. Unplug the recorder and dock it again."),
    "recorder_failed": "The recorder could not be read. Unplug it and dock it again.",
    "wipe_not_logged": (
        "{path} was deleted from the recorder after its copy was stored, but the deletion "
        "could not be logged yet. The copy is safe; tell the administrator."),
    "station_stopped": (
        "The station stopped before every file was copied. What is left stays on the "
        "recorder for the next dock."),
    "failed": (
        "Docking failed; the files stay on the recorder. Dock it again, and tell the "
        "administrator if this repeats."),
    "unexpected": (
        "An unexpected error ({kind}) stopped the dock; the files stay on the recorder. "
        "Tell the administrator."),
    # one file
    "file_unplugged": (
        "The recorder was unplugged while {path} was copied; it stays on the recorder."),
    "file_unreadable": "{path} could not be read from the recorder; it stays on the recorder.",
    "file_changed": (
        "{path} changed while it was copied; it stays on the recorder for the next dock."),
    "file_copy_mismatch": (
        "The stored copy of {path} did not match the recorder's file; it stays on the "
        "recorder for the next dock."),
    "file_refused": "{path} was not copied: its name or place on the recorder is not allowed.",
    "file_store_failed": "{path} could not be stored; it stays on the recorder.",
    "file_abandoned": (
        "The station stopped while {path} was copied; it stays on the recorder for the next "
        "dock."),
    "file_failed": "{path} could not be copied; it stays on the recorder.",
    "file_unexpected": (
        "An unexpected error while copying {path}; it stays on the recorder. Tell the "
        "administrator."),
}


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Problem:
    """A problem as a code and its parameters; ``message()`` is the English sentence."""

    code: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        template = PROBLEMS.get(self.code)
        if template is None:
            raise ValueError(f"no sentence for station problem {self.code!r}; add it to PROBLEMS")
        if template_fields(template) != set(self.params):
            raise ValueError(f"station problem {self.code!r} takes {sorted(template_fields(template))}"
                             f", not {sorted(self.params)}")

    def message(self) -> str:
        return PROBLEMS[self.code].format_map(self.params)


@dataclass(frozen=True)
class PortStatus:
    """One tile of the station screen, as the dock saw it at ``updated_at`` (UTC, the dock's
    clock). Byte counts are of this dock; ``rate`` is bytes per second over the last seconds.
    ``retry_at`` is set while ``state == "retrying"``; ``stale_after`` on the station's own
    tile: after it, a station that did not report again is not running."""

    station: str
    port: str
    state: PortState
    updated_at: datetime
    station_unit: str | None = None
    device_serial: str | None = None
    officer_no: str | None = None
    officer_name: str | None = None
    recorder_unit: str | None = None
    identity_source: str | None = None
    files_total: int = 0
    files_done: int = 0
    files_failed: int = 0
    files_wiped: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    rate: float = 0.0
    wipe: WipeState = "off"
    problem: Problem | None = None
    retry_at: datetime | None = None
    started_at: datetime | None = None
    stale_after: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.station, self.port

    @property
    def is_station(self) -> bool:
        return self.port == STATION_PORT


@dataclass(frozen=True)
class StationInfo:
    """Which station a dock runs on: its name (EVIDENCE_STATION_NAME, default the host name)
    and its unit (EVIDENCE_STATION_UNIT), which decides who sees its screen."""

    name: str
    unit: str | None = None
