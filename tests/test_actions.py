"""Enforcement matters, certificates and actions: through the HTTP API and the CLI, with the
same custody events, refused outside the user's role and unit, and with the certificate
rules for handling officers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cases.actions import mask_id_number
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli

_ = world_fixture
API = "/api/v1"
ID_NUMBER = "150102198001011234"
MATTER = {"agency": "north", "name": "对无证经营的处罚", "legal_basis": "《无证无照经营查处办法》第十三条",
          "procedure": "一般程序", "time_limit_days": 90, "remedy": "行政复议、行政诉讼"}


def post(world: World, user: str, path: str, body: dict[str, Any]) -> Any:
    return world.client.post(f"{API}{path}", json=body, headers=world.auth(user))


def put(world: World, user: str, path: str, body: dict[str, Any]) -> Any:
    return world.client.put(f"{API}{path}", json=body, headers=world.auth(user))


def cli(world: World, db_url: str, *args: str) -> Any:
    return run_cli(world.home.root, *args, env={"EVIDENCE_DATABASE_URL": db_url})


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["hint"], error
    for word in words:
        assert word in error["message"] + " " + error["hint"], error
    return str(error["message"])


def certify(world: World, user: str, number: str, valid_from: str = "2024-01-01",
            valid_to: str = "2026-12-31") -> None:
    ok(post(world, "admin", "/certificates", {
        "user": user, "number": number, "issuing_body": "north 人民政府",
        "valid_from": valid_from, "valid_to": valid_to}), 201)


@pytest.fixture
def case(world: World) -> dict[str, Any]:
    """A case of unit n1 managed by case_officer and case_officer2, a matter on north's list."""
    made = ok(post(world, "case_officer", "/cases", {"title": "无证经营", "number": "N-2024-1"}), 201)
    ok(post(world, "case_officer", f"/cases/{made['id']}/officers", {"user": "case_officer2"}))
    matter = ok(post(world, "admin", "/matters", MATTER), 201)
    return {"id": made["id"], "matter": matter["id"]}


def open_on_site(world: World, case: dict[str, Any], user: str = "case_officer") -> Any:
    return post(world, user, f"/cases/{case['id']}/actions", {
        "kind": "penalty", "matter_id": case["matter"], "on_site": True,
        "action_date": "2024-03-16",
        "party": {"kind": "person", "name": "张三", "id_number": ID_NUMBER}})


def test_on_site_action_needs_two_officers_with_valid_certificates(
        world: World, case: dict[str, Any]) -> None:
    action = ok(open_on_site(world, case), 201)
    assert (action["state"], action["kind"], action["officers"]) == ("draft", "penalty", [])
    assert action["party"]["id_number"] == mask_id_number(ID_NUMBER) != ID_NUMBER
    path = f"/actions/{action['id']}/officers"
    certify(world, "case_officer", "NM-0001")
    message = refused(put(world, "case_officer", path, {"officers": ["case_officer"]}), 400,
                      "at least 2", "second officer")
    assert "1 named" in message
    # the second officer's certificate ran out before the action's date
    certify(world, "case_officer2", "NM-0002", "2020-01-01", "2024-03-15")
    message = refused(put(world, "case_officer", path,
                          {"officers": ["case_officer", "case_officer2"]}), 400,
                      "certificate add")
    assert "case_officer2 holds no enforcement certificate valid on 2024-03-16" in message
    assert "case_officer holds" not in message.replace("case_officer2", "")
    # nobody of another agency, certified or not
    assert "south-case_officer is no active user of agency north" in refused(
        put(world, "case_officer", path, {"officers": ["case_officer", "south-case_officer"]}),
        400)
    assert world.events("case:action:handlers-assigned") == []
    certify(world, "case_officer2", "NM-0003", "2024-03-16", "2029-03-16")  # renewed that day
    action = ok(put(world, "case_officer", path, {"officers": ["case_officer2", "case_officer"]}))
    assert action["officers"] == ["case_officer", "case_officer2"]
    [event] = world.events("case:action:handlers-assigned")
    assert event["actor"] == "user:case_officer"
    assert event["details"]["officers"] == [{"user": "case_officer", "certificate": "NM-0001"},
                                            {"user": "case_officer2", "certificate": "NM-0003"}]
    # the case's events list the action
    listed = ok(world.get("case_officer", f"{API}/cases/{case['id']}"))
    assert {"case:action:opened", "case:action:handlers-assigned"} <= {
        e["type"] for e in listed["custody_events"]}


def test_the_id_number_stays_out_of_the_custody_log(world: World, case: dict[str, Any]) -> None:
    ok(open_on_site(world, case), 201)
    [event] = world.events("case:action:opened")
    assert event["details"]["party"] == {"kind": "person", "name": "张三",
                                         "id_number": "150*************34"}
    raw = b"".join(leaf for _, leaf in world.home.custody_log().entries())
    assert ID_NUMBER.encode() not in raw and ID_NUMBER[6:14].encode() not in raw


