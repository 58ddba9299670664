"""Legal hold and retention are implemented once: the CLI and the HTTP API leave the same events.

The CLI runs as the operator of the server's command line; the HTTP API as the
signed-in admin. Actor and time differ; type, subject and details must not.
The CLI's app runs in this process (tests/cli_helpers.py: run_cli_in_process); tests/test_cli.py
runs the real `evidence` entry point."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage import catalog, records
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli_in_process
from tests.test_retention import let_time_pass

_ = world_fixture
API = "/api/v1"


def cli(world: World, *args: str) -> Any:
    return run_cli_in_process(world.home.root, *args,
                   env={"EVIDENCE_DATABASE_URL": world.home.engine().url.render_as_string(
                       hide_password=False)})


def comparable(event: dict[str, Any]) -> tuple[str, Any, Any]:
    return event["type"], event["subject"], event["details"]


def test_a_legal_hold_leaves_the_same_events_from_the_cli_and_http(world: World) -> None:
    mine = world.evidence["mine"]
    reason = "court order 2026-17"
    placed = world.client.post(f"{API}/evidence/{mine}/hold", json={"reason": reason},
                               headers=world.auth("admin"))
    assert placed.status_code == 200 and placed.json()["legal_hold"] is True
    released = cli(world, "hold", "release", mine, "--reason", reason)
    assert released.returncode == 0, released.stderr
    again = cli(world, "hold", "place", mine, "--reason", reason)
    assert again.returncode == 0, again.stderr
    assert world.client.delete(f"{API}/evidence/{mine}/hold", params={"reason": reason},
                               headers=world.auth("admin")).status_code == 200
    holds = world.events("evidence:hold:placed") + world.events("evidence:hold:released")
    holds.sort(key=lambda e: e["seq"])
    assert [(e["type"].rsplit(":", 1)[1], e["actor"].split(":")[0]) for e in holds] == [
        ("placed", "user"), ("released", "cli"), ("placed", "cli"), ("released", "user")]
    http_place, cli_release, cli_place, http_release = holds
    assert comparable(http_place) == comparable(cli_place)
    assert comparable(http_release) == comparable(cli_release)
    assert http_place["details"]["copies"], "every copy is named"
    with world.home.engine().connect() as conn:
        record = records.find(conn, mine)
    assert record is not None and not record.legal_hold


def test_a_legal_hold_makes_the_same_checks_from_the_cli_and_http(world: World) -> None:
    mine = world.evidence["mine"]
    # a hold needs a reason (HTTP refuses a blank one in its schema, before the domain check)
    blank = cli(world, "hold", "place", mine, "--reason", " ")
    assert blank.returncode == 2 and "legal hold" in blank.stderr
    assert world.client.post(f"{API}/evidence/{mine}/hold", json={"reason": " "},
                             headers=world.auth("admin")).status_code == 422
    # releasing what is not held is refused
    refused = cli(world, "hold", "release", mine, "--reason", "lifted")
    assert refused.returncode != 0 and "not under legal hold" in refused.stderr
    response = world.client.delete(f"{API}/evidence/{mine}/hold", params={"reason": "lifted"},
                                   headers=world.auth("admin"))
    assert response.status_code == 409 and "not under legal hold" in response.json()["error"]["message"]
    # unknown evidence
    missing = "00000000-0000-4000-8000-000000000000"
    assert cli(world, "hold", "place", missing, "--reason", "x").returncode != 0
    assert world.client.post(f"{API}/evidence/{missing}/hold", json={"reason": "x"},
                             headers=world.auth("admin")).status_code == 404
    # the CLI's old --actor option is gone: the actor is who runs the command line
    assert cli(world, "hold", "place", mine, "--reason", "x", "--actor", "admin:me").returncode == 2
    assert world.events("evidence:hold:placed") == []


def _copies(world: World, evidence_id: str) -> list[dict[str, Any]]:
    with world.home.engine().connect() as conn:
        record = records.find(conn, evidence_id)
        assert record is not None
        copies = [{"key": record.object_key, "version": record.object_version}]
        copies += [{"key": d.object_key, "version": d.object_version}
                   for d in records.derivatives_of(conn, evidence_id)]
    return copies


def test_retention_leaves_the_same_events_from_the_cli_and_http(world: World) -> None:
    by_http, by_cli, held = world.evidence["mine"], world.evidence["theirs"], world.evidence["photo"]
    for evidence_id in (by_http, by_cli, held):
        let_time_pass(world.home, evidence_id)
    hold = world.client.post(f"{API}/evidence/{held}/hold", json={"reason": "appeal"},
                             headers=world.auth("admin"))
    assert hold.status_code == 200
    # a dry run deletes and logs nothing, from either side
    dry = world.client.post(f"{API}/retention", json={"dry_run": True}, headers=world.auth("admin"))
    assert dry.status_code == 200
    dry_cli = cli(world, "retention", "--dry-run", "--json")
    assert dry_cli.returncode == 0, dry_cli.stderr
    by_id = {item["evidence_id"]: item for item in dry.json()["items"]}
    assert by_id == {item["evidence_id"]: item for item in map(json.loads, dry_cli.stdout.splitlines())}
    assert {i: (a["action"], a["reason"]) for i, a in by_id.items()} == {
        by_http: ("deleted", "dry run"), by_cli: ("deleted", "dry run"), held: ("kept", "legal hold")}
    assert world.events("evidence:file:deleted") == []
    # a case officer may not run it
    assert world.client.post(f"{API}/retention", json={}, headers=world.auth("case_officer")
                             ).status_code == 403
    # the HTTP run deletes both expired items but the held one: take one back first
    copies = {evidence_id: _copies(world, evidence_id) for evidence_id in (by_http, by_cli)}
    cli_first = cli(world, "hold", "place", by_cli, "--reason", "keep for the CLI run")
    assert cli_first.returncode == 0, cli_first.stderr
    done = world.client.post(f"{API}/retention", json={"dry_run": False},
                             headers=world.auth("admin")).json()["items"]
    assert {(a["evidence_id"], a["action"]) for a in done} == {
        (by_http, "deleted"), (by_cli, "kept"), (held, "kept")}
    assert cli(world, "hold", "release", by_cli, "--reason", "go ahead").returncode == 0
    ran = cli(world, "retention", "--json")
    assert ran.returncode == 0, ran.stderr
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    assert {(a["evidence_id"], a["action"]) for a in lines} == {(by_cli, "deleted"), (held, "kept")}
    deleted = world.events("evidence:file:deleted")
    assert [(e["subject"]["evidence_id"], e["actor"].split(":")[0]) for e in deleted] == [
        (by_http, "user"), (by_cli, "cli")]
    for event in deleted:
        evidence_id = event["subject"]["evidence_id"]
        assert event["details"] == {"reason": "retention period ended",
                                    "retain_until": "2020-01-01T00:00:00Z",
                                    "objects": copies[evidence_id]}
    with world.home.engine().connect() as conn:
        gone = dict(conn.execute(select(catalog.evidence.c.id, catalog.evidence.c.deleted_at)).all())
    assert gone[by_http] is not None and gone[by_cli] is not None and gone[held] is None
    for evidence_id in (by_http, by_cli):
        for copy in copies[evidence_id]:
            assert not world.home.object_store().exists(copy["key"])
    # what retention deleted cannot be held, from either side
    late = world.client.post(f"{API}/evidence/{by_cli}/hold", json={"reason": "too late"},
                             headers=world.auth("admin"))
    assert late.status_code == 409 and "deleted" in late.json()["error"]["message"]
    late_cli = cli(world, "hold", "place", by_http, "--reason", "too late")
    assert late_cli.returncode == 1 and "deleted" in late_cli.stderr


def test_retention_keeps_what_is_on_a_case(world: World) -> None:
    from cases.case_records import attach_evidence, create_case
    from cases.users import authenticate

    admin = authenticate(world.home.engine(), world.tokens["admin"])
    log = world.home.custody_log()
    case = create_case(log, admin, "Assault on platform 2", "2024-0042")
    mine = world.evidence["mine"]
    attach_evidence(log, world.home.object_store(), admin, case.id, mine)
    let_time_pass(world.home, mine)
    kept = world.client.post(f"{API}/retention", json={}, headers=world.auth("admin")).json()["items"]
    assert kept == [{"evidence_id": mine, "sha256": kept[0]["sha256"], "action": "kept",
                     "reason": "attached to a case (kept permanently)"}]


def test_an_agency_admin_retires_only_their_agencys_footage(world: World) -> None:
    """South's admin running retention neither deletes nor lists north's expired footage; the
    operator's run (the CLI) covers every agency."""
    north, south = world.evidence["mine"], world.evidence["south"]
    for evidence_id in (north, south):
        let_time_pass(world.home, evidence_id)
    done = world.client.post(f"{API}/retention", json={"dry_run": False},
                             headers=world.auth("south-admin")).json()["items"]
    assert [(a["evidence_id"], a["action"]) for a in done] == [(south, "deleted")]
    with world.home.engine().connect() as conn:
        assert records.find(conn, north).deleted_at is None  # type: ignore[union-attr]
    ran = cli(world, "retention", "--json")
    assert ran.returncode == 0, ran.stderr
    assert [(a["evidence_id"], a["action"]) for a in map(json.loads, ran.stdout.splitlines())] == [
        (north, "deleted")]
