"""Photos, sound, posters, thumbnail strips and damaged files, as a page reaches them."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import numpy as np
import pytest

from cases.case_records import attach_evidence, create_case
from cases.users import authenticate
from ingest.derive import derive
from storage import catalog
from storage.objects import derivative_key, original_key
from storage.records import (
    CaptureContext,
    MediaFacts,
    NewOriginal,
    Provenance,
    find,
    record_derivatives,
    record_original,
)
from tests.api_support import OFFICER_NO, T0, World, store_bytes, world_fixture

_ = world_fixture
API = "/api/v1"
DAMAGED_WHY = ("cannot be probed: Could not read the stream headers of C_0007.MP4: Invalid data "
               "found when processing input.")


def _jpeg(colour: tuple[int, int, int], width: int = 64, height: int = 48) -> bytes:
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[:] = colour[::-1]  # OpenCV is BGR
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    return encoded.tobytes()


def _ingest(world: World, name: str, data: bytes, *, kind: str | None,
            derived: dict[str, bytes] | None = None, flags: tuple[str, ...] = (),
            error: str | None = None) -> str:
    """An item as ingest records it: original, then its derivatives (or the probe failure)."""
    home = world.home
    store, log = home.object_store(), home.custody_log()
    digest = hashlib.sha256(data).hexdigest()
    keep = datetime.now(UTC) + timedelta(days=183)
    stored = store_bytes(store, data, original_key(digest), keep)
    evidence_id, _ = record_original(
        log, stored, Provenance(source=f"DCIM/{name}", original_name=name, device_serial="ZFY0001",
                                officer_no=OFFICER_NO, actor="station:test"),
        NewOriginal(start_time=T0, time_source="file_name", sequence=None,
                    capture=CaptureContext(0, "UTC", T0), retain_until=stored.retain_until,
                    unit_code="n1", derivatives_state="pending"), now=T0)
    made = [(copy, "opencv" if copy.endswith(".jpg") else "remux",
             store_bytes(store, body, derivative_key(digest, copy), keep))
            for copy, body in (derived or {}).items()]
    with home.engine().connect() as conn:
        record = find(conn, evidence_id)
    assert record is not None
    facts = None if kind is None else MediaFacts(kind=kind, time_source="file_name",
                                                 start_time=T0, duration_ms=1000)
    record_derivatives(log, record, "station:test", made, facts, list(flags), error, T0)
    return evidence_id


def _on_a_case(world: World, *ids: str) -> None:
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    log = world.home.custody_log()
    case = create_case(log, manager, "Media", f"M-{os.urandom(3).hex()}")
    for evidence_id in ids:
        attach_evidence(log, world.home.object_store(), manager, case.id, evidence_id)


def _status(world: World, user: str, evidence_id: str) -> dict[str, Any]:
    response = world.get(user, f"{API}/evidence/{evidence_id}")
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()["status"]
    return status


def test_a_photo_is_shown_as_an_image_and_its_viewing_is_logged(world: World) -> None:
    photo = _jpeg((200, 30, 30), 640, 480)
    poster, strip = _jpeg((200, 30, 30), 64, 48), _jpeg((200, 30, 30), 120, 90)
    evidence_id = _ingest(world, "P_100234_0001.JPG", photo, kind="image",
                          derived={"poster.jpg": poster, "strip.jpg": strip})
    status = _status(world, "officer", evidence_id)
    assert status == {"state": "ok", "reason": None, "playback": False, "photo": True,
                      "poster": True, "strip": True, "original_download": False}
    response = world.get("officer", f"{API}/evidence/{evidence_id}/photo?reason=report")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert "content-disposition" not in response.headers  # shown, not downloaded
    assert response.content == photo
    shown = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert shown is not None and shown.shape == (480, 640, 3)
    [event] = world.events("evidence:file:viewed")
    assert event["subject"]["evidence_id"] == evidence_id and event["actor"] == "user:officer"
    assert event["details"]["copy"] == "original" and event["details"]["reason"] == "report"
    assert event["details"]["sha256"] == hashlib.sha256(photo).hexdigest()
    # a Range request of the same session logs nothing more
    part = world.get("officer", f"{API}/evidence/{evidence_id}/photo",
                     headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == photo[:10]
    assert len(world.events("evidence:file:viewed")) == 1
    # auditors read metadata but see no footage; other officers not even that
    assert world.get("auditor", f"{API}/evidence/{evidence_id}/photo").status_code == 403
    assert world.get("officer2", f"{API}/evidence/{evidence_id}/photo").status_code == 403
    assert _status(world, "auditor", evidence_id)["photo"] is False
    # a video is not a photo
    video = world.get("officer", f"{API}/evidence/{world.evidence['mine']}/photo")
    assert video.status_code == 409 and "play it" in video.json()["error"]["hint"]


def test_posters_and_strips_are_served_checked_and_without_an_event(world: World) -> None:
    poster, strip = _jpeg((0, 0, 200)), _jpeg((0, 200, 0), 8 * 120, 90)
    evidence_id = _ingest(world, "V_100234_0002.MP4", b"video original", kind="video",
                          derived={"playback.mp4": b"copy bytes", "poster.jpg": poster,
                                   "strip.jpg": strip})
    before = len(world.events())
    for name, body in (("poster", poster), ("strip", strip)):
        response = world.get("case_officer", f"{API}/evidence/{evidence_id}/{name}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.content == body
        assert response.headers["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'
        assert world.get("auditor", f"{API}/evidence/{evidence_id}/{name}").status_code == 403
        assert world.get("south-admin", f"{API}/evidence/{evidence_id}/{name}").status_code == 403
    assert len(world.events()) == before
    # a poster whose stored bytes were altered is cut short, never delivered whole
    key = derivative_key(hashlib.sha256(b"video original").hexdigest(), "poster.jpg")
    stored = world.home.objects / "objects" / key
    os.chmod(stored, 0o644)
    stored.write_bytes(_jpeg((255, 255, 255)).ljust(len(poster), b"\0")[:len(poster)])
    # The status line has gone out; the test client re-raises what cut the stream.
    with pytest.raises(RuntimeError) as raised:
        world.get("case_officer", f"{API}/evidence/{evidence_id}/poster")
    assert "hashes to" in str(raised.value.__cause__)
    # a catalogue row pointing at other bytes serves nothing
    der = catalog.derivatives
    with world.home.engine().begin() as conn:
        conn.execute(der.update().where((der.c.evidence_id == evidence_id)
                                        & (der.c.name == "strip.jpg"))
                     .values(sha256=hashlib.sha256(poster).hexdigest(), size=len(poster)))
    edited = world.get("case_officer", f"{API}/evidence/{evidence_id}/strip")
    assert edited.status_code == 500 and edited.json()["error"]["code"] == "integrity_error"


def test_sound_plays_as_audio(world: World) -> None:
    evidence_id = _ingest(world, "R_100234_0003.WAV", b"wave original", kind="audio",
                          derived={"playback.mp4": b"m4a bytes"})
    status = _status(world, "officer", evidence_id)
    assert (status["playback"], status["poster"], status["photo"]) == (True, False, False)
    response = world.get("officer", f"{API}/evidence/{evidence_id}/playback")
    assert response.status_code == 200 and response.content == b"m4a bytes"
    assert response.headers["content-type"] == "audio/mp4"
    assert world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback"
                     ).headers["content-type"] == "video/mp4"
    none = world.get("officer", f"{API}/evidence/{evidence_id}/poster")
    assert none.status_code == 409 and "audio" in none.json()["error"]["hint"]


def test_why_a_damaged_file_cannot_play_is_said_in_the_askers_language(world: World) -> None:
    """The probe's diagnosis is kept as its sentence, so a Chinese reader reads Chinese; what
    FFmpeg itself said stays as it said it, after a label, never inside a Chinese sentence."""
    evidence_id = _ingest(world, "C_0008.MP4", b"no media in here " * 40, kind=None)
    home = world.home
    with home.engine().connect() as conn:
        record = find(conn, evidence_id)
    assert record is not None
    outcome = derive(home.object_store(), record, retain_until=None, fallback_tz=UTC)
    record_derivatives(home.custody_log(), record, "station:test", outcome.made, outcome.facts,
                       outcome.flags, outcome.error, T0)
    url = f"{API}/evidence/{evidence_id}"
    english = world.get("officer", url).json()
    chinese = world.get("officer", url, headers={"Accept-Language": "zh-CN"}).json()
    ffmpeg_said = "Invalid data found when processing input"
    assert english["status"]["state"] == chinese["status"]["state"] == "damaged"
    assert english["status"]["reason"].startswith(
        "cannot be probed: original is not a readable media file: it is truncated, corrupt, or not "
        f"media at all. FFmpeg said: {ffmpeg_said}")
    assert chinese["status"]["reason"].startswith(
        "无法读取媒体信息：original 不是可读的媒体文件：它已被截断、已损坏，或根本不是媒体文件。"
        f"FFmpeg 输出原文：“{ffmpeg_said}”")
    assert "truncated" not in chinese["status"]["reason"]
    assert chinese["derivatives_error"] == chinese["status"]["reason"]
    # the custody event keeps the English sentence, as every event's details are
    [probed] = [e for e in world.events("evidence:file:probed")
                if e["subject"]["evidence_id"] == evidence_id and e["details"]["error"]]
    assert probed["details"]["error"] == english["status"]["reason"]


def test_a_damaged_file_says_why_and_its_original_needs_a_reason(world: World) -> None:
    damaged_bytes = b"\x00\x00\x00\x18ftypmp42 cut short"
    evidence_id = _ingest(world, "C_0007.MP4", damaged_bytes, kind=None,
                          flags=("unplayable",), error=DAMAGED_WHY)
    status = _status(world, "case_officer", evidence_id)
    assert status["state"] == "damaged" and status["reason"] == DAMAGED_WHY
    assert (status["playback"], status["poster"], status["original_download"]) == \
        (False, False, False)  # not on a case the case officer manages
    assert world.get("case_officer", f"{API}/evidence/{evidence_id}/playback").status_code == 409
    _on_a_case(world, evidence_id)
    assert _status(world, "case_officer", evidence_id)["original_download"] is True
    assert _status(world, "officer", evidence_id)["original_download"] is False
    path = f"{API}/evidence/{evidence_id}/original"
    missing = world.get("case_officer", path)
    assert missing.status_code == 400
    assert "reason" in missing.json()["error"]["message"] and missing.json()["error"]["hint"]
    assert world.get("case_officer", path + "?reason=%E2%80%AE").status_code in (400, 422)
    assert world.events("evidence:file:downloaded") == []
    # a user who may not download learns that, not that a reason is missing
    assert world.get("officer", path).status_code == 403
    assert world.get("case_officer2", path).status_code == 403
    response = world.get("case_officer", path + "?reason=forensic+recovery")
    assert response.status_code == 200 and response.content == damaged_bytes
    assert "C_0007.MP4" in response.headers["content-disposition"]
    [event] = world.events("evidence:file:downloaded")
    assert event["details"]["reason"] == "forensic recovery"
    assert event["subject"]["evidence_id"] == evidence_id
