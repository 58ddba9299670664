"""The official calendar administered: a year the package does not know entered from the
State Council's notice through the API (an admin of a region-level agency) and the CLI (the
operator), with the same custody event; refused to a city agency's admin, refused when it
contradicts a year the package knows, corrected by entering it again."""

from __future__ import annotations

import json
from typing import Any

from cases.organisation import Level, add_agency, add_unit
from cases.users import Role, add_user, operator
from tests.api_support import NORTH, World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"
NOTICE = "国务院办公厅关于2027年部分节假日安排的通知（测试）"
ENTRY: dict[str, Any] = {"notice": NOTICE, "holidays": ["2027-01-01", "2027-02-05", "2027-02-06",
                                                       "2027-02-07", "2027-02-08", "2027-02-09",
                                                       "2027-02-10", "2027-02-11"],
                         "workdays": ["2027-01-31"]}


def put(world: World, user: str, year: int, body: dict[str, Any]) -> Any:
    return world.client.put(f"{API}/calendar/years/{year}", json=body, headers=world.auth(user))


def listed(world: World, user: str = "admin") -> dict[int, dict[str, Any]]:
    response = world.get(user, f"{API}/calendar/years")
    assert response.status_code == 200, response.text
    return {item["year"]: item for item in response.json()["items"]}


def test_a_year_entered_by_api_and_by_cli_leaves_the_same_event(world: World, db_url: str) -> None:
    assert listed(world)[2027]["source"] == "unknown"  # the clock's year is 2024
    assert listed(world)[2024]["source"] == "library"
    response = put(world, "admin", 2027, ENTRY)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["source"], out["known"], out["notice"], out["entered_by"]) == (
        "entered", True, NOTICE, "user:admin")
    assert out["workdays"] == ["2027-01-31"] and len(out["holidays"]) == 8
    assert listed(world)[2027]["source"] == "entered"

    # the operator corrects it from the command line: a run of days, as the notice writes them
    result = run_cli_in_process(
        world.home.root, "calendar", "enter", "2027", "--notice", NOTICE + "（更正）",
        "--holiday", "2027-01-01", "--holiday", "2027-02-05..2027-02-11", "--workday", "2027-01-31",
        env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    by_api, by_cli = world.events("org:calendar:year-entered")
    assert by_api["actor"] == "user:admin" and by_cli["actor"].startswith("cli:")
    assert by_api["details"] == {"year": 2027, "notice": NOTICE, "holidays": ENTRY["holidays"],
                                 "workdays": ["2027-01-31"], "replaces": None}
    assert by_cli["details"] == {**by_api["details"], "notice": NOTICE + "（更正）",
                                 "replaces": NOTICE}
    rows = [json.loads(line) for line in run_cli_in_process(
        world.home.root, "calendar", "list", "--json",
        env={"EVIDENCE_DATABASE_URL": db_url}).stdout.splitlines()]
    [row] = [r for r in rows if r["year"] == 2027]
    assert (row["source"], row["notice"]) == ("entered", NOTICE + "（更正）")
    # a deadline counted on it is now confirmed
    due = run_cli_in_process(world.home.root, "calendar", "due", "2026-12-28", "7",
                             env={"EVIDENCE_DATABASE_URL": db_url})
    assert due.stdout.strip() == "2027-01-07 confirmed", due.stdout
    due = run_cli_in_process(world.home.root, "calendar", "due", "2027-12-27", "7",
                             env={"EVIDENCE_DATABASE_URL": db_url})
    assert "UNCONFIRMED" in due.stdout


def test_only_an_admin_of_a_region_level_agency_enters_it(world: World) -> None:
    log, by = world.home.custody_log(), operator("test")
    add_agency(log, by, "north-city", "呼和浩特市市场监督管理局", Level.CITY, NORTH)
    add_unit(log, by, "nc1", "north-city", "新城区所")
    _, world.tokens["city-admin"] = add_user(log, "city-admin", Role.ADMIN, None, by=by,
                                             unit_code="nc1")
    before = len(world.events())
    for user in ("city-admin", "case_officer", "reviewer"):
        response = put(world, user, 2027, ENTRY)
        assert response.status_code == 403, (user, response.text)
        assert response.json()["error"]["hint"]
    assert len(world.events()) == before
    assert listed(world, "city-admin")[2027]["source"] == "unknown"  # any admin may look


def test_an_entry_contradicting_a_known_year_is_refused(world: World) -> None:
    before = len(world.events())
    # 2026 as the notice has it: accepted (the package agrees), listed as both
    notice_2026: dict[str, Any] = {
        "notice": "国务院办公厅关于2026年部分节假日安排的通知",
        "holidays": ["2026-01-01", "2026-01-02", "2026-01-03", *[f"2026-02-{d}" for d in range(15, 24)],
                     "2026-04-04", "2026-04-05", "2026-04-06", *[f"2026-05-0{d}" for d in range(1, 6)],
                     "2026-06-19", "2026-06-20", "2026-06-21", "2026-09-25", "2026-09-26",
                     "2026-09-27", *[f"2026-10-0{d}" for d in range(1, 8)]],
        "workdays": ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                     "2026-10-10"]}
    response = put(world, "admin", 2026, notice_2026)
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "both"
    # without Saturday 10 October worked: refused, nothing written
    wrong = {**notice_2026, "workdays": notice_2026["workdays"][:-1]}
    response = put(world, "admin", 2026, wrong)
    assert response.status_code == 409, response.text
    assert "2026" in response.json()["error"]["message"]
    assert len(world.events()) == before + 1
    assert listed(world)[2026]["source"] == "both"


def test_bad_schedules_are_refused_with_what_to_do(world: World) -> None:
    cases = [
        {**ENTRY, "workdays": ["2027-02-01"]},  # a Monday is no adjusted working day
        {**ENTRY, "holidays": ["2028-01-01"]},  # another year's day
        {**ENTRY, "workdays": ["2027-02-06"]},  # both a holiday and worked
        {**ENTRY, "holidays": []},  # (the request's schema says so: 422)
        {**ENTRY, "workdays": ["2027-01-31", "2027-01-31"]},
    ]
    for body in cases:
        response = put(world, "admin", 2027, body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.json()["error"]["hint"], response.text
    assert put(world, "admin", 1990, ENTRY).status_code in (400, 422)
    assert listed(world)[2027]["source"] == "unknown"
