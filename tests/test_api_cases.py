"""Cases over HTTP: create, attach (permanent retention), detach, legal hold, export."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from cases import tables
from cases.case_records import create_case
from cases.errors import InvalidRequest
from cases.retention import PERMANENT_RETENTION
from cases.tables import DEFAULT_UNIT
from cases.users import Role, add_user, authenticate, operator
from storage.db import make_engine
from storage.objects import derivative_key
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"


def _new_case(world: World, number: str = "2024-0042", user: str = "case_officer") -> str:
    response = world.client.post(f"{API}/cases", json={"title": "Assault on platform 2",
                                                      "number": number}, headers=world.auth(user))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _attach(world: World, case_id: str, label: str, user: str = "case_officer") -> Any:
    return world.client.post(f"{API}/cases/{case_id}/evidence",
                             json={"evidence_id": world.evidence[label]}, headers=world.auth(user))


def test_a_case_is_created_listed_and_read(world: World) -> None:
    case_id = _new_case(world)
    listed = world.get("admin", f"{API}/cases").json()
    assert [c["id"] for c in listed["items"]] == [case_id]
    case = world.get("case_officer", f"{API}/cases/{case_id}").json()
    assert case["number"] == "2024-0042" and case["officers"] == ["case_officer"]
    assert [e["type"] for e in case["custody_events"]] == ["case:record:created"]
    duplicate = world.client.post(f"{API}/cases", json={"title": "again", "number": "2024-0042"},
                                  headers=world.auth("admin"))
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "already_exists"


def test_attaching_keeps_the_footage_permanently_and_logs_it(world: World) -> None:
    case_id = _new_case(world)
    store = world.home.object_store()
    detail = world.get("admin", f"{API}/evidence/{world.evidence['mine']}").json()
    sha256 = detail["sha256"]
    assert detail["retention_category"] == "standard"
    response = _attach(world, case_id, "mine")
    assert response.status_code == 201
    wanted = world.clock() + PERMANENT_RETENTION - timedelta(seconds=1)
    original = store.head(f"originals/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}")
    playback = store.head(derivative_key(sha256, "playback.mp4"))
    for stored in (original, playback):
        assert stored.retain_until is not None and stored.retain_until >= wanted
    after = world.get("admin", f"{API}/evidence/{world.evidence['mine']}").json()
    assert after["retention_category"] == "case"
    assert datetime.fromisoformat(after["retain_until"]) >= wanted
    assert after["cases"] == [{"id": case_id, "number": "2024-0042"}]
    [event] = world.events("case:evidence:attached")
    assert event["actor"] == "user:case_officer"
    assert event["subject"]["evidence_id"] == world.evidence["mine"]
    assert event["details"]["case_id"] == case_id
    assert event["details"]["retention"]["category"] == "case"
    named = {o["key"]: o["sha256"] for o in event["details"]["objects"]}
    assert named == {original.key: original.sha256, playback.key: playback.sha256}
    assert _attach(world, case_id, "mine").status_code == 409

    # searching by case and category finds it
    by_case = world.get("admin", f"{API}/evidence?case={case_id}").json()
    assert [i["id"] for i in by_case["items"]] == [world.evidence["mine"]]
    by_category = world.get("admin", f"{API}/evidence?category=case").json()
    assert by_category["total"] == 1

    # detaching logs it and never shortens the retention
    gone = world.client.delete(f"{API}/cases/{case_id}/evidence/{world.evidence['mine']}",
                               headers=world.auth("case_officer"))
    assert gone.status_code == 204
    [detached] = world.events("case:evidence:detached")
    assert detached["details"]["case_id"] == case_id
    assert store.head(original.key).retain_until == original.retain_until
    again = world.client.delete(f"{API}/cases/{case_id}/evidence/{world.evidence['mine']}",
                                headers=world.auth("case_officer"))
    assert again.status_code == 404
    assert world.get("admin", f"{API}/cases/{case_id}").json()["evidence"] == []


def test_legal_hold_is_placed_and_released_in_the_store_and_the_log(world: World) -> None:
    evidence_id = world.evidence["theirs"]
    store = world.home.object_store()
    detail = world.get("admin", f"{API}/evidence/{evidence_id}").json()
    key = f"originals/sha256/{detail['sha256'][:2]}/{detail['sha256'][2:4]}/{detail['sha256']}"
    placed = world.client.post(f"{API}/evidence/{evidence_id}/hold",
                               json={"reason": "court order 2024/17"}, headers=world.auth("admin"))
    assert placed.status_code == 200 and placed.json()["legal_hold"] is True
    assert store.head(key).legal_hold
    assert store.head(derivative_key(detail["sha256"], "playback.mp4")).legal_hold
    twice = world.client.post(f"{API}/evidence/{evidence_id}/hold", json={"reason": "again"},
                              headers=world.auth("admin"))
    assert twice.status_code == 409
    released = world.client.delete(f"{API}/evidence/{evidence_id}/hold?reason=order+lifted",
                                   headers=world.auth("admin"))
    assert released.status_code == 200 and released.json()["legal_hold"] is False
    assert not store.head(key).legal_hold
    placed_event, released_event = (world.events("evidence:hold:placed")
                                    + world.events("evidence:hold:released"))
    assert placed_event["details"]["reason"] == "court order 2024/17"
    assert released_event["details"]["reason"] == "order lifted"
    no_reason = world.client.delete(f"{API}/evidence/{evidence_id}/hold",
                                    headers=world.auth("admin"))
    assert no_reason.status_code == 422


def test_search_filters_by_officer_device_time_and_kind(world: World) -> None:
    # a case officer of unit n1 sees its three items (not unit n2's or south's footage)
    def ids(query: str) -> set[str]:
        return {i["id"] for i in world.get("case_officer", f"{API}/evidence?{query}").json()["items"]}

    mine, theirs, photo = (world.evidence[k] for k in ("mine", "theirs", "photo"))
    assert ids("officer=100234") == {mine, photo}
    assert ids("device=ZFY0002") == {theirs}
    assert ids("from=2024-03-15T02:00:00Z") == {photo, theirs}
    assert ids("from=2024-03-15T03:00:00Z") == {theirs}
    # the bounds may carry any offset: 09:30+08:00 is 01:30Z
    assert ids("from=2024-03-15T09:30:00%2B08:00&to=2024-03-15T10:00:00%2B08:00") \
        == {mine}
    reversed_window = world.get("case_officer", f"{API}/evidence?from=2024-03-16T00:00:00Z"
                                                "&to=2024-03-15T00:00:00Z")
    assert reversed_window.status_code == 400
    assert "ends before it starts" in reversed_window.json()["error"]["message"]
    assert ids("kind=video") == {mine, theirs}
    page = world.get("case_officer", f"{API}/evidence?limit=2").json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    rest = world.get("case_officer", f"{API}/evidence?limit=2&offset=2").json()
    assert rest["next_offset"] is None
    assert {i["id"] for i in page["items"] + rest["items"]} == {mine, theirs, photo}
    naive = world.get("case_officer", f"{API}/evidence?from=2024-03-15T02:00:00")
    assert naive.status_code == 422  # a time without an offset is ambiguous
    assert "no UTC offset" in naive.json()["error"]["message"]
    typo = world.get("case_officer", f"{API}/evidence?offcer=100234")
    assert typo.status_code == 400 and "offcer" in typo.json()["error"]["message"]


def test_export_returns_the_bundle_and_logs_the_request(world: World) -> None:
    case_id = _new_case(world)
    assert _attach(world, case_id, "mine").status_code == 201
    response = world.get("case_officer", f"{API}/cases/{case_id}/export?reason=for+court")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    [requested] = world.events("case:bundle:requested")
    assert requested["details"]["reason"] == "for court"
    assert requested["actor"] == "user:case_officer"
    [exported] = world.events("case:bundle:exported")
    assert exported["details"]["case_id"] == case_id
    assert exported["actor"] == "user:case_officer"
    # the bundle checks out on its own, against the log's key
    from cases.bundle_verify import verify_bundle

    path = world.home.root / "received.zip"
    path.write_bytes(response.content)
    assert verify_bundle(path, world.home.verifier().vkey()).ok
    # the temporary bundle on the server is gone once sent
    assert not list(Path(tempfile.gettempdir()).glob(f"evidence-export-*/{exported['details']['bundle']}"))


def test_the_tables_module_matches_the_migration(world: World) -> None:
    """cases/tables.py and migration 0004 describe the same columns."""
    engine = make_engine(world.home.database_url)
    inspector = inspect(engine)
    for table in tables.metadata.sorted_tables:
        migrated = {c["name"]: (c["nullable"], type(c["type"]).__name__.upper())
                    for c in inspector.get_columns(table.name)}
        declared = {c.name: c.nullable for c in table.columns}
        assert {k: v[0] for k, v in migrated.items()} == declared, table.name
        migrated_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            assert tuple(c.name for c in index.columns) in migrated_indexes, index.name
    engine.dispose()


def test_times_in_responses_are_utc(world: World) -> None:
    case_id = _new_case(world)
    created = datetime.fromisoformat(world.get("admin", f"{API}/cases/{case_id}").json()["created_at"])
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert created == world.clock().astimezone(UTC)


def test_names_ending_in_a_newline_are_refused_outside_the_api_too(world: World) -> None:
    # The CLI reaches these checks without the API's own pattern validation.
    log = world.home.custody_log()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    with pytest.raises(InvalidRequest, match="case number"):
        create_case(log, manager, "Robbery", "R-1\n")
    with pytest.raises(InvalidRequest, match="user name"):
        add_user(log, "alice\n", Role.REVIEWER, None, by=operator("test"), unit_code=DEFAULT_UNIT)
    with pytest.raises(InvalidRequest, match="officer number"):
        add_user(log, "bob", Role.OFFICER, "100234\n", by=operator("test"), unit_code=DEFAULT_UNIT)
    response = world.client.post(f"{API}/cases", json={"title": "Robbery", "number": "R-1\n"},
                                 headers=world.auth("case_officer"))
    assert response.status_code == 422
