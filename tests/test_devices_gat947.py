"""GA/T 947.4 SDK docking, against a fake vendor library (tests/fakes/fake_gat947.c) built with gcc."""

from __future__ import annotations

import ctypes
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.errors import (
    PasswordRefused,
    RecorderLibraryError,
    RecorderRefused,
    RecorderUnplugged,
    VolumeMismatch,
    VolumeTimeout,
)
from devices.gat947 import ZFY_INFO, Gat947Sdk, ZfyInfo, decode_info, dock_sdk_recorder, encode_info
from devices.mass_storage import MassStorageRecorder, appearing_volume
from domain.errors import ConfigError, DeviceError

FAKES = Path(__file__).parent / "fakes"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STATION_NOW = datetime(2024, 3, 15, 9, 30, 0, tzinfo=SHANGHAI)
ID_CODE = "GAT01"
PASSWORD = "000000"
OFFICER = ZfyInfo("ZFY0001", "100234", "张伟", "330100", "某某市公安局交警支队")
CLIP = "ZFY0001_100234_20240315093500_0001.MP4"


def build(out: Path, *defines: str) -> Path:
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", *defines, "-o", str(out),
                    str(FAKES / "fake_gat947.c")], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def sdk_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("gat947") / "libfakegat947.so")


@pytest.fixture(scope="session")
def sdk_lib_without_clock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("gat947") / "libfakegat947_noclock.so", "-DNO_GETDEVTIME")


def pack(info: ZfyInfo | None = None, **raw_fields: bytes) -> bytes:
    """The 94 bytes a recorder stores; ``raw_fields`` overrides fields byte for byte."""
    raw = encode_info(info or OFFICER)
    for name, data in raw_fields.items():
        array = getattr(raw, name)
        ctypes.memset(array, 0, len(array))
        ctypes.memmove(array, data, len(data))
    return bytes(raw)


class Device:
    """The fake recorder's state folder and the station's mount root."""

    def __init__(self, base: Path, monkeypatch: pytest.MonkeyPatch, *, info: bytes | None = None,
                 clock: str = "2024-03-15 09:35:00", files: dict[str, bytes] | None = None) -> None:
        self.state, self.mount_root = base / "state", base / "media"
        self.mount_root.mkdir(parents=True)
        (self.state / "card" / "DCIM").mkdir(parents=True)
        for name, data in (files or {CLIP: b"footage"}).items():
            (self.state / "card" / "DCIM" / name).write_bytes(data)
        (self.state / "id_code").write_text(ID_CODE)
        (self.state / "password").write_text(PASSWORD)
        (self.state / "info").write_bytes(info if info is not None else pack())
        (self.state / "device_clock").write_text(clock)
        (self.state / "mount_root").write_text(str(self.mount_root))
        (self.state / "volume_label").write_text("ZFY_DISK")
        monkeypatch.setenv("FAKE_GAT947_STATE", str(self.state))

    def calls(self) -> list[str]:
        return (self.state / "calls.log").read_text().split()

    def clock(self) -> str:
        return (self.state / "device_clock").read_text()

    def dock(self, lib: Path, password: str = PASSWORD) -> MassStorageRecorder:
        return dock_sdk_recorder(lib, ID_CODE, password, lambda: STATION_NOW,
                                 appearing_volume([self.mount_root]), 0, station_tz=SHANGHAI)


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Device:
    return Device(tmp_path, monkeypatch)


def test_docking_reads_identity_and_clock_before_sync_then_mounts(sdk_lib: Path, device: Device) -> None:
    recorder = dock_sdk_recorder(sdk_lib, ID_CODE, PASSWORD, lambda: STATION_NOW,
                                 appearing_volume([device.mount_root]), 0, station_tz=SHANGHAI)
    identity = recorder.identity()
    assert (identity.source, identity.serial, identity.model) == ("sdk", "ZFY0001", ID_CODE)
    assert (identity.officer_no, identity.officer_name) == ("100234", "张伟")
    assert (identity.unit_no, identity.unit_name) == ("330100", "某某市公安局交警支队")
    assert identity.clock_offset_seconds == 300  # device 09:35:00 against station 09:30:00
    assert identity.device_clock == datetime(2024, 3, 15, 9, 35, tzinfo=SHANGHAI)
    assert identity.clock_synced is True
    assert device.calls() == ["Init_Device", "GetZFYInfo", "GetDevTime", "SyncDevTime", "SetMSDC",
                              "UnInit_Device"]
    assert device.clock() != "2024-03-15 09:35:00"  # the sync happened, after the reading
    assert recorder.volume_root() == device.mount_root / "ZFY_DISK"
    assert [f.path for f in recorder.list_files()] == [f"DCIM/{CLIP}"]
    with recorder.open(f"DCIM/{CLIP}") as stream:
        assert stream.read() == b"footage"


