"""Case exports built on the server with progress: POST /cases/{id}/exports, follow, download.

The bundle is built by a job on a server thread into the export area (never in memory),
its progress is in the job's row, the finished ZIP is streamed with Range support and
each download session is a custody event; the CLI runs the same job."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from cases.bundle_verify import verify_bundle
from cases.case_records import attach_evidence, create_case
from cases.export_jobs import run_export, start_export
from cases.review import request_review
from cases.users import authenticate
from storage.objects import ObjectReader, ObjectStore
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"


def _case(world: World, number: str, labels: tuple[str, ...] = ("mine", "theirs", "photo")) -> str:
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    log, store = world.home.custody_log(), world.home.object_store()
    case = create_case(log, manager, "Robbery at the market", number)
    for label in labels:
        attach_evidence(log, store, manager, case.id, world.evidence[label])
    return case.id


def _start(world: World, user: str, case_id: str, body: dict[str, Any] | None = None) -> Any:
    return world.client.post(f"{API}/cases/{case_id}/exports", json=body or {"reason": "court"},
                             headers=world.auth(user))


def _wait(world: World, job_id: str) -> None:
    world.client.app.state.services.exports.wait(job_id, timeout=120)  # type: ignore[attr-defined]


def _original_sizes(world: World, labels: tuple[str, ...]) -> int:
    return sum(world.get("admin", f"{API}/evidence/{world.evidence[label]}").json()["size"]
               for label in labels)


def test_an_export_is_built_on_the_server_followed_and_downloaded(world: World) -> None:
    case_id = _case(world, "E-1")
    started = _start(world, "case_officer", case_id, {"reason": "for court", "include_playback": True})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] in ("queued", "running", "done") and job["items_total"] == 3
    playback = len(world.playback["mine"]) + len(world.playback["theirs"])
    assert job["bytes_total"] == _original_sizes(world, ("mine", "theirs", "photo")) + playback
    assert job["reason"] == "for court" and job["requested_by"] == "case_officer"
    _wait(world, job["id"])

    status = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}").json()
    assert status["state"] == "done", status
    assert (status["items_done"], status["bytes_done"]) == (3, job["bytes_total"])
    assert status["download"] == f"{API}/cases/{case_id}/exports/{job['id']}/download"
    listed = world.get("admin", f"{API}/cases/{case_id}/exports").json()["items"]
    assert [item["id"] for item in listed] == [job["id"]]
    # the bundle lives in the home's export area, not in a temporary folder of the process
    stored = world.home.exports / job["id"] / status["file_name"]
    assert stored.stat().st_size == status["size"]

    response = world.get("case_officer", status["download"] + "?reason=disclosure")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert status["file_name"] in response.headers["content-disposition"]
    assert hashlib.sha256(response.content).hexdigest() == status["sha256"]
    assert response.headers["etag"] == f'"{status["sha256"]}"'
    bundle = world.home.root / "received.zip"
    bundle.write_bytes(response.content)
    assert verify_bundle(bundle, world.home.custody_log().signer.verifier_key()).ok
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = archive.read("manifest.json")
    assert hashlib.sha256(manifest).hexdigest() == status["manifest_sha256"]

    [requested] = world.events("case:bundle:requested")
    assert requested["details"]["reason"] == "for court"
    [exported] = world.events("case:bundle:exported")
    assert exported["details"]["manifest_sha256"] == status["manifest_sha256"]
    [downloaded] = world.events("case:bundle:downloaded")
    assert downloaded["actor"] == "user:case_officer"
    assert downloaded["details"]["sha256"] == status["sha256"]
    assert downloaded["details"]["export"] == job["id"]
    assert downloaded["details"]["reason"] == "disclosure"
    # a resumed download (Range) joins the session: no new event
    part = world.get("case_officer", status["download"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == response.content[100:200]
    assert len(world.events("case:bundle:downloaded")) == 1
    # another person's download is theirs
    assert world.get("admin", status["download"]).status_code == 200
    assert [e["actor"] for e in world.events("case:bundle:downloaded")] == [
        "user:case_officer", "user:admin"]


class _Watched:
    """An object store that reads the job's row whenever the builder opens an object."""

    def __init__(self, store: ObjectStore, look: Any) -> None:
        self._store, self._look = store, look

    def open(self, key: str, version_id: str | None = None, *, start: int = 0,
             end: int | None = None) -> ObjectReader:
        self._look()
        return self._store.open(key, version_id, start=start, end=end)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_progress_is_recorded_while_the_bundle_is_built(world: World) -> None:
    case_id = _case(world, "E-2")
    log = world.home.custody_log()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    job = start_export(log, manager, case_id, False, None, world.clock.now)
    seen: list[tuple[int, int, str]] = []

    def look() -> None:
        row = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job.id}").json()
        seen.append((row["items_done"], row["bytes_done"], row["state"]))

    ticks = iter(range(10_000))
    finished = run_export(log, _Watched(world.home.object_store(), look), job.id,
                          world.home.exports,
                          clock=lambda: world.clock.now + timedelta(seconds=2 * next(ticks)))
    assert finished.state == "done"
    sizes = [_original_sizes(world, (label,)) for label in ("mine", "theirs", "photo")]
    # as each original is opened, the ones before it show as done
    assert seen == [(0, 0, "running"), (1, sizes[0], "running"),
                    (2, sizes[0] + sizes[1], "running")]


