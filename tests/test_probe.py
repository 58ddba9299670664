"""probe(): real files made by ffmpeg, damaged files, and garbage bytes."""

from __future__ import annotations

import contextlib
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from domain.errors import MediaError
from ingest.synthetic import CAMERA_MAKE, CAMERA_MODEL, make_recorder_image
from media.ffmpeg_tools import ffmpeg_executable, run_ffmpeg
from media.probe import MediaInfo, parse_exif_datetime, parse_header_time, probe

MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_recorder_image(tmp_path_factory.mktemp("card"))


def _floats_in(value: object) -> list[object]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats_in(v)]
    if isinstance(value, list | tuple):
        return [f for v in value for f in _floats_in(v)]
    return []


def test_h264_segment_is_described_in_integers_and_utc(card: dict[str, Path]) -> None:
    info = probe(card["segment_1"])
    assert info.kind == "video"
    assert info.container == MP4_FAMILY
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.video_pixel_format == "yuv420p"
    assert (info.width, info.height) == (320, 240)
    assert isinstance(info.duration_ms, int)
    assert abs(info.duration_ms - 3000) <= 100
    # The recorder runs on UTC+8: 09:30 local is 01:30 UTC in the header.
    assert info.creation_time == datetime(2024, 3, 15, 1, 30, tzinfo=UTC)


def test_to_record_is_json_without_floats(card: dict[str, Path]) -> None:
    for role in ("segment_1", "wav", "photo", "avi"):
        record = probe(card[role]).to_record()
        assert _floats_in(record) == []
        assert orjson.loads(orjson.dumps(record)) == record


@pytest.mark.parametrize(
    ("role", "kind", "container", "video", "audio"),
    [
        ("avi", "video", "avi", "mpeg4", "pcm_s16le"),
        ("hevc_mov", "video", MP4_FAMILY, "hevc", "aac"),
        ("wav", "audio", "wav", None, "pcm_s16le"),
        ("cjk_name", "video", MP4_FAMILY, "h264", "aac"),
    ],
)
def test_each_recorder_format_is_recognised(
    card: dict[str, Path],
    role: str,
    kind: str,
    container: str,
    video: str | None,
    audio: str | None,
) -> None:
    info = probe(card[role])
    assert (info.kind, info.container, info.video_codec, info.audio_codec) == (
        kind,
        container,
        video,
        audio,
    )
    assert info.duration_ms is not None and abs(info.duration_ms - 2000) <= 100


def test_raw_mjpeg_stream_is_video_not_a_photo(card: dict[str, Path], tmp_path: Path) -> None:
    # Same demuxer as a single JPEG, but many pictures: it must not be filed as a photo.
    stream = tmp_path / "camera.mjpeg"
    run_ffmpeg(
        ["-i", str(card["segment_1"]), "-an", "-c:v", "mjpeg", "-f", "mjpeg", str(stream)],
        what="MJPEG stream for the test",
    )
    info = probe(stream)
    assert (info.kind, info.video_codec) == ("video", "mjpeg")


def test_wav_has_no_picture_size(card: dict[str, Path]) -> None:
    info = probe(card["wav"])
    assert (info.width, info.height, info.video_pixel_format) == (None, None, None)


def test_photo_exif_time_and_camera(card: dict[str, Path]) -> None:
    info = probe(card["photo"])
    assert info.kind == "image"
    assert info.duration_ms is None
    assert (info.width, info.height) == (320, 240)
    assert info.exif_datetime_original == datetime(2024, 3, 15, 9, 32, 0)
    assert (info.camera_make, info.camera_model) == (CAMERA_MAKE, CAMERA_MODEL)


def test_photo_with_zeroed_exif_time_still_probes(card: dict[str, Path], tmp_path: Path) -> None:
    damaged = tmp_path / "zeroed.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    with Image.open(card["photo"]) as picture:
        picture.save(damaged, format="JPEG", exif=exif)
    info = probe(damaged)
    assert info.kind == "image"
    assert info.exif_datetime_original is None


