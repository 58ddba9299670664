"""A file's start time, computed in one place from the capture context stored with its record.

The run that copies a file records the recorder's clock offset, the station's
zone and the file's time on the recorder (``storage.records.CaptureContext``);
the start time is computed from that context, at ingest and again when the
derivatives are made (with what probing found), never from a later run's settings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import ConfigError
from domain.messages import msg
from media.names import parse_name, resolve_start_time
from media.probe import MediaInfo
from storage.records import CaptureContext


def zone_name(zone: tzinfo) -> str:
    """How a zone is stored: its IANA name, else its fixed offset (``+08:00``)."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = zone.utcoffset(datetime.now(UTC).replace(tzinfo=None)) or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_from_name(name: str) -> tzinfo:
    """The zone ``zone_name`` stored."""
    if name[:1] in "+-" and len(name) == 6 and name[3] == ":":
        try:
            minutes = int(name[1:3]) * 60 + int(name[4:6])
        except ValueError:
            minutes = -1
        if minutes >= 0:
            return timezone(timedelta(minutes=-minutes if name[0] == "-" else minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(msg("the stored station time zone {name!r} is unknown", name=name),
                          hint=msg("install the tzdata package for IANA zone names")) from None


def capture_context(clock_offset_seconds: int | None, station_tz: tzinfo,
                    source_mtime: datetime) -> CaptureContext:
    """The context a run records for a file it copies."""
    return CaptureContext(clock_offset_seconds, zone_name(station_tz), source_mtime.astimezone(UTC))


def start_time(original_name: str, capture: CaptureContext, media: MediaInfo | None, *,
               fallback_tz: tzinfo, fallback_mtime: datetime) -> tuple[datetime, str]:
    """The file's true start time (aware UTC) and the source it came from.

    ``fallback_tz`` and ``fallback_mtime`` serve only records made before the context
    was stored (migration 0008); an unknown clock offset counts as none.
    """
    zone = zone_from_name(capture.station_tz) if capture.station_tz else fallback_tz
    mtime = capture.source_mtime or fallback_mtime
    return resolve_start_time(parse_name(original_name), media, mtime,
                              capture.clock_offset_seconds or 0, zone)