def test_a_failed_build_says_why_and_leaves_nothing(world: World) -> None:
    case_id = _case(world, "E-3")
    key = next(p for p in (world.home.objects / "objects").rglob("*")
               if p.is_file() and p.read_bytes() == b"original-1" * 100)
    os.chmod(key, 0o644)
    key.write_bytes(b"original-X" * 100)
    job = _start(world, "case_officer", case_id).json()
    _wait(world, job["id"])
    status = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}").json()
    assert status["state"] == "failed" and "not the recorded" in status["error"]
    chinese = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}",
                        headers={"Accept-Language": "zh-CN"}).json()["error"]
    assert "而不是记录的" in chinese and "recorded" not in chinese  # the stored sentence, translated
    assert world.events("case:bundle:exported") == []
    assert not (world.home.exports / job["id"]).exists() or \
        not any((world.home.exports / job["id"]).iterdir())
    refused = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}/download")
    assert refused.status_code == 409 and refused.json()["error"]["hint"]


def test_a_finished_bundle_expires_and_a_silent_job_fails(world: World) -> None:
    case_id = _case(world, "E-4", ("mine",))
    job = _start(world, "case_officer", case_id).json()
    _wait(world, job["id"])
    # a job whose builder stopped (its server died) is never heard from again
    log = world.home.custody_log()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    orphan = start_export(log, manager, case_id, False, None, world.clock.now)
    world.clock.advance(timedelta(minutes=4))
    status = world.get("case_officer", f"{API}/cases/{case_id}/exports/{orphan.id}").json()
    assert status["state"] == "failed" and "server stopped" in status["error"]
    assert world.get("case_officer", f"{API}/cases/{case_id}/exports/{orphan.id}",
                     headers={"Accept-Language": "zh-CN"}).json()["error"] \
        == "制作此导出时服务器停止了；请重新开始"
    assert world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}"
                     ).json()["state"] == "done"
    world.clock.advance(timedelta(hours=24))
    expired = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}").json()
    assert expired["state"] == "expired" and expired["download"] is None
    assert not (world.home.exports / job["id"]).exists()
    gone = world.get("case_officer", f"{API}/cases/{case_id}/exports/{job['id']}/download")
    assert gone.status_code == 409 and "24 h" in gone.json()["error"]["hint"]


def test_only_who_may_export_the_case_starts_follows_or_downloads(world: World) -> None:
    case_id = _case(world, "E-5", ("mine",))
    for user in ("officer", "auditor", "case_officer2", "n2-case_officer", "south-admin",
                 "reviewer"):
        assert _start(world, user, case_id).status_code == 403, user
    job = _start(world, "case_officer", case_id).json()
    _wait(world, job["id"])
    base = f"{API}/cases/{case_id}/exports"
    for path in (base, f"{base}/{job['id']}", f"{base}/{job['id']}/download"):
        for user in ("officer", "auditor", "case_officer2", "south-admin", "reviewer"):
            assert world.get(user, path).status_code == 403, (user, path)
    request_review(world.home.custody_log(),
                   authenticate(world.home.engine(), world.tokens["case_officer"]), case_id)
    assert world.get("reviewer", f"{base}/{job['id']}/download").status_code == 200
    other = _case(world, "E-6", ("theirs",))
    assert world.get("case_officer", f"{API}/cases/{other}/exports/{job['id']}").status_code == 404
    assert world.get("case_officer", f"{base}/{'0' * 8}-0000-4000-8000-{'0' * 12}"
                     ).status_code == 404
    assert _start(world, "case_officer", case_id, {"reason": "\u202e"}).status_code in (400, 422)
    assert len(world.events("case:bundle:requested")) == 1  # refused starts log nothing


def test_the_cli_runs_the_same_job(world: World, db_url: str, tmp_path: Path) -> None:
    case_id = _case(world, "E-7", ("mine", "photo"))
    result = run_cli_in_process(world.home.root, "case-export", case_id, "--out", str(tmp_path),
                                "--reason", "court order", env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "2/2 items" in result.stdout
    [bundle] = tmp_path.glob("case-E-7-*.zip")
    assert verify_bundle(bundle, world.home.custody_log().signer.verifier_key()).ok
    [listed] = world.get("case_officer", f"{API}/cases/{case_id}/exports").json()["items"]
    assert listed["state"] == "done"
    [requested] = world.events("case:bundle:requested")
    [exported] = world.events("case:bundle:exported")
    assert requested["actor"] == exported["actor"] == f"cli:{listed['requested_by']}"
    assert listed["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    missing = run_cli_in_process(world.home.root, "case-export", "no-such-case", "--out", str(tmp_path),
                                 env={"EVIDENCE_DATABASE_URL": db_url})
    assert missing.returncode == 2 and "no case" in missing.stderr
