"""Who may see what across units and agencies: grants of footage to another unit's case,
sending a case for review, auditor scopes. The world is tests/api_support.py's: agencies
north (units n1, n2) and south (s1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cases.bundle_report import describe
from cases.case_records import create_case
from cases.errors import InvalidRequest
from cases.grants import grant_evidence
from cases.review import request_review
from cases.users import operator
from domain.event_types import EventType
from tests.api_support import NORTH_UNIT, SOUTH_UNIT, World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"


def _post(world: World, user: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return world.client.post(f"{API}{path}", json=body, headers=world.auth(user))


def _new_case(world: World, user: str, number: str) -> str:
    response = _post(world, user, "/cases", {"title": "Joint operation", "number": number})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_footage_of_another_unit_reaches_a_case_only_through_a_grant(world: World) -> None:
    north = world.evidence["mine"]  # unit n1, agency north
    case_id = _new_case(world, "south-case_officer", "S-1")
    assert world.get("south-case_officer", f"{API}/cases/{case_id}").json()["unit"] == SOUTH_UNIT

    # a case officer of unit s1 cannot attach n1's footage to the case they just made ...
    refused = _post(world, "south-case_officer", f"/cases/{case_id}/evidence", {"evidence_id": north})
    assert refused.status_code == 403
    assert "an admin of agency north can grant it" in refused.json()["error"]["hint"]
    # ... nor see it, nor download its original
    for suffix in ("", "/playback", "/original"):
        assert world.get("south-case_officer", f"{API}/evidence/{north}{suffix}").status_code == 403
    assert world.events("case:evidence:attached") == []

    # only an admin of the owning agency grants it: not south's admin, not a case officer
    body = {"case_id": case_id, "reason": "the suspect crossed into s1"}
    assert _post(world, "south-admin", f"/evidence/{north}/grants", body).status_code == 403
    assert _post(world, "case_officer", f"/evidence/{north}/grants", body).status_code == 403
    granted = _post(world, "admin", f"/evidence/{north}/grants", body)
    assert granted.status_code == 201, granted.text
    assert granted.json()["from_unit"] == NORTH_UNIT and granted.json()["to_unit"] == SOUTH_UNIT
    [event] = world.events(EventType.ACCESS_GRANTED)
    assert event["actor"] == "user:admin" and event["subject"]["evidence_id"] == north
    assert event["details"] == {"from_unit": NORTH_UNIT, "case_id": case_id, "case_number": "S-1",
                                "to_unit": SOUTH_UNIT, "reason": "the suspect crossed into s1"}
    assert _post(world, "admin", f"/evidence/{north}/grants", body).status_code == 409

    # now the case's officer sees it, attaches it, and downloads the original
    assert world.get("south-case_officer", f"{API}/evidence/{north}").status_code == 200
    attached = _post(world, "south-case_officer", f"/cases/{case_id}/evidence", {"evidence_id": north})
    assert attached.status_code == 201, attached.text
    original = world.get("south-case_officer", f"{API}/evidence/{north}/original?reason=court")
    assert original.status_code == 200 and original.content == b"original-1" * 100
    # the grant opened that one item to that one case: not n1's other footage, not to others
    theirs = world.evidence["theirs"]
    assert world.get("south-case_officer", f"{API}/evidence/{theirs}").status_code == 403
    assert world.get("south-reviewer", f"{API}/evidence/{north}").status_code == 403
    # each side's detail names only the cases it may read; south's admin now sees the item
    # (it is on one of south's cases) but holds stay with the owner's agency
    def cases_named(user: str) -> list[str]:
        return [c["number"] for c in world.get(user, f"{API}/evidence/{north}").json()["cases"]]

    assert cases_named("admin") == [] and cases_named("south-case_officer") == ["S-1"]
    assert cases_named("south-admin") == ["S-1"]
    assert _post(world, "south-admin", f"/evidence/{north}/hold",
                 {"reason": "court order"}).status_code == 403
    # the case's own history names the grant
    history = world.get("south-case_officer", f"{API}/cases/{case_id}").json()["custody_events"]
    assert EventType.ACCESS_GRANTED in [e["type"] for e in history]


def test_attaching_needs_the_case_unit_or_a_grant_even_for_what_one_can_see(world: World) -> None:
    # north's admin sees units n1 and n2, yet n2's footage goes on an n1 case only by a grant
    n2 = world.evidence["n2"]
    case_id = _new_case(world, "case_officer", "N-1")
    assert world.get("admin", f"{API}/evidence/{n2}").status_code == 200
    refused = _post(world, "admin", f"/cases/{case_id}/evidence", {"evidence_id": n2})
    assert refused.status_code == 403 and "not granted" in refused.json()["error"]["message"]
    # another unit of the same agency is refused like another agency
    assert _post(world, "case_officer", f"/cases/{case_id}/evidence",
                 {"evidence_id": n2}).status_code == 403
    assert _post(world, "admin", f"/evidence/{n2}/grants",
                 {"case_id": case_id, "reason": "same incident"}).status_code == 201
    assert _post(world, "case_officer", f"/cases/{case_id}/evidence",
                 {"evidence_id": n2}).status_code == 201
    # footage of the case's own unit needs no grant, and cannot be given one
    same_unit = _post(world, "admin", f"/evidence/{world.evidence['mine']}/grants",
                      {"case_id": case_id, "reason": "x"})
    assert same_unit.status_code == 400 and same_unit.json()["error"]["hint"]


def test_grant_refuses_bad_input(world: World) -> None:
    north = world.evidence["mine"]
    case_id = _new_case(world, "south-case_officer", "S-2")
    missing_case = _post(world, "admin", f"/evidence/{north}/grants",
                         {"case_id": "00000000-0000-4000-8000-000000000000", "reason": "x"})
    assert missing_case.status_code == 404
    missing_item = _post(world, "admin", "/evidence/00000000-0000-4000-8000-000000000000/grants",
                         {"case_id": case_id, "reason": "x"})
    assert missing_item.status_code == 404
    assert _post(world, "admin", f"/evidence/{north}/grants", {"case_id": case_id}).status_code == 422
    assert _post(world, "admin", f"/evidence/{north}/grants",
                 {"case_id": case_id, "reason": "x", "extra": 1}).status_code == 422
    assert world.events(EventType.ACCESS_GRANTED) == []


def test_the_command_line_grant_leaves_the_same_event_as_the_api(world: World, tmp_path: Path,
                                                                 db_url: str) -> None:
    first, second = _new_case(world, "south-case_officer", "S-3"), _new_case(
        world, "south-case_officer", "S-4")
    north = world.evidence["mine"]
    assert _post(world, "admin", f"/evidence/{north}/grants",
                 {"case_id": first, "reason": "joint operation"}).status_code == 201
    done = run_cli_in_process(world.home.root, "grant", north, "--case", second, "--reason",
                              "joint operation", env={"EVIDENCE_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    assert "S-4" in done.stdout
    by_api, by_cli = world.events(EventType.ACCESS_GRANTED)
    assert by_cli["actor"].startswith("cli:") and by_api["actor"] == "user:admin"
    assert by_cli["subject"] == by_api["subject"]
    assert ({k: v for k, v in by_cli["details"].items() if k not in ("case_id", "case_number")}
            == {k: v for k, v in by_api["details"].items() if k not in ("case_id", "case_number")})
    assert by_cli["details"]["case_id"] == second
    again = run_cli_in_process(world.home.root, "grant", north, "--case", second, "--reason", "again",
                               env={"EVIDENCE_DATABASE_URL": db_url})
    assert again.returncode != 0 and "already granted" in again.stderr


def test_a_case_sent_for_review_opens_to_its_agencys_reviewers(world: World) -> None:
    case_id = _new_case(world, "case_officer", "N-2")
    mine = world.evidence["mine"]
    assert _post(world, "case_officer", f"/cases/{case_id}/evidence",
                 {"evidence_id": mine}).status_code == 201
    for path in (f"/cases/{case_id}", f"/evidence/{mine}", f"/evidence/{mine}/original"):
        assert world.get("reviewer", f"{API}{path}").status_code == 403, path
    # only a case officer who manages it (or an admin of its agency) sends it
    for user in ("case_officer2", "n2-case_officer", "south-admin", "reviewer", "officer"):
        assert _post(world, user, f"/cases/{case_id}/review").status_code == 403, user
    sent = _post(world, "case_officer", f"/cases/{case_id}/review")
    assert sent.status_code == 200 and sent.json()["review_requested_by"] == "case_officer"
    [event] = world.events(EventType.CASE_REVIEW_REQUESTED)
    assert event["actor"] == "user:case_officer"
    assert event["details"] == {"case_id": case_id, "case_number": "N-2", "unit": NORTH_UNIT}
    twice = _post(world, "admin", f"/cases/{case_id}/review")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"
    assert len(world.events(EventType.CASE_REVIEW_REQUESTED)) == 1

    for path in (f"/cases/{case_id}", f"/evidence/{mine}", f"/evidence/{mine}/playback",
                 f"/evidence/{mine}/original?reason=review", f"/cases/{case_id}/export?reason=review"):
        assert world.get("reviewer", f"{API}{path}").status_code == 200, path
        assert world.get("south-reviewer", f"{API}{path}").status_code == 403, path
    # reviewers see what is on the case, not the rest of the unit's footage
    assert world.get("reviewer", f"{API}/evidence/{world.evidence['theirs']}").status_code == 403


def test_auditors_see_their_scope_and_only_every_agencys_auditor_reads_the_whole_log(
        world: World) -> None:
    north, south = world.evidence["mine"], world.evidence["south"]
    assert world.get("north-auditor", f"{API}/evidence/{north}").status_code == 200
    assert world.get("north-auditor", f"{API}/evidence/{south}").status_code == 403
    assert world.get("south-auditor", f"{API}/evidence/{south}").status_code == 200
    for path in ("/custody/entries", "/verify", "/custody/proof/inclusion?index=0"):
        refused = world.get("north-auditor", f"{API}{path}")
        assert refused.status_code == 403, path
        assert "scope '*'" in refused.json()["error"]["hint"]
        assert world.get("auditor", f"{API}{path}").status_code == 200, path
        assert world.get("admin", f"{API}{path}").status_code == 403, path
    # an auditor never plays footage, in scope or not
    assert world.get("north-auditor", f"{API}/evidence/{north}/playback").status_code == 403


def test_admins_administer_their_own_agency(world: World) -> None:
    north, south = world.evidence["mine"], world.evidence["south"]
    hold = {"reason": "court order 7"}
    assert _post(world, "south-admin", f"/evidence/{north}/hold", hold).status_code == 403
    assert _post(world, "south-admin", f"/evidence/{south}/hold", hold).status_code == 200
    assert world.get("south-admin", f"{API}/evidence/{north}/original").status_code == 403
    assert world.get("south-admin", f"{API}/evidence/{south}/original?reason=audit").status_code == 200
    case_id = _new_case(world, "case_officer", "N-3")
    assert world.get("south-admin", f"{API}/cases/{case_id}").status_code == 403
    assert world.client.delete(f"{API}/cases/{case_id}/officers/case_officer",
                               headers=world.auth("south-admin")).status_code == 403
    assert world.get("admin", f"{API}/cases/{case_id}").json()["unit"] == NORTH_UNIT


def test_the_operator_grants_anything_and_the_report_tells_both_new_events(world: World) -> None:
    case_id = _new_case(world, "south-case_officer", "S-5")
    made = grant_evidence(world.home.custody_log(), operator("clerk"), world.evidence["n2"],
                          case_id, "joint operation")
    assert made.from_unit == "n2" and made.granted_by == "cli:clerk"
    [granted] = world.events(EventType.ACCESS_GRANTED)
    assert describe(granted) == ("Made available by cli clerk from unit n2 to case S-5 of unit s1; "
                                 "reason given: “joint operation”.")
    assert _post(world, "south-case_officer", f"/cases/{case_id}/review").status_code == 200
    [sent] = world.events(EventType.CASE_REVIEW_REQUESTED)
    assert describe(sent) == "Case S-5 sent for review by user south-case_officer."


def test_a_case_belongs_to_its_creators_unit_and_the_operator_names_one(world: World) -> None:
    log, clerk = world.home.custody_log(), operator("clerk")
    with pytest.raises(InvalidRequest):
        create_case(log, clerk, "No unit", "O-1")
    case = create_case(log, clerk, "Opened on the server", "O-2", unit_code=SOUTH_UNIT)
    assert case.unit_code == SOUTH_UNIT and case.officers == ()
    assert world.get("south-admin", f"{API}/cases/{case.id}").status_code == 200
    assert world.get("admin", f"{API}/cases/{case.id}").status_code == 403
    assert request_review(log, clerk, case.id).review_requested_by == "clerk"
    assert world.get("south-reviewer", f"{API}/cases/{case.id}").status_code == 200
