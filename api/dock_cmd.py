"""`evidence dock`: wiring, the live table and JSON lines (the registry is cases/devices.py)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from api.cli_text import cells, emit_json, styled
from api.home import Home
from api.i18n import env_locale, gettext, tr
from api.ingest_cmd import ingest_options
from api.settings import Settings
from api.timestamping import timestamping
from api.witnessing import witnessing
from cases.devices import registry_entries
from cases.text import problem as text_problem
from devices.mass_storage import (
    Lookup,
    MassStorageRecorder,
    PollingWatcher,
    poll_volumes,
    registry_lookup,
    udev_volumes,
)
from domain.errors import ConfigError
from domain.messages import Message, msg
from domain.station import PROBLEMS, PortStatus, StationInfo
from ingest.pipeline import IngestOptions
from ingest.station import HOLD_ENV, DockOutcome, DockPolicy, Station, fifo_hold
from ingest.station_feed import StatusFeed

MIN_PARALLEL_RECORDERS = 8
STATION_NAME_MAX = 128


class Output:
    """JSON lines, or a live table with one row per recorder.

    The table shows the tiles the station tells (``domain.station.PortStatus``), the same
    objects its feed writes for the station screen of the web pages."""

    def __init__(self, console: Console, as_json: bool) -> None:
        self.console, self.as_json = console, as_json
        self._lock = threading.Lock()
        self.tiles: dict[str, PortStatus] = {}

    def emit(self, record: dict[str, Any]) -> None:
        if self.as_json:
            with self._lock:
                emit_json(record, sort_keys=False)

    def tile(self, status: PortStatus) -> None:
        with self._lock:
            self.tiles[status.port] = status

    def table(self) -> Table:
        table = Table("recorder", "officer", "state", "files", "MB", "MB/s", "note")
        with self._lock:
            tiles = sorted(self.tiles.items())
        for port, tile in tiles:
            if tile.state == "removed":
                continue
            table.add_row(*cells(port, tile.officer_name or tile.officer_no or "",
                                 tile.state, f"{tile.files_done}/{tile.files_total}",
                                 f"{tile.bytes_done / 1e6:.1f}", f"{tile.rate / 1e6:.1f}",
                                 _note(tile)))
        return table

    def summary(self, results: Sequence[DockOutcome]) -> None:
        """One line per recorder; its label is a volume name, its error may quote file names."""
        if self.as_json:
            return
        for outcome in results:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.counts().items()))
            status = "complete" if outcome.complete else f"INCOMPLETE ({outcome.error or 'see failures'})"
            self.console.print(styled(f"{outcome.label}: {status}; {counts or 'no files'}; "
                                      f"wiped {len(outcome.wiped)}"))


def _note(tile: PortStatus) -> str:
    """The countdown of a retry, or the tile's problem in words (in the environment's
    language: the sentences of ``PROBLEMS`` are in the API's catalogue)."""
    locale = env_locale()
    if tile.state == "retrying" and tile.retry_at is not None:
        seconds = max(0, round((tile.retry_at - datetime.now(UTC)).total_seconds()))
        return gettext("retry in {seconds} s", locale, seconds=seconds)
    if tile.problem is None:
        return ""
    return tr(Message(PROBLEMS[tile.problem.code], **tile.problem.params), locale)


