"""Read what a media file is: kind, container, codecs, duration, size, times.

PyAV (libavformat) reads the container header only, so probing is fast and
never decodes pictures. Photos additionally get their EXIF capture time and
camera make/model from Pillow, which parses EXIF more completely than ffmpeg.

No floats leave this module: the custody log rejects them, so durations are
integer milliseconds and times are datetimes. A file that libavformat cannot
parse (empty, truncated MP4 without its ``moov`` index, not media at all)
raises :class:`domain.errors.MediaError`; the caller keeps the original bytes
regardless, because an unplayable file is still evidence.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import av
import av.error
from av.container import InputContainer
from av.stream import Disposition
from PIL import ExifTags, Image

from domain.errors import MediaError
from domain.messages import msg, plain

MediaKind = Literal["video", "audio", "image", "unknown"]

# Recorders with a reset clock write zeroed header times (the MP4 epoch 1904 or
# the Unix epoch 1970); anything before digital body cameras existed is "unset".
EARLIEST_PLAUSIBLE_TIME = datetime(2000, 1, 1, tzinfo=UTC)

# QuickTime's own capture-date tag carries the device's UTC offset, so it is
# preferred over the generic creation_time, which is nominally UTC.
_CREATION_TIME_TAGS = ("com.apple.quicktime.creationdate", "creation_time")

_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_OFFSET_TIME_ORIGINAL = 0x9011
_EXIF_MAKE = 0x010F
_EXIF_MODEL = 0x0110


@dataclass(frozen=True)
class MediaInfo:
    """What a media file contains. All numbers are integers; times are datetimes."""

    kind: MediaKind
    container: str
    video_codec: str | None
    audio_codec: str | None
    duration_ms: int | None
    width: int | None
    height: int | None
    creation_time: datetime | None  # aware UTC, from the container header
    tags: dict[str, str] = field(default_factory=dict)
    video_pixel_format: str | None = None
    # EXIF capture time as the camera wrote it: naive device-local time unless the
    # camera also wrote OffsetTimeOriginal, in which case it is aware.
    exif_datetime_original: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None

    def to_record(self) -> dict[str, object]:
        """JSON-ready dict for the custody log: ints, strings and ISO times only."""
        return {
            "kind": self.kind,
            "container": self.container,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "duration_ms": self.duration_ms,
            "width": self.width,
            "height": self.height,
            "creation_time": _iso_or_none(self.creation_time),
            "tags": dict(self.tags),
            "video_pixel_format": self.video_pixel_format,
            "exif_datetime_original": _iso_or_none(self.exif_datetime_original),
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
        }


def probe(path: Path) -> MediaInfo:
    """Describe the media file at ``path``; raise MediaError if it cannot be parsed."""
    container = _open_container(path)
    try:
        # A stream without a codec is a track whose header could not be read.
        if not any(stream.codec_context is not None for stream in container.streams):
            raise MediaError(
                msg("{path} opens as {format} but has no readable stream: its header is damaged or cut "
                    "short.", path=path.name, format=container.format.name),
                hint=msg("Keep the original as evidence; re-copy it from the recorder if possible."),
            )
        info = _describe(container)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeError) as err:
        raise MediaError(
            msg("Could not read the stream headers of {path}. FFmpeg said: {reason}", path=path.name,
                reason=plain(str(err))),
            hint=msg("The file is damaged; keep the original and re-copy it from the recorder."),
        ) from err
    finally:
        container.close()
    if info.kind != "image":
        return info
    exif = _read_exif(path)
    return dataclasses.replace(
        info,
        exif_datetime_original=exif.datetime_original,
        camera_make=exif.make,
        camera_model=exif.model,
    )


def _open_container(path: Path) -> InputContainer:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise MediaError(
            msg("Cannot read {path}. The system said: {value}", path=path,
                value=plain(str(err.strerror or err))),
            hint=msg("Check that the file exists and that this service may read it."),
        ) from err
    if size == 0:
        raise MediaError(
            msg("{path} is empty (0 bytes), so it holds no media.", path=path.name),
            hint=msg("Keep it as found; if the recorder shows a recording here, re-copy it."),
        )
    try:
        return av.open(str(path), metadata_errors="replace")
    except av.error.FFmpegError as err:
        if _is_mp4_without_index(path):
            raise MediaError(
                msg("{path} is an MP4/MOV recording whose 'moov' index was never written (the recorder "
                    "lost power or the card was removed while recording), so it cannot be played as is.",
                    path=path.name),
                hint=msg("Keep the original as evidence; a forensic examiner can rebuild the index from a "
                         "healthy file of the same recorder (e.g. with untrunc)."),
            ) from err
        raise MediaError(
            msg("{path} is not a readable media file: it is truncated, corrupt, or not media at all. "
                "FFmpeg said: {ffmpeg_reason}", path=path.name, ffmpeg_reason=plain(_ffmpeg_reason(err))),
            hint=msg("Keep the original as evidence; re-copy it from the recorder if possible."),
        ) from err
    except (OSError, UnicodeError) as err:
        raise MediaError(
            msg("Cannot open {path}. The system said: {reason}", path=path.name, reason=plain(str(err))),
            hint=msg("Check that the file is readable and not being written."),
        ) from err


def _is_mp4_without_index(path: Path) -> bool:
    """True for an ISO-BMFF file (starts with 'ftyp') with no top-level 'moov' box.

    Walks only the top-level box headers, so it reads a few bytes per box.
    """
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, 2)
            offset = 0
            first = True
            while offset + 8 <= size:
                stream.seek(offset)
                header = stream.read(16)
                box_size = int.from_bytes(header[0:4], "big")
                box_type = header[4:8]
                if first and box_type != b"ftyp":
                    return False
                first = False
                if box_type == b"moov":
                    return False
                if box_size == 1 and len(header) == 16:
                    box_size = int.from_bytes(header[8:16], "big")
                elif box_size == 0:  # box runs to the end of the file
                    break
                if box_size < 8:
                    break
                offset += box_size
            return not first
    except OSError:
        return False


def _ffmpeg_reason(err: av.error.FFmpegError) -> str:
    return str(err.strerror) if err.strerror else str(err)


def _describe(container: InputContainer) -> MediaInfo:
    format_name = container.format.name
    video = next(
        (s for s in container.streams.video if not s.disposition & Disposition.attached_pic),
        None,
    )
    audio = next(iter(container.streams.audio), None)
    is_still = (
        video is not None
        and _is_still_image_format(format_name)
        and _packets_up_to(container, video.index, 2) < 2
    )
    kind: MediaKind
    if is_still:
        kind = "image"
    elif video is not None:
        kind = "video"
    elif audio is not None:
        kind = "audio"
    else:
        kind = "unknown"
    tags = {str(k): str(v) for k, v in container.metadata.items()}
    stream_tags = [dict(s.metadata) for s in (video, audio) if s is not None]
    return MediaInfo(
        kind=kind,
        container=format_name,
        video_codec=video.codec_context.name if video is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
        duration_ms=None if is_still else _duration_ms(container),
        width=video.codec_context.width if video is not None else None,
        height=video.codec_context.height if video is not None else None,
        creation_time=_creation_time([tags, *stream_tags]),
        tags=tags,
        video_pixel_format=video.codec_context.format.name
        if video is not None and video.codec_context.format is not None
        else None,
    )


def _is_still_image_format(format_name: str) -> bool:
    # libavformat reads pictures with the image2 demuxer or a "<codec>_pipe" one; the
    # same demuxers read raw MJPEG streams, hence the packet count beside this test.
    return format_name == "image2" or format_name.endswith("_pipe")


def _packets_up_to(container: InputContainer, stream_index: int, limit: int) -> int:
    """Count a stream's packets, stopping at ``limit`` (a raw MJPEG stream has many)."""
    count = 0
    for packet in container.demux(container.streams[stream_index]):
        if packet.size:
            count += 1
            if count >= limit:
                break
    return count


