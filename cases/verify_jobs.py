"""The verify as a background job: started by an auditor, run in a thread of the server.

One job runs at a time for a database, however many server processes share it:
``verify_jobs.active`` is 1 while a job is queued or running and is unique, so
a second start gets the job already running. The job runs in a thread of the
process that started it, whether or not the client that asked is still there;
a heartbeat thread writes its phase and progress to the table every
``heartbeat`` seconds, so any process can answer for it. A job whose runner
stopped writing for ``stale_after`` (its server died) is marked failed when
someone next starts or reads one.

Both ends are custody events: ``custody:verify:started`` names who asked,
``custody:verify:finished`` the verdict, the counts, the tree size and root the
run checked, and the SHA-256 of the full report, kept as a custody document.

``close()`` (the server's shutdown) asks the running job to stop; it stops at
the next phase or within a few thousand entries, is recorded as failed
("cancelled"), and ``close`` returns once its thread is gone.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from cases import access, tables
from cases.errors import Conflict
from cases.paging import Page
from cases.times import aware
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from custody.progress import Progress, VerifyCancelled
from custody.report import VerifyReport
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from domain.messages import Message, from_stored, msg, stored
from storage.db import database_errors, write_transaction

logger = logging.getLogger("evidence.verify_jobs")

HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(seconds=60)
CANCELLED = msg("cancelled: the server shut down before the verify finished; start it again")
VerifyRun = Callable[[bool, Progress], VerifyReport]  # (objects, progress) -> report


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class VerifyJob:
    id: str
    state: JobState
    objects: bool
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    phase: str | None
    checked: int
    total: int | None
    ok: bool | None
    report: dict[str, Any] | None  # VerifyReport.to_json (Problem.from_json reads its problems)
    error: Message | None  # in any language (tr); one stored before as plain English


@dataclass
class _Live:
    """The running job's progress, as its thread sees it (fresher than the table)."""

    job_id: str
    cancel: threading.Event
    phase: str | None = None
    checked: int = 0
    total: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[str | None, int, int | None]:
        with self.lock:
            return self.phase, self.checked, self.total


class _JobProgress:
    """Progress into ``_Live``; raises ``VerifyCancelled`` once the job is asked to stop."""

    def __init__(self, live: _Live) -> None:
        self._live = live

    def _stop_if_asked(self) -> None:
        if self._live.cancel.is_set():
            raise VerifyCancelled(CANCELLED)

    def phase(self, name: str, total: int | None = None) -> None:
        self._stop_if_asked()
        with self._live.lock:
            self._live.phase, self._live.checked, self._live.total = name, 0, total

    def checked(self, count: int) -> None:
        self._stop_if_asked()
        with self._live.lock:
            self._live.checked = count


def _utc_now() -> datetime:
    return datetime.now(UTC)


