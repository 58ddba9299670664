"""What a dock or an ingest records: pending derivatives finished, the clock offset, the unit."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.home import Home, init_home, open_home
from api.settings import Settings
from cases.organisation import add_unit
from cases.tables import DEFAULT_AGENCY
from cases.users import operator
from custody.events import decode_event
from devices.mass_storage import registry_lookup
from devices.simulated import SimulatedRecorder
from domain.recorder import RegistryEntry
from ingest.pipeline import IngestOptions, Ingestor
from ingest.station import DockPolicy, Station
from storage import catalog, records
from storage.records import EvidenceRecord
from tests.api_support import clips_fixture
from tests.cli_helpers import run_cli
from tests.test_devices_gat947 import ID_CODE, OFFICER, PASSWORD, Device
from tests.test_devices_gat947 import sdk_lib as sdk_lib

_ = clips_fixture


def all_records(home: Home) -> list[EvidenceRecord]:
    with home.engine().connect() as conn:
        return [records.from_row(row) for row in conn.execute(
            select(catalog.evidence).order_by(catalog.evidence.c.original_name))]


def event_types(home: Home) -> list[str]:
    return [decode_event(leaf)["type"] for _, leaf in home.custody_log().entries()]


def test_dock_makes_the_derivatives_a_crashed_run_left_pending(
        tmp_path: Path, clips: list[bytes]) -> None:
    root = tmp_path / "home"
    assert run_cli(root, "init").returncode == 0
    home = open_home(Settings(home=root))
    card = tmp_path / "card"
    card.mkdir()
    (card / "ZFY0001_100234_20240315093000_0001.MP4").write_bytes(clips[0])
    # a run that stopped after the originals were safe, before any playback copy was made
    ingestor = Ingestor(home.custody_log(), home.object_store(), IngestOptions(derive=False))
    try:
        assert [r.status for r in ingestor.ingest(card)] == ["ingested"]
    finally:
        ingestor.close()
    assert [r.derivatives_state for r in all_records(home)] == ["pending"]
    mount = tmp_path / "media"
    mount.mkdir()  # no recorder docked at all
    result = run_cli(root, "dock", "--watch", str(mount), "--once", "--no-udev", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    [record] = all_records(home)
    assert record.derivatives_state == "done" and record.kind == "video"
    assert event_types(home).count("evidence:file:derived") >= 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"event": "derived", "pending": 1} in lines
    with home.engine().connect() as conn:
        assert [d.name for d in records.derivatives_of(conn, record.id)][:1] == ["playback.mp4"]
    assert run_cli(root, "verify", "--objects").returncode == 0


def test_a_recorder_docked_through_the_sdk_keeps_its_clock_offset(
        tmp_path: Path, sdk_lib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    device = Device(tmp_path / "sdk", monkeypatch, files={
        "ZFY0001_100234_20240315093000_0001.MP4": b"clip" * 3000})
    root = tmp_path / "home"
    run_cli(root, "init")
    # the registry, not the device, says which of our units the recorder belongs to
    add_unit(open_home(Settings(home=root)).custody_log(), operator("test"), "patrol",
             DEFAULT_AGENCY, "Patrol")
    registered = run_cli(root, "device", "register", OFFICER.serial, "--officer",
                         OFFICER.officer_no, "--unit", "patrol")
    assert registered.returncode == 0, registered.stderr
    env = {"EVIDENCE_RECORDER_SDK": str(sdk_lib), "EVIDENCE_RECORDER_PASSWORD": PASSWORD,
           "EVIDENCE_STATION_TZ": "Asia/Shanghai"}
    result = run_cli(root, "dock", "--watch", str(device.mount_root), "--once", "--no-udev",
                     "--sdk-id", ID_CODE, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    [docked] = [x for x in map(json.loads, result.stdout.splitlines()) if x["event"] == "docked"]
    offset = docked["clock_offset_seconds"]
    assert isinstance(offset, int) and offset != 0
    [record] = all_records(open_home(Settings(home=root)))
    assert record.capture.clock_offset_seconds == offset
    assert record.capture.station_tz == "Asia/Shanghai"
    assert record.unit_code == "patrol"
    # 09:30 on the device's clock in Shanghai, corrected by the offset the SDK measured
    assert record.start_time == datetime(2024, 3, 15, 1, 30, tzinfo=UTC) - timedelta(seconds=offset)


def payloads(n: int, seed: int) -> list[bytes]:
    return [bytes([seed, i]) * 2000 for i in range(n)]


def test_footage_belongs_to_its_recorders_unit_else_the_stations(tmp_path: Path) -> None:
    home = init_home(Settings(home=tmp_path / "home"))[0]
    log = home.custody_log()
    for code in ("patrol", "traffic"):
        add_unit(log, operator("test"), code, DEFAULT_AGENCY, f"{code} team")
    registry = {"ZFY0001": RegistryEntry(officer_no="100234", serial="ZFY0001", unit_code="traffic")}
    mount = tmp_path / "media"
    mount.mkdir()
    known = SimulatedRecorder(mount, "ZFY0001", "100234", payloads(2, 1),
                              lookup=registry_lookup(registry))
    stranger = SimulatedRecorder(mount, "ZFY0002", "100235", payloads(1, 2),
                                 lookup=registry_lookup(registry))
    station = Station(log, home.object_store(),
                      IngestOptions(actor="station:test", derive=False, unit_code="patrol"),
                      DockPolicy(wipe=False))
    for recorder in (known, stranger):
        recorder.dock()
        assert station.dock(recorder, recorder.label).complete
    units = {r.device_serial: r.unit_code for r in all_records(home)}
    assert units == {"ZFY0001": "traffic", "ZFY0002": "patrol"}
    assert sorted(r.unit_code or "" for r in all_records(home)) == ["patrol", "traffic", "traffic"]


@pytest.fixture
def folder_home(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "home"
    assert run_cli(root, "init").returncode == 0
    add_unit(open_home(Settings(home=root)).custody_log(), operator("test"), "patrol",
             DEFAULT_AGENCY, "Patrol")
    return root, tmp_path


def _card(tmp_path: Path, name: str, data: bytes) -> Path:
    card = tmp_path / name
    card.mkdir()
    (card / "clip.bin").write_bytes(data)
    return card


def _units(root: Path) -> list[str | None]:
    return [r.unit_code for r in all_records(open_home(Settings(home=root)))]


def test_ingest_uses_the_station_unit_or_the_unit_option(folder_home: tuple[Path, Path]) -> None:
    root, tmp = folder_home
    env = {k: v for k, v in os.environ.items() if k != "EVIDENCE_STATION_UNIT"}
    first = run_cli(root, "ingest", str(_card(tmp, "a", b"first")), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert _units(root) == ["default"]
    second = run_cli(root, "ingest", str(_card(tmp, "b", b"second")), "--json",
                     env={"EVIDENCE_STATION_UNIT": "patrol"})
    assert second.returncode == 0, second.stderr
    third = run_cli(root, "ingest", str(_card(tmp, "c", b"third")), "--unit", "default", "--json",
                    env={"EVIDENCE_STATION_UNIT": "patrol"})
    assert third.returncode == 0, third.stderr
    assert sorted(u or "" for u in _units(root)) == ["default", "default", "patrol"]


def test_ingest_of_a_registered_recorder_gives_its_footage_the_recorders_unit(
        folder_home: tuple[Path, Path]) -> None:
    root, tmp = folder_home
    registered = run_cli(root, "device", "register", "ZFY0009", "--officer", "100234", "--unit",
                         "patrol")
    assert registered.returncode == 0, registered.stderr
    env = {k: v for k, v in os.environ.items() if k != "EVIDENCE_STATION_UNIT"}
    ingested = run_cli(root, "ingest", str(_card(tmp, "a", b"first")), "--device-serial",
                       "ZFY0009", "--json", env=env)
    assert ingested.returncode == 0, ingested.stderr
    unknown = run_cli(root, "ingest", str(_card(tmp, "b", b"second")), "--device-serial",
                      "ZFY0404", "--json", env=env)
    assert unknown.returncode == 0, unknown.stderr
    assert sorted(u or "" for u in _units(root)) == ["default", "patrol"]


def test_ingest_refuses_an_unknown_unit(folder_home: tuple[Path, Path]) -> None:
    root, tmp = folder_home
    card = _card(tmp, "a", b"data")
    unit_option: list[str] = ["--unit", "nosuch"]
    for args, env in ((unit_option, {}), ([], {"EVIDENCE_STATION_UNIT": "nosuch"})):
        result = run_cli(root, "ingest", str(card), *args, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "no unit 'nosuch'" in result.stderr and "evidence unit add" in result.stderr
    assert _units(root) == []
