"""The station feed: what a dock writes into station_status, and when, on SQLite and PostgreSQL.

The dock's test holds (``Station(hold=...)``) stop it mid-copy, before a read-back and
after a deletion; there the test flushes the feed and reads the tile a station screen would
read at that moment. A retry is observed in the station's ``wait`` hook, an error at the
end of the dock. Nothing sleeps: a flush returns once the tile is written.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from api.home import Home, init_home
from api.settings import Settings
from devices.simulated import SimulatedRecorder
from domain.errors import StorageUnavailable
from domain.station import PROBLEMS, PortStatus, Problem, StationInfo, template_fields
from ingest.pipeline import IngestOptions
from ingest.problems import _CODES, dock_problem
from ingest.station import DockPolicy, Station
from ingest.station_feed import StatusFeed
from storage.db import make_engine, migrate, sqlite_url
from storage.objects import ObjectStore
from storage.station_status import publish, read_all, read_changes, station_status
from tests.test_dock import SHANGHAI, clips

INFO = StationInfo("front-desk", "default")


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Home:
    return init_home(Settings(home=tmp_path / "home", database_url=db_url))[0]


def tile(home: Home, port: str, station: str = INFO.name) -> PortStatus:
    tiles, _ = read_all_of(home.engine())
    found = [t for t in tiles if t.key == (station, port)]
    assert found, f"no tile for {station}/{port}: {tiles}"
    return found[0]


def read_all_of(engine: Engine) -> tuple[list[PortStatus], int]:
    with engine.connect() as conn:
        numbered, top = read_all(conn)
    return [t for _, t in numbered], top


def make_station(home: Home, feed: StatusFeed, *, wipe: bool, store: ObjectStore | None = None,
                 **kwargs: Any) -> Station:
    options = IngestOptions(actor="station:test", station_tz=SHANGHAI, derive=False,
                            unit_code="default")
    return Station(home.custody_log(), store or home.object_store(), options,
                   DockPolicy(wipe=wipe), info=INFO, on_status=feed.update, **kwargs)


def test_the_dock_writes_its_tile_at_each_point(tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0001", "100234", clips(3, 1))
    recorder.dock()
    sizes = sum(f.size for f in recorder.list_files())
    feed = StatusFeed(home.engine(), INFO).start()
    seen: dict[str, PortStatus] = {}

    def hold(point: str) -> None:  # the first arrival at each point: what the screen shows
        if point not in seen:
            assert feed.flush()
            seen[point] = tile(home, "ZFY0001")

    try:
        outcome = make_station(home, feed, wipe=True, hold=hold).dock(recorder, "ZFY0001")
        assert feed.flush()
        done = tile(home, "ZFY0001")
        station = tile(home, "")
    finally:
        assert feed.close()
    assert outcome.complete
    copying, reading, wiping = seen["copy"], seen["read-back"], seen["wipe"]
    assert copying.state == "transferring" and copying.files_total == 3
    assert copying.bytes_total == sizes and 0 < copying.bytes_done < sizes
    assert copying.device_serial == "ZFY0001" and copying.officer_no == "100234"
    assert copying.station_unit == "default" and copying.wipe == "waiting"
    assert reading.state == "transferring" and reading.files_done < 3 <= reading.files_total
    assert wiping.state == "wiping" and wiping.wipe == "wiping" and wiping.files_done == 3
    assert (done.state, done.files_done, done.files_total, done.files_wiped) == ("done", 3, 3, 3)
    assert done.bytes_done == sizes and done.wipe == "done" and done.problem is None
    assert done.retry_at is None and done.updated_at >= wiping.updated_at
    assert station.state == "online" and station.stale_after is not None
    assert tile(home, "").state == "offline"  # written by close()


class FlakyStore:
    """The store, unreachable while ``down`` is set."""

    def __init__(self, store: ObjectStore) -> None:
        self._store, self.down = store, True

    def begin_upload(self) -> Any:
        if self.down:
            raise StorageUnavailable("the store cannot be reached (test)", hint="wait")
        return self._store.begin_upload()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_retry_shows_its_countdown_and_files_count_once(tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0002", "100235", clips(3, 2))
    recorder.dock()
    sizes = sum(f.size for f in recorder.list_files())
    store = FlakyStore(home.object_store())
    feed = StatusFeed(home.engine(), INFO).start()
    waiting: list[PortStatus] = []

    def wait(seconds: float) -> bool:
        assert feed.flush()
        waiting.append(tile(home, "ZFY0002"))
        store.down = False  # back for the next attempt
        return False

    try:
        station = make_station(home, feed, wipe=False, store=store, wait=wait)  # type: ignore[arg-type]
        outcome = station.dock(recorder, "ZFY0002")
        assert feed.flush()
        done = tile(home, "ZFY0002")
    finally:
        feed.close()
    assert outcome.complete and len(waiting) == 1
    retrying = waiting[0]
    assert retrying.state == "retrying" and retrying.files_done == 0
    assert retrying.problem == Problem("store_unreachable", {"files": 3, "attempt": 1})
    assert retrying.retry_at is not None
    assert (retrying.retry_at - retrying.updated_at).total_seconds() == pytest.approx(1.0, abs=0.05)
    assert "cannot be reached" in retrying.problem.message()
    assert (done.state, done.files_done, done.files_total) == ("done", 3, 3)  # not 6/3
    assert done.bytes_done == sizes  # bytes of a file copied again count once
    assert done.problem is None and done.retry_at is None and done.wipe == "off"


def test_a_file_left_behind_and_a_failed_dock_are_said_by_code(tmp_path: Path,
                                                               home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0003", "100236", clips(3, 3))
    recorder.dock()
    victim = recorder.list_files()[1].path
    recorder.fail_read_after(victim, 10_000)

    gone = SimulatedRecorder(mount, "ZFY0004", "100237", clips(1, 4))
    feed = StatusFeed(home.engine(), INFO).start()
    try:
        station = make_station(home, feed, wipe=True)
        assert not station.dock(recorder, "ZFY0003").complete
        assert not station.dock(gone, "ZFY0004").complete  # never docked: not mounted
        assert feed.flush()
        partial, failed = tile(home, "ZFY0003"), tile(home, "ZFY0004")
    finally:
        feed.close()
    assert (partial.state, partial.files_done, partial.files_failed) == ("incomplete", 3, 1)
    assert partial.problem is not None and partial.problem.code == "file_unplugged"
    assert partial.problem.params == {"path": victim}
    assert partial.wipe == "partial" and partial.files_wiped == 2
    assert failed.state == "failed" and failed.problem == Problem("recorder_unplugged")
    assert failed.problem.message().startswith("The recorder was unplugged")


def test_tiles_wait_while_the_database_is_unreachable_and_are_written_after(
        tmp_path: Path) -> None:
    """The dock never waits for its screen: updates return at once; the newest tile of each
    port is written once the database is back (here: its folder did not exist yet)."""
    where = tmp_path / "later" / "evidence.db"
    engine = make_engine(sqlite_url(where))
    troubles: list[str | None] = []
    feed = StatusFeed(engine, INFO, retry=0.02, on_trouble=troubles.append).start()
    try:
        base = feed.station_tile("online")
        for done in range(5):
            feed.update(PortStatus(INFO.name, "P1", "transferring", base.updated_at,
                                   files_total=5, files_done=done))
        assert not feed.flush(timeout=0.3)  # nothing can be written yet
        ready = tmp_path / "ready"  # made elsewhere, then put in place at once
        ready.mkdir()
        admin = make_engine(sqlite_url(ready / "evidence.db"))
        try:
            migrate(admin)
        finally:
            admin.dispose()
        ready.rename(where.parent)
        assert feed.flush(timeout=30)
        tiles, _ = read_all_of(engine)
    finally:
        feed.close()
        engine.dispose()
    port = [t for t in tiles if t.port == "P1"]
    assert len(port) == 1 and port[0].files_done == 4  # the newest
    assert troubles[0] is not None and "station screen not updated" in troubles[0]
    assert troubles[-1] is None  # and written again


def test_a_reader_never_misses_a_change_of_concurrent_writers(engine: Engine) -> None:
    """Sequence numbers are committed in order: a reader that asks for what changed after the
    last number it saw, while stations write at once, ends with every station's last tile."""
    migrate(engine)
    writers, rounds = 4, 25
    moment = StatusFeed(engine, INFO).station_tile("online").updated_at
    start = threading.Barrier(writers + 1)
    finished = threading.Event()

    def write(number: int) -> None:
        start.wait()
        for done in range(rounds):
            publish(engine, [PortStatus(f"station-{number}", port, "transferring", moment,
                                        files_total=rounds, files_done=done)
                             for port in ("a", "b")])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    seen: dict[tuple[str, str], tuple[int, int]] = {}
    last = 0
    start.wait()
    while True:  # read until the writers are done and one more read finds nothing new
        done_before = finished.is_set()
        with engine.connect() as conn:
            changes = read_changes(conn, last)
        for seq, status in changes:
            assert seq > last
            last = seq
            seen[status.key] = (seq, status.files_done)
        if done_before and not changes:
            break
        if all(not t.is_alive() for t in threads):
            finished.set()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        final = {(r.station, r.port): (r.seq, r.files_done)
                 for r in conn.execute(select(station_status))}
    assert seen == final and {done for _, done in final.values()} == {rounds - 1}


