"""The docking station: many recorders at once, yanks, store outages, wipe versus keep."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from api.home import Home, init_home, open_home
from api.settings import Settings
from custody.events import decode_event
from custody.verify import verify_database
from devices.simulated import SimulatedRecorder
from ingest.fixity import ObjectCollector, check_objects
from ingest.pipeline import IngestOptions
from ingest.station import DockPolicy, Station
from storage import catalog
from storage.objects import ObjectStore
from storage.s3 import S3ObjectStore
from tests.cli_helpers import run_cli
from tests.test_devices_gat947 import ID_CODE, PASSWORD, STATION_NOW, Device
from tests.test_devices_gat947 import sdk_lib as sdk_lib

SHANGHAI = ZoneInfo("Asia/Shanghai")


def clips(n: int, seed: int, size: int = 40_000) -> list[bytes]:
    return [bytes([seed, i]) * (size // 2) for i in range(n)]


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return init_home(Settings(home=tmp_path / "home"))[0]


def station(home: Home, *, wipe: bool, store: ObjectStore | None = None,
            events: list[dict[str, object]] | None = None, **policy: object) -> Station:
    options = IngestOptions(actor="station:test", station_tz=SHANGHAI, derive=False)
    sink = events.append if events is not None else (lambda _: None)
    return Station(home.custody_log(), store or home.object_store(), options,
                   DockPolicy(wipe=wipe, **policy), sink)  # type: ignore[arg-type]


def verify_all(home: Home, store: ObjectStore | None = None) -> set[str]:
    collector = ObjectCollector()
    report = verify_database(home.engine(), home.verifier(), home.origin, visit=collector)
    check_objects(store or home.object_store(), collector, report)
    assert report.checks
    return {p.kind for p in report.problems}


def logged(home: Home, kind: str) -> list[dict[str, object]]:
    return [e for e in (decode_event(leaf) for _, leaf in home.custody_log().entries())
            if e["type"] == kind]


def evidence_count(home: Home) -> int:
    with home.engine().connect() as conn:
        return int(conn.execute(select(func.count()).select_from(catalog.evidence)).scalar_one())


def test_eight_recorders_docked_at_once_are_all_ingested_and_wiped(tmp_path: Path,
                                                                   home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorders = [SimulatedRecorder(mount, f"ZFY{i:04d}", f"10{i:04d}", clips(3, i)) for i in range(8)]
    for r in recorders:
        r.dock()
    st = station(home, wipe=True)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda r: st.dock(r, r.label), recorders))
    assert all(o.complete for o in outcomes), [o.error for o in outcomes]
    assert evidence_count(home) == 24
    for r in recorders:
        assert r.list_files() == []  # every file was proven stored, then wiped
    assert len(logged(home, "evidence:file:wiped")) == 24
    assert len(logged(home, "station:recorder:undocked")) == 8
    assert verify_all(home) == set()


def test_keep_leaves_the_recorder_untouched(tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0001", "100234", clips(3, 1))
    recorder.dock()
    outcome = station(home, wipe=False).dock(recorder, recorder.label)
    assert outcome.complete and outcome.wiped == []
    assert len(recorder.list_files()) == 3
    assert logged(home, "evidence:file:wiped") == []
    assert verify_all(home) == set()


def test_yanked_mid_file_then_redocked_resumes_without_loss_or_duplicates(
        tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0002", "100235", clips(4, 2))
    recorder.dock()
    victim = recorder.list_files()[2].path
    recorder.fail_read_after(victim, 10_000)
    first = station(home, wipe=True).dock(recorder, recorder.label)
    assert not first.complete
    assert first.results[victim].status == "failed"
    assert "unplugged" in str(first.results[victim].reason)
    assert [f.path for f in recorder.list_files()] == [victim]  # only the proven ones went
    recorder.undock()
    recorder.dock()
    second = station(home, wipe=True).dock(recorder, recorder.label)
    assert second.complete and second.results[victim].status == "ingested"
    assert recorder.list_files() == []
    assert evidence_count(home) == 4
    assert verify_all(home) == set()


def test_second_dock_wipes_duplicates_whose_content_is_stored(tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0003", "100236", clips(2, 3))
    recorder.dock()
    station(home, wipe=False).dock(recorder, recorder.label)
    again = station(home, wipe=True).dock(recorder, recorder.label)
    assert {r.status for r in again.results.values()} == {"duplicate"}
    assert sorted(again.wiped) == sorted(again.results)
    assert recorder.list_files() == []
    assert len(logged(home, "evidence:file:seen-again")) == 2
    assert verify_all(home) == set()


def test_unknown_device_is_ingested_but_flagged(tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "X", "Y", {"DCIM/CLIP0001.MP4": b"a" * 5000})
    recorder.dock()
    outcome = station(home, wipe=False).dock(recorder, recorder.label)
    assert outcome.complete and outcome.identity is not None
    assert outcome.identity.source == "unknown"
    identified = logged(home, "station:recorder:identified")
    assert identified[0]["details"]["flags"] == ["unknown_device"]  # type: ignore[index]
    with home.engine().connect() as conn:
        flags = conn.execute(select(catalog.evidence.c.flags)).scalar_one()
    assert "unknown_device" in json.loads(flags)
    assert verify_all(home) == set()


def test_sdk_recorder_clock_offset_is_recorded_before_sync(
        tmp_path: Path, home: Home, sdk_lib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devices.gat947 import dock_sdk_recorder
    from devices.mass_storage import appearing_volume

    device = Device(tmp_path / "sdk", monkeypatch, files={
        "ZFY0001_100234_20240315093000_0001.MP4": b"clip" * 3000})
    recorder = dock_sdk_recorder(sdk_lib, ID_CODE, PASSWORD, lambda: STATION_NOW,
                                 appearing_volume([device.mount_root]), 0, station_tz=SHANGHAI)
    outcome = station(home, wipe=False).dock(recorder, "ZFY_DISK")
    assert outcome.complete
    offset = logged(home, "station:recorder:clock-offset")
    assert offset[0]["details"]["offset_seconds"] == 300  # type: ignore[index]
    assert offset[0]["details"]["synced"] is True  # type: ignore[index]
    with home.engine().connect() as conn:
        row = conn.execute(select(catalog.evidence.c.start_time, catalog.evidence.c.officer_no)).one()
    # the name says 09:30:00 on a clock 300 s fast: the true start is 09:25:00 Beijing time
    assert row.start_time.replace(tzinfo=None).isoformat() == "2024-03-15T01:25:00"
    assert row.officer_no == "100234"
    assert verify_all(home) == set()


@pytest.fixture
def moto_on_a_fixed_port() -> Iterator[dict[str, ThreadedMotoServer]]:
    """Holds the running server; a test may replace it (same port) and it is stopped after."""
    holder = {"server": ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)}
    holder["server"].start()
    yield holder
    holder["server"].stop()


def test_store_down_during_a_dock_then_back(
        tmp_path: Path, home: Home, moto_on_a_fixed_port: dict[str, ThreadedMotoServer]) -> None:
    port = moto_on_a_fixed_port["server"].get_host_and_port()[1]
    store = S3ObjectStore.connect(f"http://127.0.0.1:{port}", "dock-outage", "k", "s",
                                  connect_timeout=1, read_timeout=5, max_attempts=1)
    store.ensure_bucket()
    mount = tmp_path / "media"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, "ZFY0004", "100237", clips(3, 4))
    recorder.dock()
    moto_on_a_fixed_port["server"].stop()  # the central store becomes unreachable
    waits: list[float] = []
    restarted = threading.Event()

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        recorder_files = len(recorder.list_files())
        assert recorder_files == 3, "something was wiped while the store was down"
        if len(waits) == 2:  # back after two failed attempts (moto keeps its state)
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            moto_on_a_fixed_port["server"] = server
            restarted.set()
        return False

    events: list[dict[str, object]] = []
    st = station(home, wipe=True, store=store, events=events)
    st.wait = wait
    outcome = st.dock(recorder, recorder.label)
    assert restarted.is_set() and waits == [1.0, 2.0]  # backoff doubles
    assert outcome.complete, outcome.results
    assert recorder.list_files() == []
    assert sum(1 for e in events if e["event"] == "retrying") == 2
    assert verify_all(home, store) == set()


def test_dock_command_once_with_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_cli(home, "init")
    run_cli(home, "device", "register", "ZFY0007", "--officer", "100240", "--name", "李娜",
            "--unit", "default")
    mount = tmp_path / "media"
    mount.mkdir()
    for i in range(2):
        SimulatedRecorder(mount, f"ZFY000{7 + i}", f"10024{i}", clips(2, 7 + i)).dock()
    result = run_cli(home, "dock", "--watch", str(mount), "--once", "--wipe", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    docked = {x["recorder"]: x for x in lines if x["event"] == "docked"}
    assert docked["ZFY0007"]["identity_source"] == "registry"
    assert docked["ZFY0008"]["identity_source"] == "files"
    assert sum(1 for x in lines if x["event"] == "wiped") == 4
    assert not any((mount / "ZFY0007").rglob("*.MP4"))
    devices = run_cli(home, "device", "list", "--json")
    assert json.loads(devices.stdout.splitlines()[0])["officer_name"] == "李娜"
    assert run_cli(home, "verify", "--objects").returncode == 0


def test_dock_command_through_the_sdk_records_identity_and_clock_offset(
        tmp_path: Path, sdk_lib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    device = Device(tmp_path / "sdk", monkeypatch, files={
        "ZFY0001_100234_20240315093000_0001.MP4": b"clip" * 3000})
    home = tmp_path / "home"
    run_cli(home, "init")
    env = {"EVIDENCE_RECORDER_SDK": str(sdk_lib), "EVIDENCE_RECORDER_PASSWORD": PASSWORD,
           "EVIDENCE_STATION_TZ": "Asia/Shanghai"}
    result = run_cli(home, "dock", "--watch", str(device.mount_root), "--once", "--sdk-id",
                     ID_CODE, "--wipe", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    docked = [x for x in lines if x["event"] == "docked"]
    assert len(docked) == 1 and docked[0]["identity_source"] == "sdk"  # not docked twice
    assert docked[0]["officer"] == "100234" and isinstance(docked[0]["clock_offset_seconds"], int)
    assert [x["path"] for x in lines if x["event"] == "wiped"] == [
        "DCIM/ZFY0001_100234_20240315093000_0001.MP4"]
    assert device.calls()[:5] == ["Init_Device", "GetZFYInfo", "GetDevTime", "SyncDevTime",
                                  "SetMSDC"]
    unset = {**env, "EVIDENCE_RECORDER_PASSWORD": ""}
    unset.pop("EVIDENCE_RECORDER_SDK")
    missing = run_cli(home, "dock", "--watch", str(device.mount_root), "--once", "--sdk-id",
                      ID_CODE, env=unset)
    assert missing.returncode == 2 and "EVIDENCE_RECORDER_SDK" in missing.stderr


def test_dock_command_with_mtp_and_no_device_attached_is_clean(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_cli(home, "init")
    mount = tmp_path / "media"
    mount.mkdir()
    result = run_cli(home, "dock", "--watch", str(mount), "--once", "--mtp", "--json")
    assert result.returncode == 0, result.stderr  # real libmtp discovery: nothing attached
    assert result.stdout == ""


class Daemon:
    """The real `evidence dock` daemon, started as CI or a background job may start it: with
    SIGINT inherited as ignored (so Python installs no KeyboardInterrupt handler)."""

    def __init__(self, home: Path, mount: Path, env: dict[str, str] | None = None,
                 new_session: bool = False) -> None:
        import os
        import subprocess
        import sys

        argv = [sys.executable, "-m", "api.cli", "dock", "--watch", str(mount), "--wipe",
                "--json", "--no-udev"]
        ignoring_sigint = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                           "os.execv(sys.executable, sys.argv[1:])")
        self.process = subprocess.Popen(
            [sys.executable, "-c", ignoring_sigint, *argv], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=new_session,
            env={**os.environ, "EVIDENCE_HOME": str(home), "EVIDENCE_DOCK_POLL_SECONDS": "0.2",
                 **(env or {})})
        self.lines: queue.Queue[dict[str, object] | None] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def until(self, event: str, timeout: float = 60) -> dict[str, object]:
        """The daemon's JSON lines up to the first ``event`` (a bound, not a sleep)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no {event!r} line in {timeout} s; seen {self.seen}")
            if line is None:
                pytest.fail(f"the daemon ended before {event!r}: {self.seen} "
                            f"{self.process.stderr.read() if self.process.stderr else ''}")
            self.seen.append(line)
            if line["event"] == event:
                return line

    def stop(self, signum: int, timeout: float = 20) -> tuple[int, float]:
        """Send ``signum``; the exit status and how long the daemon took to exit."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the daemon had not exited {timeout} s after {signum!r}; seen {self.seen}")
        return code, time.monotonic() - started

    def rest(self) -> list[dict[str, object]]:
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        return self.seen


def test_dock_daemon_docks_recorders_as_they_arrive(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_cli(home, "init")
    mount = tmp_path / "media"
    mount.mkdir()
    daemon = Daemon(home, mount)
    try:
        SimulatedRecorder(mount, "ZFY0042", "100242", clips(2, 42)).dock()  # arrives after start
        undocked = daemon.until("undocked")  # the daemon reports as it goes; no sleeping here
        assert undocked["complete"] is True
        assert sum(1 for e in daemon.seen if e["event"] == "wiped") == 2
    finally:
        code, _ = daemon.stop(signal.SIGINT)  # inherited as ignored: the daemon's own handler
    assert code == 0
    assert daemon.rest()[-1] == {"event": "stopped", "signal": "SIGINT", "clean": True}
    assert not any((mount / "ZFY0042").rglob("*.MP4"))
    assert run_cli(home, "verify", "--objects").returncode == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("point", ["copy", "read-back", "wipe"])
def test_dock_daemon_stopped_at_a_chosen_point_keeps_or_logs_every_file(
        tmp_path: Path, point: str, signum: signal.Signals) -> None:
    """Stopped mid-copy, mid-read-back or between a deletion and its event: every file is
    still on the recorder or deleted with its `evidence:file:wiped` event, and it exits 0."""
    import os

    home = tmp_path / "home"
    run_cli(home, "init")
    mount = tmp_path / "media"
    mount.mkdir()
    release = tmp_path / "release"
    os.mkfifo(release)
    # held open for writing by the test, so the daemon's open never blocks; a byte releases it
    release_fd = os.open(release, os.O_RDWR)
    daemon = Daemon(home, mount, {"EVIDENCE_TEST_DOCK_HOLD": f"{point}:{release}"})
    try:
        recorder = SimulatedRecorder(mount, "ZFY0050", "100250", clips(4, 50, size=300_000))
        recorder.dock()
        on_recorder = {f.path for f in recorder.list_files()}
        assert daemon.until("test-hold")["point"] == point
        daemon.process.send_signal(signum)  # the station is held at the point ...
        assert daemon.until("stopping")["signal"] == signum.name
        os.write(release_fd, b"x")  # ... and goes on only once it knows it is stopping
        code, seconds = daemon.stop(signum)
    finally:
        os.close(release_fd)
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()
    assert code == 0 and seconds < 10, (code, seconds, daemon.process.stderr)
    lines = daemon.rest()
    assert lines[-1] == {"event": "stopped", "signal": signum.name, "clean": True}
    files = {str(e["path"]): e for e in lines if e["event"] == "file"}
    left = {f.path for f in recorder.list_files()}
    wiped = {str(e["details"]["source"]): e for e in logged(open_home(Settings(home=home)),  # type: ignore[index]
                                                         "evidence:file:wiped")}
    assert left | set(wiped) == on_recorder and not left & set(wiped)  # kept, or gone and logged
    assert {str(e["path"]) for e in lines if e["event"] == "wiped"} == set(wiped)
    if point == "copy":  # the copy in hand and every later file abandoned: nothing stored
        assert left == on_recorder and {e["status"] for e in files.values()} == {"abandoned"}
    elif point == "read-back":  # the read-back in hand finished and was recorded; nothing wiped
        assert left == on_recorder and "ingested" in {e["status"] for e in files.values()}
    else:  # the deletion in hand was logged; no further deletion started
        assert len(wiped) == 1 and len(left) == 3
    undocked = next(e for e in lines if e["event"] == "undocked")
    assert undocked["complete"] is False
    assert run_cli(home, "verify", "--objects").returncode == 0


FAKE_FFMPEG = """#!{python}
# A transcode that never ends by itself: it notes the signals it gets and ignores them.
import os, signal
def note(text):
    with open(os.environ["FAKE_FFMPEG_LOG"], "a") as log:
        log.write(text + "\\n")
