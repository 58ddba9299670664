"""GET /recordings/{id}: the timeline a page draws, every gap and overlap on the wall clock."""

from __future__ import annotations

from datetime import timedelta

from media.recordings import recording_id_for
from tests.api_support import OFFICER_NO, T0, World, add_evidence, world_fixture

_ = world_fixture
API = "/api/v1"
START = T0 + timedelta(hours=7)


def _recording(world: World) -> tuple[str, list[str]]:
    """Four segments of one recorder: a 1.5 s gap (inside the list's 2 s tolerance), a 30 s
    gap, a 2.5 s overlap, and the last one has no playback copy yet."""
    layout = [(0, 10_000, b"copy-1"), (11_500, 10_000, b"copy-2"), (51_500, 20_000, b"copy-3"),
              (69_000, 5_000, None)]
    ids = [add_evidence(world.home, f"ZFY0042_{OFFICER_NO}_{n:04d}.MP4", b"original %d" % n,
                        officer_no=OFFICER_NO, device="ZFY0042",
                        start=START + timedelta(milliseconds=offset), duration_ms=duration,
                        playback=copy, sequence=n)
           for n, (offset, duration, copy) in enumerate(layout, start=1)]
    return recording_id_for("ZFY0042", ids[0]), ids


def test_the_timeline_lists_every_gap_and_overlap_exactly(world: World) -> None:
    recording_id, ids = _recording(world)
    response = world.get("case_officer", f"{API}/recordings/{recording_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == recording_id and body["device"] == "ZFY0042"
    assert body["start"] == START.isoformat().replace("+00:00", "Z")
    assert body["span_ms"] == 74_000 and body["continuous"] is False
    assert [(g["milliseconds"], g["seconds"], g["beyond_tolerance"],
             g["before_evidence_id"], g["after_evidence_id"]) for g in body["gaps"]] == [
        (1500, 1.5, False, ids[0], ids[1]), (30_000, 30.0, True, ids[1], ids[2])]
    assert [(o["milliseconds"], o["earlier_evidence_id"], o["later_evidence_id"])
            for o in body["overlaps"]] == [(2500, ids[2], ids[3])]
    segments = body["segments"]
    assert [s["evidence_id"] for s in segments] == ids
    assert [s["joined_offset_ms"] for s in segments] == [0, 11_500, 51_500, 69_000]
    assert [s["shown_ms"] for s in segments] == [10_000, 10_000, 17_500, 5_000]
    assert [s["playback"] for s in segments] == [True, True, True, False]
    assert body["joined_playable"] is False  # the last segment has no copy yet
    assert segments[1]["start"] == (START + timedelta(milliseconds=11_500)).isoformat() \
        .replace("+00:00", "Z")
    # shown parts and gaps tile the span
    assert sum(s["shown_ms"] for s in segments) + sum(g["milliseconds"] for g in body["gaps"]) \
        == body["span_ms"]
    # the recordings list still tolerates the short gap: only the 30 s one is reported there
    listed = {r["id"]: r for r in world.get("case_officer", f"{API}/recordings").json()["items"]}
    assert [g["milliseconds"] for g in listed[recording_id]["gaps"]] == [30_000]


def test_the_timeline_is_for_whoever_sees_every_segment(world: World) -> None:
    recording_id, _ = _recording(world)
    path = f"{API}/recordings/{recording_id}"
    for user in ("officer", "case_officer", "admin", "auditor", "north-auditor"):
        assert world.get(user, path).status_code == 200, user
    for user in ("officer2", "south-admin", "n2-case_officer", "south-auditor", "reviewer"):
        response = world.get(user, path)
        assert response.status_code == 403, user
        assert response.json()["error"]["hint"], user
    unknown = world.get("admin", f"{API}/recordings/rec-{'0' * 32}")
    assert unknown.status_code == 404 and unknown.json()["error"]["hint"]
    assert world.get("admin", f"{API}/recordings/not-one").status_code in (400, 422)


def test_a_segment_names_its_recording_and_a_photo_none(world: World) -> None:
    recording_id, ids = _recording(world)
    for evidence_id in ids:
        body = world.get("case_officer", f"{API}/evidence/{evidence_id}").json()
        assert body["recording_id"] == recording_id
    photo = add_evidence(world.home, "IMG_0001.JPG", b"a photo", officer_no=OFFICER_NO,
                         device="ZFY0042", start=START, kind="image")
    assert world.get("case_officer", f"{API}/evidence/{photo}").json()["recording_id"] is None
