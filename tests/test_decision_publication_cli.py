"""The publication of a decision is implemented once: each step from the CLI (the operator,
`evidence decision-publication ...`) leaves the same custody event as the HTTP API's step
(an admin), and the CLI refuses the same bad input and wrong states, with the exit codes of
the other commands (2: bad input or unknown record; 1: the record's state forbids it).
The CLI's app runs in this process (tests/cli_helpers.py: run_cli_in_process)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli_in_process
from tests.test_publication import call, decided, ok

_ = world_fixture
# The database does not matter here: both entry points call the same functions, which
# tests/test_publication.py runs on PostgreSQL too.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
STEPS = ("edited", "confirmed", "published", "edited", "confirmed", "updated", "revoked")


def cli(world: World, *args: str) -> Any:
    return run_cli_in_process(world.home.root, "decision-publication", *args, env={
        "EVIDENCE_DATABASE_URL": world.home.engine().url.render_as_string(hide_password=False)})


def done(world: World, *args: str) -> Any:
    ran = cli(world, *args)
    assert ran.returncode == 0, ran.stderr
    return ran


def steps_of(world: World, pid: str) -> list[tuple[str, dict[str, Any]]]:
    """The record's events after its drafting, without what names the record itself."""
    return [(e["type"], {k: v for k, v in e["details"].items()
                         if k not in ("publication_id", "case_id")})
            for e in world.events() if e["type"].startswith("case:publication:")
            and e["details"]["publication_id"] == pid and not e["type"].endswith(":drafted")]


def by_http(world: World, pid: str) -> None:
    ok(call(world, "PATCH", "admin", f"/publications/{pid}",
            {"conclusion": "对张三丰罚款500元", "document_number": "北公罚字〔2024〕1号"}))
    ok(call(world, "POST", "admin", f"/publications/{pid}/confirm"))
    ok(call(world, "POST", "admin", f"/publications/{pid}/publish"))
    ok(call(world, "PATCH", "admin", f"/publications/{pid}",
            {"document_number": "北公罚字〔2024〕2号"}))
    ok(call(world, "POST", "admin", f"/publications/{pid}/confirm"))
    ok(call(world, "POST", "admin", f"/publications/{pid}/update",
            {"reason": "张三丰的决定书文号录入有误"}))
    ok(call(world, "POST", "admin", f"/publications/{pid}/revoke",
            {"reason": "行政复议撤销原决定"}))


@SQLITE_ONLY
def test_each_step_from_the_cli_leaves_the_event_the_http_api_leaves(world: World) -> None:
    http_pid = decided(world)["record"]["id"]
    made = decided(world, number="N-2024-2")
    cli_pid = made["record"]["id"]
    # the CLI runs on the real clock: both records are published as late, on the same day
    world.clock.now = datetime.now(UTC)
    # the due list and the notices answer as the HTTP API does
    due = [json.loads(line) for line in done(world, "due", "--json").stdout.splitlines()]
    assert due == ok(call(world, "GET", "admin", "/publications"))["items"]
    assert {i["publication_id"] for i in due} == {http_pid, cli_pid}
    assert {i["status"] for i in due} == {"overdue"}
    notices = done(world, "notices", "--user", "case_officer", "--json").stdout.splitlines()
    assert [json.loads(n) for n in notices] == ok(call(world, "GET", "case_officer",
                                                       "/notices"))["items"]
    assert done(world, "notices", "--user", "case_officer2").stdout.count(cli_pid) == 0
    shown = json.loads(done(world, "show", "--action", made["action"], "--json").stdout)
    assert shown == ok(call(world, "GET", "admin", f"/publications/{cli_pid}"))

    by_http(world, http_pid)
    done(world, "edit", cli_pid, "--conclusion", "对张三丰罚款500元",
         "--document-number", "北公罚字〔2024〕1号")
    done(world, "confirm", cli_pid)
    done(world, "publish", cli_pid)
    done(world, "edit", cli_pid, "--document-number", "北公罚字〔2024〕2号")
    done(world, "confirm", cli_pid)
    done(world, "update", cli_pid, "--reason", "张三丰的决定书文号录入有误")
    revoked = done(world, "revoke", cli_pid, "--reason", "行政复议撤销原决定", "--json")
    assert json.loads(revoked.stdout)["state"] == "revoked"

    http_steps, cli_steps = steps_of(world, http_pid), steps_of(world, cli_pid)
    assert [t.rsplit(":", 1)[1] for t, _ in cli_steps] == list(STEPS)
    assert cli_steps == http_steps
    assert cli_steps[5][1]["reason"] == "张某的决定书文号录入有误"  # masked, as by HTTP
    actors = {e["actor"].split(":")[0] for e in world.events("case:publication:revoked")}
    assert actors == {"user", "cli"}
    text = done(world, "show", cli_pid).stdout
    assert "revoked" in text and "version 2" in text and "张三丰" not in text.split("masked")[0]
    # (the table's columns are as wide as the terminal a test run leaves Rich: read the JSON)
    revoked_ids = {json.loads(line)["publication_id"] for line in
                   done(world, "due", "--status", "revoked", "--json").stdout.splitlines()}
    assert {cli_pid, http_pid} <= revoked_ids