def test_every_problem_code_has_a_sentence_with_the_parameters_it_is_given() -> None:
    codes = {code for _, dock, one in _CODES for code in (dock, one)} | {"unexpected",
                                                                        "file_unexpected"}
    assert codes <= PROBLEMS.keys()
    for code, template in PROBLEMS.items():
        assert template.endswith("."), code
        fields = template_fields(template)
        assert fields <= {"path", "files", "attempt", "kind"}, code
        Problem(code, dict.fromkeys(fields, "x")).message()
    with pytest.raises(ValueError):
        Problem("file_changed", {})  # a missing parameter fails where it is made
    assert dock_problem(ValueError("boom")) == Problem("unexpected", {"kind": "ValueError"})


def test_over_long_text_is_cut_rather_than_refused(engine: Engine) -> None:
    """A recorder's label or serial longer than its column must not make PostgreSQL refuse
    the write, and with it every other tile of the batch."""
    migrate(engine)
    moment = StatusFeed(engine, INFO).station_tile("online").updated_at
    publish(engine, [PortStatus(INFO.name, "卷" * 300, "docked", moment, device_serial="S" * 100),
                     PortStatus(INFO.name, "B", "docked", moment)])
    tiles, _ = read_all_of(engine)
    assert sorted(len(t.port) for t in tiles) == [1, 255]
    assert {t.device_serial for t in tiles} == {None, "S" * 64}


def test_files_the_store_never_took_are_left_when_the_retries_run_out(tmp_path: Path,
                                                                       home: Home) -> None:
    """The store stays down through every attempt: the dock is incomplete, and its tile says
    which files stayed (the dock used to drop them before its last attempt's end and call
    itself complete)."""
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0005", "100238", clips(3, 5))
    recorder.dock()
    feed = StatusFeed(home.engine(), INFO).start()
    try:
        station = make_station(home, feed, wipe=True, store=FlakyStore(home.object_store()),  # type: ignore[arg-type]
                               wait=lambda seconds: False)
        station.policy.max_attempts = 2
        assert not station.dock(recorder, "ZFY0005").complete
        assert feed.flush()
        left = tile(home, "ZFY0005")
    finally:
        feed.close()
    assert (left.state, left.files_done, left.files_total, left.files_failed) == (
        "incomplete", 3, 3, 3)
    assert left.problem is not None and left.problem.code == "file_store_failed"
    assert left.wipe == "partial" and left.files_wiped == 0 and left.retry_at is None
