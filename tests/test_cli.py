"""The `evidence` CLI as a clerk or auditor runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import contextlib
import gc
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from api.home import init_home, open_home
from api.settings import Settings
from custody.events import EventDraft
from tests.cli_helpers import run_cli

run = run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    assert run(root, "init", "--origin", "test.example/office-3").returncode == 0
    log = open_home(Settings(home=root)).custody_log()
    for batch in range(3):
        log.append([EventDraft("evidence:file:ingested", "station:test", details={"n": i})
                    for i in range(batch * 5, batch * 5 + 5)])
    return root


def test_init_makes_a_private_key_and_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "h"
    first = run(root, "init", "--json")
    assert first.returncode == 0, first.stderr
    info = json.loads(first.stdout)
    assert info["created"] is True and info["vkey"].startswith(info["origin"] + "+")
    key = root / "keys" / "log.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in first.stdout + first.stderr
    again = json.loads(run(root, "init", "--json").stdout)
    assert again["created"] is False and again["vkey"] == info["vkey"]
    assert run(root, "log", "key").stdout.strip() == info["vkey"]


def test_commands_without_a_home_exit_2_and_say_what_to_do(tmp_path: Path) -> None:
    result = run(tmp_path / "nowhere", "verify")
    assert result.returncode == 2
    assert "evidence init" in result.stderr


def test_verify_exit_codes_and_report(home: Path) -> None:
    ok = run(home, "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] and report["entries"] == 15 and report["checkpoints"] == 3
    engine = open_home(Settings(home=home)).engine()
    with engine.begin() as conn:
        conn.execute(text("UPDATE custody_entries SET leaf = replace(leaf, 'station', 'stat1on') "
                          "WHERE seq = 7"))
    bad = run(home, "verify", "--json")
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["problems"]
    assert any(p["kind"] == "root_mismatch" for p in problems)
    assert any(p["index"] == 7 for p in problems)
    human = run(home, "verify")
    assert human.returncode == 1 and "PROBLEMS FOUND" in human.stdout


def test_prove_and_check_proof_offline(home: Path, tmp_path: Path) -> None:
    result = run(home, "log", "prove", "--entry", "3", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["index"] == 3 and doc["size"] == 15
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(result.stdout)
    vkey = run(home, "log", "key").stdout.strip()
    checked = run(tmp_path / "no-home", "log", "check-proof", str(proof_file), "--vkey", vkey)
    assert checked.returncode == 0, checked.stderr
    doc["proof"][0] = "00" * 32
    proof_file.write_text(json.dumps(doc))
    assert run(home, "log", "check-proof", str(proof_file)).returncode == 1
    older = json.loads(run(home, "log", "prove", "--entry", "2", "--size", "10", "--json").stdout)
    assert older["size"] == 10
    consistency = run(home, "log", "prove", "--old", "5", "--json")
    assert json.loads(consistency.stdout)["new_size"] == 15


@pytest.mark.parametrize("args", [["log", "prove", "--entry", "99"],
                                  ["log", "prove", "--entry", "1", "--size", "7"],
                                  ["log", "prove"],
                                  ["verify", "--bogus"]])
def test_usage_errors_exit_2(home: Path, args: list[str]) -> None:
    result = run(home, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_checkpoint_command_and_listing(home: Path) -> None:
    result = run(home, "log", "checkpoint", "--json")
    assert json.loads(result.stdout)["size"] == 15
    sizes = [json.loads(line)["size"] for line in
             run(home, "log", "checkpoints", "--json").stdout.splitlines()]
    assert sizes == [5, 10, 15]


def test_export_verifies_offline_and_catches_tampering(home: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    assert run(home, "log", "export", str(export)).returncode == 0
    assert (export / "checkpoint").is_file() and (export / "vkey").is_file()
    assert (export / "tile" / "entries" / "000.p" / "15").is_file()
    assert (export / "tile" / "0" / "000.p" / "15").is_file()
    nowhere = tmp_path / "no-home"
    vkey = run(home, "log", "key").stdout.strip()
    ok = run(nowhere, "verify", "--export", str(export), "--vkey", vkey, "--json")
    assert ok.returncode == 0, ok.stdout
    bundle = export / "tile" / "entries" / "000.p" / "15"
    data = bytearray(bundle.read_bytes())
    data[data.index(b"station") + 1] ^= 0x20
    bundle.write_bytes(bytes(data))
    bad = run(nowhere, "verify", "--export", str(export), "--vkey", vkey, "--json")
    assert bad.returncode == 1
    kinds = {p["kind"] for p in json.loads(bad.stdout)["problems"]}
    assert {"tile_mismatch", "root_mismatch"} <= kinds


def test_init_leaves_no_database_connection_open(tmp_path: Path) -> None:
    def open_on(path: Path) -> list[str]:
        fds = Path("/proc/self/fd")
        found = []
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):  # closed while listing
                if os.readlink(fd).startswith(str(path)):
                    found.append(fd.name)
        return found

    gc.disable()  # the migrating engine's pool must be closed, not left to the collector
    try:
        home, created = init_home(Settings(home=tmp_path / "home"))
        assert created and open_on(home.root) == []
    finally:
        gc.enable()
