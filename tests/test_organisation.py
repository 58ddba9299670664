"""Agencies, units, users and recorders: administered through the CLI (as the operator) and
the HTTP API (as an admin of one agency), with the same checks and the same custody events.
The CLI's app runs in this process (tests/cli_helpers.py: run_cli_in_process); tests/test_cli.py
runs the real `evidence` entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cases.devices import registry_entries
from cases.organisation import Level, add_agency, add_unit
from cases.users import Role, add_user, operator
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"
ERROR_KEYS = {"code", "message", "hint"}


def cli(world: World, db_url: str, *args: str) -> Any:
    return run_cli_in_process(world.home.root, *args, env={"EVIDENCE_DATABASE_URL": db_url})


def post(world: World, user: str, path: str, body: dict[str, Any]) -> Any:
    return world.client.post(f"{API}{path}", json=body, headers=world.auth(user))


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert body["error"]["code"] == code and body["error"]["hint"], body
    return dict(body["error"])


@pytest.fixture
def two_agencies(world: World) -> World:
    """Agency ``north`` (the world's admin) and agency ``other`` with its own admin."""
    log, by = world.home.custody_log(), operator("test")
    add_agency(log, by, "other", "包头市公安局", Level.REGION, None)
    add_unit(log, by, "other-team", "other", "昆都仑区大队")
    for name, role in (("admin_b", Role.ADMIN), ("reviewer_b", Role.REVIEWER)):
        _, world.tokens[name] = add_user(log, name, role, None, by=by, unit_code="other-team")
    return world


def test_the_cli_and_the_api_register_a_recorder_with_the_same_event(world: World,
                                                                      db_url: str) -> None:
    registration: dict[str, Any] = {"serial": "ZFY1001", "officer_no": "100234", "unit": "n1",
                    "officer_name": "李娜", "label": "REC 01"}
    result = cli(world, db_url, "device", "register", "ZFY1001", "--officer", "100234",
                 "--unit", "n1", "--name", "李娜", "--label", "REC 01")
    assert result.returncode == 0, result.stderr
    response = post(world, "admin", "/devices", registration)  # the same recorder again
    assert response.status_code == 201, response.text
    assert response.json()["officer_name"] == "李娜" and response.json()["agency"] == "north"
    by_cli, by_api = world.events("station:device:registered")
    assert by_cli["actor"].startswith("cli:") and by_api["actor"] == "user:admin"
    assert by_cli["details"] == by_api["details"] == {
        "serial": "ZFY1001", "officer_no": "100234", "officer_name": "李娜", "unit": "n1",
        "label": "REC 01"}
    assert (by_cli["type"], by_cli.get("subject")) == (by_api["type"], by_api.get("subject"))
    # the station docks it by serial or label, into its unit
    entries = registry_entries(world.home.engine())
    assert entries["ZFY1001"] == entries["REC 01"] and entries["ZFY1001"].unit_code == "n1"
    listed = json.loads(cli(world, db_url, "device", "list", "--json").stdout)
    assert (listed["serial"], listed["unit"], listed["officer_name"]) == ("ZFY1001", "n1", "李娜")


def test_an_admin_of_another_agency_is_refused_everywhere(two_agencies: World) -> None:
    world = two_agencies
    before = len(world.events())
    refused = [
        post(world, "admin_b", "/units", {"code": "u-x", "agency": "north", "name": "队"}),
        post(world, "admin_b", "/agencies", {"code": "a-x", "name": "局", "level": "city",
                                             "parent": "north"}),
        post(world, "admin_b", "/users", {"name": "intruder", "role": "admin", "unit": "n1"}),
        post(world, "admin_b", "/users", {"name": "peeker", "role": "auditor", "unit": "other-team",
                                          "auditor_scope": "north"}),
        post(world, "admin_b", "/devices", {"serial": "ZFY2001", "officer_no": "1",
                                            "unit": "n1"}),
        post(world, "admin_b", "/agencies", {"code": "top", "name": "局", "level": "region"}),
        world.client.delete(f"{API}/users/reviewer", headers=world.auth("admin_b")),
        world.get("admin_b", f"{API}/units?agency=north"),
    ]
    for response in refused:
        error(response, 403, "forbidden")
    assert len(world.events()) == before, "a refused request left an event"
    # what they may do, they may do in their own agency only
    assert post(world, "admin_b", "/units", {"code": "other-2", "agency": "other",
                                             "name": "第二大队"}).status_code == 201
    assert post(world, "admin_b", "/devices", {"serial": "ZFY2001", "officer_no": "1",
                                               "unit": "other-2"}).status_code == 201
    users = {u["name"] for u in world.get("admin_b", f"{API}/users").json()["items"]}
    assert users == {"admin_b", "reviewer_b"}
    units = {u["code"] for u in world.get("admin_b", f"{API}/units").json()["items"]}
    assert units == {"other-team", "other-2"}
    assert {a["code"] for a in world.get("admin_b", f"{API}/agencies").json()["items"]} == {"other"}
    assert [d["serial"] for d in world.get("reviewer_b", f"{API}/devices").json()["items"]] == [
        "ZFY2001"]
    # and the admin of default sees none of it, nor can take their recorder
    assert "admin_b" not in {u["name"] for u in world.get("admin", f"{API}/users").json()["items"]}
    assert world.get("admin", f"{API}/devices").json()["items"] == []
    error(post(world, "admin", "/devices", {"serial": "ZFY2001", "officer_no": "2",
                                            "unit": "n1"}), 403, "forbidden")
    error(world.get("reviewer", f"{API}/users"), 403, "forbidden")


def test_bad_codes_levels_duplicates_and_missing_parents(world: World, db_url: str) -> None:
    # codes, levels and names the schema refuses (the CLI's domain check: see below)
    for body in ({"code": "Bad Code", "name": "局", "level": "city", "parent": "north"},
                 {"code": "x", "name": "局", "level": "province", "parent": "north"},
                 {"code": "x", "name": "\x07", "level": "city", "parent": "north"},
                 {"code": "x", "name": "局", "level": "region", "parent": "north"},
                 {"code": "x", "name": "局", "level": "county"}):
        error(post(world, "admin", "/agencies", body), 422, "invalid_request")
    city = {"code": "hhht", "name": "呼和浩特市公安局", "level": "city", "parent": "north"}
    assert post(world, "admin", "/agencies", city).status_code == 201
    hint = error(post(world, "admin", "/agencies", city), 409, "already_exists")["hint"]
    assert "choose another" in hint
    error(post(world, "admin", "/agencies", {**city, "code": "x", "parent": "nowhere"}),
          404, "not_found")
    # a city cannot sit under a city (the operator may add anywhere): the parent's level conflicts
    nested = cli(world, db_url, "agency", "add", "x", "--name", "局", "--level", "city",
                 "--parent", "hhht")
    assert nested.returncode != 0 and "region, then city" in nested.stderr, nested.stderr
    unit = {"code": "team-1", "agency": "north", "name": "新城区大队"}
    assert post(world, "admin", "/units", unit).status_code == 201
    error(post(world, "admin", "/units", unit), 409, "already_exists")
    error(post(world, "admin", "/units", {**unit, "code": "team-2", "agency": "nowhere"}),
          404, "not_found")
    error(post(world, "admin", "/users", {"name": "n1", "role": "reviewer", "unit": "nowhere"}),
          404, "not_found")
    error(post(world, "admin", "/devices", {"serial": "ZFY1", "officer_no": "1", "unit": "nowhere"}),
          404, "not_found")
    device = {"serial": "ZFY1", "officer_no": "1", "unit": "n1", "label": "CARD-A"}
    assert post(world, "admin", "/devices", device).status_code == 201
    error(post(world, "admin", "/devices", {**device, "serial": "ZFY2", "label": "card-a"}),
          409, "already_exists")


def test_the_cli_refuses_bad_input_with_a_hint(world: World, db_url: str) -> None:
    for args, words in ((("agency", "add", "Bad Code", "--name", "局", "--level", "city",
                          "--parent", "default"), "lower-case letters"),
                        (("agency", "add", "x", "--name", "局", "--level", "province",
                          "--parent", "default"), "region, city, county"),
                        (("agency", "add", "x", "--name", "局", "--level", "county"),
                         "give --parent"),
                        (("agency", "add", "x", "--name", "局", "--level", "region",
                          "--parent", "default"), "drop --parent"),
                        (("agency", "add", "x", "--name", " ", "--level", "region"),
                         "printable characters"),
                        (("agency", "add", "x", "--name", "局", "--level", "city",
                          "--parent", "nowhere"), "evidence agency list"),
                        (("unit", "add", "u", "--agency", "nowhere", "--name", "队"),
                         "evidence agency list"),
                        (("user", "add", "n", "--role", "reviewer", "--unit", "nowhere"),
                         "evidence unit list"),
                        (("device", "register", "ZFY1", "--officer", "1", "--unit", "nowhere"),
                         "evidence unit list")):
        result = cli(world, db_url, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "what to do:" in result.stderr and words in result.stderr, result.stderr
    missing_unit = cli(world, db_url, "user", "add", "n", "--role", "reviewer")
    assert missing_unit.returncode == 2 and "--unit" in missing_unit.stderr


def test_chinese_names_round_trip_through_the_cli_and_the_api(world: World, db_url: str) -> None:
    name = "呼和浩特市公安局"
    added = cli(world, db_url, "agency", "add", "hhht-gaj", "--name", name, "--level", "city",
                "--parent", "north")
    assert added.returncode == 0 and name in added.stdout, added.stderr
    markup = "[bold]新城区[/bold] 大队"  # a name is printed as it is, never as Rich markup
    assert cli(world, db_url, "unit", "add", "xc", "--agency", "hhht-gaj", "--name",
               markup).returncode == 0
    assert markup in cli(world, db_url, "unit", "list").stdout
    listed = [json.loads(line) for line in cli(world, db_url, "agency", "list", "--json")
              .stdout.splitlines()]
    assert {"code": "hhht-gaj", "name": name, "level": "city", "parent": "north"}.items() <= {
        k: v for a in listed if a["code"] == "hhht-gaj" for k, v in a.items()}.items()
    via_api = {a["code"]: a for a in world.get("admin", f"{API}/agencies").json()["items"]}
    assert via_api["hhht-gaj"]["name"] == name
    response = post(world, "admin", "/units", {"code": "hd", "agency": "north",
                                               "name": "回民区大队"})
    assert response.json()["name"] == "回民区大队"
    units = [json.loads(line) for line in cli(world, db_url, "unit", "list", "--agency", "north",
                                              "--json").stdout.splitlines()]
    assert {u["code"]: u["name"] for u in units} == {"n1": "unit n1", "n2": "unit n2", "hd": "回民区大队"}
    added_event = world.events("org:agency:added")[-1]
    assert added_event["details"]["name"] == name and added_event["actor"].startswith("cli:")


def test_user_list_shows_unit_agency_and_scope(world: World, db_url: str) -> None:
    made = cli(world, db_url, "user", "add", "zhao", "--role", "auditor", "--unit", "default",
               "--scope", "default", "--json")
    assert made.returncode == 0, made.stderr
    rows = {r["name"]: r for r in map(json.loads, cli(world, db_url, "user", "list", "--json")
                                      .stdout.splitlines())}
    assert (rows["zhao"]["unit"], rows["zhao"]["agency"], rows["zhao"]["auditor_scope"]) == (
        "default", "default", "default")
    table = cli(world, db_url, "user", "list").stdout
    assert "scope" in table and "zhao" in table


def test_the_demo_places_its_recorder_in_the_demo_unit(tmp_path: Path) -> None:
    from api.demo import DEMO_SERIAL, DEMO_UNIT, demo_users, place_demo_recorder
    from storage.db import sqlite_url
    from tests.api_support import make_home

    home = make_home(tmp_path / "home", sqlite_url(tmp_path / "evidence.db"))
    for _ in range(2):  # idempotent: the second run adds nothing
        place_demo_recorder(home, operator("demo"))
    assert registry_entries(home.engine())[DEMO_SERIAL].unit_code == DEMO_UNIT
    types = [json.loads(leaf)["type"] for _, leaf in home.custody_log().entries()]
    assert [t for t in types if t.startswith(("org:", "station:device"))] == [
        "org:agency:added", "org:unit:added", "station:device:registered"]
    from cases.users import list_users

    demo_users(home)
    assert {u.unit_code for u in list_users(home.engine(), operator("demo"))} == {DEMO_UNIT}
