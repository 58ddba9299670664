"""The simulated recorder: docks, undocks and is yanked the way a USB recorder is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from devices.base import Recorder
from devices.errors import RecorderUnplugged
from devices.mass_storage import MassStorageRecorder, PollingWatcher, VolumeEvent, poll_volumes
from devices.simulated import SimulatedRecorder, gat947_name
from domain.errors import DeviceError

BIG = bytes(range(256)) * 4096  # 1 MiB, bigger than one read buffer


def make_recorder(mount_root: Path) -> SimulatedRecorder:
    return SimulatedRecorder(mount_root, "ZFY0001", "100234", [BIG, b"second clip"])


def test_docking_and_undocking_is_seen_by_the_mount_root_watcher(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    watcher = PollingWatcher([tmp_path])
    assert watcher.poll_once() == []  # made, but not docked: its parked folder is hidden
    volume = recorder.dock()
    assert watcher.poll_once() == [VolumeEvent("arrived", tmp_path / "ZFY0001")] == \
        [VolumeEvent("arrived", volume)]
    recorder.undock()
    assert watcher.poll_once() == [VolumeEvent("left", volume)]
    recorder.dock()
    assert watcher.poll_once() == [VolumeEvent("arrived", volume)]


def test_files_are_named_ga_t_947_style_and_identify_the_recorder(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    recorder.dock()
    assert isinstance(recorder, Recorder)
    assert [f.path for f in recorder.list_files()] == [
        "ZFY0001_100234_20240315093000_0001.MP4", "ZFY0001_100234_20240315093100_0002.MP4"]
    identity = recorder.identity()
    assert (identity.source, identity.serial, identity.officer_no) == ("files", "ZFY0001", "100234")
    with recorder.open(recorder.list_files()[0].path) as stream:
        assert stream.read() == BIG


def test_what_the_station_deleted_stays_deleted_after_redocking(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    recorder.dock()
    recorder.delete("ZFY0001_100234_20240315093000_0001.MP4")
    recorder.undock()
    recorder.dock()
    assert [f.path for f in recorder.list_files()] == ["ZFY0001_100234_20240315093100_0002.MP4"]


def test_a_read_can_be_made_to_fail_after_n_bytes_once(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    recorder.dock()
    name = gat947_name("ZFY0001", "100234", datetime(2024, 3, 15, 9, 30), 1)
    recorder.fail_read_after(name, 300_000)
    got = bytearray()
    with recorder.open(name) as stream, pytest.raises(
            RecorderUnplugged, match=rf"^recorder unplugged during read of {name} at byte 300000"):
        while chunk := stream.read(65536):
            got += chunk
    assert 0 < len(got) <= 300_000 and bytes(got) == BIG[:len(got)]  # never a byte past the fault
    with recorder.open(name) as stream:  # the fault was for the next read only
        assert stream.read() == BIG


def test_yanking_mid_read_fails_the_open_stream_and_the_volume_vanishes(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    volume = recorder.dock()
    name = recorder.list_files()[0].path
    by_path = MassStorageRecorder(volume)
    stream = recorder.open(name)
    assert stream.read(1000) == BIG[:1000]
    recorder.yank()
    with pytest.raises(RecorderUnplugged, match="recorder unplugged during read"):
        stream.read()
    assert poll_volumes([tmp_path]) == set()
    with pytest.raises(RecorderUnplugged):
        by_path.list_files()
    with pytest.raises(RecorderUnplugged, match="not docked"):
        recorder.open(name)
    assert recorder.volume_root() is None


def test_docking_twice_or_a_label_taken_is_refused(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    recorder.dock()
    with pytest.raises(DeviceError, match="already docked"):
        recorder.dock()
    with pytest.raises(DeviceError, match="already exists"):
        make_recorder(tmp_path)


def test_a_copy_of_a_card_folder_keeps_links_as_links(tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    (card / "DCIM" / "clip.MP4").write_bytes(b"clip")
    (card / "DCIM" / "escape.MP4").symlink_to("/etc/hostname")
    recorder = SimulatedRecorder.from_folder(tmp_path / "mnt", "ZFY0002", "100235", card)
    volume = recorder.dock()
    assert (volume / "DCIM" / "escape.MP4").is_symlink()
    assert [f.path for f in recorder.list_files()] == ["DCIM/clip.MP4"]
    recorder.eject()
    assert not volume.exists() and not recorder.docked