class VerifyJobs:
    """Starts, runs and reports verify jobs for one database. ``run`` does the verify."""

    def __init__(self, log: CustodyLog, run: VerifyRun, *,
                 clock: Callable[[], datetime] = _utc_now,
                 heartbeat: float = HEARTBEAT_SECONDS,
                 stale_after: timedelta = STALE_AFTER) -> None:
        self.log = log
        self.run = run  # replaceable (tests)
        self._clock = clock
        self._heartbeat = heartbeat
        self._stale_after = stale_after
        self._lock = threading.Lock()
        self._live: _Live | None = None
        self._thread: threading.Thread | None = None
        self._finished: dict[str, threading.Event] = {}
        self._closed = False
        self.closing = threading.Event()  # set when close() is called

    # -- starting ------------------------------------------------------------

    def start(self, user: User, objects: bool) -> tuple[VerifyJob, bool]:
        """Start a verify, or return the one already queued or running: (job, started)."""
        access.require_log_wide(user, msg("run the verifier"))
        with self._lock:
            if self._closed:
                raise Conflict(msg("the server is shutting down and starts no verify"),
                               hint=msg("start it again once the server is back"))
            job_id, started = self._claim_once(user, objects)
            if started:
                live = _Live(job_id, threading.Event())
                self._live = live
                self._finished[job_id] = threading.Event()
                self._thread = threading.Thread(target=self._work, args=(live, objects),
                                                name=f"verify-job-{job_id[:8]}", daemon=True)
                self._thread.start()
        return self._read(job_id), started

    def _claim_once(self, user: User, objects: bool) -> tuple[str, bool]:
        """Claim the one active slot, or find who holds it. Two processes that both found it
        free (PostgreSQL's snapshots) collide on ``active``'s unique index: the loser looks
        again and finds the winner's job."""
        with database_errors(msg("starting a verify")):
            try:
                return self._claim(user, objects)
            except SqlIntegrityError:
                return self._claim(user, objects)

    def _claim(self, user: User, objects: bool) -> tuple[str, bool]:
        moment = self._clock()
        jobs = tables.verify_jobs
        with write_transaction(self.log.engine) as conn:
            active = conn.execute(select(jobs).where(jobs.c.active == 1)).first()
            if active is not None and not self._stale(active, moment):
                return str(active.id), False
            if active is not None:
                self._end_stale(conn, active, moment)
            job_id = str(uuid.uuid4())
            conn.execute(insert(jobs).values(
                id=job_id, state=JobState.QUEUED.value, active=1, objects=objects,
                requested_by=user.actor, requested_at=moment, heartbeat_at=moment, checked=0))
            self.log.append([EventDraft(EventType.VERIFY_STARTED, user.actor, None, {
                "job": job_id, "objects": objects}, moment)], conn)
        return job_id, True

    def _stale(self, row: Any, moment: datetime) -> bool:
        if self._live is not None and self._live.job_id == row.id:
            return False  # this process runs it
        beat = row.heartbeat_at or row.requested_at
        return moment - aware(beat) > self._stale_after

    def _end_stale(self, conn: Connection, row: Any, moment: datetime) -> None:
        error = msg("the server running it stopped (no sign of life since {time})",
                    time=aware(row.heartbeat_at or row.requested_at).isoformat())
        self._finish(conn, row.id, row.requested_by, JobState.FAILED, moment, error=error,
                     phase=row.phase, checked=row.checked, total=row.total)

    # -- running -------------------------------------------------------------

    def _work(self, live: _Live, objects: bool) -> None:
        done = self._finished[live.job_id]
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(live, beating),
                                name=f"verify-beat-{live.job_id[:8]}", daemon=True)
        try:
            self._set_running(live.job_id)
            beat.start()
            report = self.run(objects, _JobProgress(live))
        except VerifyCancelled:
            self._end(live, JobState.FAILED, error=CANCELLED)
        except EvidenceError as exc:
            self._end(live, JobState.FAILED, error=exc.args[0])  # its Message, hint included
        except Exception:
            logger.exception("verify job %s failed", live.job_id)
            self._end(live, JobState.FAILED, error=msg("the verify stopped on an unexpected error; "
                                                       "the server log has the details"))
        else:
            self._end(live, JobState.DONE, report=report)
        finally:
            beating.set()
            if beat.is_alive():
                beat.join()
            with self._lock:
                if self._live is live:
                    self._live = None
            done.set()

    def _set_running(self, job_id: str) -> None:
        moment = self._clock()
        jobs = tables.verify_jobs
        with write_transaction(self.log.engine) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                state=JobState.RUNNING.value, started_at=moment, heartbeat_at=moment))

    def _beat(self, live: _Live, stop: threading.Event) -> None:
        jobs = tables.verify_jobs
        while not stop.wait(self._heartbeat):
            phase, checked, total = live.snapshot()
            try:
                with write_transaction(self.log.engine) as conn:
                    conn.execute(update(jobs).where(
                        (jobs.c.id == live.job_id) & (jobs.c.state == JobState.RUNNING.value))
                        .values(heartbeat_at=self._clock(), phase=phase, checked=checked,
                                total=total))
            except Exception:  # a missed beat is not worth stopping the verify for
                logger.warning("verify job %s: could not record its progress", live.job_id,
                               exc_info=True)

    def _end(self, live: _Live, state: JobState, *, report: VerifyReport | None = None,
             error: Message | None = None) -> None:
        phase, checked, total = live.snapshot()
        jobs = tables.verify_jobs
        try:
            # the full report is kept as a custody document; the event names its SHA-256
            body = json.dumps(report.to_json(), sort_keys=True) if report is not None else None
            digest = self.log.store_document(body.encode()) if body is not None else None
            with write_transaction(self.log.engine) as conn:
                requested_by = conn.execute(select(jobs.c.requested_by)
                                            .where(jobs.c.id == live.job_id)).scalar_one()
                self._finish(conn, live.job_id, requested_by, state, self._clock(), report=report,
                             report_body=body, report_sha256=digest, error=error, phase=phase,
                             checked=checked, total=total)
        except Exception:
            logger.exception("verify job %s: could not record its end; it is marked failed "
                             "once its heartbeat is %s old", live.job_id, self._stale_after)

    def _finish(self, conn: Connection, job_id: str, requested_by: str, state: JobState,
                moment: datetime, *, report: VerifyReport | None = None,
                report_body: str | None = None, report_sha256: str | None = None,
                error: Message | None = None, phase: str | None, checked: int,
                total: int | None) -> None:
        """Record the end of a job and its custody event, in the caller's transaction."""
        details: dict[str, Any] = {"job": job_id, "state": state.value,
                                   "error": None if error is None else str(error)}
        if report is not None:
            kinds: dict[str, int] = {}
            for problem in report.problems:
                kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
            details.update({
                "ok": report.ok, "entries": report.entries, "checkpoints": report.checkpoints,
                "objects": report.objects, "problems": len(report.problems), "kinds": kinds,
                "checkpoint_size": report.latest_checkpoint_size, "root_hash": report.root_hash,
                "report_sha256": report_sha256})
        jobs = tables.verify_jobs
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(
            state=state.value, active=None, finished_at=moment, heartbeat_at=moment, phase=phase,
            checked=checked, total=total, ok=report.ok if report is not None else None,
            report=report_body, error=None if error is None else stored(error)))
        self.log.append([EventDraft(EventType.VERIFY_FINISHED, requested_by, None, details,
                                    moment)], conn)

    # -- reading -------------------------------------------------------------

    def get(self, user: User, job_id: str) -> VerifyJob:
        access.require_log_wide(user, msg("read verify jobs"))
        self._reap()
        return self._read(job_id)

    def list(self, user: User, offset: int = 0, limit: int = 20) -> Page[VerifyJob]:
        """Jobs newest first."""
        access.require_log_wide(user, msg("read verify jobs"))
        self._reap()
        jobs = tables.verify_jobs
        with database_errors(msg("reading verify jobs")), self.log.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
            rows = conn.execute(select(jobs).order_by(jobs.c.requested_at.desc(), jobs.c.id)
                                .offset(offset).limit(limit)).all()
        return Page([self._job(row) for row in rows], total, offset, limit)

    def _reap(self) -> None:
        """Mark failed an active job whose runner stopped beating (its server died)."""
        jobs = tables.verify_jobs
        moment = self._clock()
        with self.log.engine.connect() as conn:
            active = conn.execute(select(jobs).where(jobs.c.active == 1)).first()
        if active is None or not self._stale(active, moment):
            return
        with database_errors(msg("ending a stopped verify")), write_transaction(self.log.engine) as conn:
            again = conn.execute(select(jobs).where(jobs.c.active == 1)).first()
            if again is not None and again.id == active.id and self._stale(again, moment):
                self._end_stale(conn, again, moment)

    def _read(self, job_id: str) -> VerifyJob:
        jobs = tables.verify_jobs
        with database_errors(msg("reading a verify job")), self.log.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(msg("there is no verify job {job_id}", job_id=job_id),
                           hint=msg("start a new verification"))
        return self._job(row)

    def _job(self, row: Any) -> VerifyJob:
        phase, checked, total = row.phase, int(row.checked), row.total
        live = self._live
        if live is not None and live.job_id == row.id and row.state in (
                JobState.QUEUED.value, JobState.RUNNING.value):
            phase, checked, total = live.snapshot()
        return VerifyJob(
            id=row.id, state=JobState(row.state), objects=bool(row.objects),
            requested_by=row.requested_by, requested_at=aware(row.requested_at),
            started_at=aware(row.started_at) if row.started_at else None,
            finished_at=aware(row.finished_at) if row.finished_at else None,
            phase=phase, checked=checked, total=int(total) if total is not None else None,
            ok=row.ok, report=json.loads(row.report) if row.report else None,
            error=from_stored(row.error) if row.error is not None else None)

    # -- waiting and stopping ------------------------------------------------

    def wait(self, job_id: str, timeout: float) -> VerifyJob:
        """The job once its thread in this process is done (or as it is after ``timeout``)."""
        done = self._finished.get(job_id)
        if done is not None:
            done.wait(timeout)
        return self._read(job_id)

    def close(self, timeout: float | None = None) -> None:
        """Start no more jobs; stop the running one and wait for its thread to end."""
        with self._lock:
            self._closed = True
            live, thread = self._live, self._thread
        if live is not None:
            live.cancel.set()
        self.closing.set()
        if thread is not None:
            thread.join(timeout)
