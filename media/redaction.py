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

import contextlib
import itertools
import subprocess
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
    """Write ``dst`` (H.264/AAC MP4): faces followed and covered, boxes covered, sound muted."""
    width, height, rate, has_audio = _video_shape(src)
    tracks: list[_Track] = []
    sampled = 0
    if settings.faces and detector is not None:
        tracks, sampled = _follow_faces(src, settings, detector, width)
    per_frame = _boxes_per_frame(tracks, settings, rate, width, height,
                                 sampled * settings.detect_every)
    frames, covered = _rewrite(src, dst, per_frame, settings, width, height, rate, has_audio)
    duration_ms = int(frames * 1000 / rate)
    summaries = tuple(_summary(t, rate, settings) for t in tracks)
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
                         hint=msg("check the original with evidence verify --objects")) from err


def _decoded_frames(src: Path, width: int, height: int, pix_fmt: str, filters: str | None
                    ) -> Iterator[MatLike]:
    """The frames ffmpeg decodes (after ``filters``), as arrays of ``height`` x ``width``."""
    args = ["-nostdin", "-v", "error", "-i", src.as_posix()]
    if filters:
        args += ["-vf", filters]
    args += ["-an", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:"]
    process = subprocess.Popen([ffmpeg_executable(), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    size = width * height * 3
    assert process.stdout is not None
    try:
        while True:
            data = process.stdout.read(size)
            if len(data) < size:
                break
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()


def _follow_faces(src: Path, settings: RedactionSettings, detector: FaceDetector,
                  width: int) -> tuple[list[_Track], int]:
    """Tracks of faces over the sampled frames, and how many frames were sampled."""
    every = max(1, settings.detect_every)
    small_w = min(width, settings.detect_width) // 2 * 2
    with av.open(src.as_posix()) as container:
        source = container.streams.video[0].codec_context
        small_h = round(source.height * small_w / source.width) // 2 * 2
    back = width / small_w
    filters = f"select=not(mod(n\\,{every})),scale={small_w}:{small_h}"
    tracks: list[_Track] = []
    sampled = 0
    for sampled, frame in enumerate(_decoded_frames(src, small_w, small_h, "rgb24", filters),
                                    start=1):
        number = (sampled - 1) * every
        found = [(d.box.scaled(back), d.score) for d in detector.detect_rgb(frame)]
        _join(tracks, found, number, settings.max_gap * every)
    return tracks, sampled


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


def _boxes_per_frame(tracks: Sequence[_Track], settings: RedactionSettings, rate: Fraction,
                     width: int, height: int, frames: int) -> dict[int, list[Box]]:
    every = max(1, settings.detect_every)
    per_frame: dict[int, list[Box]] = {}
    for track in tracks:
        if track.id in settings.removed_tracks:
            continue
        for number, box in _track_boxes(track, every, frames):
            per_frame.setdefault(number, []).append(box.padded(settings.pad, width, height))
    for manual in settings.boxes:
        first = int(manual.start_ms * rate / 1000)
        last = int(manual.end_ms * rate / 1000)
        for number in range(max(0, first), last + 1):
            per_frame.setdefault(number, []).append(manual.box.padded(0.0, width, height))
    return per_frame


def _track_boxes(track: _Track, every: int, frames: int) -> Iterator[tuple[int, Box]]:
    """Every frame the track covers with its box: moving in a straight line between
    sightings, and carried on at the same speed ``every`` frames before the first and after
    the last sighting (the face moves on between two searches)."""
    sightings = track.sightings
    first_frame, last_frame = sightings[0][0], sightings[-1][0]
    head = sightings[:2] if len(sightings) > 1 else sightings * 2
    tail = sightings[-2:] if len(sightings) > 1 else sightings * 2
    for number in range(max(0, first_frame - every + 1), first_frame):
        yield number, _moved(head[0], head[1], number)
    for start, end in itertools.pairwise(sightings):
        for number in range(start[0], end[0]):
            yield number, _moved(start, end, number)
    for number in range(last_frame, min(last_frame + every, frames or last_frame + every)):
        yield number, _moved(tail[0], tail[1], number)


def _moved(a: tuple[int, Box, float], b: tuple[int, Box, float], frame: int) -> Box:
    """The box at ``frame`` on the straight line through sightings ``a`` and ``b`` (beyond
    them: carried on at the same speed)."""
    (start, one, _), (end, two, _) = a, b
    t = (frame - start) / (end - start) if end != start else 0.0
    return Box(round(one.x + (two.x - one.x) * t), round(one.y + (two.y - one.y) * t),
               round(one.w + (two.w - one.w) * t), round(one.h + (two.h - one.h) * t))


def _rewrite(src: Path, dst: Path, per_frame: dict[int, list[Box]], settings: RedactionSettings,
             width: int, height: int, rate: Fraction, has_audio: bool) -> tuple[int, int]:
    """Decode, cover, encode; returns (frames written, frames with a box covered)."""
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
    frames = covered = 0
    try:
        for frames, frame in enumerate(_decoded_frames(src, width, height, "bgr24", None),
                                       start=1):
            boxes = per_frame.get(frames - 1)
            if boxes:
                frame = frame.copy()
                for box in boxes:
                    cover(frame, box)
                covered += 1
            encoder.stdin.write(frame.tobytes())
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