@SQLITE_ONLY
def test_the_cli_refuses_bad_input_and_wrong_states_like_the_http_api(world: World) -> None:
    pid = decided(world)["record"]["id"]
    before = len(world.events())
    refusals = {
        # (CLI arguments, the HTTP API's answer to the same) -> exit code
        "nothing to edit": (("edit", pid), ("PATCH", f"/publications/{pid}", {}, 400), 2),
        "confirm without a conclusion": (("confirm", pid),
                                         ("POST", f"/publications/{pid}/confirm", None, 400), 2),
        "publish unconfirmed": (("publish", pid),
                                ("POST", f"/publications/{pid}/publish", None, 409), 1),
        "update unpublished": (("update", pid, "--reason", "改正"),
                               ("POST", f"/publications/{pid}/update", {"reason": "改正"}, 409),
                               1),
        "revoke unpublished": (("revoke", pid, "--reason", "撤销"),
                               ("POST", f"/publications/{pid}/revoke", {"reason": "撤销"}, 409),
                               1),
        "unknown record": (("confirm", "00000000-0000-0000-0000-000000000000"),
                           ("POST", "/publications/00000000-0000-0000-0000-000000000000/confirm",
                            None, 404), 2),
    }
    for label, (args, (method, path, body, status), code) in refusals.items():
        assert call(world, method, "admin", path, body).status_code == status, label
        ran = cli(world, *args)
        assert ran.returncode == code, (label, ran.stdout, ran.stderr)
        assert "error" in ran.stderr.lower() and "Traceback" not in ran.stderr, label
    for args in (("due", "--status", "soon"), ("notices", "--user", "nobody"),
                 ("show",), ("show", pid, "--action", pid),
                 ("edit", pid, "--conclusion", "a\x07b")):
        ran = cli(world, *args)
        assert ran.returncode == 2, (args, ran.stdout, ran.stderr)
        assert "Traceback" not in ran.stderr, args
    assert len(world.events()) == before  # nothing refused was logged
    # a revoked record stays revoked, from either entry point
    done(world, "edit", pid, "--conclusion", "对张三丰罚款500元", "--document-number", "1号")
    done(world, "confirm", pid)
    done(world, "publish", pid)
    published = len(world.events())
    for step in ("update", "revoke"):  # a reason the public could not read
        assert cli(world, step, pid, "--reason", " ").returncode == 2, step
        assert call(world, "POST", "admin", f"/publications/{pid}/{step}",
                    {"reason": " "}).status_code in (400, 422), step
    assert len(world.events()) == published
    done(world, "revoke", pid, "--reason", "行政复议撤销原决定")
    assert cli(world, "edit", pid, "--conclusion", "再改").returncode == 1
    assert call(world, "PATCH", "admin", f"/publications/{pid}",
                {"conclusion": "再改"}).status_code == 409
