"""The verify as a background job: started by an auditor, one at a time, with progress, the
report when done, custody events at both ends, and a clean stop when the server shuts down.

Jobs that must still be running when the test looks are held at a gate (an Event), never
timed; the real verify runs where only its result matters.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from api.verify_run import run_verify
from cases import tables
from cases.users import authenticate
from cases.verify_jobs import CANCELLED, JobState, VerifyJobs
from custody import schema
from custody.progress import Progress
from custody.report import VerifyReport
from custody.verify import verify_database
from domain.errors import StorageUnavailable
from storage.db import make_engine
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"
WAIT = 120  # seconds a test waits for an event that should come at once


def _jobs(world: World) -> VerifyJobs:
    jobs: VerifyJobs = world.client.app.state.services.verify_jobs  # type: ignore[attr-defined]
    return jobs


def _start(world: World, user: str = "auditor", objects: bool = False) -> Any:
    return world.client.post(f"{API}/verify/jobs", json={"objects": objects},
                             headers=world.auth(user))


class Gate:
    """A verify that reports some progress, then waits at the gate until ``release`` is set
    (the jobs' ``closing`` to wait for a shutdown), then goes on into the next phase."""

    def __init__(self, release: threading.Event | None = None,
                 result: VerifyReport | Exception | None = None) -> None:
        self.reached = threading.Event()
        self.release = release or threading.Event()
        self._result = result

    def __call__(self, objects: bool, progress: Progress) -> VerifyReport:
        progress.phase("entries", 40)
        progress.checked(17)
        self.reached.set()
        self.release.wait(WAIT)
        progress.phase("nodes")
        if isinstance(self._result, Exception):
            raise self._result
        return self._result or VerifyReport(source="gate", entries=40, checks=["entries"])


def test_a_job_runs_in_the_background_and_ends_with_the_report_and_events(world: World) -> None:
    started = _start(world)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] in ("queued", "running", "done") and job["requested_by"] == "user:auditor"
    done = _jobs(world).wait(job["id"], WAIT)
    assert done.state is JobState.DONE
    shown = world.get("auditor", f"{API}/verify/jobs/{job['id']}").json()
    assert shown["state"] == "done" and shown["ok"] is True and shown["error"] is None
    report = shown["report"]
    assert report["ok"] is True and report["problems"] == []
    assert report["checks"] == ["entries", "nodes", "head", "checkpoints", "documents", "catalog"]
    synchronous = world.get("auditor", f"{API}/verify").json()
    assert synchronous.keys() == report.keys()
    assert synchronous["entries"] == report["entries"] + 1  # the job's own finished event
    # both ends are custody events, naming who asked; the report is kept as a document
    [begun] = world.events("custody:verify:started")
    [ended] = world.events("custody:verify:finished")
    assert begun["actor"] == ended["actor"] == "user:auditor"
    assert begun["details"] == {"job": job["id"], "objects": False}
    details = ended["details"]
    assert (details["state"], details["ok"], details["entries"]) == ("done", True,
                                                                     report["entries"])
    assert details["checkpoint_size"] == report["latest_checkpoint_size"] == report["entries"]
    stored = world.home.custody_log().document(details["report_sha256"])
    # the document is the report, with each note's and problem's sentence kept for translation
    kept = json.loads(stored)
    assert kept.pop("notes_text") == [{"template": n, "params": {}} for n in kept["notes"]]
    assert kept == report
    listed = world.get("auditor", f"{API}/verify/jobs").json()
    assert [j["id"] for j in listed["items"]] == [job["id"]] and listed["total"] == 1


def test_one_job_at_a_time_with_its_progress_visible(world: World) -> None:
    jobs = _jobs(world)
    gate = Gate()
    jobs.run = gate
    first = _start(world)
    assert first.status_code == 202
    assert gate.reached.wait(WAIT)
    running = world.get("auditor", f"{API}/verify/jobs/{first.json()['id']}").json()
    assert running["state"] == "running" and running["report"] is None
    assert running["progress"] == {"phase": "entries", "checked": 17, "total": 40}
    second = _start(world, objects=True)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert second.json()["objects"] is False  # the running job, as it was started
    assert len(world.events("custody:verify:started")) == 1
    gate.release.set()
    assert jobs.wait(first.json()["id"], WAIT).state is JobState.DONE
    third = _start(world)
    assert third.status_code == 202 and third.json()["id"] != first.json()["id"]
    gate.release.set()
    assert jobs.wait(third.json()["id"], WAIT).state is JobState.DONE


