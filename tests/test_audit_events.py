"""The custody events of an item, of a case and of the whole log, filtered by actor, type and
time, in pages; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from cases.case_records import attach_evidence, create_case
from cases.evidence import change_legal_hold
from cases.review import request_review
from cases.users import authenticate
from custody import schema
from storage.db import make_engine
from tests.api_support import T0, World, world_fixture

_ = world_fixture
API = "/api/v1"


def _items(world: World, user: str, path: str) -> list[dict[str, Any]]:
    response = world.get(user, path)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] >= len(page["items"])
    return list(page["items"])


def test_an_items_events_filtered_by_type_actor_and_time(world: World) -> None:
    mine = world.evidence["mine"]
    base = f"{API}/evidence/{mine}/events"
    every = _items(world, "officer", base)
    assert [e["seq"] for e in every] == sorted(e["seq"] for e in every)
    assert {e["subject"]["evidence_id"] for e in every} == {mine}
    assert {"evidence:file:ingested", "evidence:file:derived"} <= {e["type"] for e in every}
    # by type
    derived = _items(world, "officer", f"{base}?type=evidence:file:derived")
    assert [e["type"] for e in derived] == ["evidence:file:derived"]
    # by actor: an admin's hold is one event among the station's
    admin = authenticate(world.home.engine(), world.tokens["admin"])
    change_legal_hold(world.home.custody_log(), world.home.object_store(), admin, mine, True,
                      "court order 7", now=T0 + timedelta(days=2))
    held = _items(world, "admin", f"{base}?actor=user:admin")
    assert [(e["type"], e["details"]["reason"]) for e in held] == [
        ("evidence:hold:placed", "court order 7")]
    assert _items(world, "admin", f"{base}?actor=user:nobody") == []
    # by time, with an offset: [from, to) in the caller's zone (08:00+08:00 is 00:00 UTC)
    day2 = (T0 + timedelta(days=2)).astimezone().isoformat()
    window = _items(world, "admin", f"{base}?from={_q(day2)}")
    assert [e["type"] for e in window] == ["evidence:hold:placed"]
    shanghai = (T0 + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"
    before = _items(world, "admin", f"{base}?to={_q(shanghai)}")
    assert "evidence:hold:placed" not in {e["type"] for e in before}
    assert len(before) + len(window) == len(_items(world, "admin", base))
    plus8 = (T0 + timedelta(days=2, hours=8)).strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
    assert [e["type"] for e in _items(world, "admin", f"{base}?from={_q(plus8)}")] == [
        "evidence:hold:placed"]
    # newest first, in pages
    newest = world.get("admin", f"{base}?order=newest&limit=2").json()
    assert newest["total"] == len(every) + 1 and newest["next_offset"] == 2
    assert newest["items"][0]["type"] == "evidence:hold:placed"
    assert newest["items"][0]["seq"] > newest["items"][1]["seq"]
    rest = world.get("admin", f"{base}?order=newest&offset=2&limit=500").json()
    assert rest["next_offset"] is None and len(rest["items"]) == newest["total"] - 2


def _q(text: str) -> str:
    return text.replace("+", "%2B")


def test_bad_filters_are_refused_with_a_hint(world: World) -> None:
    base = f"{API}/evidence/{world.evidence['mine']}/events"
    for query in ("type=evidence:file:eaten", "from=2024-03-15T09:30:00", "order=sideways",
                  "limit=0", "actr=user:admin", "actor=user:%00admin", "actor="):
        response = world.get("officer", f"{base}?{query}")
        assert response.status_code in (400, 422), query
        assert response.json()["error"]["code"] == "invalid_request", query


def test_who_may_read_an_items_events(world: World) -> None:
    mine = world.evidence["mine"]
    for user in ("officer", "case_officer", "admin", "north-auditor", "auditor"):
        assert world.get(user, f"{API}/evidence/{mine}/events").status_code == 200, user
    for user in ("officer2", "n2-case_officer", "south-admin", "south-auditor", "reviewer"):
        assert world.get(user, f"{API}/evidence/{mine}/events").status_code == 403, user
    missing = "00000000-0000-4000-8000-000000000000"
    assert world.get("auditor", f"{API}/evidence/{missing}/events").status_code == 404


def test_a_cases_events_and_who_reads_them(world: World) -> None:
    log, store = world.home.custody_log(), world.home.object_store()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "Assault on platform 2", "2024-0042")
    attach_evidence(log, store, manager, case.id, world.evidence["mine"])
    attach_evidence(log, store, manager, case.id, world.evidence["photo"])
    base = f"{API}/cases/{case.id}/events"
    assert world.get("reviewer", base).status_code == 403  # not sent for review yet
    request_review(log, manager, case.id)
    events = _items(world, "reviewer", base)
    assert [e["type"] for e in events] == ["case:record:created", "case:evidence:attached",
                                           "case:evidence:attached", "case:review:requested"]
    attached = _items(world, "reviewer", f"{base}?type=case:evidence:attached")
    assert {e["subject"]["evidence_id"] for e in attached} == {world.evidence["mine"],
                                                               world.evidence["photo"]}
    assert _items(world, "north-auditor", f"{base}?actor=user:case_officer&limit=1")[0][
        "type"] == "case:record:created"
    for user in ("case_officer2", "south-reviewer", "south-auditor", "officer"):
        assert world.get(user, base).status_code == 403, user


def test_the_whole_log_by_actor_for_auditors_of_every_agency(world: World) -> None:
    made = _items(world, "auditor", f"{API}/custody/events?type=user:account:created&limit=500")
    assert {e["details"]["user"] for e in made} >= {"officer", "admin", "south-admin"}
    assert {e["actor"] for e in made} == {"cli:test"}
    station = world.get("auditor", f"{API}/custody/events?actor=station:test&limit=1").json()
    assert station["total"] == len(world.events()) - len(
        [e for e in world.events() if e["actor"] != "station:test"])
    assert world.get("north-auditor", f"{API}/custody/events").status_code == 403
    assert world.get("admin", f"{API}/custody/events").status_code == 403


def test_an_altered_entry_is_shown_as_a_problem_not_as_the_index_says(world: World) -> None:
    mine = world.evidence["mine"]
    first = _items(world, "admin", f"{API}/evidence/{mine}/events?type=evidence:file:ingested")[0]
    engine = make_engine(world.home.database_url)
    with engine.begin() as conn:
        conn.execute(update(schema.entries).where(schema.entries.c.seq == first["seq"])
                     .values(leaf=b'{"not":"canonical" }'))
    engine.dispose()
    again = _items(world, "admin", f"{API}/evidence/{mine}/events?type=evidence:file:ingested")
    assert [e["seq"] for e in again] == [first["seq"]]
    assert again[0]["type"] is None and "not a valid custody event" in again[0]["problem"]
