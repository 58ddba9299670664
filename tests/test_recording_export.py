"""Recording export: one domain function behind `evidence recordings --join` and
GET /recordings/{id}/export, leaving the same custody events from either entry point."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from cases.bundle_report import describe
from media.probe import probe
from media.recordings import recording_id_for
from storage.objects import derivative_key
from tests.api_support import OFFICER_NO, T0, World, add_evidence, clips_fixture, world_fixture
from tests.cli_helpers import run_cli
from tests.test_joining_wall_clock import _colour_at

_ = (world_fixture, clips_fixture)  # fixtures used by name
API = "/api/v1"
EXPORTED = "evidence:recording:exported"
GAP = timedelta(seconds=4)


def _recording_with_a_gap(world: World, clips: list[bytes]) -> tuple[str, list[str]]:
    """Two segments of one recorder with a 4 s gap between them."""
    start = T0 + timedelta(hours=5)
    ids = []
    for number, clip in enumerate(clips, start=1):
        ids.append(add_evidence(world.home, f"ZFY0009_{OFFICER_NO}_{number:04d}.MP4",
                                b"original of " + clip, officer_no=OFFICER_NO, device="ZFY0009",
                                start=start, duration_ms=1000 * number, playback=clip,
                                sequence=number))
        start += timedelta(milliseconds=1000 * number) + GAP
    return recording_id_for("ZFY0009", ids[0]), ids


def _cli(world: World, db_url: str, *args: str) -> Any:
    return run_cli(world.home.root, *args, env={"EVIDENCE_DATABASE_URL": db_url})


def _comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must not depend on the entry point: everything but who and when."""
    return [(e["type"], json.dumps(e["subject"], sort_keys=True), json.dumps(e["details"], sort_keys=True))
            for e in events]


def test_the_cli_and_the_api_export_the_same_file_with_the_same_events(
        world: World, clips: list[bytes], db_url: str, tmp_path: Path) -> None:
    recording_id, ids = _recording_with_a_gap(world, clips)
    response = world.get("case_officer", f"{API}/recordings/{recording_id}/export?reason=court+order")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-disposition"] == f"attachment; filename*=UTF-8''{recording_id}.mp4"
    joined_sha256 = hashlib.sha256(response.content).hexdigest()
    assert response.headers["etag"] == f'"{joined_sha256}"'
    by_api = world.events(EXPORTED)

    out = tmp_path / "exported.mp4"
    result = _cli(world, db_url, "recordings", "--join", recording_id, "--out", str(out),
                  "--reason", "court order")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == response.content
    by_cli = world.events(EXPORTED)[len(by_api):]

    assert len(by_api) == len(by_cli) == 2
    assert _comparable(by_api) == _comparable(by_cli)
    assert {e["actor"] for e in by_api} == {"user:case_officer"}
    assert all(e["actor"].startswith("cli:") for e in by_cli)
    gap_start = T0 + timedelta(hours=5, seconds=1)
    for position, (event, evidence_id, clip) in enumerate(zip(by_api, ids, clips, strict=True)):
        assert event["subject"]["evidence_id"] == evidence_id
        assert event["details"] == {
            "recording": recording_id, "position": position, "segments": 2,
            "sha256": hashlib.sha256(clip).hexdigest(), "joined_sha256": joined_sha256,
            "in_joined_file": True, "offset_ms": [0, 5000][position],
            "shown_ms": [1000, 2000][position],
            "gaps": [{"start": gap_start.isoformat(), "end": (gap_start + GAP).isoformat(),
                      "milliseconds": 4000}], "gap_fill": "black picture and silence",
            "overlaps": [], "reason": "court order"}
    sentence = describe(by_api[1])
    assert f"segment 2 of 2 of recording {recording_id}" in sentence
    assert "1 gap(s) shown as black picture and silence" in sentence
    assert "starts 5000 ms into the file; reason given: “court order”" in sentence