class StopSignals:
    """SIGTERM and SIGINT stop the station, whatever the process inherited.

    Python raises KeyboardInterrupt only when SIGINT was not ignored at start (a job
    started in the background inherits it ignored), and never for SIGTERM, so the
    daemon installs its own handlers. The handler only writes the signal's number to
    a pipe (nothing that could take a lock the interrupted main thread holds); a
    thread reads it and stops the station, which then stops between files.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_stop: Callable[[str], None]) -> None:
        self.on_stop = on_stop
        self.received: str | None = None
        self.stopped = threading.Event()
        self._read, self._write = os.pipe()
        self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        self._thread = threading.Thread(target=self._watch, name="dock-stop", daemon=True)
        self._thread.start()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        os.write(self._write, bytes([signum]))

    def _watch(self) -> None:
        while byte := os.read(self._read, 1):
            if byte[0] == 0:  # close(): the run is over
                return
            name = signal.Signals(byte[0]).name
            if self.received is None:
                self.received = name
                self.stopped.set()
                self.on_stop(name)

    def close(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        os.write(self._write, b"\0")
        self._thread.join()
        os.close(self._read)
        os.close(self._write)


def sdk_docks(settings: Settings, roots: Sequence[Path], id_codes: Sequence[str],
              station_tz: Any, lookup: Lookup | None = None) -> list[MassStorageRecorder]:
    """Dock recorders through the vendor SDK: identity, clock offset, sync, mass storage."""
    from devices.gat947 import dock_sdk_recorder
    from devices.mass_storage import appearing_volume

    if not id_codes:
        return []
    if not settings.recorder_sdk or settings.recorder_password is None:
        raise ConfigError(msg("docking through the recorder SDK needs its library and password"),
                          hint=msg("set EVIDENCE_RECORDER_SDK and EVIDENCE_RECORDER_PASSWORD"))
    recorders = []
    for id_code in id_codes:  # the SDK calls name no device, so one recorder at a time
        recorders.append(dock_sdk_recorder(
            settings.recorder_sdk, id_code, settings.recorder_password,
            lambda: datetime.now(UTC), appearing_volume(roots), settings.dock_volume_timeout,
            station_tz=station_tz, lookup=lookup))
    return recorders


def mtp_recorders() -> list[Any]:
    from devices.mtp import MtpRecorder, discover_mtp

    return [MtpRecorder(device) for device in discover_mtp()]


def run_dock(home: Home, settings: Settings, watch: Sequence[Path], once: bool, wipe: bool,
             as_json: bool, console: Console, sdk_ids: Sequence[str] = (),
             mtp: bool = False, udev: bool = True) -> bool:
    roots = [Path(w) for w in watch]
    if not roots and not udev and not mtp and not sdk_ids:
        raise ConfigError(msg("nothing to watch"),
                          hint=msg("pass --watch DIR (repeatable), --udev, --mtp or "
                                                       "--sdk-id"))
    for root in roots:
        if not root.is_dir():
            raise ConfigError(msg("mount root {root} is not a folder", root=root),
                              hint=msg("create it or fix --watch"))
    output = Output(console, as_json)
    policy = DockPolicy(wipe=wipe, retry_initial_seconds=settings.dock_retry_seconds)
    base = ingest_options(settings, home)
    info = StationInfo(station_name(settings), settings.station_unit)

    def feed_trouble(reason: str | None) -> None:
        output.emit({"event": "screen", "written": reason is None, "reason": reason})

    feed = StatusFeed(home.engine(), info, on_trouble=feed_trouble).start()

    def tell(status: PortStatus) -> None:  # one tile, to the table and to the station screen
        output.tile(status)
        feed.update(status)

    station = Station(home.custody_log(), home.object_store(), base, policy, output.emit,
                      hold=fifo_hold(os.environ.get(HOLD_ENV), output.emit), info=info,
                      on_status=tell)

    def stopping(name: str) -> None:
        station.stop()
        if as_json:
            output.emit({"event": "stopping", "signal": name})
        else:
            console.print(f"{name}: stopping; the file in hand is finished or left on its "
                          "recorder", highlight=False)

    signals = StopSignals(stopping)
    try:
        with timestamping(home.engine(), settings), witnessing(home.custody_log(), settings):
            return _run_station(home, settings, roots, once, as_json, console, sdk_ids, mtp,
                                udev, output, station, base, signals, tell)
    finally:
        signals.close()
        feed.close()


def station_name(settings: Settings) -> str:
    """EVIDENCE_STATION_NAME, checked: it names the station on every screen."""
    name = settings.station_name.strip()
    if not name or len(name) > STATION_NAME_MAX or text_problem(name):
        raise ConfigError(msg("station name {station_name!r} cannot be used",
                              station_name=settings.station_name),
                          hint=msg("set EVIDENCE_STATION_NAME to 1-{station_name_max} printable characters "
                                   "(default: the host name)", station_name_max=STATION_NAME_MAX))
    return name


def _run_station(home: Home, settings: Settings, roots: list[Path], once: bool, as_json: bool,
                 console: Console, sdk_ids: Sequence[str], mtp: bool, udev: bool, output: Output,
                 station: Station, base: IngestOptions, signals: StopSignals,
                 tell: Callable[[PortStatus], None]) -> bool:
    station.derive_pending()  # finish what a crashed run left, as `evidence ingest` does
    lookup = registry_lookup(registry_entries(home.engine()))
    outcomes: list[Future[DockOutcome]] = []
    pool = ThreadPoolExecutor(max(MIN_PARALLEL_RECORDERS, settings.dock_parallel), "dock")

    claimed: set[Path] = set()  # volumes already docked through the SDK
    docking: dict[Path, Future[DockOutcome]] = {}

    def start(volume: Path, keys: Sequence[str] = ()) -> None:
        if volume in claimed:
            return
        claimed.add(volume)
        recorder = MassStorageRecorder(volume, lookup=lookup, keys=(*keys, volume.name))
        docking[volume] = pool.submit(station.dock, recorder, volume.name)
        outcomes.append(docking[volume])

    def gone(volume: Path) -> None:
        """Taken out after its dock: its tile leaves the screen (a dock still running ends
        with its own state, which says what happened)."""
        dock = docking.get(volume)
        progress = station.progress.get(volume.name)
        if dock is not None and dock.done() and progress is not None:
            progress.set_state("removed")

    def usb_volumes() -> None:
        """Mounted USB block devices that udev reports (none where udev is absent)."""
        if udev:
            for found in udev_volumes():
                start(found.mount_point, found.keys())

    for recorder in sdk_docks(settings, roots, sdk_ids, base.station_tz, lookup):
        volume = recorder.volume_root()
        if volume is not None:
            claimed.add(volume)
        outcomes.append(pool.submit(station.dock, recorder, volume.name if volume else "sdk"))
    if mtp:
        for index, recorder in enumerate(mtp_recorders()):
            outcomes.append(pool.submit(station.dock, recorder, f"mtp-{index}"))

    live = None if as_json or not console.is_terminal else Live(
        output.table(), console=console, refresh_per_second=4, get_renderable=output.table)
    try:
        if live:
            live.start()
        if once:
            for volume in sorted(poll_volumes(roots)):
                start(volume)
            usb_volumes()
        else:
            watcher = PollingWatcher(roots, interval=settings.dock_poll_seconds)
            while not signals.stopped.is_set():
                for event in watcher.poll_once():
                    if event.kind == "arrived":
                        start(event.volume)
                    else:  # gone: the next arrival of that folder is a new dock
                        claimed.discard(event.volume)
                        gone(event.volume)
                usb_volumes()
                signals.stopped.wait(settings.dock_poll_seconds)
        pool.shutdown(wait=True)  # a dock in hand ends at its next stop point, never mid-wipe
    finally:
        if live:
            live.stop()
    results = [f.result() for f in outcomes]
    output.summary(results)
    if signals.received is not None:  # stopped: what is left on a recorder is not a failure
        output.emit({"event": "stopped", "signal": signals.received,
                     "clean": all(o.clean() for o in results)})
        return all(o.clean() for o in results)
    return all(o.complete for o in results)