def test_a_slow_device_clock_gives_a_negative_offset(sdk_lib: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    device = Device(tmp_path, monkeypatch, clock="2024-03-15 09:28:59")
    identity = device.dock(sdk_lib).identity()
    assert identity.clock_offset_seconds == -61


def test_a_wrong_password_says_which_setting_to_fix_and_changes_nothing(sdk_lib: Path,
                                                                        device: Device) -> None:
    with pytest.raises(PasswordRefused) as refused:
        device.dock(sdk_lib, password="123456")
    assert "the station's recorder password was refused" in str(refused.value)
    assert "set EVIDENCE_RECORDER_PASSWORD" in str(refused.value)
    assert device.calls() == ["Init_Device", "GetZFYInfo", "UnInit_Device"]
    assert device.clock() == "2024-03-15 09:35:00"
    assert list(device.mount_root.iterdir()) == []


@pytest.mark.parametrize("after", ["GetZFYInfo", "GetDevTime", "SyncDevTime"])
def test_an_unplug_between_calls_stops_the_dock_and_releases_the_sdk(
        sdk_lib: Path, device: Device, after: str) -> None:
    (device.state / "unplug_after").write_text(after)
    with pytest.raises(RecorderUnplugged, match="check the cable"):
        device.dock(sdk_lib)
    calls = device.calls()
    assert calls[-1] == "UnInit_Device"
    assert len(calls) == calls.index(after) + 3  # one more call found it gone, then release
    assert list(device.mount_root.iterdir()) == []


def test_an_unplug_found_by_the_next_call_in_a_session(sdk_lib: Path, device: Device) -> None:
    sdk = Gat947Sdk(sdk_lib)
    with sdk.session(ID_CODE):
        assert sdk.read_info(PASSWORD) == OFFICER
        (device.state / "unplugged").touch()
        with pytest.raises(RecorderUnplugged):
            sdk.switch_to_mass_storage(PASSWORD)
    assert device.calls()[-1] == "UnInit_Device"


def test_a_wrong_id_code_is_refused_at_init(sdk_lib: Path, device: Device) -> None:
    with pytest.raises(RecorderUnplugged, match="ID code"):
        dock_sdk_recorder(sdk_lib, "OTHER", PASSWORD, lambda: STATION_NOW, lambda: None, 0)
    assert device.calls() == ["Init_Device"]


def test_gbk_names_fit_and_round_trip_through_the_device(sdk_lib: Path, device: Device) -> None:
    assert len("张伟".encode("gbk")) == 4 and len("某某市公安局交警支队".encode("gbk")) == 20  # < 33
    renamed = ZfyInfo("ZFY0002", "200001", "欧阳娜娜", "330102", "某某市公安局西湖区分局")
    sdk = Gat947Sdk(sdk_lib)
    with sdk.session(ID_CODE):
        sdk.write_info(renamed, PASSWORD)
        assert sdk.read_info(PASSWORD) == renamed
    assert (device.state / "info").read_bytes()[15:15 + 8] == "欧阳娜娜".encode("gbk")


def test_fields_that_fill_their_arrays_have_no_nul_and_do_not_run_on(
        sdk_lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unit_name = "某" * 16 + "X"  # 33 bytes in GBK: the whole array
    info = pack(cSerial=b"ZFY12345", userNo=b"1234567", userName="张伟".encode("gbk"),
                unitNo=b"ABCDEFGHIJKLM", unitName=unit_name.encode("gbk"))
    device = Device(tmp_path, monkeypatch, info=info,
                    files={"ZFY12345_1234567_20240315093500_0001.MP4": b"x"})
    identity = device.dock(sdk_lib).identity()
    assert (identity.serial, identity.officer_no, identity.unit_no, identity.unit_name) == (
        "ZFY12345", "1234567", "ABCDEFGHIJKLM", unit_name)


def test_bytes_after_the_nul_are_ignored_and_a_bad_serial_is_refused() -> None:
    raw = ZFY_INFO.from_buffer_copy(pack(userName="张伟".encode("gbk") + b"\0garbage"))
    assert decode_info(raw).officer_name == "张伟"
    bad_name = ZFY_INFO.from_buffer_copy(pack(userName=b"\xb2"))  # half a GBK character
    assert decode_info(bad_name).officer_name == "\ufffd"
    bad_serial = ZFY_INFO.from_buffer_copy(pack(cSerial=b"ZFY\xff"))
    with pytest.raises(RecorderRefused, match="not GBK"):
        decode_info(bad_serial)


def test_a_field_too_long_for_the_recorder_is_refused() -> None:
    with pytest.raises(ConfigError, match="userName"):
        encode_info(ZfyInfo("ZFY0001", "100234", "张" * 17, "", ""))  # 34 bytes


_GBK_TEXT = st.text(alphabet=st.sampled_from("ABZ09 -张伟某市公安局交警支队欧阳娜"), max_size=16)


@given(serial=_GBK_TEXT, officer=_GBK_TEXT, name=_GBK_TEXT, unit_no=_GBK_TEXT, unit=_GBK_TEXT)
def test_info_round_trips_through_the_packed_struct(serial: str, officer: str, name: str,
                                                    unit_no: str, unit: str) -> None:
    info = ZfyInfo(serial, officer, name, unit_no, unit)
    sizes = {"cSerial": 8, "userNo": 7, "userName": 33, "unitNo": 13, "unitName": 33}
    values = dict(zip(sizes, (serial, officer, name, unit_no, unit), strict=True))
    if any(len(values[k].encode("gbk")) >= size for k, size in sizes.items()):
        with pytest.raises(ConfigError):
            encode_info(info)
        return
    stripped = ZfyInfo(*(v.strip() for v in (serial, officer, name, unit_no, unit)))
    assert decode_info(ZFY_INFO.from_buffer_copy(bytes(encode_info(info)))) == stripped


def test_without_a_clock_call_the_offset_is_unknown_but_the_dock_goes_on(
        sdk_lib_without_clock: Path, device: Device) -> None:
    identity = device.dock(sdk_lib_without_clock).identity()
    assert identity.clock_offset_seconds is None and identity.device_clock is None
    assert identity.clock_synced is True
    assert "GetDevTime" not in device.calls()


def test_a_refused_clock_sync_is_recorded_and_the_dock_goes_on(sdk_lib: Path, device: Device) -> None:
    (device.state / "refuse_sync").touch()
    identity = device.dock(sdk_lib).identity()
    assert identity.clock_synced is False and identity.clock_offset_seconds == 300


def test_a_volume_that_never_appears_times_out(sdk_lib: Path, device: Device, tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-watched"
    elsewhere.mkdir()
    with pytest.raises(VolumeTimeout, match="mount roots"):
        dock_sdk_recorder(sdk_lib, ID_CODE, PASSWORD, lambda: STATION_NOW,
                          appearing_volume([elsewhere]), 0, station_tz=SHANGHAI)


def test_waiting_for_the_volume_can_be_cancelled(sdk_lib: Path, device: Device) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(DeviceError, match="cancelled"):
        dock_sdk_recorder(sdk_lib, ID_CODE, PASSWORD, lambda: STATION_NOW, lambda: None, 3600,
                          station_tz=SHANGHAI, stop=stop)


def test_a_volume_of_another_recorder_is_refused(sdk_lib: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    device = Device(tmp_path, monkeypatch, files={"ZFY0999_555555_20240315093500_0001.MP4": b"x"})
    with pytest.raises(VolumeMismatch, match="ZFY0999"):
        device.dock(sdk_lib)


def test_a_station_clock_without_a_zone_is_a_configuration_error(sdk_lib: Path, device: Device) -> None:
    naive = STATION_NOW.replace(tzinfo=None)
    with pytest.raises(ConfigError, match="time zone"):
        dock_sdk_recorder(sdk_lib, ID_CODE, PASSWORD, lambda: naive, lambda: None, 0)
    assert device.calls()[-1] == "UnInit_Device"


def test_offsets_are_measured_at_the_midpoint_of_the_clock_call(sdk_lib: Path, device: Device) -> None:
    readings = iter([STATION_NOW - timedelta(seconds=2), STATION_NOW + timedelta(seconds=2)])
    sdk = Gat947Sdk(sdk_lib)
    with sdk.session(ID_CODE):
        reading = sdk.read_clock(PASSWORD, lambda: next(readings), SHANGHAI)
    assert reading is not None and reading.offset_seconds == 300


def test_a_library_that_is_missing_or_not_an_sdk_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RecorderLibraryError, match="vendor library"):
        Gat947Sdk(tmp_path / "absent.so")
    with pytest.raises(RecorderLibraryError, match="Init_Device"):
        Gat947Sdk("libm.so.6")  # a real library, but not a recorder SDK
