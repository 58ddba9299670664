"""Playback copies, joined segments and thumbnails, made by real ffmpeg and OpenCV."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from domain.errors import MediaError
from ingest.synthetic import make_recorder_image
from media.ffmpeg_tools import run_ffmpeg
from media.playback import can_remux, concat_playlist, join_segments, make_playback_copy
from media.probe import probe
from media.thumbnails import make_poster, make_strip


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_recorder_image(tmp_path_factory.mktemp("card"))


def _top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        if size < 8:
            break
        offset += size
    return boxes


def _is_faststart(path: Path) -> bool:
    boxes = _top_level_boxes(path)
    return boxes.index(b"moov") < boxes.index(b"mdat")


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def _decoded_video_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".partial")]


def _synthetic_clip(path: Path, size: str, *, seconds: int = 1, rate: int = 5) -> Path:
    # 4:4:4 H.264 plays in few browsers, so it always needs a transcode.
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(path)],
        what=f"test clip {path.name}",
    )  # fmt: skip
    return path


def test_known_probe_result_is_reused(card: dict[str, Path], tmp_path: Path) -> None:
    info = probe(card["avi"])
    result = make_playback_copy(card["avi"], tmp_path / "play.mp4", media=info)
    assert result is not None and result.source is info


def test_h264_aac_mp4_is_remuxed_losslessly_with_index_first(card: dict[str, Path], tmp_path: Path) -> None:
    source = card["segment_1"]
    assert not _is_faststart(source)  # recorders write the index last
    result = make_playback_copy(source, tmp_path / "play.mp4")
    assert result is not None
    assert result.method == "remux"
    assert result.path.exists() and _is_faststart(result.path)
    assert _video_packets(result.path) == _video_packets(source)  # bit-identical pictures
    assert (result.output.audio_codec, result.duration_difference_ms) == ("aac", 0)
    assert result.output.creation_time == result.source.creation_time
    assert _no_partial_files(tmp_path)


@pytest.mark.parametrize("role", ["avi", "hevc_mov"])
def test_other_video_is_transcoded_to_h264_aac(card: dict[str, Path], tmp_path: Path, role: str) -> None:
    result = make_playback_copy(card[role], tmp_path / "play.mp4")
    assert result is not None
    assert result.method == "transcode"
    out = result.output
    assert (out.video_codec, out.audio_codec, out.video_pixel_format) == ("h264", "aac", "yuv420p")
    assert (out.width, out.height) == (320, 240)  # never scaled up
    assert result.duration_difference_ms is not None
    assert abs(result.duration_difference_ms) <= 100
    assert _is_faststart(result.path)
    assert _decoded_video_frames(result.path) == 30  # 2 s at 15 fps, every frame decodes
    assert can_remux(out)


@pytest.mark.parametrize(
    ("size", "expected"),
    [("1920x1080", (1280, 720)), ("480x1280", (270, 720)), ("642x481", (642, 480))],
)
def test_transcode_caps_height_at_720_with_even_sides(
    tmp_path: Path, size: str, expected: tuple[int, int]
) -> None:
    source = _synthetic_clip(tmp_path / f"{size}.mp4", size)
    result = make_playback_copy(source, tmp_path / "play.mp4")
    assert result is not None and result.method == "transcode"
    assert (result.output.width, result.output.height) == expected


def test_wav_becomes_aac_audio_only(card: dict[str, Path], tmp_path: Path) -> None:
    result = make_playback_copy(card["wav"], tmp_path / "play.m4a")
    assert result is not None
    assert result.method == "transcode"
    assert (result.output.kind, result.output.video_codec, result.output.audio_codec) == (
        "audio",
        None,
        "aac",
    )
    assert result.output.duration_ms is not None
    assert abs(result.output.duration_ms - 2000) <= 100


def test_photo_gets_no_playback_copy(card: dict[str, Path], tmp_path: Path) -> None:
    assert make_playback_copy(card["photo"], tmp_path / "play.mp4") is None
    assert list(tmp_path.iterdir()) == []


def test_cjk_name_is_remuxed(card: dict[str, Path], tmp_path: Path) -> None:
    result = make_playback_copy(card["cjk_name"], tmp_path / "回放" / "执法记录.mp4")
    assert result is not None and result.method == "remux"
    assert result.path.exists()


@pytest.mark.parametrize("role", ["truncated_mp4", "zero_byte", "junk_thumbs_db"])
def test_unreadable_sources_raise_media_error_and_leave_nothing(
    card: dict[str, Path], tmp_path: Path, role: str
) -> None:
    with pytest.raises(MediaError):
        make_playback_copy(card[role], tmp_path / "play.mp4")
    assert list(tmp_path.iterdir()) == []


def test_damaged_frames_fail_with_ffmpegs_reason_and_no_output(card: dict[str, Path], tmp_path: Path) -> None:
    # Keep the AVI headers intact but overwrite every picture and sound sample.
    data = bytearray(card["avi"].read_bytes())
    movi = data.index(b"movi") + 12
    scramble = random.Random(7)
    for position in range(movi, len(data) - 2000):
        data[position] = scramble.randrange(256)
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    with pytest.raises(MediaError, match=r"ffmpeg failed the transcode of damaged\.avi.*\|"):
        make_playback_copy(damaged, out_dir / "play.mp4")
    assert not (out_dir / "play.mp4").exists()
    assert _no_partial_files(out_dir)


def test_destination_under_a_file_is_a_media_error(card: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(MediaError, match="Cannot create the folder"):
        make_playback_copy(card["segment_1"], blocker / "play.mp4")


def test_playlist_lists_absolute_quoted_paths(tmp_path: Path) -> None:
    odd = tmp_path / "officer's clip 执法.mp4"
    text = concat_playlist([tmp_path / "a.mp4", odd])
    lines = text.splitlines()
    assert lines[0] == "ffconcat version 1.0"
    assert lines[1] == f"file '{tmp_path}/a.mp4'"
    assert lines[2] == f"file '{tmp_path}/officer'\\''s clip 执法.mp4'"
    with pytest.raises(MediaError):
        concat_playlist([])
    with pytest.raises(MediaError, match="line break"):
        concat_playlist([tmp_path / "two\nlines.mp4"])


def test_joined_segments_play_as_one_continuous_stream(card: dict[str, Path], tmp_path: Path) -> None:
    copies = []
    for role in ("segment_1", "segment_2"):
        result = make_playback_copy(card[role], tmp_path / f"{role}.mp4")
        assert result is not None
        copies.append(result.path)
    joined = join_segments(copies, tmp_path / "joined.mp4")
    assert joined.output.duration_ms is not None
    assert abs(joined.output.duration_ms - 6000) <= 100
    assert _is_faststart(joined.path)
    with av.open(str(joined.path)) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert len(times) == 90  # 6 s at 15 fps, nothing lost at the seam
    assert all(later > earlier for earlier, later in itertools.pairwise(times))


def test_segments_of_different_shape_are_not_joined(card: dict[str, Path], tmp_path: Path) -> None:
    video = make_playback_copy(card["segment_1"], tmp_path / "video.mp4")
    audio = make_playback_copy(card["wav"], tmp_path / "audio.m4a")
    assert video is not None and audio is not None
    with pytest.raises(MediaError, match="cannot be joined"):
        join_segments([video.path, audio.path], tmp_path / "joined.mp4")
    assert not (tmp_path / "joined.mp4").exists()


def _read_jpeg(path: Path) -> np.ndarray:
    picture = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, f"{path} is not a decodable JPEG"
    return np.asarray(picture)


@pytest.mark.parametrize("role", ["segment_1", "avi", "hevc_mov", "cjk_name"])
def test_video_poster_is_a_real_frame(card: dict[str, Path], tmp_path: Path, role: str) -> None:
    poster = make_poster(card[role], tmp_path / "poster.jpg")
    assert poster is not None
    picture = _read_jpeg(poster)
    assert picture.shape == (240, 320, 3)
    assert picture.std() > 20  # the colour-bar test pattern, not a blank frame


def test_large_video_poster_is_scaled_to_720_lines(tmp_path: Path) -> None:
    source = _synthetic_clip(tmp_path / "big.mp4", "1920x1080")
    poster = make_poster(source, tmp_path / "poster.jpg")
    assert poster is not None
    assert _read_jpeg(poster).shape == (720, 1280, 3)


def test_strip_has_distinct_evenly_spaced_frames(card: dict[str, Path], tmp_path: Path) -> None:
    strip = make_strip(card["segment_1"], tmp_path / "strip.jpg", frames=8, height=90)
    assert strip is not None
    picture = _read_jpeg(strip)
    assert picture.shape == (90, 8 * 120, 3)
    tiles = [picture[:, i * 120 : (i + 1) * 120].astype(int) for i in range(8)]
    # The test pattern moves, so frames from different times differ.
    assert np.abs(tiles[0] - tiles[-1]).mean() > 1


def test_strip_of_a_stream_without_frame_count(card: dict[str, Path], tmp_path: Path) -> None:
    # A raw H.264 elementary stream has no index, so OpenCV cannot count its frames.
    raw = tmp_path / "raw.h264"
    run_ffmpeg(
        ["-i", str(card["segment_1"]), "-an", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb",
         "-f", "h264", str(raw)],
        what="raw H.264 for the test",
    )  # fmt: skip
    assert cv2.VideoCapture(str(raw), cv2.CAP_FFMPEG).get(cv2.CAP_PROP_FRAME_COUNT) <= 0
    strip = make_strip(raw, tmp_path / "strip.jpg", frames=4, height=60, kind="video")
    assert strip is not None
    picture = _read_jpeg(strip)
    assert picture.shape == (60, 4 * 80, 3)
    first, last = picture[:, :80].astype(int), picture[:, -80:].astype(int)
    assert np.abs(first - last).mean() > 1


def test_photo_poster_is_a_resized_copy(card: dict[str, Path], tmp_path: Path) -> None:
    poster = make_poster(card["photo"], tmp_path / "poster.jpg", max_height=120)
    assert poster is not None
    assert _read_jpeg(poster).shape == (120, 160, 3)
    strip = make_strip(card["photo"], tmp_path / "strip.jpg", height=60)
    assert strip is not None
    assert _read_jpeg(strip).shape == (60, 80, 3)


def test_audio_has_no_thumbnails(card: dict[str, Path], tmp_path: Path) -> None:
    assert make_poster(card["wav"], tmp_path / "poster.jpg") is None
    assert make_strip(card["wav"], tmp_path / "strip.jpg") is None
    assert list(tmp_path.iterdir()) == []


def test_undecodable_files_give_media_error_not_a_crash(card: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        make_poster(card["truncated_mp4"], tmp_path / "poster.jpg")
    # Told it is a video, OpenCV still cannot make anything of OS junk.
    with pytest.raises(MediaError, match="OpenCV"):
        make_poster(card["junk_thumbs_db"], tmp_path / "poster.jpg", kind="video")
    with pytest.raises(MediaError, match="OpenCV"):
        make_strip(card["junk_thumbs_db"], tmp_path / "strip.jpg", kind="image")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_measure_remux_and_transcode_speed(tmp_path: Path) -> None:
    """Rough numbers for capacity planning; prints, asserts no timings."""
    seconds = 30
    lavfi = [
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
    ]  # fmt: skip
    h264 = tmp_path / "body_cam_1080p.mp4"
    run_ffmpeg([*lavfi, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest", str(h264)], what="benchmark source")  # fmt: skip
    mpeg4 = tmp_path / "legacy_1080p.avi"
    run_ffmpeg([*lavfi, "-c:v", "mpeg4", "-q:v", "4", "-c:a", "pcm_s16le", "-shortest",
                str(mpeg4)], what="benchmark source")  # fmt: skip
    hevc_seconds = 10
    hevc = tmp_path / "phone_1080p.mov"
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={hevc_seconds}",
                "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
                "-pix_fmt", "yuv420p", "-tag:v", "hvc1", str(hevc)],
               what="benchmark source")  # fmt: skip

    for label, source, length in [
        ("remux 1080p H.264", h264, seconds),
        ("transcode 1080p MPEG-4 -> 720p", mpeg4, seconds),
        ("transcode 1080p HEVC -> 720p", hevc, hevc_seconds),
    ]:
        started = time.perf_counter()
        result = make_playback_copy(source, tmp_path / f"{source.stem}.play.mp4")
        elapsed = time.perf_counter() - started
        assert result is not None
        mebibytes = source.stat().st_size / 2**20
        print(
            f"\n{label}: {result.method}, {length} s / {mebibytes:.1f} MiB in {elapsed:.2f} s "
            f"= {length / elapsed:.1f}x realtime, {mebibytes / elapsed:.0f} MiB/s "
            f"({result.output.width}x{result.output.height})"
        )