def test_wrong_unit_and_wrong_role_are_refused(world: World, case: dict[str, Any]) -> None:
    action = ok(open_on_site(world, case), 201)
    before = len(world.events())
    # a case officer of another unit, who does not manage the case
    refused(open_on_site(world, case, "n2-case_officer"), 403, "does not manage")
    refused(world.get("n2-case_officer", f"{API}/actions/{action['id']}"), 403)
    refused(world.get("n2-case_officer", f"{API}/cases/{case['id']}/actions"), 403)
    refused(put(world, "n2-case_officer", f"/actions/{action['id']}/officers",
                {"officers": ["case_officer", "case_officer2"]}), 403)
    # roles that do not manage cases
    for user in ("officer", "reviewer", "auditor", "clerk"):
        refused(open_on_site(world, case, user), 403)
    # another agency's admin: not their case, not their matters, not their officers
    refused(world.get("south-admin", f"{API}/cases/{case['id']}/actions"), 403)
    refused(post(world, "south-admin", "/matters", MATTER), 403, "admin of agency north")
    refused(world.client.patch(f"{API}/matters/{case['matter']}", json={"time_limit_days": 5},
                               headers=world.auth("south-admin")), 403)
    refused(post(world, "south-admin", "/certificates", {
        "user": "case_officer", "number": "X-1", "issuing_body": "south",
        "valid_from": "2024-01-01", "valid_to": "2025-01-01"}), 403)
    refused(post(world, "case_officer", "/matters", MATTER), 403)
    assert len(world.events()) == before  # nothing refused was logged
    # the south admin's list of matters does not hold north's
    assert ok(world.get("south-admin", f"{API}/matters"))["items"] == []
    # an admin of the case's agency reads it
    assert [a["id"] for a in ok(world.get("admin", f"{API}/cases/{case['id']}/actions"))[
        "items"]] == [action["id"]]


def test_a_matter_of_another_agency_cannot_be_cited(world: World, case: dict[str, Any]) -> None:
    south = ok(post(world, "south-admin", "/matters", {**MATTER, "agency": "south"}), 201)
    refused(post(world, "case_officer", f"/cases/{case['id']}/actions", {
        "kind": "inspection", "matter_id": south["id"], "action_date": "2024-03-16",
        "party": {"kind": "organisation", "name": "某公司"}}), 400, "list of agency south")


def test_matters_are_edited_with_before_and_after(world: World, case: dict[str, Any]) -> None:
    changed = ok(world.client.patch(f"{API}/matters/{case['matter']}",
                                    json={"time_limit_days": 60}, headers=world.auth("admin")))
    assert changed["time_limit_days"] == 60 and changed["name"] == MATTER["name"]
    [event] = world.events("org:matter:changed")
    assert (event["details"]["before"]["time_limit_days"],
            event["details"]["after"]["time_limit_days"]) == (90, 60)
    refused(world.client.patch(f"{API}/matters/{case['matter']}", json={"time_limit_days": 60},
                               headers=world.auth("admin")), 400, "nothing to change")
    refused(post(world, "admin", "/matters", MATTER), 409, "already lists")


def test_cli_and_http_write_the_same_events(world: World, case: dict[str, Any],
                                            db_url: str) -> None:
    result = cli(world, db_url, "certificate", "add", "case_officer", "--number", "NM-0001",
                 "--issuing-body", "north 人民政府", "--valid-from", "2024-01-01",
                 "--valid-to", "2026-12-31")
    assert result.returncode == 0, result.stderr
    certify(world, "case_officer2", "NM-0002")
    by_cli, by_api = world.events("user:certificate:added")
    assert by_cli["actor"].startswith("cli:") and by_api["actor"] == "user:admin"
    assert {**by_cli["details"], "user": "", "number": ""} == \
           {**by_api["details"], "user": "", "number": ""}

    result = cli(world, db_url, "action", "open", case["id"], "--kind", "penalty", "--matter",
                 case["matter"], "--party-kind", "person", "--party-name", "张三", "--party-id",
                 ID_NUMBER, "--date", "2024-03-16", "--on-site")
    assert result.returncode == 0, result.stderr
    ok(open_on_site(world, case), 201)
    by_cli, by_api = world.events("case:action:opened")
    assert {**by_cli["details"], "action_id": ""} == {**by_api["details"], "action_id": ""}
    actions = [json.loads(line) for line in
               cli(world, db_url, "action", "list", case["id"], "--json").stdout.splitlines()]
    assert len(actions) == 2 and {a["party"]["id_number"] for a in actions} == {
        mask_id_number(ID_NUMBER)}

    # the same refusal, the same words: exit 1 at the CLI, 400 over HTTP
    result = cli(world, db_url, "action", "officers", actions[0]["id"],
                 "--officer", "case_officer")
    assert result.returncode != 0 and "at least 2" in result.stderr + result.stdout
    result = cli(world, db_url, "action", "officers", actions[0]["id"],
                 "--officer", "case_officer", "--officer", "case_officer2")
    assert result.returncode == 0, result.stderr
    ok(put(world, "case_officer", f"/actions/{actions[1]['id']}/officers",
           {"officers": ["case_officer", "case_officer2"]}))
    by_cli, by_api = world.events("case:action:handlers-assigned")
    assert {**by_cli["details"], "action_id": ""} == {**by_api["details"], "action_id": ""}

    result = cli(world, db_url, "matter", "list", "--agency", "north", "--json")
    assert json.loads(result.stdout)["name"] == MATTER["name"]
