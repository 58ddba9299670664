"""Redacted copies of footage and photos for publication or sharing outside the agency.

Faces are found by ``media.face_detector`` and followed across frames: every
``detect_every``-th frame is searched on a shrunk copy, each face found is joined to the
track whose last box it overlaps, and between two sightings of a track the box moves in a
straight line, so a face the detector misses for a few frames stays covered; each track
is covered from ``detect_every`` frames before its first sighting to as many after its
last, and its boxes are grown by ``pad`` on every side. A person adds boxes (a face the
detector missed, a licence plate) with a time range, and takes out tracks they judge wrong.
Sound is silenced over the muted ranges. The original file is only read.

Video goes out as H.264/AAC MP4 (ffmpeg), a photo as JPEG (without the original's EXIF,
which may hold a place). No database here: ``cases.redactions`` records what was done.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import io
import subprocess
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import av
import cv2
import ffmpeg
import numpy as np
from cv2.typing import MatLike

from domain.errors import MediaError
from domain.messages import msg
from media.face_detector import Box, FaceDetector
from media.ffmpeg_tools import ffmpeg_executable, stderr_tail

_TRACK_OVERLAP = 0.1  # least intersection over union that joins a face to a track
_BLOCKS = 4  # a covered box becomes this many blocks across, then is smoothed


class BoxKind(StrEnum):
    FACE = "face"
    PLATE = "plate"
    OTHER = "other"


@dataclass(frozen=True)
class ManualBox:
    """A box a person drew, in the original's pixels, covered from ``start_ms`` to ``end_ms``
    (a photo: both 0)."""

    box: Box
    kind: BoxKind = BoxKind.FACE
    start_ms: int = 0
    end_ms: int = 0

    def to_json(self) -> dict[str, object]:
        return {"box": self.box.to_list(), "kind": self.kind.value, "start_ms": self.start_ms,
                "end_ms": self.end_ms}


@dataclass(frozen=True)
class MuteRange:
    start_ms: int
    end_ms: int

    def to_json(self) -> dict[str, object]:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms}


@dataclass(frozen=True)
class RedactionSettings:
    """What to cover and silence. ``faces``: blur the faces the detector finds (a person's
    boxes are covered either way); ``removed_tracks``: detector tracks judged wrong."""

    faces: bool = True
    boxes: tuple[ManualBox, ...] = ()
    removed_tracks: tuple[int, ...] = ()
    muted: tuple[MuteRange, ...] = ()
    detect_every: int = 3
    detect_width: int = 640
    max_gap: int = 4  # detections a track may miss and still be bridged
    pad: float = 0.4

    def to_json(self) -> dict[str, object]:
        """As a custody event records it (no floats in events: the padding in percent)."""
        return {"faces": self.faces, "boxes": [b.to_json() for b in self.boxes],
                "removed_tracks": list(self.removed_tracks),
                "muted": [m.to_json() for m in self.muted], "detect_every": self.detect_every,
                "detect_width": self.detect_width, "max_gap": self.max_gap,
                "pad_percent": round(self.pad * 100)}


@dataclass(frozen=True)
class TrackSummary:
    """A face the detector followed: its number, when it is seen and its first box."""

    id: int
    start_ms: int
    end_ms: int
    first_box: Box
    sightings: int
    best_score: float
    removed: bool

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "start_ms": self.start_ms, "end_ms": self.end_ms,
                "first_box": self.first_box.to_list(), "sightings": self.sightings,
                "best_score_permille": round(self.best_score * 1000), "removed": self.removed}


@dataclass(frozen=True)
class RedactionResult:
    kind: str  # video | image
    width: int
    height: int
    frames: int
    duration_ms: int
    tracks: tuple[TrackSummary, ...]
    covered_frames: int  # frames in which at least one box was covered


@dataclass
class _Track:
    id: int
    sightings: list[tuple[int, Box, float]] = field(default_factory=list)  # (frame, box, score)


def redact_photo(src: Path, dst: Path, settings: RedactionSettings,
                 detector: FaceDetector | None) -> RedactionResult:
    """Write ``dst`` (JPEG): the photo with faces and the person's boxes covered."""
    picture = cv2.imread(src.as_posix(), cv2.IMREAD_COLOR)
    if picture is None:
        raise MediaError(msg("the photo could not be read for redaction"),
                         hint=msg("redaction takes JPEG, PNG and WebP photos"))
    height, width = picture.shape[:2]
    tracks: list[_Track] = []
    if settings.faces and detector is not None:
        for number, found in enumerate(detector.detect(picture, settings.detect_width),
                                       start=1):
            tracks.append(_Track(number, [(0, found.box, found.score)]))
    boxes = [t.sightings[0][1].padded(settings.pad, width, height) for t in tracks
             if t.id not in settings.removed_tracks]
    boxes += [b.box.padded(0.0, width, height) for b in settings.boxes]
    for box in boxes:
        cover(picture, box)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise MediaError(msg("the redacted photo could not be encoded"),
                         hint=msg("try again; report it if it keeps failing"))
    dst.write_bytes(encoded.tobytes())
    summaries = tuple(_summary(t, Fraction(1), settings) for t in tracks)
    return RedactionResult("image", width, height, 1, 0, summaries, 1 if boxes else 0)


