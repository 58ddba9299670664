"""The `ingest` and `recordings` commands: wiring and rendering only."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from sqlalchemy import select

from api.cli_text import emit_json, inert
from api.home import Home
from api.progress import RichIngestProgress
from api.settings import Settings
from cases.devices import registry_entries
from cases.organisation import get_unit
from domain.errors import ConfigError, NotFound
from domain.messages import msg
from ingest.pipeline import MIN_RETENTION_DAYS, FileResult, IngestOptions, Ingestor, Progress
from ingest.walk import Found, walk_volume
from storage import catalog
from storage.db import database_errors


def ingest_options(settings: Settings, home: Home, device_serial: str | None = None,
                   officer: str | None = None, unit: str | None = None) -> IngestOptions:
    """The options of a run; footage belongs to ``unit``, else to the unit of the registered
    recorder ``device_serial``, else to the station's unit."""
    if settings.retention_days < MIN_RETENTION_DAYS:
        raise ConfigError(msg("EVIDENCE_RETENTION_DAYS={retention_days} is under six months",
                              retention_days=settings.retention_days),
                          hint=msg("use at least {min_retention_days} days",
                                   min_retention_days=MIN_RETENTION_DAYS))
    registered = registry_entries(home.engine()).get(device_serial) if device_serial else None
    unit_code = unit or (registered.unit_code if registered else None) or settings.station_unit
    with database_errors(msg("checking the footage's unit")), home.engine().connect() as conn:
        try:
            get_unit(conn, unit_code)
        except NotFound:
            raise ConfigError(msg("there is no unit {unit_code!r} for the footage to belong to",
                                  unit_code=unit_code),
                              hint=msg("add it with `evidence unit add`, or fix --unit or "
                                       "EVIDENCE_STATION_UNIT")) from None
    options = IngestOptions(actor=f"station:{home.origin}", device_serial=device_serial,
                            officer_no=officer, retention_days=settings.retention_days,
                            unit_code=unit_code)
    if settings.station_tz:
        try:
            options.station_tz = ZoneInfo(settings.station_tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(msg("unknown time zone EVIDENCE_STATION_TZ={station_tz!r}",
                                  station_tz=settings.station_tz),
                              hint=msg("use an IANA name such as Asia/Shanghai")) from None
    return options


def run_ingest(home: Home, settings: Settings, path: Path, device_serial: str | None,
               officer: str | None, as_json: bool, console: Console,
               unit: str | None = None) -> bool:
    """Ingest PATH; True when every file is accounted for without failure."""
    store = home.object_store()
    leftovers = store.cleanup_temporaries()
    options = ingest_options(settings, home, device_serial, officer, unit)
    total = sum(item.size for item in walk_volume(path) if isinstance(item, Found))
    ok = True
    display = None if as_json else RichIngestProgress(console, total)
    ingestor = Ingestor(home.custody_log(), store, options, display or Progress())
    counts: dict[str, int] = {}
    try:
        if display:
            display.__enter__()
        ingestor.derive_pending()  # finish what a crashed run left
        for result in ingestor.ingest(path):
            counts[result.status] = counts.get(result.status, 0) + 1
            ok = ok and result.status != "failed"
            _emit(result, as_json, display)
    finally:
        if display:
            display.__exit__(None, None, None)
        ingestor.close()
    if not as_json:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no files"
        console.print(inert(f"Done: {summary}." + (f" Removed {leftovers} leftover temporary "
                                                   "upload(s) from an interrupted run." if leftovers
                                                   else "")))
    return ok


def _emit(result: FileResult, as_json: bool, display: RichIngestProgress | None) -> None:
    if as_json:
        emit_json(result.to_json(), sort_keys=False)
    elif display:
        display.file_finished(result)


def list_recordings(home: Home) -> list[dict[str, Any]]:
    from cases.recordings import all_recordings

    ev = catalog.evidence
    with home.engine().connect() as conn:
        recordings = all_recordings(conn)
        names = dict(conn.execute(select(ev.c.id, ev.c.original_name)
                                  .where(ev.c.kind == "video")).tuples().all())
    return [{
        "id": rec.recording_id,
        "device": rec.device,
        "start": rec.start.isoformat(),
        "end": rec.end.isoformat(),
        "segments": [{"evidence_id": s.evidence_id, "name": names[s.evidence_id],
                      "start": s.start.isoformat(), "duration_ms": s.duration_ms}
                     for s in rec.segments],
        "gaps": [{"start": g.start.isoformat(), "end": g.end.isoformat(),
                  "seconds": float(g.seconds),
                  "milliseconds": g.microseconds // 1000} for g in rec.gaps],
        "overlaps": [{"start": o.start.isoformat(), "end": o.end.isoformat(),
                      "seconds": float(o.seconds)} for o in rec.overlaps],
        "continuous": rec.continuous,
    } for rec in recordings]


def join_recording(home: Home, recording_id: str, out: Path, reason: str | None) -> Path:
    """Export the recording through the one domain function, as the CLI operator; copy it to ``out``."""
    from api.cli_service import cli_operator
    from cases.recording_export import export_recording

    joined = export_recording(home.custody_log(), home.object_store(), cli_operator(), recording_id,
                              reason, home.recordings_cache, datetime.now(UTC))
    shutil.copyfile(joined.path, out)
    return out
