"""Mass-storage recorders: discovery by polling mount roots, identity, safe reads and deletes."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devices.base import Recorder
from devices.errors import RecorderClosed, RecorderFileMissing, RecorderUnplugged, UnsafePath
from devices.mass_storage import (
    MassStorageRecorder,
    PollingWatcher,
    VolumeEvent,
    appearing_volume,
    poll_volumes,
    registry_lookup,
)
from devices.udev import parse_mounts, udev_volumes
from domain.errors import DeviceError
from domain.recorder import RegistryEntry

CLIP = "ZFY0001_100234_20240315093000_0001.MP4"


def make_volume(mount_root: Path, name: str = "REC01") -> Path:
    volume = mount_root / name
    (volume / "DCIM" / "100MEDIA").mkdir(parents=True)
    (volume / "DCIM" / "100MEDIA" / CLIP).write_bytes(b"v" * 5000)
    (volume / "DCIM" / "100MEDIA" / "ZFY0001_100234_20240315093100_0002.MP4").write_bytes(b"w" * 10)
    (volume / "EVENT").mkdir()
    (volume / "EVENT" / "ZFY0001_100234_20240315094000_0003.MP4").write_bytes(b"e" * 7)
    return volume


# --- discovery ----------------------------------------------------------------------------

def test_volumes_are_the_real_folders_directly_under_the_mount_roots(tmp_path: Path) -> None:
    first, second = tmp_path / "media", tmp_path / "run-media"
    first.mkdir()
    second.mkdir()
    (first / "REC01").mkdir()
    (second / "REC02" / "nested").mkdir(parents=True)
    (first / "notes.txt").write_text("not a volume")
    (first / ".staging-x").mkdir()
    (first / "elsewhere").symlink_to(tmp_path)
    assert poll_volumes([first, second, tmp_path / "missing"]) == {first / "REC01", second / "REC02"}


def test_an_unreadable_mount_root_says_what_to_check(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(DeviceError, match="mount root"):
        poll_volumes([not_a_folder])


def test_the_watcher_reports_arrivals_and_departures_step_by_step(tmp_path: Path) -> None:
    (tmp_path / "ALREADY").mkdir()
    watcher = PollingWatcher([tmp_path], interval=60)
    assert watcher.poll_once() == [VolumeEvent("arrived", tmp_path / "ALREADY")]
    assert watcher.poll_once() == []
    (tmp_path / "REC02").mkdir()
    assert watcher.poll_once() == [VolumeEvent("arrived", tmp_path / "REC02")]
    (tmp_path / "ALREADY").rmdir()
    (tmp_path / "REC03").mkdir()
    assert watcher.poll_once() == [VolumeEvent("left", tmp_path / "ALREADY"),
                                   VolumeEvent("arrived", tmp_path / "REC03")]
    assert watcher.known == {tmp_path / "REC02", tmp_path / "REC03"}


@pytest.mark.timeout(10)
def test_watching_ends_as_soon_as_stop_is_set_without_waiting_out_the_interval(tmp_path: Path) -> None:
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    stop = threading.Event()
    events = PollingWatcher([tmp_path], interval=3600).watch(stop)
    assert next(events) == VolumeEvent("arrived", tmp_path / "A")
    stop.set()
    assert list(events) == [VolumeEvent("arrived", tmp_path / "B")]  # then it returns at once


def test_appearing_volume_ignores_what_was_already_docked(tmp_path: Path) -> None:
    (tmp_path / "OLD").mkdir()
    probe = appearing_volume([tmp_path])
    assert probe() is None
    (tmp_path / "NEW").mkdir()
    assert probe() == tmp_path / "NEW"


def test_udev_discovery_is_empty_not_a_crash_without_udev_or_devices(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(v.usb for v in udev_volumes())  # this machine: whatever it has, no crash
    assert udev_volumes(mounts_file=tmp_path / "no-such-mounts") == []
    monkeypatch.setitem(sys.modules, "pyudev", None)  # no pyudev / libudev at all
    assert udev_volumes(usb_only=False) == []


def test_mount_table_escapes_are_decoded() -> None:
    mounts = parse_mounts("/dev/sdb1 /media/station/ZFY\\040CAM vfat rw,nosuid 0 0\nshort line\n")
    assert [(m.source, m.mount_point, m.fs_type) for m in mounts] == [
        ("/dev/sdb1", Path("/media/station/ZFY CAM"), "vfat")]


# --- listing ------------------------------------------------------------------------------

def test_listing_gives_regular_files_with_sizes_times_and_marks(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    clip = volume / "DCIM" / "100MEDIA" / CLIP
    os.utime(clip, ns=(1_710_466_200_123_456_789, 1_710_466_200_123_456_789))
    clip.chmod(0o444)  # how vfat shows the FAT read-only attribute
    (volume / "outside-link").symlink_to(tmp_path / "elsewhere")
    os.mkfifo(volume / "pipe")
    recorder = MassStorageRecorder(volume)
    assert isinstance(recorder, Recorder)
    files = {f.path: f for f in recorder.list_files()}
    assert sorted(files) == [f"DCIM/100MEDIA/{CLIP}", "DCIM/100MEDIA/ZFY0001_100234_20240315093100_0002.MP4",
                             "EVENT/ZFY0001_100234_20240315094000_0003.MP4"]
    first = files[f"DCIM/100MEDIA/{CLIP}"]
    assert first.size == 5000
    assert first.mtime == datetime(2024, 3, 15, 1, 30, 0, 123456, tzinfo=UTC)
    assert first.locked and not first.important
    assert files["EVENT/ZFY0001_100234_20240315094000_0003.MP4"].important
    assert recorder.volume_root() == volume


def test_a_volume_that_vanished_is_reported_unplugged(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    recorder = MassStorageRecorder(volume)
    volume.rename(tmp_path / ".gone")
    with pytest.raises(RecorderUnplugged, match="dock the recorder again"):
        recorder.list_files()


# --- reading ------------------------------------------------------------------------------

def test_open_streams_the_file(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    with MassStorageRecorder(volume).open(f"DCIM/100MEDIA/{CLIP}") as stream:
        assert stream.read() == b"v" * 5000


@pytest.mark.parametrize("path", ["../outside.bin", "/etc/passwd", "DCIM/../../outside.bin", "",
                                  "DCIM//x", "./DCIM", "a\x00b"])
def test_open_refuses_paths_that_leave_the_recorder(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.bin").write_bytes(b"secret")
    volume = make_volume(tmp_path / "mnt")
    with pytest.raises(UnsafePath):
        MassStorageRecorder(volume).open(path)


def test_open_never_follows_a_link_at_any_level(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.MP4").write_bytes(b"secret")
    volume = make_volume(tmp_path / "mnt")
    (volume / "linked-dir").symlink_to(tmp_path / "outside")
    (volume / "linked.MP4").symlink_to(tmp_path / "outside" / "secret.MP4")
    recorder = MassStorageRecorder(volume)
    for path in ("linked-dir/secret.MP4", "linked.MP4"):
        with pytest.raises(UnsafePath, match="symbolic link"):
            recorder.open(path)


def test_open_refuses_a_special_file_without_hanging(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    os.mkfifo(volume / "pipe.MP4")
    with pytest.raises(UnsafePath, match="not a regular file"):
        MassStorageRecorder(volume).open("pipe.MP4")


def test_open_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(RecorderFileMissing):
        MassStorageRecorder(make_volume(tmp_path)).open("DCIM/none.MP4")


def test_a_read_error_mid_file_is_reported_as_an_unplugged_recorder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = make_volume(tmp_path)
    stream = MassStorageRecorder(volume).open(f"DCIM/100MEDIA/{CLIP}")
    real_readv = os.readv
    calls = []

    def readv_then_eio(fd: int, buffers: list[memoryview]) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.EIO, "Input/output error")
        return real_readv(fd, [buffers[0][:1000]])

    monkeypatch.setattr(os, "readv", readv_then_eio)
    assert stream.read(1000) == b"v" * 1000
    with pytest.raises(RecorderUnplugged, match=r"^recorder unplugged during read of "
                       rf"DCIM/100MEDIA/{CLIP} at byte 1000"):
        stream.read(1000)


# --- deleting -----------------------------------------------------------------------------

def test_delete_removes_exactly_the_named_file(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    recorder = MassStorageRecorder(volume)
    recorder.delete(f"DCIM/100MEDIA/{CLIP}")
    assert f"DCIM/100MEDIA/{CLIP}" not in {f.path for f in recorder.list_files()}
    assert len(recorder.list_files()) == 2
    with pytest.raises(RecorderFileMissing):
        recorder.delete(f"DCIM/100MEDIA/{CLIP}")


def test_delete_refuses_links_folders_and_escapes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.MP4").write_bytes(b"keep")
    volume = make_volume(tmp_path / "mnt")
    (volume / "link.MP4").symlink_to(outside / "keep.MP4")
    (volume / "linked-dir").symlink_to(outside)
    recorder = MassStorageRecorder(volume)
    for path, error in [("link.MP4", UnsafePath), ("linked-dir/keep.MP4", UnsafePath),
                        ("DCIM", UnsafePath), ("../outside/keep.MP4", UnsafePath),
                        (str(outside / "keep.MP4"), UnsafePath)]:
        with pytest.raises(error):
            recorder.delete(path)
    assert (outside / "keep.MP4").read_bytes() == b"keep"
    assert (volume / "link.MP4").is_symlink()


def test_a_listed_file_whose_folder_was_swapped_for_another_real_folder_is_neither_read_nor_deleted(
        tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "100MEDIA"
    outside.mkdir(parents=True)
    (outside / CLIP).write_bytes(b"s" * 5000)  # same name and size as the listed clip
    volume = make_volume(tmp_path / "mnt")
    recorder = MassStorageRecorder(volume)
    assert f"DCIM/100MEDIA/{CLIP}" in {f.path for f in recorder.list_files()}
    folder = volume / "DCIM" / "100MEDIA"
    folder.rename(volume / "DCIM" / "moved")
    outside.rename(folder)  # a real folder, not a link: only its identity tells it apart
    with pytest.raises(UnsafePath, match="replaced"):
        recorder.open(f"DCIM/100MEDIA/{CLIP}")
    with pytest.raises(UnsafePath, match="replaced"):
        recorder.delete(f"DCIM/100MEDIA/{CLIP}")
    assert (folder / CLIP).read_bytes() == b"s" * 5000
    # a new listing sees the volume as it now is
    recorder.list_files()
    with recorder.open(f"DCIM/100MEDIA/{CLIP}") as stream:
        assert stream.read() == b"s" * 5000


_PARTS = st.sampled_from(["..", ".", "", "DCIM", "linked-dir", "keep.MP4", "x", "/", "link.MP4"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(_PARTS, min_size=1, max_size=5).map("/".join))
@example(path="linked-dir/keep.MP4")
@example(path="DCIM/../linked-dir/keep.MP4")
def test_no_path_deletes_anything_outside_the_volume(tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside"
    volume = tmp_path / "mnt" / "REC"
    if not outside.exists():
        outside.mkdir()
        volume.mkdir(parents=True)
        (volume / "linked-dir").symlink_to(outside)
        (volume / "link.MP4").symlink_to(outside / "keep.MP4")
    (outside / "keep.MP4").write_bytes(b"keep")
    (volume / "keep.MP4").write_bytes(b"inside")
    with contextlib.suppress(DeviceError):
        MassStorageRecorder(volume).delete(path)
    assert (outside / "keep.MP4").read_bytes() == b"keep"
    assert (volume / "linked-dir").is_symlink() and (volume / "link.MP4").is_symlink()


# --- identity -----------------------------------------------------------------------------

def test_identity_from_the_registry_by_volume_label(tmp_path: Path) -> None:
    volume = make_volume(tmp_path, "ZFY-LABEL")
    entry = RegistryEntry("100234", "张伟", "330100", "某某市公安局交警支队", serial="ZFY0001")
    identity = MassStorageRecorder(volume, lookup=registry_lookup({"zfy-label": entry})).identity()
    assert (identity.source, identity.officer_name, identity.serial) == ("registry", "张伟", "ZFY0001")
    assert identity.clock_offset_seconds is None and identity.device_clock is None


def test_identity_from_the_registry_by_the_serial_in_file_names(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    lookup = registry_lookup({"ZFY0001": RegistryEntry("100234", "张伟")})
    identity = MassStorageRecorder(volume, lookup=lookup).identity()
    assert (identity.source, identity.serial, identity.officer_name) == ("registry", "ZFY0001", "张伟")


def test_identity_from_file_names_when_the_registry_does_not_know_it(tmp_path: Path) -> None:
    volume = make_volume(tmp_path)
    (volume / "ZFY0999_555555_20240101000000_0001.MP4").write_bytes(b"an old clip")
    identity = MassStorageRecorder(volume, lookup=registry_lookup({})).identity()
    assert (identity.source, identity.serial, identity.officer_no) == ("files", "ZFY0001", "100234")


def test_an_unknown_recorder_still_works(tmp_path: Path) -> None:
    volume = tmp_path / "NONAME"
    volume.mkdir()
    (volume / "MOVI0001.AVI").write_bytes(b"clip")
    recorder = MassStorageRecorder(volume, keys=["LABEL", "UUID-1"], lookup=registry_lookup({}))
    assert recorder.identity().source == "unknown"
    assert recorder.identity().serial is None
    assert [f.path for f in recorder.list_files()] == ["MOVI0001.AVI"]


def test_after_eject_the_recorder_refuses_further_use(tmp_path: Path) -> None:
    recorder = MassStorageRecorder(make_volume(tmp_path))
    recorder.eject()  # not a mount point here: nothing to unmount
    with pytest.raises(RecorderClosed, match="dock it again"):
        recorder.list_files()
    with pytest.raises(RecorderClosed):
        recorder.open(f"DCIM/100MEDIA/{CLIP}")
