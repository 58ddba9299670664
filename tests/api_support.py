"""A case service with users of every role and a little evidence, for the API tests.

Import ``world_fixture`` into a test module; it registers as ``world`` and runs on
SQLite and PostgreSQL (through ``db_url`` from conftest). Evidence is recorded with
the record owner's ``record_original``/``record_derivatives`` (``storage.records``), so the rows
and custody events are the ones a real ingest writes.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.home import Home, init_home
from api.http.app import create_app
from api.http.ratelimit import RateLimits
from api.http.services import ApiOptions
from api.settings import Settings
from cases.organisation import Level, add_agency, add_unit
from cases.users import ALL_AGENCIES, Role, add_user, operator
from custody.events import decode_event
from media.ffmpeg_tools import ffmpeg_executable
from storage.objects import ObjectStore, StoredObject, derivative_key, original_key
from storage.records import (
    CaptureContext,
    MediaFacts,
    NewOriginal,
    Provenance,
    find,
    record_derivatives,
    record_original,
)
from tests.redaction_support import redaction_tools

ORIGIN = "test.example/api"
T0 = datetime(2024, 3, 15, 1, 30, tzinfo=UTC)
OFFICER_NO = "100234"
OTHER_OFFICER_NO = "200345"


class Clock:
    """A settable clock for session windows."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class World:
    home: Home
    client: TestClient
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)  # user name -> token
    evidence: dict[str, str] = field(default_factory=dict)  # label -> evidence id
    playback: dict[str, bytes] = field(default_factory=dict)  # label -> playback bytes
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close what the world keeps open: the client, the app's custody log's connections
        and the home's engine."""
        for close in self.closers:
            close()

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.auth(user), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        log = self.home.custody_log()
        found = [decode_event(leaf) for _, leaf in log.entries()]
        return [e for e in found if event_type is None or e["type"] == event_type]


# Two agencies: north (units n1 and n2) and south (unit s1). The users named by role alone
# ("officer", "case_officer", ...) are of unit n1, as the footage most tests use; "auditor"
# audits every agency. The others are there to be refused: another unit, another agency.
NORTH, SOUTH = "north", "south"
NORTH_UNIT, NORTH_UNIT2, SOUTH_UNIT = "n1", "n2", "s1"
UNITS = {NORTH_UNIT: NORTH, NORTH_UNIT2: NORTH, SOUTH_UNIT: SOUTH}
N2_OFFICER_NO = "300456"
SOUTH_OFFICER_NO = "400567"


@dataclass(frozen=True)
class Member:
    role: Role
    unit: str
    officer_no: str | None = None
    scope: str | None = None  # auditors: an agency code or "*"


USERS: dict[str, Member] = {
    "officer": Member(Role.OFFICER, NORTH_UNIT, OFFICER_NO),
    "officer2": Member(Role.OFFICER, NORTH_UNIT, OTHER_OFFICER_NO),
    "case_officer": Member(Role.CASE_OFFICER, NORTH_UNIT),
    "case_officer2": Member(Role.CASE_OFFICER, NORTH_UNIT),
    "reviewer": Member(Role.REVIEWER, NORTH_UNIT),
    "auditor": Member(Role.AUDITOR, NORTH_UNIT, scope=ALL_AGENCIES),
    "admin": Member(Role.ADMIN, NORTH_UNIT),
    "north-auditor": Member(Role.AUDITOR, NORTH_UNIT, scope=NORTH),
    "n2-officer": Member(Role.OFFICER, NORTH_UNIT2, N2_OFFICER_NO),
    "n2-case_officer": Member(Role.CASE_OFFICER, NORTH_UNIT2),
    "south-officer": Member(Role.OFFICER, SOUTH_UNIT, SOUTH_OFFICER_NO),
    "south-case_officer": Member(Role.CASE_OFFICER, SOUTH_UNIT),
    "south-reviewer": Member(Role.REVIEWER, SOUTH_UNIT),
    "south-auditor": Member(Role.AUDITOR, SOUTH_UNIT, scope=SOUTH),
    "south-admin": Member(Role.ADMIN, SOUTH_UNIT),
    # station clerks, one per unit: the station screen of their unit's stations, nothing else
    "clerk": Member(Role.CLERK, NORTH_UNIT),
    "n2-clerk": Member(Role.CLERK, NORTH_UNIT2),
    "south-clerk": Member(Role.CLERK, SOUTH_UNIT),
}


def make_organisation(home: Home) -> None:
    """The agencies and units of ``UNITS``, made by the operator."""
    log, by = home.custody_log(), operator("test")
    for agency in sorted(set(UNITS.values())):
        add_agency(log, by, agency, f"{agency} agency", Level.REGION, None)
    for unit, agency in UNITS.items():
        add_unit(log, by, unit, agency, f"unit {unit}")


def make_home(root: Path, db_url: str) -> Home:
    home, _ = init_home(Settings(home=root, database_url=db_url, log_origin=ORIGIN,
                                 s3_endpoint=None), ORIGIN)
    return home


def store_bytes(store: ObjectStore, data: bytes, key: str, retain_until: datetime) -> StoredObject:
    upload = store.begin_upload()
    upload.write(data)
    return upload.commit(key, retain_until=retain_until)


