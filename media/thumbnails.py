"""Poster frames and contact strips for the evidence browser (OpenCV, headless).

* :func:`make_poster`: one JPEG picture: the frame at about 10 % of the video (past
  the usual black or shaky first second), else the first frame that decodes; for a
  photo, a resized copy. At most ``max_height`` lines, aspect kept.
* :func:`make_strip`: ``frames`` evenly spaced pictures side by side, each
  ``height`` lines high, for skimming a recording.

Audio has no picture: both return None for it. When OpenCV cannot decode a file
they raise :class:`domain.errors.MediaError`; the original is never modified.
JPEGs are encoded in memory and written through a temp file and a rename, so a
reader never sees half a picture (and non-ASCII paths work everywhere).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
from cv2.typing import MatLike

from domain.errors import MediaError
from domain.messages import msg
from media.probe import MediaKind, probe

POSTER_POSITION_PERCENT = 10
POSTER_MAX_HEIGHT = 720
JPEG_QUALITY = 85
# How many frames to try from the start when seeking to the poster frame fails.
FIRST_FRAME_ATTEMPTS = 120


def make_poster(
    src: Path, dst_jpg: Path, *, max_height: int = POSTER_MAX_HEIGHT, kind: MediaKind | None = None
) -> Path | None:
    """Write a poster JPEG for ``src``; None when it has no picture (audio)."""
    media_kind = kind or probe(src).kind
    if media_kind == "audio":
        return None
    picture = _read_image(src) if media_kind == "image" else _read_poster_frame(src)
    if picture.shape[0] > max_height:
        picture = _resize_to_height(picture, max_height)
    _write_jpeg(picture, dst_jpg)
    return dst_jpg


def make_strip(
    src: Path,
    dst_jpg: Path,
    frames: int = 8,
    height: int = 90,
    *,
    kind: MediaKind | None = None,
) -> Path | None:
    """Write a horizontal strip of ``frames`` evenly spaced frames; None for audio.

    For a photo the strip is the photo itself at strip height.
    """
    if frames < 1 or height < 1:
        raise MediaError(
            msg("A strip needs at least one frame and one line (got frames={frames}, height={height}).",
                frames=frames, height=height),
            hint=msg("Pass positive values."),
        )
    media_kind = kind or probe(src).kind
    if media_kind == "audio":
        return None
    pictures = [_read_image(src)] if media_kind == "image" else _read_spread_frames(src, frames)
    tiles = [_resize_to_height(picture, height) for picture in pictures]
    _write_jpeg(np.hstack(tiles), dst_jpg)
    return dst_jpg


def _open_video(src: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(src), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise MediaError(
            msg("OpenCV could not open {src} as video.", src=src.name),
            hint=msg("No thumbnail is made; the evidence itself is unaffected."),
        )
    return capture


def _frame_count(capture: cv2.VideoCapture) -> int:
    # OpenCV estimates the count from duration x frame rate; <= 0 means unknown.
    return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))


def _read_poster_frame(src: Path) -> MatLike:
    capture = _open_video(src)
    try:
        count = _frame_count(capture)
        if count > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, count * POSTER_POSITION_PERCENT // 100)
            ok, frame = capture.read()
            if ok and frame is not None:
                return frame
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        for _ in range(FIRST_FRAME_ATTEMPTS):
            ok, frame = capture.read()
            if ok and frame is not None:
                return frame
    finally:
        capture.release()
    raise _undecodable(src)


def _read_spread_frames(src: Path, frames: int) -> list[MatLike]:
    capture = _open_video(src)
    try:
        count = _frame_count(capture)
        if count > 0:
            pictures = _read_at_positions(capture, count, frames)
        else:
            pictures = _read_sequential_sample(capture, frames)
    finally:
        capture.release()
    if not pictures:
        raise _undecodable(src)
    return pictures


def _read_at_positions(capture: cv2.VideoCapture, count: int, frames: int) -> list[MatLike]:
    pictures: list[MatLike] = []
    # Centre of each of `frames` equal slices, so the first and last tiles are not
    # the (often black) very first and very last frames.
    for index in range(frames):
        capture.set(cv2.CAP_PROP_POS_FRAMES, (2 * index + 1) * count // (2 * frames))
        ok, frame = capture.read()
        if ok and frame is not None:
            pictures.append(frame)
    return pictures


def _read_sequential_sample(capture: cv2.VideoCapture, frames: int) -> list[MatLike]:
    """Evenly spaced frames of a stream of unknown length, in bounded memory.

    Keeps every ``stride``-th frame; when twice the wanted number is held, drops
    every other one and doubles the stride.
    """
    kept: list[MatLike] = []
    stride = 1
    position = 0
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            break
        if position % stride == 0:
            kept.append(frame)
            if len(kept) >= 2 * frames:
                kept = kept[::2]
                stride *= 2
        position += 1
    if len(kept) <= frames:
        return kept
    return [kept[(2 * i + 1) * len(kept) // (2 * frames)] for i in range(frames)]


def _read_image(src: Path) -> MatLike:
    try:
        encoded = np.fromfile(src, dtype=np.uint8)
    except OSError as err:
        raise MediaError(msg("Cannot read {src}: {reason}.", src=src.name, reason=err),
                         hint=msg("Check that the file is readable.")) from err
    # IMREAD_COLOR applies the EXIF orientation, so the poster is upright.
    picture = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if picture is None:
        raise _undecodable(src)
    return picture


def _resize_to_height(picture: MatLike, height: int) -> MatLike:
    original_height, original_width = picture.shape[:2]
    width = max(1, (original_width * height + original_height // 2) // original_height)
    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)


def _write_jpeg(picture: MatLike, dst_jpg: Path) -> None:
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise MediaError(
            msg("OpenCV could not encode the thumbnail {dst_jpg}.", dst_jpg=dst_jpg.name),
            hint=msg("Report this with the source file; the evidence itself is unaffected."),
        )
    temp = dst_jpg.with_name(f".{dst_jpg.name}.{uuid.uuid4().hex}.partial")
    try:
        dst_jpg.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(encoded.tobytes())
        temp.replace(dst_jpg)
    except OSError as err:
        raise MediaError(
            msg("Cannot write the thumbnail {dst_jpg}: {reason}.", dst_jpg=dst_jpg, reason=err),
            hint=msg("Check free space and permissions of the thumbnail directory."),
        ) from err
    finally:
        temp.unlink(missing_ok=True)


def _undecodable(src: Path) -> MediaError:
    return MediaError(
        msg("OpenCV could not decode any picture from {src}.", src=src.name),
        hint=msg("No thumbnail is made; the file may be damaged. The evidence itself is unaffected."),
    )