def redact_video(src: Path, dst: Path, settings: RedactionSettings,
                 detector: FaceDetector | None) -> RedactionResult:
    """Write ``dst`` (H.264/AAC MP4): faces followed and covered, boxes covered, sound muted.

    One pass: each frame is decoded once, searched (every ``detect_every``-th, shrunk) and
    held back until no later sighting can change its boxes, then covered and encoded."""
    width, height, rate, has_audio = _video_shape(src)
    follow = _Following(settings, detector if settings.faces else None, width, height, rate)
    frames, covered = _rewrite(src, dst, follow, settings, width, height, rate, has_audio)
    duration_ms = int(frames * 1000 / rate)
    summaries = tuple(_summary(t, rate, settings) for t in follow.tracks)
    return RedactionResult("video", width, height, frames, duration_ms, summaries, covered)


def cover(picture: MatLike, box: Box) -> None:
    """Replace the box's pixels by a coarse blur of them (in place): a few smoothed blocks,
    from which no face can be made out."""
    if box.w <= 1 or box.h <= 1:
        return
    region = picture[box.y:box.y + box.h, box.x:box.x + box.w]
    across = max(1, min(_BLOCKS, box.w))
    down = max(1, min(box.h, round(_BLOCKS * box.h / box.w)))
    small = cv2.resize(region, (across, down), interpolation=cv2.INTER_AREA)
    region[:] = cv2.resize(small, (box.w, box.h), interpolation=cv2.INTER_LINEAR)


# --- reading the footage ---------------------------------------------------------------

def _video_shape(src: Path) -> tuple[int, int, Fraction, bool]:
    try:
        with av.open(src.as_posix()) as container:
            if not container.streams.video:
                raise MediaError(msg("the file has no picture to redact"),
                                 hint=msg("redaction takes video and photos"))
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            return (stream.codec_context.width, stream.codec_context.height, Fraction(rate),
                    bool(container.streams.audio))
    except av.error.FFmpegError as err:
        raise MediaError(msg("the footage could not be read for redaction: {reason}", reason=str(err)),
                         hint=msg("check the original with `evidence verify --objects`")) from err


