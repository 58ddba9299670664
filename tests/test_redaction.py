"""Redacted copies for publication: a real face moving across a clip is followed and blurred,
a chosen range is muted, the copy carries a C2PA manifest naming the original, the original
is untouched, and a legal reviewer of the case's agency (not the one who asked) approves.

The copy is checked with two detector configurations other than the one that blurred (whole
frames, threshold 0.3): every frame with a lower threshold (0.2), and the frames between two
of the redaction's searches at twice their size. The same checks find the face in the
original, so "no face" means something.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import pytest
from cv2.typing import MatLike

from cases.case_records import attach_evidence, create_case
from cases.errors import InvalidRequest
from cases.redactions import RedactionTools, request_redaction
from cases.users import authenticate
from domain.errors import ConfigError
from media.content_credentials import read_manifest
from media.face_detector import Box, Detection, FaceDetector, default_model_path
from media.ffmpeg_tools import ffmpeg_executable
from media.redaction import RedactionSettings, redact_video
from storage.objects import original_key
from tests.api_support import NORTH_UNIT, OFFICER_NO, T0, World, add_evidence, world_fixture
from tests.cli_helpers import run_cli_in_process
from tests.redaction_support import make_face_clip, make_face_photo, shared_signer

_ = world_fixture
API = "/api/v1"
pytestmark = pytest.mark.skipif(not default_model_path().is_file(),
                                reason="the face model is missing: run scripts/install-face-model")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the database plays no part in the pixels (the API's other tests run both)."""
    from storage.db import make_engine, migrate, sqlite_url

    url = sqlite_url(tmp_path / "evidence.db")
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("redaction")
    boxes = make_face_clip(folder / "clip.mp4")
    photo_box = make_face_photo(folder / "photo.jpg")
    return {"clip": (folder / "clip.mp4").read_bytes(), "clip_boxes": boxes,
            "photo": (folder / "photo.jpg").read_bytes(), "photo_box": photo_box}


@pytest.fixture(scope="module")
def checker() -> FaceDetector:
    """The lower threshold (0.2); ``faces_at_twice`` uses the redaction's own."""
    return FaceDetector(input_width=0, threshold=0.2)


def faces_in(checker: FaceDetector, picture: MatLike) -> int:
    return len(checker.detect(picture))


def faces_at_twice(checker: FaceDetector, picture: MatLike) -> int:
    big = cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return sum(1 for found in checker.detect(big) if found.score >= 0.3)


def frames_of(path: Path) -> Iterator[MatLike]:
    capture = cv2.VideoCapture(path.as_posix())
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def max_volume(path: Path, start: float, seconds: float) -> float:
    """The loudest sample of ``seconds`` of sound from ``start``, in dB (-inf: silence)."""
    run = subprocess.run([ffmpeg_executable(), "-nostdin", "-hide_banner", "-ss", str(start),
                          "-t", str(seconds), "-i", path.as_posix(), "-vn", "-af", "volumedetect",
                          "-f", "null", "-"], capture_output=True, text=True, check=True)
    found = re.search(r"max_volume: (-?[\d.]+|-inf) dB", run.stderr)
    assert found, run.stderr
    return float(found[1])


def on_case(world: World, name: str, data: bytes, kind: str, duration_ms: int) -> tuple[str, str]:
    """The item, stored as ingest stores it, on a case the case officer manages."""
    evidence_id = add_evidence(world.home, name, data, officer_no=OFFICER_NO, device="ZFY0001",
                               start=T0, kind=kind, duration_ms=duration_ms, unit=NORTH_UNIT)
    log, store = world.home.custody_log(), world.home.object_store()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "公示 footage", f"2024-{kind}")
    attach_evidence(log, store, manager, case.id, evidence_id)
    return evidence_id, case.id