def test_only_auditors_of_every_agency_start_or_read_jobs(world: World) -> None:
    for user in ("north-auditor", "admin", "reviewer", "officer"):
        response = _start(world, user)
        assert response.status_code == 403 and response.json()["error"]["hint"], user
        assert world.get(user, f"{API}/verify/jobs").status_code == 403, user
    assert world.events("custody:verify:started") == []
    missing = "00000000-0000-4000-8000-000000000000"
    assert world.get("auditor", f"{API}/verify/jobs/{missing}").status_code == 404


@pytest.mark.parametrize(("failure", "said"), [
    (StorageUnavailable("custody database unavailable: gone", hint="check the server"),
     "custody database unavailable: gone"),
    (RuntimeError("secret internals"), "unexpected error"),
])
def test_a_failed_job_says_why(world: World, failure: Exception, said: str) -> None:
    """In the asker's language: the server's own sentence translated, an error's plain words
    (not written with msg) as they are."""
    jobs = _jobs(world)
    gate = Gate(result=failure)
    gate.release.set()
    jobs.run = gate
    job = _start(world).json()
    ended = jobs.wait(job["id"], WAIT)
    assert ended.state is JobState.FAILED and said in (ended.error or "")
    assert "secret" not in (ended.error or "")
    shown = world.get("auditor", f"{API}/verify/jobs/{job['id']}").json()
    assert shown["state"] == "failed" and shown["report"] is None and shown["ok"] is None
    assert said in shown["error"]
    chinese = world.get("auditor", f"{API}/verify/jobs/{job['id']}",
                        headers={"Accept-Language": "zh-CN"}).json()["error"]
    assert chinese == ("核验因意外错误而停止；详情见服务器日志" if isinstance(failure, RuntimeError)
                       else shown["error"])
    [event] = world.events("custody:verify:finished")
    assert event["details"]["state"] == "failed" and said in event["details"]["error"]
    assert _start(world).status_code == 202  # a failed job does not block the next


def test_a_job_reports_tampering(world: World) -> None:
    engine = make_engine(world.home.database_url)
    with engine.begin() as conn:
        leaf = conn.execute(select(schema.entries.c.leaf).where(schema.entries.c.seq == 3)
                            ).scalar_one()
        conn.execute(update(schema.entries).where(schema.entries.c.seq == 3).values(
            leaf=bytes(leaf).replace(b"cli:test", b"cli:evil")))
    engine.dispose()
    job = _start(world).json()
    ended = _jobs(world).wait(job["id"], WAIT)
    assert ended.state is JobState.DONE and ended.ok is False and ended.report is not None
    assert {"root_mismatch", "leaf_hash_mismatch"} <= {p["kind"] for p in ended.report["problems"]}
    # the problems in the asker's language, from the report the job stored
    url = f"{API}/verify/jobs/{job['id']}"
    english = {p["kind"]: p["message"] for p in world.get("auditor", url).json()["report"]["problems"]}
    chinese = {p["kind"]: p["message"] for p in world.get(
        "auditor", url, headers={"Accept-Language": "zh-CN"}).json()["report"]["problems"]}
    assert english["leaf_hash_mismatch"] == ("the stored hash of entry 3 is not the hash of its bytes; "
                                             "proofs served for it would fail")
    assert chinese["leaf_hash_mismatch"] == "条目 3 存储的哈希不是其字节的哈希：为它提供的证明将无法通过"
    assert "an entry was altered" in english["root_mismatch"] and "有条目被改动" in chinese["root_mismatch"]
    # a report stored before its sentences were kept for translation reads as it was written
    with engine.begin() as conn:
        stored = json.loads(conn.execute(select(tables.verify_jobs.c.report)).scalar_one())
        for problem in stored["problems"]:
            del problem["text"]
        conn.execute(update(tables.verify_jobs).values(report=json.dumps(stored)))
    engine.dispose()
    old = world.get("auditor", url, headers={"Accept-Language": "zh-CN"}).json()["report"]["problems"]
    assert {p["kind"]: p["message"] for p in old} == english
    [event] = world.events("custody:verify:finished")
    assert event["details"]["ok"] is False and event["details"]["kinds"]["root_mismatch"] >= 1