def _decoded_frames(src: Path, width: int, height: int) -> Iterator[MatLike]:
    """The frames ffmpeg decodes, as BGR arrays of ``height`` x ``width`` (each its own,
    writable: it is covered in place)."""
    args = ["-nostdin", "-v", "error", "-i", src.as_posix(), "-an", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:"]
    process = subprocess.Popen([ffmpeg_executable(), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    size = width * height * 3
    reader = typing.cast(io.BufferedReader, process.stdout)
    try:
        while True:
            buffer = bytearray(size)
            if reader.readinto(buffer) < size:
                break
            yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()
        process.kill()
        process.wait()


def _join(tracks: list[_Track], found: Sequence[tuple[Box, float]], frame: int,
          reach: int) -> None:
    """Join each face found at ``frame`` to the live track it overlaps most, else start one."""
    live = [t for t in tracks if frame - t.sightings[-1][0] <= reach]
    taken: set[int] = set()
    for box, score in found:  # best first
        best, best_overlap = None, _TRACK_OVERLAP
        for track in live:
            overlap = track.sightings[-1][1].overlap(box)
            if track.id not in taken and overlap >= best_overlap:
                best, best_overlap = track, overlap
        if best is None:
            best = _Track(len(tracks) + 1)
            tracks.append(best)
        best.sightings.append((frame, box, score))
        taken.add(best.id)


class _Following:
    """The faces followed so far, and the boxes of a frame once no later search can change
    them: a sighting at frame F changes frames from F - ``reach`` - ``every`` on."""

    def __init__(self, settings: RedactionSettings, detector: FaceDetector | None, width: int,
                 height: int, rate: Fraction) -> None:
        self.settings, self.detector = settings, detector
        self.width, self.height = width, height
        self.every = max(1, settings.detect_every)
        self.reach = settings.max_gap * self.every
        self.lag = self.reach + self.every if detector is not None else 0
        self.small_w = max(32, min(width, settings.detect_width) // 2 * 2)
        self.small_h = max(32, round(height * self.small_w / width) // 2 * 2)
        self.tracks: list[_Track] = []
        self.manual = [(int(m.start_ms * rate / 1000), int(m.end_ms * rate / 1000),
                        m.box.padded(0.0, width, height)) for m in settings.boxes]

    def search(self, number: int, frame: MatLike) -> None:
        if self.detector is None or number % self.every:
            return
        small = cv2.resize(frame, (self.small_w, self.small_h), interpolation=cv2.INTER_AREA)
        back = self.width / self.small_w
        found = [(d.box.scaled(back), d.score)
                 for d in self.detector.detect_rgb(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))]
        _join(self.tracks, found, number, self.reach)

    def boxes_at(self, number: int) -> list[Box]:
        boxes = [box for first, last, box in self.manual if first <= number <= last]
        for track in self.tracks:
            if track.id not in self.settings.removed_tracks:
                box = _box_at(track, number, self.every)
                if box is not None:
                    boxes.append(box.padded(self.settings.pad, self.width, self.height))
        return boxes


def _box_at(track: _Track, number: int, every: int) -> Box | None:
    """The track's box at frame ``number``: on the straight line between the sightings around
    it, and carried on at the same speed ``every`` frames before the first and after the
    last sighting (the face moves on between two searches); None outside."""
    sightings = track.sightings
    first, last = sightings[0][0], sightings[-1][0]
    if number <= first - every or number >= last + every:
        return None
    if len(sightings) == 1:
        return sightings[0][1]
    if number < first:
        return _moved(sightings[0], sightings[1], number)
    if number >= last:
        return _moved(sightings[-2], sightings[-1], number)
    after = bisect.bisect_right([s[0] for s in sightings], number)
    return _moved(sightings[after - 1], sightings[after], number)


def _moved(a: tuple[int, Box, float], b: tuple[int, Box, float], frame: int) -> Box:
    """The box at ``frame`` on the straight line through sightings ``a`` and ``b`` (beyond
    them: carried on at the same speed)."""
    (start, one, _), (end, two, _) = a, b
    t = (frame - start) / (end - start) if end != start else 0.0
    return Box(round(one.x + (two.x - one.x) * t), round(one.y + (two.y - one.y) * t),
               round(one.w + (two.w - one.w) * t), round(one.h + (two.h - one.h) * t))


def _rewrite(src: Path, dst: Path, follow: _Following, settings: RedactionSettings,
             width: int, height: int, rate: Fraction, has_audio: bool) -> tuple[int, int]:
    """Decode, search, cover, encode; returns (frames written, frames with a box covered)."""
    video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="bgr24", s=f"{width}x{height}",
                         framerate=f"{rate.numerator}/{rate.denominator}").video
    streams = [video]
    if has_audio:
        audio = ffmpeg.input(src.as_posix()).audio
        if settings.muted:
            spans = "+".join(f"between(t,{m.start_ms / 1000:.3f},{m.end_ms / 1000:.3f})"
                             for m in settings.muted)
            audio = audio.filter("volume", volume=0, enable=spans)
        streams.append(audio)
    out_args: dict[str, object] = {"vcodec": "libx264", "preset": "veryfast", "crf": 23,
                                   "pix_fmt": "yuv420p", "movflags": "+faststart"}
    if has_audio:
        out_args |= {"acodec": "aac", "audio_bitrate": "128k"}
    command = (ffmpeg.output(*streams, dst.as_posix(), **out_args)
               .global_args("-nostdin", "-v", "error").overwrite_output()
               .compile(cmd=ffmpeg_executable()))
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
    assert encoder.stdin is not None
    held: collections.deque[tuple[int, MatLike]] = collections.deque()
    frames = covered = 0

    def write(number: int, frame: MatLike) -> None:
        nonlocal covered
        boxes = follow.boxes_at(number)
        for box in boxes:
            cover(frame, box)
        covered += bool(boxes)
        assert encoder.stdin is not None
        encoder.stdin.write(np.asarray(frame).data)

    try:
        for frames, frame in enumerate(_decoded_frames(src, width, height), start=1):
            number = frames - 1
            follow.search(number, frame)
            held.append((number, frame))
            while held and held[0][0] + follow.lag <= number:
                write(*held.popleft())
        while held:
            write(*held.popleft())
    except BrokenPipeError:
        pass  # the encoder stopped: its exit code and message say why, below
    finally:
        with contextlib.suppress(BrokenPipeError):
            encoder.stdin.close()
        stderr = encoder.stderr.read() if encoder.stderr else b""
        encoder.wait()
    if encoder.returncode != 0 or frames == 0:
        raise MediaError(msg("the redacted copy could not be encoded: {reason}",
                             reason=stderr_tail(stderr)),
                         hint=msg("the original is unchanged; check it with ffprobe"))
    return frames, covered


def _summary(track: _Track, rate: Fraction, settings: RedactionSettings) -> TrackSummary:
    first, last = track.sightings[0][0], track.sightings[-1][0]
    return TrackSummary(track.id, int(first * 1000 / rate), int(last * 1000 / rate),
                        track.sightings[0][1], len(track.sightings),
                        max(s for _, _, s in track.sightings),
                        track.id in settings.removed_tracks)
