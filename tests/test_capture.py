"""A file's capture context is stored with its record and its start time computed from it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.home import Home, init_home
from api.settings import Settings
from domain.errors import ConfigError
from ingest.capture import zone_from_name, zone_name
from ingest.pipeline import IngestOptions, Ingestor
from storage import records
from storage.records import CaptureContext, EvidenceRecord
from tests.api_support import clips_fixture

_ = clips_fixture
SHANGHAI = ZoneInfo("Asia/Shanghai")
NAME = "ZFY0001_100234_20240315093000_0001.MP4"  # 09:30 Shanghai = 01:30 UTC on the device clock
MTIME = datetime(2024, 3, 15, 1, 40, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return init_home(Settings(home=tmp_path / "home"))[0]


def ingest(home: Home, card: Path, options: IngestOptions) -> list[str]:
    ingestor = Ingestor(home.custody_log(), home.object_store(), options)
    try:
        return [r.evidence_id for r in ingestor.ingest(card) if r.evidence_id]
    finally:
        ingestor.close()


def derive_later(home: Home, options: IngestOptions) -> None:
    ingestor = Ingestor(home.custody_log(), home.object_store(), options)
    try:
        ingestor.derive_pending()
    finally:
        ingestor.close()


def record_of(home: Home, evidence_id: str) -> EvidenceRecord:
    with home.engine().connect() as conn:
        record = records.find(conn, evidence_id)
    assert record is not None
    return record


def card_with(tmp_path: Path, name: str, data: bytes) -> Path:
    card = tmp_path / "card"
    card.mkdir()
    path = card / name
    path.write_bytes(data)
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return card


def test_a_docked_clock_offset_survives_derivatives_made_by_a_later_run(
        tmp_path: Path, home: Home, clips: list[bytes]) -> None:
    card = card_with(tmp_path, NAME, clips[0])
    # the recorder ran 5 minutes fast when it docked; derivatives are left for later
    [evidence_id] = ingest(home, card, IngestOptions(station_tz=SHANGHAI, clock_offset_seconds=300,
                                                     derive=False))
    docked = record_of(home, evidence_id)
    corrected = datetime(2024, 3, 15, 1, 25, tzinfo=UTC)
    assert docked.start_time == corrected and docked.derivatives_state == "pending"
    assert docked.capture == CaptureContext(300, "Asia/Shanghai", MTIME)
    # a later run on a station with other settings makes the derivatives
    derive_later(home, IngestOptions(station_tz=UTC, clock_offset_seconds=0))
    derived = record_of(home, evidence_id)
    assert derived.derivatives_state == "done" and derived.kind == "video"
    assert derived.start_time == corrected, "the later run lost the recorder's clock offset"
    assert derived.time_source == "filename" and derived.capture == docked.capture


def test_the_file_time_on_the_recorder_is_kept_for_the_later_run(
        tmp_path: Path, home: Home, clips: list[bytes]) -> None:
    # no time in the name: the start is the recorder's mtime minus the probed duration
    card = card_with(tmp_path, "REC0001.MP4", clips[1])
    [evidence_id] = ingest(home, card, IngestOptions(station_tz=UTC, clock_offset_seconds=-60,
                                                     derive=False))
    assert record_of(home, evidence_id).start_time == MTIME + timedelta(seconds=60)
    derive_later(home, IngestOptions(station_tz=SHANGHAI))
    derived = record_of(home, evidence_id)
    assert derived.time_source == "file_mtime" and derived.duration_ms == 2000
    assert derived.start_time == MTIME + timedelta(seconds=60) - timedelta(seconds=2)


def test_an_ingest_event_records_the_capture_context_and_unit(
        tmp_path: Path, home: Home, clips: list[bytes]) -> None:
    from custody.events import decode_event

    card = card_with(tmp_path, NAME, clips[0])
    ingest(home, card, IngestOptions(station_tz=SHANGHAI, clock_offset_seconds=300, derive=False,
                                     unit_code="default"))
    [event] = [e for e in (decode_event(leaf) for _, leaf in home.custody_log().entries())
               if e["type"] == "evidence:file:ingested"]
    assert event["details"]["unit_code"] == "default"
    assert event["details"]["capture"] == {"clock_offset_seconds": 300,
                                           "station_tz": "Asia/Shanghai",
                                           "source_mtime": "2024-03-15T01:40:00Z"}
    from cases.bundle_report import describe

    sentence = describe(event)
    assert "for unit default" in sentence and "clock was 300 s fast" in sentence


@pytest.mark.parametrize("zone", [SHANGHAI, UTC, timezone(timedelta(hours=8)),
                                  timezone(timedelta(hours=-3, minutes=-30))])
def test_a_stored_zone_reads_back_as_the_same_zone(zone: timezone | ZoneInfo) -> None:
    moment = datetime(2024, 7, 1, 12, 0)
    assert zone_from_name(zone_name(zone)).utcoffset(moment) == zone.utcoffset(moment)


def test_an_unknown_stored_zone_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError) as raised:
        zone_from_name("Mars/Olympus_Mons")
    assert raised.value.hint
