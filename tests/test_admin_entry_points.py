"""Administration is implemented once: changing a user, ending a token, reassigning and
retiring a recorder, and listing legal holds leave the same custody events and make the same
checks from the CLI (the operator) and the HTTP API (an admin). Actor and time differ; type
and details must not.
The CLI's app runs in this process (tests/cli_helpers.py: run_cli_in_process); tests/test_cli.py
runs the real `evidence` entry point."""

from __future__ import annotations

import json
from typing import Any

from cases.devices import register_device
from cases.evidence import change_legal_hold
from cases.users import authenticate, operator
from tests.api_support import NORTH_UNIT, NORTH_UNIT2, OFFICER_NO, SOUTH_UNIT, World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"


def cli(world: World, *args: str) -> Any:
    return run_cli_in_process(world.home.root, *args,
                   env={"EVIDENCE_DATABASE_URL": world.home.engine().url.render_as_string(
                       hide_password=False)})


def comparable(event: dict[str, Any]) -> tuple[str, Any, Any]:
    return event["type"], event["subject"], event["details"]


def _patch(world: World, user: str, path: str, body: dict[str, Any]) -> Any:
    return world.client.patch(path, json=body, headers=world.auth(user))


def test_changing_a_user_leaves_the_same_event_from_the_cli_and_http(world: World) -> None:
    by_http = _patch(world, "admin", f"{API}/users/reviewer",
                     {"role": "case_officer", "unit": NORTH_UNIT2})
    assert by_http.status_code == 200, by_http.text
    assert (by_http.json()["role"], by_http.json()["unit"]) == ("case_officer", NORTH_UNIT2)
    back = _patch(world, "admin", f"{API}/users/reviewer", {"role": "reviewer", "unit": NORTH_UNIT})
    assert back.status_code == 200
    ran = cli(world, "user", "change", "reviewer", "--role", "case_officer", "--unit", NORTH_UNIT2)
    assert ran.returncode == 0, ran.stderr
    http_change, _back, cli_change = world.events("user:account:changed")
    assert (http_change["actor"], cli_change["actor"].split(":")[0]) == ("user:admin", "cli")
    assert comparable(http_change) == comparable(cli_change)
    assert http_change["details"] == {
        "user": "reviewer",
        "before": {"role": "reviewer", "unit": NORTH_UNIT, "officer_no": None,
                   "auditor_scope": None},
        "after": {"role": "case_officer", "unit": NORTH_UNIT2, "officer_no": None,
                  "auditor_scope": None}}
    # the change takes effect on the next request, with the same token
    assert world.get("reviewer", f"{API}/me").json()["role"] == "case_officer"
    assert world.get("reviewer", f"{API}/cases").status_code == 200


def test_an_auditor_scope_is_given_and_dropped_with_the_role(world: World) -> None:
    made = _patch(world, "admin", f"{API}/users/case_officer2",
                  {"role": "auditor", "auditor_scope": "north"})
    assert made.status_code == 200 and made.json()["auditor_scope"] == "north"
    assert world.get("case_officer2", f"{API}/evidence").json()["total"] > 0
    dropped = _patch(world, "admin", f"{API}/users/case_officer2", {"role": "reviewer"})
    assert dropped.status_code == 200 and dropped.json()["auditor_scope"] is None
    [_, last] = world.events("user:account:changed")
    assert last["details"]["after"]["auditor_scope"] is None


def test_changing_a_user_makes_the_same_checks_from_the_cli_and_http(world: World) -> None:
    cases = {
        # (HTTP user, path user, body) -> status; the CLI's version where it applies
        "own account": ("admin", "admin", {"role": "reviewer"}, 403),
        "other agency's user": ("south-admin", "reviewer", {"role": "case_officer"}, 403),
        "to another agency's unit": ("admin", "reviewer", {"unit": SOUTH_UNIT}, 403),
        "auditor without scope": ("admin", "reviewer", {"role": "auditor"}, 400),
        "every agency, by an admin": ("admin", "reviewer",
                                      {"role": "auditor", "auditor_scope": "*"}, 403),
        "officer without number": ("admin", "reviewer", {"role": "officer"}, 400),
        "nothing": ("admin", "reviewer", {"role": "reviewer"}, 400),
        "unknown unit": ("admin", "reviewer", {"unit": "nowhere"}, 404),
        "unknown field": ("admin", "reviewer", {"rank": "chief"}, 422),
        "by a case officer": ("case_officer", "reviewer", {"role": "admin"}, 403),
    }
    for label, (user, name, body, status) in cases.items():
        response = _patch(world, user, f"{API}/users/{name}", body)
        assert response.status_code == status, (label, response.text)
        assert response.json()["error"]["hint"] or status == 422, label
    assert cli(world, "user", "change", "reviewer", "--role", "auditor").returncode == 2
    assert cli(world, "user", "change", "reviewer", "--role", "reviewer").returncode != 0
    assert world.events("user:account:changed") == []
    # a revoked user cannot be changed
    assert world.client.delete(f"{API}/users/reviewer", headers=world.auth("admin")
                               ).status_code == 200
    assert _patch(world, "admin", f"{API}/users/reviewer", {"role": "case_officer"}
                  ).status_code == 409
    assert cli(world, "user", "change", "reviewer", "--role", "case_officer").returncode != 0