def test_png_without_exif_is_an_image(tmp_path: Path) -> None:
    png = tmp_path / "screen.png"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(png)
    info = probe(png)
    assert (info.kind, info.width, info.height, info.exif_datetime_original) == (
        "image",
        64,
        48,
        None,
    )


def test_mp4_without_moov_is_reported_as_unfinished_recording(card: dict[str, Path]) -> None:
    with pytest.raises(MediaError, match="'moov' index was never written"):
        probe(card["truncated_mp4"])


def test_zero_byte_file(card: dict[str, Path]) -> None:
    with pytest.raises(MediaError, match="empty"):
        probe(card["zero_byte"])


@pytest.mark.parametrize("role", ["junk_thumbs_db", "junk_appledouble"])
def test_os_junk_is_not_media(card: dict[str, Path], role: str) -> None:
    with pytest.raises(MediaError, match="not a readable media file"):
        probe(card[role])


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="Cannot read"):
        probe(tmp_path / "gone.mp4")
    with pytest.raises(MediaError):
        probe(tmp_path)


def test_mp4_cut_inside_its_header_is_a_media_error(card: dict[str, Path], tmp_path: Path) -> None:
    # Make a fast-start copy (index first), then cut it in the middle of the index.
    faststart = tmp_path / "faststart.mp4"
    run_ffmpeg(
        ["-i", str(card["segment_1"]), "-c", "copy", "-movflags", "+faststart", str(faststart)],
        what="fast-start copy for the test",
    )
    data = faststart.read_bytes()
    moov = data.index(b"moov") - 4
    cut = tmp_path / "cut_in_moov.mp4"
    cut.write_bytes(data[: moov + 200])
    with pytest.raises(MediaError):
        probe(cut)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.binary(min_size=1, max_size=4096))
def test_garbage_bytes_never_crash_probe(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(payload)
    try:
        info = probe(path)
    except MediaError as err:
        assert str(err)  # a sentence for the operator, not a bare vendor error
    else:
        assert isinstance(info, MediaInfo)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_flipped_bytes_in_a_real_mp4_never_crash_probe(
    card: dict[str, Path], tmp_path: Path, data: st.DataObject
) -> None:
    original = bytearray(card["segment_1"].read_bytes())
    for _ in range(data.draw(st.integers(1, 16))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] ^= data.draw(st.integers(1, 255))
    path = tmp_path / "tampered.mp4"
    path.write_bytes(bytes(original))
    with contextlib.suppress(MediaError):
        probe(path)


def test_header_time_parsing() -> None:
    assert parse_header_time("2024-01-01T12:00:00.000000Z") == datetime(2024, 1, 1, 12, tzinfo=UTC)
    # QuickTime's creationdate carries the device's offset.
    assert parse_header_time("2024-01-01T20:00:00+0800") == datetime(2024, 1, 1, 12, tzinfo=UTC)
    # Without an offset a container time is UTC by convention.
    assert parse_header_time("2024-01-01 12:00:00") == datetime(2024, 1, 1, 12, tzinfo=UTC)
    # Zeroed headers (MP4 and Unix epochs) mean "unset", as do blanks and junk.
    for unset in ("1904-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "", None, "yesterday"):
        assert parse_header_time(unset) is None


def test_exif_time_parsing() -> None:
    assert parse_exif_datetime("2024:03:15 09:32:00") == datetime(2024, 3, 15, 9, 32)
    assert parse_exif_datetime("2024:03:15 09:32:00", "+08:00") == datetime(
        2024, 3, 15, 9, 32, tzinfo=timezone(timedelta(hours=8))
    )
    for bad in ("0000:00:00 00:00:00", "    :  :     :  :  ", "", None, "2024-03-15"):
        assert parse_exif_datetime(bad) is None


def test_system_ffmpeg_is_preferred() -> None:
    on_path = shutil.which("ffmpeg")
    assert on_path is not None, "CI must install Debian's ffmpeg (apt-get install ffmpeg)"
    assert ffmpeg_executable() == on_path


def test_ffmpeg_failure_carries_its_own_error_text(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="No such file or directory") as caught:
        run_ffmpeg(["-i", str(tmp_path / "absent.mp4"), "-f", "null", "-"], what="test read")
    assert "test read" in str(caught.value)
