"""Attaching several items from search results at once: all or nothing, one event per item."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from cases.case_records import attach_evidence, create_case
from cases.users import authenticate
from tests.api_support import OFFICER_NO, T0, World, add_evidence, world_fixture

_ = world_fixture
API = "/api/v1"
ATTACHED = "case:evidence:attached"


def _case(world: World, number: str) -> str:
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    return create_case(world.home.custody_log(), manager, "Brawl outside the station", number).id


def _fresh(world: World, n: int) -> str:
    return add_evidence(world.home, f"F_{OFFICER_NO}_{n:04d}.MP4", b"fresh %d" % n,
                        officer_no=OFFICER_NO, device="ZFY0001",
                        start=T0 + timedelta(minutes=n))


def _attach(world: World, user: str, case_id: str, body: dict[str, Any]) -> Any:
    return world.client.post(f"{API}/cases/{case_id}/evidence", json=body,
                             headers=world.auth(user))


def test_several_items_are_attached_with_one_event_each(world: World) -> None:
    case_id = _case(world, "B-1")
    ids = [world.evidence["mine"], world.evidence["photo"], world.evidence["theirs"]]
    response = world.client.post(f"{API}/cases/{case_id}/evidence", json={"evidence_ids": ids},
                                 headers=world.auth("case_officer"))
    assert response.status_code == 201, response.text
    assert [item["evidence_id"] for item in response.json()["items"]] == ids
    events = world.events(ATTACHED)
    assert [e["subject"]["evidence_id"] for e in events] == ids
    assert {e["details"]["case_id"] for e in events} == {case_id}
    assert {e["details"]["retention"]["category"] for e in events} == {"case"}
    detail = world.get("case_officer", f"{API}/cases/{case_id}").json()
    assert detail["evidence_count"] == 3
    # the one-item form answers as before
    single = world.client.post(f"{API}/cases/{case_id}/evidence",
                               json={"evidence_id": _fresh(world, 1)},
                               headers=world.auth("case_officer"))
    assert single.status_code == 201 and "items" not in single.json()


def test_if_one_item_cannot_be_attached_none_is_and_each_problem_is_named(world: World) -> None:
    case_id = _case(world, "B-2")
    already = _fresh(world, 2)
    attach_evidence(world.home.custody_log(), world.home.object_store(),
                    authenticate(world.home.engine(), world.tokens["case_officer"]), case_id,
                    already)
    before = len(world.events(ATTACHED))
    good, other_unit, unknown = _fresh(world, 3), world.evidence["n2"], str(uuid.uuid4())
    response = world.client.post(
        f"{API}/cases/{case_id}/evidence",
        json={"evidence_ids": [good, other_unit, unknown, already]},
        headers=world.auth("case_officer"))
    assert response.status_code == 403, response.text  # the first problem's status
    error = response.json()["error"]
    assert "none of the 4 items was attached" in error["message"] and error["hint"]
    assert [(i["id"], i["code"]) for i in error["items"]] == [
        (other_unit, "forbidden"), (unknown, "not_found"), (already, "already_exists")]
    assert all(i["message"] for i in error["items"])
    assert len(world.events(ATTACHED)) == before
    attached = {e["evidence_id"] for e in world.get("case_officer",
                                                      f"{API}/cases/{case_id}").json()["evidence"]}
    assert attached == {already}
    # other errors keep their shape: no "items"
    lone = _attach(world, "case_officer", case_id, {"evidence_id": unknown})
    assert lone.status_code == 404 and "items" not in lone.json()["error"]


def test_bad_lists_and_wrong_roles_are_refused(world: World) -> None:
    case_id = _case(world, "B-3")
    mine = world.evidence["mine"]
    bad: list[dict[str, Any]] = [{"evidence_ids": [mine, mine]}, {"evidence_ids": []},
                                 {"evidence_id": mine, "evidence_ids": [mine]}, {},
                                 {"evidence_ids": [str(uuid.uuid4()) for _ in range(501)]}]
    for body in bad:
        response = _attach(world, "case_officer", case_id, body)
        assert response.status_code in (400, 422), body
    for user in ("officer", "reviewer", "auditor", "case_officer2", "south-admin"):
        response = _attach(world, user, case_id, {"evidence_ids": [mine]})
        assert response.status_code == 403, user
    assert world.events(ATTACHED) == []
