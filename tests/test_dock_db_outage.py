"""The docking station when its line to PostgreSQL drops mid-dock and comes back.

The station reaches PostgreSQL through a TCP forwarder (tests/netcut.py) that the
test cuts at one point of the dock: every open connection is reset, and so is
each new one, as when a field office's line goes down. The station's ``wait``
hook, called between retries, brings the line back on its second call. Whatever
the point, nothing leaves the recorder while the database is unreachable, and
once it is back the same dock ends with every file stored once, logged once,
wiped, and its wipe logged after it was stored; the log and the objects verify.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlalchemy.engine import make_url

from api.home import Home, init_home
from api.settings import Settings
from custody.events import decode_event
from devices.simulated import SimulatedRecorder
from ingest.pipeline import IngestOptions
from ingest.station import DockOutcome, DockPolicy, Station
from tests.conftest import _pg_schema_url
from tests.netcut import NetCut
from tests.test_dock import SHANGHAI, clips, evidence_count, verify_all

pytestmark = pytest.mark.postgres

FILES = 4

# Where the line drops, by what the station has just done (the sink's events, or
# the recorder's calls).
CUT_POINTS = {
    # Copies overlap the recording of earlier files, so the first result may come out
    # only after later files are recorded: the line then drops as the last file is
    # opened, so at least that one is recorded while it is down.
    "after the first file's result": "first file",
    "before the wipe phase": "last file",
    "after the first wipe is logged": "first wiped",
    "after a file is deleted, before its wipe is logged": "first delete",
}


class WatchedRecorder(SimulatedRecorder):
    """A simulated recorder that tells the test when the station opens or deletes a file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_open: Callable[[str], None] = lambda _: None
        self.on_delete: Callable[[str], None] = lambda _: None

    def open(self, path: str) -> BinaryIO:
        self.on_open(path)
        return super().open(path)

    def delete(self, path: str) -> None:
        super().delete(path)
        self.on_delete(path)  # the file is gone from the recorder now