def test_the_operator_moves_a_user_to_another_agency_only_without_their_cases(
        world: World) -> None:
    from cases.case_records import create_case

    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    create_case(world.home.custody_log(), manager, "Theft", "2024-0050")
    refused = cli(world, "user", "change", "case_officer", "--unit", SOUTH_UNIT)
    assert refused.returncode != 0 and "2024-0050" in refused.stderr
    moved = cli(world, "user", "change", "case_officer2", "--unit", SOUTH_UNIT)
    assert moved.returncode == 0, moved.stderr
    me = world.get("case_officer2", f"{API}/me").json()
    assert (me["unit"], me["agency"]) == (SOUTH_UNIT, "south")


def test_ending_a_token_keeps_the_account_from_the_cli_and_http(world: World) -> None:
    old = dict(world.tokens)
    ended = world.client.delete(f"{API}/users/reviewer/token", headers=world.auth("admin"))
    assert ended.status_code == 200 and ended.json()["active"] is True
    assert world.get("reviewer", f"{API}/me").status_code == 401
    # the account stays: a new token works
    renewed = world.client.post(f"{API}/users/reviewer/token", headers=world.auth("admin"))
    assert renewed.status_code == 200
    world.tokens["reviewer"] = renewed.json()["token"]
    assert world.get("reviewer", f"{API}/me").status_code == 200
    ran = cli(world, "user", "revoke-token", "reviewer")
    assert ran.returncode == 0, ran.stderr
    assert world.get("reviewer", f"{API}/me").status_code == 401
    # a user may end their own token
    assert world.client.delete(f"{API}/users/officer/token",
                               headers={"Authorization": f"Bearer {old['officer']}"}
                               ).status_code == 200
    assert world.get("officer", f"{API}/me").status_code == 401
    by_http, by_cli, by_self = world.events("user:token:revoked")
    assert comparable(by_http) == comparable(by_cli)
    assert (by_http["actor"], by_self["actor"]) == ("user:admin", "user:officer")
    assert by_http["details"] == {"user": "reviewer"}
    # others may not
    assert world.client.delete(f"{API}/users/admin/token", headers=world.auth("south-admin")
                               ).status_code == 403
    assert world.client.delete(f"{API}/users/admin/token", headers=world.auth("case_officer")
                               ).status_code == 403
    assert world.get("admin", f"{API}/me").status_code == 200


def _register(world: World, serial: str) -> None:
    register_device(world.home.custody_log(), operator("test"), serial, OFFICER_NO, NORTH_UNIT,
                    "张伟")


