"""Playback over HTTP: Range, If-Range, 416; one custody event per viewing session."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import timedelta
from typing import Any

import av
import pytest

from cases.users import authenticate
from cases.viewing import IDLE_TIMEOUT
from tests.api_support import (
    OTHER_OFFICER_NO,
    World,
    add_recording,
    clips_fixture,
    world_fixture,
)

_ = (world_fixture, clips_fixture)
API = "/api/v1"


def _play(world: World, user: str = "officer", label: str = "mine", **headers: str) -> Any:
    return world.get(user, f"{API}/evidence/{world.evidence[label]}/playback", headers=headers)


def _viewed(world: World) -> list[dict[str, Any]]:
    return world.events("evidence:file:viewed")


def test_ranges_deliver_exactly_the_asked_bytes(world: World) -> None:
    body = world.playback["mine"]
    size = len(body)
    etag = f'"{hashlib.sha256(body).hexdigest()}"'
    cases = {
        "bytes=0-99": (0, 100),            # first bytes
        "bytes=-4": (size - 4, size),      # suffix
        "bytes=10000-": (10000, size),     # open-ended
        "bytes=5-5": (5, 6),               # a single byte
        f"bytes=100-{size + 500}": (100, size),  # last-byte past the end is clamped
        f"bytes=-{size * 3}": (0, size),   # suffix longer than the file: all of it
    }
    for header, (start, end) in cases.items():
        response = _play(world, Range=header)
        assert response.status_code == 206, header
        assert response.content == body[start:end], header
        assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}", header
        assert response.headers["Content-Length"] == str(end - start)
        assert response.headers["ETag"] == etag
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["Content-Type"] == "video/mp4"
    whole = _play(world)
    assert whole.status_code == 200 and whole.content == body
    assert "Content-Range" not in whole.headers
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert whole.headers["Repr-Digest"] == f"sha-256=:{digest}:"


def test_several_ranges_or_a_stale_if_range_get_the_whole_file(world: World) -> None:
    body = world.playback["mine"]
    etag = f'"{hashlib.sha256(body).hexdigest()}"'
    for headers in ({"Range": "bytes=0-1,5-9"},
                    {"Range": "bytes=0-9", "If-Range": '"' + "0" * 64 + '"'},
                    {"Range": "bytes=0-9", "If-Range": "W/" + etag},  # weak never matches
                    {"Range": "bytes=0-9", "If-Range": "Fri, 15 Mar 2024 01:30:00 GMT"},
                    {"Range": "bytes=9-0"},  # invalid range-spec: ignored
                    {"Range": "items=0-9"}):  # unknown unit: ignored
        response = _play(world, **headers)
        assert response.status_code == 200, headers
        assert response.content == body, headers
    matching = _play(world, Range="bytes=0-9", **{"If-Range": etag})
    assert matching.status_code == 206 and matching.content == body[:10]


def test_unsatisfiable_ranges_get_416_with_the_size_and_no_custody_event(world: World) -> None:
    size = len(world.playback["mine"])
    before = len(_viewed(world))
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0",
                   "bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 5000):
        response = _play(world, Range=header)
        assert response.status_code == 416, header
        assert response.headers["Content-Range"] == f"bytes */{size}"
        assert response.json()["error"]["code"] == "range_not_satisfiable"
    assert len(_viewed(world)) == before  # nothing was delivered, nothing was viewed


def test_one_custody_event_per_session_not_per_range_request(world: World) -> None:
    size = len(world.playback["mine"])
    sessions = set()
    for start in range(0, size, 1000):  # a player fetching the file in pieces
        response = _play(world, Range=f"bytes={start}-{start + 999}")
        assert response.status_code == 206
        sessions.add(response.headers["X-View-Session"])
    viewed = _viewed(world)
    assert len(sessions) == 1 and len(viewed) == 1
    event = viewed[0]
    assert event["actor"] == "user:officer"
    assert event["subject"] == {"evidence_id": world.evidence["mine"],
                                "sha256": event["subject"]["sha256"]}
    assert event["details"]["session"] in sessions
    assert event["details"]["sha256"] == hashlib.sha256(world.playback["mine"]).hexdigest()

    # within the idle window the session continues...
    world.clock.advance(IDLE_TIMEOUT - timedelta(seconds=1))
    assert _play(world, Range="bytes=0-0").headers["X-View-Session"] in sessions
    # ...and the window slides with every request, so this still continues it
    world.clock.advance(IDLE_TIMEOUT - timedelta(seconds=1))
    assert _play(world, Range="bytes=0-0").headers["X-View-Session"] in sessions
    assert len(_viewed(world)) == 1
    # after the idle window a new session, and a new event
    world.clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    later = _play(world, Range="bytes=0-0").headers["X-View-Session"]
    assert later not in sessions
    assert len(_viewed(world)) == 2
    # another user, or a different stated reason, is another session
    _play(world, user="admin")
    assert len(_viewed(world)) == 3
    response = world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback"
                         "?reason=court+preparation")
    assert response.headers["X-View-Session"] != later
    viewed = _viewed(world)
    assert len(viewed) == 4
    assert viewed[-1]["details"]["reason"] == "court preparation"


def test_concurrent_requests_open_one_session(world: World) -> None:
    """Range requests racing from one player must not log the view twice."""
    from cases.viewing import open_session, playback_target, target_drafts

    log = world.home.custody_log()
    user = authenticate(world.home.engine(), world.tokens["officer"])
    target = playback_target(log, user, world.evidence["mine"])
    now = world.clock()
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def request() -> None:
        try:
            barrier.wait()
            session = open_session(log, user, "playback", f"evidence:{target.evidence_id}", None,
                                   target_drafts(user, target, "evidence:file:viewed", None, now),
                                   now=now)
            results.append(session.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert len(_viewed(world)) == 1


def test_downloading_the_original_is_logged_with_the_reason(world: World) -> None:
    from cases.case_records import attach_evidence, create_case

    log = world.home.custody_log()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "Robbery", "R-1")
    attach_evidence(log, world.home.object_store(), manager, case.id, world.evidence["mine"])
    response = world.get("case_officer", f"{API}/evidence/{world.evidence['mine']}/original"
                         "?reason=disclosure+to+defence")
    assert response.status_code == 200
    assert response.content == b"original-1" * 100
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "A_100234_0001.MP4" in response.headers["Content-Disposition"]
    [event] = world.events("evidence:file:downloaded")
    assert event["actor"] == "user:case_officer"
    assert event["details"]["reason"] == "disclosure to defence"
    assert event["details"]["copy"] == "original"
    assert event["details"]["sha256"] == hashlib.sha256(b"original-1" * 100).hexdigest()


def test_the_view_shows_in_the_items_own_custody_history(world: World) -> None:
    evidence_id = world.evidence["mine"]
    before = world.get("admin", f"{API}/evidence/{evidence_id}").json()["custody_events"]
    assert [e["type"] for e in before] == ["evidence:file:ingested", "evidence:file:verified",
                                           "evidence:file:probed", "evidence:file:derived"]
    _play(world, user="admin")
    after = world.get("admin", f"{API}/evidence/{evidence_id}").json()["custody_events"]
    assert [e["type"] for e in after][-1] == "evidence:file:viewed"
    assert after[-1]["actor"] == "user:admin"
    # every event shown is the log's own entry at that index
    log = world.home.custody_log()
    for shown in after:
        assert shown["type"].encode() in log.entry(shown["seq"])


def test_a_long_history_is_cut_and_says_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import cases.evidence

    monkeypatch.setattr(cases.evidence, "EVENTS_SHOWN", 2)
    detail = world.get("admin", f"{API}/evidence/{world.evidence['mine']}").json()
    assert [e["seq"] for e in detail["custody_events"]] == sorted(
        e["seq"] for e in detail["custody_events"])
    assert len(detail["custody_events"]) == 2 and detail["custody_events_truncated"] is True
    monkeypatch.setattr(cases.evidence, "EVENTS_SHOWN", 4)
    detail = world.get("admin", f"{API}/evidence/{world.evidence['mine']}").json()
    assert len(detail["custody_events"]) == 4 and detail["custody_events_truncated"] is False


def test_items_without_a_playback_copy_say_so(world: World) -> None:
    response = _play(world, user="officer", label="photo")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_playable"
    assert response.json()["error"]["hint"]


def _all_pages(world: World, user: str, limit: int) -> tuple[list[str], list[int]]:
    """Recording ids, following next_offset from the first page; and each page's total."""
    ids: list[str] = []
    totals: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = world.get(user, f"{API}/recordings?offset={offset}&limit={limit}").json()
        assert page["offset"] == offset and page["limit"] == limit and len(page["items"]) <= limit
        ids += [r["id"] for r in page["items"]]
        totals.append(page["total"])
        offset = page["next_offset"]
    return ids, totals