def add_evidence(home: Home, name: str, data: bytes, *, officer_no: str | None, device: str | None,
                 start: datetime, duration_ms: int = 1000, playback: bytes | None = None,
                 sequence: int | None = None, kind: str = "video", now: datetime = T0,
                 unit: str = NORTH_UNIT, extra: dict[str, bytes] | None = None) -> str:
    """Record an original (and optionally its playback copy) as the ingest pipeline does."""
    store, log = home.object_store(), home.custody_log()
    digest = hashlib.sha256(data).hexdigest()
    keep = datetime.now(UTC) + timedelta(days=183)
    stored = store_bytes(store, data, original_key(digest), keep)
    evidence_id, duplicate = record_original(
        log, stored, Provenance(source=f"DCIM/{name}", original_name=name, device_serial=device,
                                officer_no=officer_no, actor="station:test"),
        NewOriginal(start_time=start, time_source="file_name", sequence=sequence,
                    capture=CaptureContext(0, "UTC", start), retain_until=stored.retain_until,
                    unit_code=unit,
                    derivatives_state="pending" if playback is not None else "none"), now=now)
    assert not duplicate
    made = []
    if playback is not None:
        copy = store_bytes(store, playback, derivative_key(digest, "playback.mp4"), keep)
        made.append(("playback.mp4", "remux", copy))
    for name, body in (extra or {}).items():  # posters, strips
        made.append((name, "opencv", store_bytes(store, body, derivative_key(digest, name), keep)))
    with home.engine().connect() as conn:
        record = find(conn, evidence_id)
    assert record is not None
    record_derivatives(log, record, "station:test", made,
                       MediaFacts(kind=kind, time_source="file_name", start_time=start,
                                  duration_ms=duration_ms), [], None, now)
    return evidence_id


def make_clip(path: Path, seconds: int = 1) -> bytes:
    """A tiny H.264 MP4 (64x48) that ffmpeg can join by stream copy."""
    subprocess.run([ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=5:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(path)], check=True)
    return path.read_bytes()


def build_world(root: Path, db_url: str) -> World:
    home = make_home(root / "home", db_url)
    clock = Clock(T0 + timedelta(days=1))
    # The suite makes thousands of requests from one address; the limits have their own tests.
    # The station screen's event stream ends after its first events (tests/test_api_stations.py
    # follows longer streams on a live server).
    app = create_app(home, ApiOptions(clock=clock, rate_limits=RateLimits.generous(),
                                      station_stream_seconds=0.0,
                                      redaction=redaction_tools()))
    # The tests read the API's English messages (a machine's Accept-Language); Chinese, the
    # default, is tested in tests/test_i18n.py.
    world = World(home, TestClient(app, headers={"Accept-Language": "en"}), clock)
    world.closers += [app.state.services.exports.shutdown, app.state.services.verify_jobs.close,
                      world.client.close,
                      app.state.services.log.close, home.engine().dispose]
    log = home.custody_log()
    make_organisation(home)
    for name, member in USERS.items():
        _, world.tokens[name] = add_user(log, name, member.role, member.officer_no,
                                         by=operator("test"), unit_code=member.unit,
                                         auditor_scope=member.scope)
    # Playback copies are arbitrary bytes here: Range tests need exact, known content.
    mine = bytes(range(256)) * 40 + b"tail"
    world.playback["mine"] = mine
    world.evidence["mine"] = add_evidence(home, "A_100234_0001.MP4", b"original-1" * 100,
                                          officer_no=OFFICER_NO, device="ZFY0001", start=T0,
                                          playback=mine)
    theirs = b"other officer's playback copy" * 10
    world.playback["theirs"] = theirs
    world.evidence["theirs"] = add_evidence(home, "B_200345_0001.MP4", b"original-2" * 100,
                                            officer_no=OTHER_OFFICER_NO, device="ZFY0002",
                                            start=T0 + timedelta(hours=2), playback=theirs)
    world.evidence["photo"] = add_evidence(home, "A_100234_0002.JPG", b"jpeg" * 50,
                                           officer_no=OFFICER_NO, device="ZFY0001",
                                           start=T0 + timedelta(hours=1), kind="image")
    world.evidence["n2"] = add_evidence(home, "C_300456_0001.MP4", b"original-n2" * 100,
                                        officer_no=N2_OFFICER_NO, device="ZFY0003",
                                        start=T0 + timedelta(hours=3), unit=NORTH_UNIT2)
    world.evidence["south"] = add_evidence(home, "D_400567_0001.MP4", b"original-s1" * 100,
                                           officer_no=SOUTH_OFFICER_NO, device="ZFY0004",
                                           start=T0 + timedelta(hours=4), unit=SOUTH_UNIT,
                                           playback=b"south playback" * 10)
    return world


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, db_url: str) -> Iterator[World]:
    world = build_world(tmp_path, db_url)
    yield world
    world.close()


@pytest.fixture(scope="session", name="clips")
def clips_fixture(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Two distinct one-second H.264 clips (made once per test session)."""
    folder = tmp_path_factory.mktemp("clips")
    return [make_clip(folder / "a.mp4", 1), make_clip(folder / "b.mp4", 2)]


def add_recording(world: World, clips: list[bytes], *, officer_no: str = OFFICER_NO,
                  device: str = "ZFY0009", unit: str = NORTH_UNIT) -> tuple[str, list[str]]:
    """Segments of one recorder, back to back, with real MP4 playback copies.

    Returns (recording id, evidence ids in order).
    """
    from media.recordings import recording_id_for

    start = T0 + timedelta(hours=5)
    ids = []
    for number, clip in enumerate(clips, start=1):
        ids.append(add_evidence(world.home, f"{device}_{officer_no}_{number:04d}.MP4",
                                b"original of " + clip, officer_no=officer_no, device=device,
                                start=start, duration_ms=1000 * number, playback=clip,
                                sequence=number, unit=unit))
        start += timedelta(milliseconds=1000 * number)
    return recording_id_for(device, ids[0]), ids