def _duration_ms(container: InputContainer) -> int | None:
    if container.duration is not None and container.duration > 0:
        # container.duration is in AV_TIME_BASE units (microseconds); round to nearest ms.
        return (int(container.duration) + 500) // 1000
    longest: int | None = None
    for stream in container.streams:
        if stream.duration is None or stream.time_base is None:
            continue
        ms = round(stream.duration * stream.time_base * 1000)
        longest = ms if longest is None else max(longest, ms)
    return longest


def _creation_time(tag_sets: list[dict[str, str]]) -> datetime | None:
    for key in _CREATION_TIME_TAGS:
        for tags in tag_sets:
            parsed = parse_header_time(tags.get(key))
            if parsed is not None:
                return parsed
    return None


def parse_header_time(value: str | None) -> datetime | None:
    """Parse a container time tag to aware UTC; None if absent, zeroed or unparsable.

    ffmpeg writes ``2024-01-01T12:00:00.000000Z``; a time without an offset is UTC
    by the container convention.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed if parsed >= EARLIEST_PLAUSIBLE_TIME else None


@dataclass(frozen=True)
class _Exif:
    datetime_original: datetime | None = None
    make: str | None = None
    model: str | None = None


def _read_exif(path: Path) -> _Exif:
    """EXIF capture time and camera; an unreadable EXIF block yields no values.

    A photo with damaged EXIF is still a photo: its time then comes from the
    next source in names.resolve_start_time, which records which one was used.
    """
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            original = _clean_text(exif_ifd.get(_EXIF_DATETIME_ORIGINAL))
            offset = _clean_text(exif_ifd.get(_EXIF_OFFSET_TIME_ORIGINAL))
            return _Exif(
                datetime_original=parse_exif_datetime(original, offset),
                make=_clean_text(exif.get(_EXIF_MAKE)),
                model=_clean_text(exif.get(_EXIF_MODEL)),
            )
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError):
        return _Exif()


def _clean_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


def parse_exif_datetime(value: str | None, offset: str | None = None) -> datetime | None:
    """Parse EXIF ``YYYY:MM:DD hh:mm:ss`` (plus optional ``+hh:mm`` offset).

    Returns a naive device-local datetime, or an aware one when an offset is given;
    None for blank, zeroed ("0000:00:00 00:00:00") or malformed values.
    """
    if not value:
        return None
    try:
        parsed = datetime.strptime(value.strip()[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if offset:
        try:
            zone = datetime.strptime(offset.strip(), "%z").tzinfo
        except ValueError:
            zone = None
        if zone is not None:
            parsed = parsed.replace(tzinfo=zone)
    return parsed


def _iso_or_none(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