@dataclass
class Dock:
    """One dock of a recorder whose database line drops at ``cut_at`` (a CUT_POINTS
    value; any other, e.g. "never", keeps it up)."""

    home: Home
    link: NetCut
    recorder: WatchedRecorder
    cut_at: str
    events: list[dict[str, Any]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    left_at_cut: int | None = None  # files on the recorder when the line dropped
    deleted_while_down: list[str] = field(default_factory=list)
    last: str = ""  # the last file the station copies
    stop_when_waiting: bool = False  # the station is being stopped: it gives up

    def run(self) -> DockOutcome:
        self.last = self.recorder.list_files()[-1].path
        self.recorder.on_open = lambda path: self._cut_if(self.cut_at == "first file"
                                                          and path == self.last)
        self.recorder.on_delete = self._deleted
        options = IngestOptions(actor="station:test", station_tz=SHANGHAI, derive=False)
        station = Station(self.home.custody_log(), self.home.object_store(), options,
                          DockPolicy(wipe=True), self._sink, self._wait)
        return station.dock(self.recorder, self.recorder.label)

    def _cut_if(self, now: bool) -> None:
        if now and self.left_at_cut is None:
            self.link.cut()
            self.left_at_cut = len(self.recorder.list_files())

    def _sink(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        files = sum(1 for e in self.events if e["event"] == "file")
        wiped = sum(1 for e in self.events if e["event"] == "wiped")
        self._cut_if((self.cut_at, files, wiped) in {("first file", 1, 0),
                                                     ("last file", FILES, 0),
                                                     ("first wiped", FILES, 1)})

    def _deleted(self, path: str) -> None:
        if not self.link.up:
            self.deleted_while_down.append(path)
        self._cut_if(self.cut_at == "first delete")

    def _wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        assert not self.link.up, "the station waited though the database was reachable"
        assert len(self.recorder.list_files()) == self.left_at_cut, \
            "a file was wiped while the database was down"
        if self.stop_when_waiting:
            return True
        if len(self.waits) == 2:  # back after two failed attempts
            self.link.restore()
        return False


def _sockets() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed while listing
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.fixture
def link(request: pytest.FixtureRequest, pg_database_url: str) -> Iterator[NetCut]:
    """The station's line to PostgreSQL; afterwards no thread or socket of the test is left."""
    threads, sockets, failed = set(threading.enumerate()), _sockets(), request.session.testsfailed
    url = make_url(pg_database_url)
    with NetCut((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        yield proxy
    if request.session.testsfailed != failed:
        return  # a failure's traceback still holds the station and its connections
    gc.collect()  # custody logs the test dropped close their queue connections
    assert set(threading.enumerate()) <= threads
    assert _sockets() <= sockets


@pytest.fixture
def home(tmp_path: Path, pg_database_url: str, link: NetCut) -> Iterator[Home]:
    through_link = make_url(_pg_schema_url(pg_database_url)).set(host="127.0.0.1", port=link.port)
    settings = Settings(home=tmp_path / "home",
                        database_url=through_link.render_as_string(hide_password=False))
    home = init_home(settings)[0]
    yield home
    link.restore()
    home.engine().dispose()


def docked(tmp_path: Path, serial: str, officer_no: str, seed: int) -> tuple[WatchedRecorder,
                                                                          list[bytes]]:
    """A recorder of FILES clips, plugged in; and the clips."""
    mount = tmp_path / "media"
    mount.mkdir()
    contents = clips(FILES, seed)
    recorder = WatchedRecorder(mount, serial, officer_no, contents)
    recorder.dock()
    return recorder, contents


@pytest.mark.parametrize("cut_at", CUT_POINTS.values(), ids=CUT_POINTS.keys())
def test_database_down_during_a_dock_then_back(tmp_path: Path, home: Home, link: NetCut,
                                               cut_at: str) -> None:
    recorder, contents = docked(tmp_path, "ZFY0005", "100238", seed=5)
    dock = Dock(home, link, recorder, cut_at)
    outcome = dock.run()

    # The clerk's view: the dock finished once the line was back, and the recorder is empty.
    assert dock.left_at_cut is not None, "the line was never cut"
    assert dock.waits == [1.0, 2.0]  # backoff doubles; nothing failed once the line was back
    assert outcome.error is None and outcome.complete, (outcome.error, outcome.results)
    assert {r.status for r in outcome.results.values()} <= {"ingested", "duplicate"}
    assert dock.deleted_while_down == []
    assert recorder.list_files() == []
    if cut_at == "first file":  # the last file was recorded while the line was down
        failed = [e for e in dock.events if e["event"] == "file" and e["status"] == "failed"]
        assert dock.last in {e["path"] for e in failed}
        assert all("database unavailable" in e["reason"] for e in failed), failed

    assert_stored_once_then_wiped(home, contents)
    assert undocked(home) == [(True, FILES)]


def test_station_stopped_while_the_database_is_down_then_docked_again(
        tmp_path: Path, home: Home, link: NetCut) -> None:
    recorder, contents = docked(tmp_path, "ZFY0006", "100239", seed=6)
    dock = Dock(home, link, recorder, "last file", stop_when_waiting=True)
    outcome = dock.run()
    assert dock.waits == [1.0]
    assert not outcome.complete and "database unavailable" in str(outcome.error), outcome
    assert len(recorder.list_files()) == FILES  # nothing was wiped
    link.restore()
    second = Dock(home, link, recorder, "never")  # the recorder's next dock, line up
    again = second.run()
    assert second.waits == []
    assert again.complete and again.error is None, (again.error, again.results)
    assert {r.status for r in again.results.values()} == {"duplicate"}
    assert recorder.list_files() == []
    assert_stored_once_then_wiped(home, contents)
    assert undocked(home) == [(True, FILES)]  # the first dock's could not be logged


def log_of(home: Home) -> list[dict[str, Any]]:
    return [decode_event(leaf) for _, leaf in home.custody_log().entries()]


def undocked(home: Home) -> list[tuple[bool, int]]:
    return [(e["details"]["complete"], e["details"]["wiped"]) for e in log_of(home)
            if e["type"] == "station:recorder:undocked"]


def assert_stored_once_then_wiped(home: Home, contents: list[bytes]) -> None:
    """The auditor's view: each clip is one evidence row and one ingested event, whatever
    attempt stored it, and one wiped event, logged after the events that stored it."""
    digests = sorted(hashlib.sha256(c).hexdigest() for c in contents)
    assert evidence_count(home) == len(contents)
    log = log_of(home)

    def positions(kind: str) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for at, event in enumerate(log):
            if event["type"] == kind:
                found.setdefault(event["subject"]["sha256"], []).append(at)
        return found

    ingested, wiped = positions("evidence:file:ingested"), positions("evidence:file:wiped")
    assert sorted(ingested) == digests and all(len(at) == 1 for at in ingested.values())
    assert sorted(wiped) == digests and all(len(at) == 1 for at in wiped.values())
    assert all(ingested[d][0] < wiped[d][0] for d in digests)
    assert verify_all(home) == set()


def test_a_wipe_that_cannot_be_logged_before_a_stop_is_named_in_the_error(
        tmp_path: Path, home: Home, link: NetCut) -> None:
    recorder, contents = docked(tmp_path, "ZFY0007", "100240", seed=7)
    dock = Dock(home, link, recorder, "first delete", stop_when_waiting=True)
    outcome = dock.run()
    assert dock.waits == [1.0] and not outcome.complete
    left = {f.path for f in recorder.list_files()}
    assert len(left) == FILES - 1  # the station stopped after the one deletion
    wiped = [e for e in dock.events if e["event"] == "wiped"]
    assert wiped == []  # not reported as wiped: its event is not in the log
    error = str(outcome.error)
    assert "could not be logged" in error and "stored as evidence" in error, error
    deleted = [e["path"] for e in dock.events if e["event"] == "file"
               and e["path"] not in left]
    assert len(deleted) == 1 and deleted[0] in error, (deleted, error)
    link.restore()
    assert verify_all(home) == set()  # what was logged is intact
    stored = {e["subject"]["sha256"] for e in log_of(home) if e["type"] == "evidence:file:ingested"}
    assert stored == {hashlib.sha256(c).hexdigest() for c in contents}  # the deleted one too