def test_recordings_are_listed_in_pages(world: World, clips: list[bytes]) -> None:
    def distinct(n: int) -> list[bytes]:  # another recording's bytes (only listed, not played)
        return [clip + bytes([n]) for clip in clips]

    mine = {add_recording(world, distinct(n), device=f"ZFY01{n}")[0] for n in range(3)}
    theirs = add_recording(world, distinct(9), device="ZFY0199", officer_no=OTHER_OFFICER_NO)[0]
    everything = world.get("admin", f"{API}/recordings?limit=500").json()
    assert everything["next_offset"] is None and everything["total"] == len(everything["items"])
    listed = [r["id"] for r in everything["items"]]
    assert mine | {theirs} <= set(listed) and len(listed) == len(set(listed))
    paged, totals = _all_pages(world, "admin", limit=2)
    assert paged == listed and set(totals) == {len(listed)}
    # an officer's pages hold their own recordings only, and count only those
    own, own_totals = _all_pages(world, "officer", limit=1)
    assert mine <= set(own) and theirs not in own and set(own_totals) == {len(own)}
    assert world.get("admin", f"{API}/recordings?limit=501").status_code == 422


def test_a_recording_plays_as_one_joined_file(world: World, clips: list[bytes]) -> None:
    recording_id, ids = add_recording(world, clips)
    listed = world.get("officer", f"{API}/recordings").json()["items"]
    mine = next(r for r in listed if r["id"] == recording_id)
    assert [s["evidence_id"] for s in mine["segments"]] == ids
    url = f"{API}/recordings/{recording_id}/playback?reason=review"
    whole = world.get("officer", url)
    assert whole.status_code == 200
    etag = whole.headers["ETag"]
    assert etag == f'"{hashlib.sha256(whole.content).hexdigest()}"'
    part = world.get("officer", url, headers={"Range": "bytes=100-199", "If-Range": etag})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["X-View-Session"] == whole.headers["X-View-Session"]
    # the joined file holds both segments: 1 s + 2 s of video
    path = world.home.root / "joined-check.mp4"
    path.write_bytes(whole.content)
    with av.open(str(path)) as container:
        duration = float(container.duration or 0) / av.time_base
    assert duration == pytest.approx(3.0, abs=0.5)
    # one event per segment, for this one session
    viewed = _viewed(world)
    assert [e["subject"]["evidence_id"] for e in viewed] == ids
    assert {e["details"]["session"] for e in viewed} == {whole.headers["X-View-Session"]}
    assert {e["details"]["joined_sha256"] for e in viewed} == {etag.strip('"')}
    # a cached join is reused: the same bytes and ETag on a new session
    world.clock.advance(IDLE_TIMEOUT * 2)
    again = world.get("admin", url)
    assert again.headers["ETag"] == etag and again.content == whole.content