def test_the_exported_file_keeps_the_wall_clock_across_the_gap(
        world: World, clips: list[bytes], tmp_path: Path) -> None:
    """The old join closed the 4 s gap, so the second segment began at 1 s and every time
    after the gap was 4 s early. Now the file lasts the whole span (1 + 4 + 2 s), the gap
    is black, and the second segment's pictures begin 5 s in."""
    recording_id, _ = _recording_with_a_gap(world, clips)
    response = world.get("case_officer", f"{API}/recordings/{recording_id}/export?reason=court")
    assert response.status_code == 200, response.text
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(response.content)
    info = probe(joined)
    assert info.duration_ms is not None and abs(info.duration_ms - 7000) <= 250, info
    assert _colour_at(joined, 0.5) != (0, 0, 0)
    for inside_gap in (1.5, 3.0, 4.7):
        assert max(_colour_at(joined, inside_gap)) <= 20, inside_gap
    for after in (5.3, 6.5):
        assert max(_colour_at(joined, after)) > 60, after
    second = tmp_path / "second.mp4"
    second.write_bytes(clips[1])
    # the frame 5.6 s into the file is the frame 0.6 s into the second segment
    assert _colour_at(joined, 5.6) == _colour_at(second, 0.6)
    # playback serves the same file
    played = world.get("case_officer", f"{API}/recordings/{recording_id}/playback")
    assert played.status_code == 200 and played.content == response.content


def test_an_export_is_refused_to_whom_playback_is_refused_and_logs_nothing(
        world: World, clips: list[bytes]) -> None:
    recording_id, _ = _recording_with_a_gap(world, clips)
    before = len(world.events())
    path = f"{API}/recordings/{recording_id}/export"
    assert world.get("auditor", path).status_code == 403  # auditors may not play footage
    assert world.get("officer2", path).status_code == 403  # another officer's footage
    assert world.get("officer", path).status_code == 200  # their own
    assert len(world.events()) == before + 2


def test_bad_input_gets_a_clear_error_from_both_entry_points(
        world: World, clips: list[bytes], db_url: str, tmp_path: Path) -> None:
    recording_id, _ = _recording_with_a_gap(world, clips)
    unknown = "rec-" + "0" * 32
    response = world.get("admin", f"{API}/recordings/{unknown}/export")
    assert response.status_code == 404 and response.json()["error"]["hint"]
    assert world.get("admin", f"{API}/recordings/not-a-recording/export").status_code in (400, 422)
    assert world.get("admin", f"{API}/recordings/{recording_id}/export?reason=" + "x" * 501
                     ).status_code in (400, 422)
    out = tmp_path / "never.mp4"
    missing = _cli(world, db_url, "recordings", "--join", unknown, "--out", str(out))
    assert missing.returncode == 2 and f"no recording {unknown}" in missing.stderr
    too_long = _cli(world, db_url, "recordings", "--join", recording_id, "--out", str(out),
                    "--reason", "x" * 501)
    assert too_long.returncode == 2 and "reason" in too_long.stderr
    assert not out.exists()
    assert world.events(EXPORTED) == []


def test_a_changed_playback_copy_is_not_exported(world: World, clips: list[bytes]) -> None:
    recording_id, _ = _recording_with_a_gap(world, clips)
    copy_key = derivative_key(hashlib.sha256(b"original of " + clips[1]).hexdigest(), "playback.mp4")
    stored = world.home.objects / "objects" / copy_key
    os.chmod(stored, 0o644)
    stored.write_bytes(clips[0])  # a valid MP4, but not the copy that was logged
    shutil.rmtree(world.home.recordings_cache, ignore_errors=True)
    response = world.get("admin", f"{API}/recordings/{recording_id}/export")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "integrity_error"
    assert "logged SHA-256" in response.json()["error"]["message"]
    assert world.events(EXPORTED) == []
    assert not list(world.home.recordings_cache.glob("*.mp4"))
