"""Recorder file names, and which clock reading becomes a recording's start time.

File name patterns understood by :func:`parse_name` (extension ignored; the fixed
prefixes such as ``VID_`` in any letter case; serials keep theirs):

* GA/T 947 body-worn recorder: ``<device serial>_<officer no>_<YYYYMMDDhhmmss>_<seq>``,
  e.g. ``ZFY0001_100234_20240315093000_0001.MP4`` (serial alphanumeric, officer digits).
* Phone style: ``VID_20240101_120000.mp4``, ``IMG_20240101_120000.jpg``,
  ``PXL_20240101_120000123.mp4`` (extra suffixes such as ``_HDR`` are ignored).
* Bare date: ``20240101_120000.MP4``.
* Dashcam / body cam: ``2024_0101_120000_001.MP4`` (the digits after the time are a
  sequence number; a trailing channel letter such as ``F``/``R`` is allowed).
* Counter only: ``REC0001.MP4``, ``MOVI0001.AVI``, ``DSC_0001.JPG``: a sequence, no time.

All times in names are naive: they are the recorder's local wall clock.

Start-time precedence (:func:`resolve_start_time`), first available source wins:

1. ``exif``: EXIF DateTimeOriginal of a photo. It is written into the picture at the
   moment of capture and survives renaming and copying.
2. ``filename``: the time in a recognised file name. Recorders name the file when
   recording starts, so for video this is the start time on the device clock.
3. ``container``: the container header's creation_time. It is nominally UTC, but many
   cameras write local time there and label it UTC, and remuxing tools rewrite it,
   so it ranks below the name.
4. ``file_mtime``: the file's modification time, i.e. when the device (or a copy
   tool) last wrote it, usually the *end* of a recording; when the duration is
   known the start is taken as mtime minus duration. Weakest: copies reset it.

Naive device-local times (EXIF without OffsetTimeOriginal, file names) are read in
the station's time zone (``station_tz``; at an ambiguous DST fold the earlier
instant). Every source is a device clock reading, so the known clock offset
(seconds, *device minus true time*; positive means the device runs fast) is then
subtracted: ``true = device - offset``. The result is aware UTC and the name of the
source that was used, which must be recorded alongside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from domain.errors import MediaError
from domain.messages import msg

if TYPE_CHECKING:  # devices/ reads names without loading the probe's media libraries
    from media.probe import MediaInfo

SOURCE_EXIF = "exif"
SOURCE_FILENAME = "filename"
SOURCE_CONTAINER = "container"
SOURCE_FILE_MTIME = "file_mtime"
GAT947_PATTERN = "gat947"


@dataclass(frozen=True)
class NameInfo:
    """What a recorder's file name says. ``start`` is naive device-local time."""

    pattern: str
    device_serial: str | None
    officer_no: str | None
    start: datetime | None
    sequence: int | None


_GAT947 = re.compile(
    r"(?P<serial>[A-Za-z0-9]{1,32})_(?P<officer>\d{1,12})_(?P<stamp>\d{14})_(?P<seq>\d{1,8})"
)
_PHONE = re.compile(
    r"(?:VID|IMG|PXL|MVIMG)_(?P<date>\d{8})_(?P<time>\d{6})(?:\d{1,3})?(?:_.*)?", re.IGNORECASE
)
_BARE_DATE = re.compile(r"(?P<date>\d{8})_(?P<time>\d{6})(?:_.*)?")
_DASHCAM = re.compile(r"(?P<year>\d{4})_(?P<monthday>\d{4})_(?P<time>\d{6})_(?P<seq>\d{1,6})[A-Za-z]?")
_COUNTER = re.compile(r"[A-Za-z]{2,5}_?(?P<seq>\d{3,6})")


def parse_name(filename: str) -> NameInfo | None:
    """Parse a recorder file name; None when it matches no known pattern.

    Directory parts (``/`` or ``\\``) and the extension are ignored. A name that has
    a known shape but an impossible date keeps its other fields with ``start=None``.
    """
    stem = _stem(filename)
    if match := _GAT947.fullmatch(stem):
        return NameInfo(
            pattern=GAT947_PATTERN,
            device_serial=match["serial"],
            officer_no=match["officer"],
            start=_parse_stamp(match["stamp"]),
            sequence=int(match["seq"]),
        )
    if match := _PHONE.fullmatch(stem):
        return _time_only("phone", match["date"] + match["time"])
    if match := _DASHCAM.fullmatch(stem):
        return NameInfo(
            pattern="dashcam",
            device_serial=None,
            officer_no=None,
            start=_parse_stamp(match["year"] + match["monthday"] + match["time"]),
            sequence=int(match["seq"]),
        )
    if match := _BARE_DATE.fullmatch(stem):
        return _time_only("date_time", match["date"] + match["time"])
    if match := _COUNTER.fullmatch(stem):
        return NameInfo(
            pattern="counter",
            device_serial=None,
            officer_no=None,
            start=None,
            sequence=int(match["seq"]),
        )
    return None


def _stem(filename: str) -> str:
    base = re.split(r"[\\/]", filename)[-1]
    dot = base.rfind(".")
    return base[:dot] if dot > 0 else base


def _time_only(pattern: str, stamp: str) -> NameInfo:
    return NameInfo(
        pattern=pattern,
        device_serial=None,
        officer_no=None,
        start=_parse_stamp(stamp),
        sequence=None,
    )


def _parse_stamp(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def resolve_start_time(
    name: NameInfo | None,
    media: MediaInfo | None,
    mtime: datetime,
    clock_offset_seconds: int,
    station_tz: tzinfo,
) -> tuple[datetime, str]:
    """Best true start time (aware UTC) and the name of the source it came from.

    See the module docstring for the precedence and offset rules. ``mtime`` must be
    aware (e.g. ``datetime.fromtimestamp(st_mtime, UTC)``), else MediaError.
    """
    if mtime.tzinfo is None or mtime.utcoffset() is None:
        raise MediaError(
            msg("The file time {mtime} has no time zone, so it names no instant.", mtime=mtime.isoformat()),
            hint=msg("Pass an aware time, e.g. datetime.fromtimestamp(st_mtime, UTC)."),
        )
    offset = timedelta(seconds=clock_offset_seconds)
    if media is not None and media.exif_datetime_original is not None:
        device_time = _as_utc(media.exif_datetime_original, station_tz)
        return device_time - offset, SOURCE_EXIF
    if name is not None and name.start is not None:
        return _as_utc(name.start, station_tz) - offset, SOURCE_FILENAME
    if media is not None and media.creation_time is not None:
        return media.creation_time.astimezone(UTC) - offset, SOURCE_CONTAINER
    duration_ms = media.duration_ms if media is not None and media.duration_ms else 0
    start = mtime.astimezone(UTC) - timedelta(milliseconds=duration_ms)
    return start - offset, SOURCE_FILE_MTIME


def _as_utc(value: datetime, station_tz: tzinfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=station_tz)
    return value.astimezone(UTC)
