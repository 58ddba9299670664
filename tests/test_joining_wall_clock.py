"""Joining on the wall clock with real ffmpeg: a gap is black picture and silence of its
true length, so every time after it is right; an overlap shows the later segment."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import MediaError
from media.ffmpeg_tools import ffmpeg_executable
from media.playback import JoinPart, join_on_wall_clock
from media.probe import probe
from media.recordings import Segment, group_recordings, timeline

T0 = datetime(2024, 3, 15, 1, 30, tzinfo=UTC)
RED, GREEN, BLUE, BLACK = (255, 0, 0), (0, 128, 0), (0, 0, 255), (0, 0, 0)
_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def _clip(path: Path, colour: str, seconds: float, *, audio: bool = True, rate: int = 10) -> Path:
    """A one-colour H.264 clip (with a tone), made like a recorder's: preset medium."""
    args = [ffmpeg_executable(), *_QUIET, "-f", "lavfi", "-i",
            f"color=c={colour}:s=160x120:r={rate}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}", "-c:a", "aac", "-ac", "2"]
    args += ["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p", "-t", str(seconds),
             "-movflags", "+faststart", str(path)]
    subprocess.run(args, check=True)
    return path


def _colour_at(path: Path, seconds: float) -> tuple[int, int, int]:
    """The average colour of the frame shown at ``seconds`` (decoded by ffmpeg)."""
    out = subprocess.run([ffmpeg_executable(), *_QUIET, "-ss", f"{seconds:.3f}", "-i", str(path),
                          "-frames:v", "1", "-vf", "scale=1:1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], check=True, capture_output=True).stdout
    assert len(out) == 3, f"no frame at {seconds} s"
    return out[0], out[1], out[2]


def _near(colour: tuple[int, int, int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(colour, wanted, strict=True))


def _decodes_cleanly(path: Path) -> None:
    result = subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-i", str(path),
                             "-f", "null", "-"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def _join(tmp_path: Path, segments: list[tuple[Path, Segment]]) -> Path:
    [recording] = group_recordings([segment for _, segment in segments])
    by_id = {segment.evidence_id: path for path, segment in segments}
    line = timeline(recording)
    parts = [JoinPart(by_id[p.evidence_id] if p.evidence_id else None, p.microseconds)
             for p in line.pieces]
    out = tmp_path / "joined.mp4"
    join_on_wall_clock(parts, out)
    return out


@pytest.mark.parametrize("audio", [True, False])
def test_a_gap_is_black_and_the_second_segment_starts_at_its_wall_clock_time(
        tmp_path: Path, audio: bool) -> None:
    red = _clip(tmp_path / "red.mp4", "red", 2, audio=audio)
    green = _clip(tmp_path / "green.mp4", "green", 3, audio=audio)
    gap = 4.37
    out = _join(tmp_path, [
        (red, Segment("a", "ZFY1", T0, 2000)),
        (green, Segment("b", "ZFY1", T0 + timedelta(seconds=2 + gap), 3000))])
    span = 2 + gap + 3
    info = probe(out)
    assert info.duration_ms is not None and abs(info.duration_ms - span * 1000) <= 100, info
    assert (info.video_codec, info.audio_codec) == ("h264", "aac" if audio else None)
    assert _near(_colour_at(out, 1.0), RED)
    for inside_gap in (2.2, 4.0, 2 + gap - 0.15):
        assert _near(_colour_at(out, inside_gap), BLACK), inside_gap
    # the old join closed the gap: green at 2.5 s. Now green starts at 6.37 s, not before.
    for after in (2 + gap + 0.15, 2 + gap + 1.5, span - 0.2):
        assert _near(_colour_at(out, after), GREEN), after
    _decodes_cleanly(out)


def test_a_long_gap_reuses_one_black_clip_and_keeps_the_time(tmp_path: Path) -> None:
    red = _clip(tmp_path / "red.mp4", "red", 1, rate=5)
    blue = _clip(tmp_path / "blue.mp4", "blue", 1, rate=5)
    gap = 23.5  # more than two filler units
    out = _join(tmp_path, [
        (red, Segment("a", "ZFY1", T0, 1000)),
        (blue, Segment("b", "ZFY1", T0 + timedelta(seconds=1 + gap), 1000))])
    info = probe(out)
    assert info.duration_ms is not None and abs(info.duration_ms - (2 + gap) * 1000) <= 250
    assert _near(_colour_at(out, 12.0), BLACK)
    assert _near(_colour_at(out, 1 + gap - 0.3), BLACK)
    assert _near(_colour_at(out, 1 + gap + 0.5), BLUE)
    _decodes_cleanly(out)


def test_an_overlap_shows_the_later_segment_from_its_own_start(tmp_path: Path) -> None:
    red = _clip(tmp_path / "red.mp4", "red", 4)
    green = _clip(tmp_path / "green.mp4", "green", 3)
    out = _join(tmp_path, [
        (red, Segment("a", "ZFY1", T0, 4000)),
        (green, Segment("b", "ZFY1", T0 + timedelta(seconds=3), 3000))])  # 1 s overlap
    info = probe(out)
    assert info.duration_ms is not None and abs(info.duration_ms - 6000) <= 100
    assert _near(_colour_at(out, 2.7), RED)
    assert _near(_colour_at(out, 3.3), GREEN)  # red's last second is cut: green is on time
    assert _near(_colour_at(out, 5.7), GREEN)
    _decodes_cleanly(out)


def test_a_join_must_start_with_a_segment(tmp_path: Path) -> None:
    red = _clip(tmp_path / "red.mp4", "red", 1, audio=False)
    with pytest.raises(MediaError, match="starts with a segment"):
        join_on_wall_clock([JoinPart(None, 1_000_000), JoinPart(red, 1_000_000)],
                           tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