for signum in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signum, lambda n, _f: note(signal.Signals(n).name))
note(f"started {{os.getpid()}} {{os.getsid(0)}}")
with open(os.environ["FAKE_FFMPEG_FIFO"], "w") as started:
    started.write("started")
while True:
    signal.pause()
"""


def test_ctrl_c_during_a_transcode_stops_the_station_and_the_next_run_makes_the_copy(
        tmp_path: Path) -> None:
    """Ctrl-C reaches the station only (ffmpeg runs in its own session); the station abandons
    the running ffmpeg (SIGTERM, then SIGKILL) and exits within seconds; the original is
    recorded, its playback copy pending, and the next run makes it."""
    import os
    import sys

    from media.ffmpeg_tools import ffmpeg_executable
    from storage.records import pending_derivatives

    home = tmp_path / "home"
    run_cli(home, "init")
    mount = tmp_path / "media"
    (mount / "REC1" / "DCIM").mkdir(parents=True)
    clip = mount / "REC1" / "DCIM" / "ZFY0001_100234_20240315093000_0001.MP4"
    subprocess.run([ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=5:duration=1", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(clip)], check=True)
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "ffmpeg").write_text(FAKE_FFMPEG.format(python=sys.executable))
    (fakebin / "ffmpeg").chmod(0o755)
    fifo, log = tmp_path / "ffmpeg-started", tmp_path / "ffmpeg.log"
    os.mkfifo(fifo)
    started: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: started.put(fifo.read_text()), daemon=True).start()
    daemon = Daemon(home, mount, {"PATH": f"{fakebin}:{os.environ['PATH']}",
                                  "FAKE_FFMPEG_FIFO": str(fifo), "FAKE_FFMPEG_LOG": str(log)},
                    new_session=True)
    try:
        assert started.get(timeout=60) == "started"  # the transcode is running now
        began = time.monotonic()
        os.killpg(daemon.process.pid, signal.SIGINT)  # Ctrl-C: the terminal's whole group
        assert daemon.until("stopping")["signal"] == "SIGINT"
        code = daemon.process.wait(20)
        seconds = time.monotonic() - began
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()
        notes = log.read_text().split() if log.exists() else []
        if notes and notes[0] == "started":
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(notes[1]), signal.SIGKILL)
    assert code == 0 and seconds < 10, (code, seconds)
    assert daemon.rest()[-1] == {"event": "stopped", "signal": "SIGINT", "clean": True}
    _, ffmpeg_pid, ffmpeg_session, *signals = notes
    assert ffmpeg_session == ffmpeg_pid  # a session of its own ...
    assert signals == ["SIGTERM"]  # ... so only the station's SIGTERM reached it, then SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(int(ffmpeg_pid), 0)
    opened = open_home(Settings(home=home))
    try:
        [pending] = pending_derivatives(opened.engine())  # recorded; its copy still to make
        assert pending.original_name == clip.name
        assert logged(opened, "evidence:file:derived") == []
    finally:
        opened.engine().dispose()
    again = run_cli(home, "dock", "--watch", str(mount), "--once", "--no-udev", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {"event": "derived", "pending": 1} in [json.loads(x) for x in again.stdout.splitlines()]
    opened = open_home(Settings(home=home))
    try:
        assert pending_derivatives(opened.engine()) == []
        derived = logged(opened, "evidence:file:derived")
        assert {str(e["details"]["name"]) for e in derived} >= {"playback.mp4"}  # type: ignore[index]
        assert {e["subject"]["evidence_id"] for e in derived} == {pending.id}  # type: ignore[index]
    finally:
        opened.engine().dispose()
    assert run_cli(home, "verify", "--objects").returncode == 0