def _held_at(phase: str, run: Callable[[bool, Progress], VerifyReport], jobs: VerifyJobs,
             reached: threading.Event, seen: list[str]) -> Callable[[bool, Progress], VerifyReport]:
    """The real verify, held at the start of ``phase`` until the jobs close."""
    class Held:
        def __init__(self, inner: Progress) -> None:
            self._inner = inner

        def phase(self, name: str, total: int | None = None) -> None:
            seen.append(name)
            if name == phase:
                reached.set()
                jobs.closing.wait(WAIT)
            self._inner.phase(name, total)

        def checked(self, count: int) -> None:
            self._inner.checked(count)

    return lambda objects, progress: run(objects, Held(progress))


def test_closing_stops_a_running_job_at_the_next_phase(world: World) -> None:
    jobs = _jobs(world)
    reached, seen = threading.Event(), list[str]()
    jobs.run = _held_at("nodes", jobs.run, jobs, reached, seen)
    job = _start(world).json()
    assert reached.wait(WAIT)
    assert world.get("auditor", f"{API}/verify/jobs/{job['id']}").json()["progress"][
        "phase"] == "entries"  # the phase it finished; "nodes" has not begun
    jobs.close(WAIT)
    assert seen == ["entries", "nodes"]  # stopped where it was asked: nothing after
    ended = jobs.wait(job["id"], 0)
    assert ended.state is JobState.FAILED and ended.error == CANCELLED
    [event] = world.events("custody:verify:finished")
    assert event["details"]["error"] == CANCELLED
    refused = _start(world)
    assert refused.status_code == 409 and "shutting down" in refused.json()["error"]["message"]


