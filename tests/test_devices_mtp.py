"""MTP recorders: discovery against the real libmtp9; file logic against a fake libmtp
(tests/fakes/fake_libmtp.c, built with gcc) loaded through the same ctypes path."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices import libmtp
from devices.base import Recorder
from devices.errors import (
    RecorderBusy,
    RecorderClosed,
    RecorderFileMissing,
    RecorderLibraryError,
    RecorderUnplugged,
    UnsafePath,
)
from devices.mass_storage import registry_lookup
from devices.mtp import MtpDeviceInfo, MtpRecorder, discover_mtp
from domain.recorder import RegistryEntry

FAKES = Path(__file__).parent / "fakes"
CLIP = "ZFY0001_100234_20240315093000_0001.MP4"
BIG = os.urandom(300_000)  # several pipe buffers: the reader must keep up with the writer


@pytest.fixture(scope="session")
def fake_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("mtp") / "libfakemtp.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(lib),
                    str(FAKES / "fake_libmtp.c")], check=True, capture_output=True)
    return lib


@pytest.fixture
def device_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "mtp-device"
    internal = root / "storage" / "Internal storage" / "DCIM" / "100MEDIA"
    internal.mkdir(parents=True)
    (internal / CLIP).write_bytes(BIG)
    os.utime(internal / CLIP, (1_710_466_200, 1_710_466_200))
    (internal / "ZFY0001_100234_20240315093100_0002.MP4").write_bytes(b"second")
    (internal / "ZFY0001_100234_20240315093100_0002.MP4").chmod(0o444)
    card = root / "storage" / "SD card" / "IMPORTANT"
    card.mkdir(parents=True)
    (card / "ZFY0001_100234_20240315094000_0003.MP4").write_bytes(b"flagged")
    (root / "serial").write_text("MTPSERIAL01\n")
    (root / "model").write_text("DSJ-Z1\n")
    monkeypatch.setenv("FAKE_LIBMTP_ROOT", str(root))
    return root


def test_real_libmtp_finds_no_device_on_this_machine_and_says_so_cleanly() -> None:
    try:
        libmtp.load()
    except RecorderLibraryError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("libmtp9 is not installed: apt-get install libmtp9 (scripts/install-system-deps)")
    assert discover_mtp() == []


def test_a_missing_library_is_reported_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(RecorderLibraryError, match="apt-get install libmtp9"):
        discover_mtp(tmp_path / "libmtp.so.9")


def test_discovery_through_the_fake(fake_lib: Path, device_root: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert discover_mtp(fake_lib) == [MtpDeviceInfo("Fake Vendor", "Fake Body Camera", 0x1234,
                                                    0x5678, bus_location=1, devnum=7)]
    (device_root / "unplugged").touch()
    assert discover_mtp(fake_lib) == []
    monkeypatch.delenv("FAKE_LIBMTP_ROOT")
    assert discover_mtp(fake_lib) == []


def test_files_are_listed_on_every_storage_with_sizes_times_and_marks(fake_lib: Path,
                                                                     device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    assert isinstance(recorder, Recorder) and recorder.volume_root() is None
    files = {f.path: f for f in recorder.list_files()}
    assert list(files) == [f"Internal storage/DCIM/100MEDIA/{CLIP}",
                           "Internal storage/DCIM/100MEDIA/ZFY0001_100234_20240315093100_0002.MP4",
                           "SD card/IMPORTANT/ZFY0001_100234_20240315094000_0003.MP4"]
    clip = files[f"Internal storage/DCIM/100MEDIA/{CLIP}"]
    assert (clip.size, clip.mtime) == (300_000, datetime(2024, 3, 15, 1, 30, tzinfo=UTC))
    assert not clip.locked and not clip.important
    assert files["Internal storage/DCIM/100MEDIA/ZFY0001_100234_20240315093100_0002.MP4"].locked
    assert files["SD card/IMPORTANT/ZFY0001_100234_20240315094000_0003.MP4"].important


def test_a_single_storage_lists_from_its_root(fake_lib: Path, device_root: Path) -> None:
    shutil.rmtree(device_root / "storage" / "SD card")
    paths = [f.path for f in MtpRecorder(lib_path=fake_lib).list_files()]
    assert paths[0] == f"DCIM/100MEDIA/{CLIP}"


def test_a_file_streams_whole(fake_lib: Path, device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    with recorder.open(f"Internal storage/DCIM/100MEDIA/{CLIP}") as stream:
        assert stream.read() == BIG


def test_an_unplug_mid_transfer_fails_the_read_and_the_device_is_gone(fake_lib: Path,
                                                                      device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    path = f"Internal storage/DCIM/100MEDIA/{CLIP}"
    recorder.list_files()
    (device_root / "unplug_after_bytes").write_text("100000")
    got = bytearray()
    with recorder.open(path) as stream, pytest.raises(
            RecorderUnplugged, match=rf"^recorder unplugged during read of {path} at byte 100000 "
                                     r"\(fake libmtp: device disconnected mid-transfer\)"):
        while chunk := stream.read(8192):
            got += chunk
    assert bytes(got) == BIG[:len(got)] and len(got) <= 100_000
    with pytest.raises(RecorderUnplugged, match="stopped answering"):
        recorder.list_files()
    assert discover_mtp(fake_lib) == []


def test_one_transfer_at_a_time_and_closing_early_frees_the_device(fake_lib: Path,
                                                                   device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    stream = recorder.open(f"Internal storage/DCIM/100MEDIA/{CLIP}")
    assert stream.read(10) == BIG[:10]
    with pytest.raises(RecorderBusy):
        recorder.list_files()
    with pytest.raises(RecorderBusy):
        recorder.open("SD card/IMPORTANT/ZFY0001_100234_20240315094000_0003.MP4")
    stream.close()  # the writer is still blocked on the full pipe: closing must end it
    with recorder.open("SD card/IMPORTANT/ZFY0001_100234_20240315094000_0003.MP4") as other:
        assert other.read() == b"flagged"


def test_delete_removes_the_object_and_refuses_unsafe_or_unknown_paths(fake_lib: Path,
                                                                       device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    target = "SD card/IMPORTANT/ZFY0001_100234_20240315094000_0003.MP4"
    recorder.delete(target)
    assert not (device_root / "storage" / target).exists()
    assert target not in {f.path for f in recorder.list_files()}
    with pytest.raises(RecorderFileMissing):
        recorder.delete(target)
    for unsafe in ("../serial", "/SD card/x", "SD card/../serial"):
        with pytest.raises(UnsafePath):
            recorder.delete(unsafe)
    with pytest.raises(RecorderFileMissing):
        recorder.delete("SD card/IMPORTANT")  # a folder is not a file
    assert (device_root / "serial").exists()


def test_identity_from_device_serial_registry_and_file_names(fake_lib: Path, device_root: Path) -> None:
    plain = MtpRecorder(lib_path=fake_lib).identity()
    assert (plain.source, plain.serial, plain.model, plain.officer_no) == (
        "files", "MTPSERIAL01", "DSJ-Z1", "100234")
    lookup = registry_lookup({"mtpserial01": RegistryEntry("100234", "张伟", unit_name="交警支队")})
    known = MtpRecorder(lib_path=fake_lib, lookup=lookup).identity()
    assert (known.source, known.serial, known.officer_name) == ("registry", "MTPSERIAL01", "张伟")


def test_an_unknown_mtp_device_still_works(fake_lib: Path, device_root: Path) -> None:
    for clip in (device_root / "storage").rglob("*.MP4"):
        clip.rename(clip.with_name("MOVI0001.MP4"))
    identity = MtpRecorder(lib_path=fake_lib).identity()
    assert (identity.source, identity.serial, identity.officer_no) == ("unknown", "MTPSERIAL01", None)


def test_after_eject_the_device_is_released(fake_lib: Path, device_root: Path) -> None:
    recorder = MtpRecorder(lib_path=fake_lib)
    recorder.eject()
    recorder.eject()  # twice is harmless
    with pytest.raises(RecorderClosed):
        recorder.list_files()


def test_opening_a_device_that_went_away(fake_lib: Path, device_root: Path) -> None:
    found = discover_mtp(fake_lib)
    (device_root / "unplugged").touch()
    with pytest.raises(RecorderUnplugged, match="no longer attached"):
        MtpRecorder(found[0], lib_path=fake_lib)