def test_reassigning_and_retiring_a_recorder_from_the_cli_and_http(world: World) -> None:
    for serial in ("ZFY1001", "ZFY1002"):
        _register(world, serial)
    by_http = _patch(world, "admin", f"{API}/devices/ZFY1001",
                     {"officer_no": "100299", "unit": NORTH_UNIT2})
    assert by_http.status_code == 200, by_http.text
    assert (by_http.json()["officer_no"], by_http.json()["unit"], by_http.json()["officer_name"]
            ) == ("100299", NORTH_UNIT2, None)
    ran = cli(world, "device", "reassign", "ZFY1002", "--officer", "100299", "--unit", NORTH_UNIT2)
    assert ran.returncode == 0, ran.stderr
    http_move, cli_move = world.events("station:device:reassigned")
    assert http_move["details"]["before"] == {"officer_no": OFFICER_NO, "officer_name": "张伟",
                                              "unit": NORTH_UNIT}
    assert http_move["details"]["after"] == {"officer_no": "100299", "officer_name": None,
                                             "unit": NORTH_UNIT2}
    assert {k: v for k, v in http_move["details"].items() if k != "serial"} == {
        k: v for k, v in cli_move["details"].items() if k != "serial"}
    # retire: with a reason, from both sides; listed as retired
    retired = world.client.delete(f"{API}/devices/ZFY1001", params={"reason": "lost on patrol"},
                                  headers=world.auth("admin"))
    assert retired.status_code == 200 and retired.json()["retired_reason"] == "lost on patrol"
    ran = cli(world, "device", "retire", "ZFY1002", "--reason", "lost on patrol")
    assert ran.returncode == 0, ran.stderr
    http_retire, cli_retire = world.events("station:device:retired")
    assert {k: v for k, v in http_retire["details"].items() if k != "serial"} == {
        k: v for k, v in cli_retire["details"].items() if k != "serial"}
    listed = {d["serial"]: d for d in world.get("admin", f"{API}/devices").json()["items"]}
    assert listed["ZFY1001"]["retired_at"] and listed["ZFY1002"]["retired_by"].startswith("cli:")
    lines = [json.loads(line) for line in cli(world, "device", "list", "--json").stdout.splitlines()]
    assert {d["serial"]: d["retired_reason"] for d in lines}["ZFY1001"] == "lost on patrol"
    # a retired recorder is neither reassigned nor retired again; registering brings it back
    assert _patch(world, "admin", f"{API}/devices/ZFY1001", {"unit": NORTH_UNIT}).status_code == 409
    again = world.client.delete(f"{API}/devices/ZFY1001", params={"reason": "x"},
                                headers=world.auth("admin"))
    assert again.status_code == 409
    back = world.client.post(f"{API}/devices", json={"serial": "ZFY1001", "officer_no": OFFICER_NO,
                                                     "unit": NORTH_UNIT},
                             headers=world.auth("admin"))
    assert back.status_code == 201 and back.json()["retired_at"] is None


def test_a_recorder_is_managed_only_by_its_agencys_admins(world: World) -> None:
    _register(world, "ZFY2001")
    for user, body in (("south-admin", {"officer_no": "1"}), ("case_officer", {"officer_no": "1"}),
                       ("admin", {"unit": SOUTH_UNIT})):
        response = _patch(world, user, f"{API}/devices/ZFY2001", body)
        assert response.status_code == 403 and response.json()["error"]["hint"], user
    assert world.client.delete(f"{API}/devices/ZFY2001", params={"reason": "x"},
                               headers=world.auth("south-admin")).status_code == 403
    assert _patch(world, "admin", f"{API}/devices/NOPE1", {"officer_no": "1"}).status_code == 404
    assert _patch(world, "admin", f"{API}/devices/ZFY2001", {}).status_code == 400
    assert world.client.delete(f"{API}/devices/ZFY2001", headers=world.auth("admin")
                               ).status_code == 422  # a reason is required
    assert cli(world, "device", "retire", "ZFY2001", "--reason", " ").returncode == 2
    assert world.events("station:device:reassigned") == world.events(
        "station:device:retired") == []


def test_legal_holds_are_listed_with_who_why_and_when(world: World) -> None:
    admin = authenticate(world.home.engine(), world.tokens["admin"])
    south = authenticate(world.home.engine(), world.tokens["south-admin"])
    log, store = world.home.custody_log(), world.home.object_store()
    change_legal_hold(log, store, admin, world.evidence["mine"], True, "court order 12")
    change_legal_hold(log, store, south, world.evidence["south"], True, "complaint 7")
    placed = cli(world, "hold", "place", world.evidence["n2"], "--reason", "appeal 3")
    assert placed.returncode == 0, placed.stderr
    page = world.get("admin", f"{API}/holds").json()
    assert page["total"] == 2
    assert [(i["id"], i["hold_reason"], i["hold_placed_by"]) for i in page["items"]] == [
        (world.evidence["mine"], "court order 12", "user:admin"),
        (world.evidence["n2"], "appeal 3", placed_by_cli(world))]
    assert all(i["legal_hold"] and i["hold_seq"] is not None for i in page["items"])
    assert [i["id"] for i in world.get("south-admin", f"{API}/holds").json()["items"]] == [
        world.evidence["south"]]
    assert world.get("auditor", f"{API}/holds").status_code == 403
    listed = cli(world, "holds", "--json")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {line["evidence_id"]: line["reason"] for line in lines} == {
        world.evidence["mine"]: "court order 12", world.evidence["n2"]: "appeal 3",
        world.evidence["south"]: "complaint 7"}
    # released: no longer listed
    assert world.client.delete(f"{API}/evidence/{world.evidence['mine']}/hold",
                               params={"reason": "lifted"}, headers=world.auth("admin")
                               ).status_code == 200
    assert [i["id"] for i in world.get("admin", f"{API}/holds").json()["items"]] == [
        world.evidence["n2"]]


def placed_by_cli(world: World) -> str:
    return str(world.events("evidence:hold:placed")[-1]["actor"])