def test_a_server_shuts_down_cleanly_with_a_running_job(world: World) -> None:
    """uvicorn's shutdown (SIGTERM, Ctrl-C) runs the app's lifespan end: the job is stopped
    and recorded, and the server returns."""
    app = world.client.app
    jobs = _jobs(world)
    gate = Gate(release=jobs.closing)
    jobs.run = gate
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # requests wait in the backlog until the server accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{API}/verify/jobs", data=b"{}", method="POST",
        headers={**world.auth("auditor"), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert response.status == 202
        job_id = json.loads(response.read())["id"]
    assert gate.reached.wait(WAIT)
    server.should_exit = True
    thread.join(WAIT)
    sock.close()
    assert not thread.is_alive()
    ended = jobs.wait(job_id, 0)
    assert ended.state is JobState.FAILED and ended.error == CANCELLED


def test_a_job_whose_server_died_is_ended_and_does_not_block(world: World) -> None:
    """Another server process took a job and stopped beating: after STALE_AFTER it is
    recorded as failed, and a new start runs."""
    engine = world.home.engine()
    with engine.begin() as conn:
        conn.execute(tables.verify_jobs.insert().values(
            id="11111111-1111-4111-8111-111111111111", state="running", active=1, objects=False,
            requested_by="user:auditor", requested_at=world.clock(),
            heartbeat_at=world.clock(), checked=12, total=40, phase="entries"))
    jobs = _jobs(world)
    assert _start(world).json()["id"] == "11111111-1111-4111-8111-111111111111"  # alive
    world.clock.advance(timedelta(minutes=5))
    shown = world.get("auditor", f"{API}/verify/jobs/11111111-1111-4111-8111-111111111111")
    assert shown.json()["state"] == "failed" and "stopped" in shown.json()["error"]
    [event] = world.events("custody:verify:finished")
    assert event["details"]["state"] == "failed" and event["actor"] == "user:auditor"
    fresh = _start(world)
    assert fresh.status_code == 202
    assert jobs.wait(fresh.json()["id"], WAIT).state is JobState.DONE


def test_two_servers_on_one_database_run_one_job(world: World) -> None:
    """A second process's VerifyJobs sees the first one's running job and returns it."""
    first = _jobs(world)
    gate = Gate()
    first.run = gate
    job = _start(world).json()
    assert gate.reached.wait(WAIT)
    other = VerifyJobs(world.home.custody_log(), gate, clock=world.clock)
    auditor = authenticate(world.home.engine(), world.tokens["auditor"])
    try:
        again, started = other.start(auditor, False)
        assert not started and again.id == job["id"] and again.state is JobState.RUNNING
    finally:
        other.close(WAIT)
    gate.release.set()
    assert first.wait(job["id"], WAIT).state is JobState.DONE


class Recorder:
    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.counts: dict[str, list[int]] = {}

    def phase(self, name: str, total: int | None = None) -> None:
        self.phases.append((name, total))
        self.counts[name] = []

    def checked(self, count: int) -> None:
        self.counts[self.phases[-1][0]].append(count)


@pytest.mark.parametrize("threshold", [10**9, 8])
def test_progress_counts_every_entry_in_one_process_or_two(world: World, threshold: int) -> None:
    """The verify's phases in order, and its entries counted up to the total, also when a
    second process checks half of them (``threshold`` 8 splits the log)."""
    home = world.home
    recorder = Recorder()
    report = verify_database(home.engine(), home.verifier(), home.origin, progress=recorder,
                             parallel_threshold=threshold)
    assert report.ok
    size = home.custody_log().size()
    assert recorder.phases == [("entries", size), ("nodes", None), ("head", None),
                               ("checkpoints", report.checkpoints), ("documents", None)]
    counts = recorder.counts["entries"]
    assert counts == sorted(counts) and counts[-1] == size


def test_progress_through_the_catalogue_and_objects(world: World) -> None:
    home = world.home
    recorder = Recorder()
    report = run_verify(home.engine(), home.object_store(), home.verifier(), home.origin,
                        objects=True, progress=recorder)
    assert report.ok and report.objects > 0
    names = [name for name, _ in recorder.phases]
    assert names[-2:] == ["catalog", "objects"]
    assert recorder.counts["objects"][-1] == dict(recorder.phases)["objects"]


def test_the_database_holds_one_active_job(world: World) -> None:
    row = {"state": "running", "active": 1, "objects": False, "requested_by": "user:auditor",
           "requested_at": world.clock(), "heartbeat_at": world.clock(), "checked": 0}
    engine = world.home.engine()
    with engine.begin() as conn:
        conn.execute(tables.verify_jobs.insert().values(id=str(uuid.uuid4()), **row))
    with pytest.raises(SqlIntegrityError), engine.begin() as conn:
        conn.execute(tables.verify_jobs.insert().values(id=str(uuid.uuid4()), **row))


def test_two_starts_that_collide_return_the_winners_job(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process claims the slot between this start's read and its insert (possible on
    PostgreSQL only: SQLite serializes writers from the read on): the unique index refuses
    this insert, and the start looks again and returns the other process's job."""
    if world.home.engine().dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock before the read: starts cannot collide")
    winner = str(uuid.uuid4())
    other = make_engine(world.home.database_url)
    real_uuid4 = uuid.uuid4

    def claimed_meanwhile() -> uuid.UUID:
        if not calls:  # between this start's read (no active job) and its insert
            calls.append(1)
            with other.begin() as conn:
                conn.execute(tables.verify_jobs.insert().values(
                    id=winner, state="running", active=1, objects=False,
                    requested_by="user:auditor", requested_at=world.clock(),
                    heartbeat_at=world.clock(), checked=0))
        return real_uuid4()

    calls: list[int] = []
    monkeypatch.setattr("cases.verify_jobs.uuid.uuid4", claimed_meanwhile)
    try:
        found = _start(world)
    finally:
        other.dispose()
    assert found.status_code == 200, found.text
    assert found.json()["id"] == winner and calls == [1]
    assert world.events("custody:verify:started") == []