def test_a_clip_is_redacted_signed_approved_and_the_original_untouched(
        world: World, media: dict[str, Any], checker: FaceDetector, tmp_path: Path) -> None:
    clip = media["clip"]
    evidence_id, case_id = on_case(world, "A_100234_0009.MP4", clip, "video", 2000)
    original = tmp_path / "original.mp4"
    original.write_bytes(clip)
    seen = list(frames_of(original))
    assert all(faces_in(checker, f) and faces_at_twice(checker, f) for f in seen[1::6])

    asked = post(world, "case_officer", f"{API}/redactions", json={
        "evidence_id": evidence_id, "case_id": case_id, "reason": "公示 of decision 2024-7",
        "boxes": [{"x": 0, "y": 200, "width": 60, "height": 30, "kind": "plate",
                   "start_ms": 0, "end_ms": 2000}],
        "mute": [{"start_ms": 500, "end_ms": 1200}]})
    assert asked.status_code == 201, asked.text
    redaction = asked.json()
    assert redaction["state"] == "requested" and len(redaction["tracks"]) == 1
    assert redaction["original_sha256"] == hashlib.sha256(clip).hexdigest()

    got = world.get("reviewer", f"{API}/redactions/{redaction['id']}/file?reason=check")
    assert got.status_code == 200, got.text
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(got.content)
    assert hashlib.sha256(got.content).hexdigest() == redaction["sha256"] != redaction[
        "original_sha256"]

    # no face the second configuration can find, in any frame; the face's pixels changed
    # and the rest of the picture did not (beyond the encoder's loss)
    copied = list(frames_of(copy))
    assert len(copied) == 30
    assert [i for i, f in enumerate(copied) if faces_in(checker, f)] == []
    between = range(1, len(copied), 3)  # the redaction searched frames 0, 3, 6, ...
    assert [i for i in between if faces_at_twice(checker, copied[i])] == []
    for (x, y, w, h), before, after in zip(media["clip_boxes"], seen, copied, strict=True):
        face = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
        assert np.abs(before[face].astype(int) - after[face].astype(int)).mean() > 12
    corner = (slice(0, 40), slice(280, 320))  # the face never passes here
    assert np.abs(seen[0][corner].astype(int) - copied[0][corner].astype(int)).mean() < 8

    # the muted range is silent, the rest is not
    assert max_volume(copy, 0.6, 0.5) < -80
    assert max_volume(copy, 1.4, 0.5) > -30
    assert max_volume(copy, 0.0, 0.4) > -30

    # the C2PA manifest verifies against the test CA and names the original
    state, manifest = read_manifest(copy, "video/mp4", shared_signer().ca_pem)
    assert state == "Trusted"
    assert manifest["ingredients"][0]["instance_id"] == f"evidence:{evidence_id}"
    assert manifest["ingredients"][0]["relationship"] == "parentOf"
    ours = next(a["data"] for a in manifest["assertions"]
                if a["label"] == "cn.gov.evidence.redaction")
    assert ours["original"] == {"evidence_id": evidence_id, "sha256": redaction["original_sha256"],
                                "name": "A_100234_0009.MP4"}
    tampered = tmp_path / "tampered.mp4"
    body = bytearray(got.content)
    body[len(body) // 2] ^= 0xFF
    tampered.write_bytes(bytes(body))
    assert read_manifest(tampered, "video/mp4", shared_signer().ca_pem)[0] == "Invalid"

    # the original is untouched
    store = world.home.object_store()
    key = original_key(redaction["original_sha256"])
    assert store.read_back_sha256(key)[0] == hashlib.sha256(clip).hexdigest()

    # a second person approves: not the one who asked, not another agency's reviewer
    decision = f"{API}/redactions/{redaction['id']}/decision"
    assert post(world, "case_officer", decision, json={"approve": True}).status_code == 403
    assert post(world, "south-reviewer", decision, json={"approve": True}).status_code == 403
    assert post(world, "admin", decision, json={"approve": True}).status_code == 403
    approved = post(world, "reviewer", decision, json={"approve": True, "reason": "可以公示"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert post(world, "reviewer", decision, json={"approve": True}).status_code == 409

    requested = only(world.events("evidence:redaction:requested"))
    details = requested["details"]
    assert requested["actor"] == "user:case_officer"
    assert requested["subject"] == {"evidence_id": evidence_id,
                                    "sha256": redaction["original_sha256"]}
    assert details["original"] == requested["subject"]
    assert details["copy"]["sha256"] == redaction["sha256"]
    assert details["settings"]["muted"] == [{"start_ms": 500, "end_ms": 1200}]
    assert details["settings"]["boxes"][0]["kind"] == "plate"
    assert details["detector"]["name"] == "centerface"
    derived = [e for e in world.events("evidence:file:derived")
               if e["details"]["method"] == "redaction"]
    assert only(derived)["details"]["object"]["sha256"] == redaction["sha256"]
    approval = only(world.events("evidence:redaction:approved"))["details"]
    assert approval["original"] == requested["subject"]
    assert approval["settings"] == details["settings"]
    assert approval["requested_by"] == "user:case_officer"
    assert approval["approved_by"] == "user:reviewer"
    assert only(world.events("evidence:redaction:downloaded"))["actor"] == "user:reviewer"


def decoded(jpeg: bytes) -> MatLike:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    return picture


def post(world: World, user: str, path: str, json: dict[str, Any]) -> Any:
    return world.client.post(path, json=json, headers=world.auth(user))


def only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def test_a_photo_through_the_command_line(world: World, media: dict[str, Any],
                                          checker: FaceDetector, tmp_path: Path,
                                          db_url: str) -> None:
    photo = media["photo"]
    evidence_id, case_id = on_case(world, "A_100234_0010.JPG", photo, "image", 0)
    before = decoded(photo)
    assert faces_in(checker, before) and faces_at_twice(checker, before)
    cert, key = tmp_path / "c2pa.pem", tmp_path / "c2pa.key"
    cert.write_bytes(shared_signer().chain_pem)
    key.write_bytes(shared_signer().key_pem)
    env = {"EVIDENCE_DATABASE_URL": db_url, "EVIDENCE_C2PA_CERT": str(cert),
           "EVIDENCE_C2PA_KEY": str(key)}
    made = run_cli_in_process(world.home.root, "redact", "request", evidence_id, "--case", case_id,
                              "--reason", "shared with the procuratorate", "--json", env=env)
    assert made.returncode == 0, made.stderr
    redaction = json.loads(made.stdout)
    assert redaction["media_type"] == "image/jpeg" and len(redaction["tracks"]) == 1
    out = tmp_path / "copy.jpg"
    fetched = run_cli_in_process(world.home.root, "redact", "get", redaction["id"], "--out",
                                 str(out), env=env)
    assert fetched.returncode == 0, fetched.stderr
    picture = decoded(out.read_bytes())
    assert faces_in(checker, picture) == faces_at_twice(checker, picture) == 0
    x, y, w, h = media["photo_box"]
    face = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    assert np.abs(before[face].astype(int) - picture[face].astype(int)).mean() > 12
    state, manifest = read_manifest(out, "image/jpeg", shared_signer().ca_pem)
    assert state == "Trusted"
    assert manifest["ingredients"][0]["instance_id"] == f"evidence:{evidence_id}"
    # the operator who asked may not approve; the agency's legal reviewer does
    again = run_cli_in_process(world.home.root, "redact", "approve", redaction["id"], env=env)
    assert again.returncode == 1 and "second person" in again.stderr, again.stderr
    approved = post(world, "reviewer", f"{API}/redactions/{redaction['id']}/decision",
                          json={"approve": True})
    assert approved.status_code == 200, approved.text
    assert only(world.events("evidence:redaction:approved"))["details"]["requested_by"] \
        .startswith("cli:")


def test_who_may_ask_and_what_is_refused(world: World, media: dict[str, Any]) -> None:
    """Refused before any picture is touched: the wrong role, a case not managed, an item not
    on the case, settings outside the footage, and a server that cannot sign."""
    evidence_id, case_id = on_case(world, "A_100234_0011.JPG", media["photo"], "image", 0)
    body = {"evidence_id": evidence_id, "case_id": case_id, "reason": "公示"}
    for user in ("officer", "reviewer", "auditor", "clerk", "case_officer2", "south-admin"):
        answer = post(world, user, f"{API}/redactions", json=body)
        assert answer.status_code == 403, (user, answer.text)
    other = {**body, "evidence_id": world.evidence["mine"]}
    assert post(world, "case_officer", f"{API}/redactions", json=other).status_code == 400
    mute_photo = {**body, "mute": [{"start_ms": 0, "end_ms": 100}]}
    assert post(world, "case_officer", f"{API}/redactions", json=mute_photo).status_code == 400
    assert world.events("evidence:redaction:requested") == []
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])

    with pytest.raises(ConfigError, match="C2PA"):
        request_redaction(world.home.custody_log(), world.home.object_store(),
                          RedactionTools(None), manager, evidence_id, case_id,
                          RedactionSettings(), "公示")
    with pytest.raises(InvalidRequest):
        request_redaction(world.home.custody_log(), world.home.object_store(),
                          RedactionTools(None), manager, evidence_id, case_id,
                          RedactionSettings(detect_every=0), "公示")


class _Blinking:
    """A detector that sees one face at a fixed place, except at the searches listed."""

    def __init__(self, misses: set[int]) -> None:
        self.misses, self.calls = misses, 0

    def detect_rgb(self, picture: MatLike) -> list[Detection]:
        self.calls += 1
        if self.calls - 1 in self.misses:
            return []
        return [Detection(Box(40, 30, 30, 30), 0.9)]

    def describe(self) -> dict[str, str | int]:
        return {"name": "blinking"}


def test_a_face_the_detector_misses_for_a_few_searches_stays_covered(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=15:duration=2", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(clip)], check=True)
    detector = cast(FaceDetector, _Blinking(misses={2, 3, 4}))  # frames 6, 9 and 12
    result = redact_video(clip, tmp_path / "out.mp4", RedactionSettings(), detector)
    assert [(t.id, t.sightings) for t in result.tracks] == [(1, 7)]
    assert result.covered_frames == result.frames == 30
    removed = redact_video(clip, tmp_path / "out2.mp4", RedactionSettings(removed_tracks=(1,)),
                           cast(FaceDetector, _Blinking(misses=set())))
    assert removed.covered_frames == 0
    too_long = cast(FaceDetector, _Blinking(misses={1, 2, 3, 4, 5}))  # a gap of 18 frames
    assert len(redact_video(clip, tmp_path / "out3.mp4", RedactionSettings(), too_long)
               .tracks) == 2


def test_an_original_altered_in_the_store_is_refused_and_nothing_is_made(
        world: World, media: dict[str, Any]) -> None:
    evidence_id, case_id = on_case(world, "A_100234_0012.JPG", media["photo"], "image", 0)
    stored = world.home.objects / "objects" / original_key(hashlib.sha256(media["photo"])
                                                           .hexdigest())
    stored.chmod(0o644)
    altered = bytearray(stored.read_bytes())
    altered[-10] ^= 0xFF
    stored.write_bytes(bytes(altered))
    answer = post(world, "case_officer", f"{API}/redactions", json={
        "evidence_id": evidence_id, "case_id": case_id, "reason": "公示"})
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "integrity_error"
    assert "no longer matches" in answer.json()["error"]["message"]
    assert world.events("evidence:redaction:requested") == []
    assert [e for e in world.events("evidence:file:derived")
            if e["details"]["method"] == "redaction"] == []
