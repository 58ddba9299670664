"""Case exports built on the server, with progress: the one implementation behind
``POST /cases/{id}/exports`` and ``evidence case-export``.

1. :func:`start_export` checks the user may export the case, logs the request
   (``case:bundle:requested``, as ``GET /cases/{id}/export`` does) and records a job
   (``cases.tables.export_jobs``): how many items and bytes the bundle will copy.
2. :func:`run_export` builds the bundle with ``cases.bundle.build_bundle`` into the
   job's folder of the export area (never in memory), writing its progress (items
   done, bytes copied) to the job's row as it goes; the builder logs
   ``case:bundle:exported``. An HTTP server runs it on an :class:`ExportRunner` thread,
   so the job goes on when the client leaves; the CLI runs it in the foreground.
3. The finished ZIP is downloaded with Range support; each download session logs
   ``case:bundle:downloaded`` (who, the ZIP's SHA-256, the manifest's, the reason).
4. :func:`sweep` deletes finished bundles ``KEEP`` after they were made (the row stays,
   ``expired``), and marks failed a job whose builder fell silent for ``STALE_AFTER``
   (its server stopped): the runner's heartbeat keeps its own jobs' rows fresh.

Anyone who may export the case may follow and download its exports (the case's
officers, reviewers once it is sent for review, admins of its agency).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from cases import access, tables
from cases.bundle import build_bundle
from cases.bundle_verify import MANIFEST
from cases.case_records import load_case, prepare_export
from cases.errors import Conflict
from cases.recordings import PLAYBACK
from cases.text import REASON_MAX, clean_optional
from cases.times import aware
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from domain.messages import Message, from_stored, msg, stored
from storage import catalog
from storage.db import write_transaction
from storage.objects import CHUNK_SIZE, ObjectStore

KEEP = timedelta(hours=24)  # a finished bundle is deleted this long after it was made
STALE_AFTER = timedelta(minutes=3)  # a job not heard from this long: its builder stopped
HEARTBEAT_SECONDS = 30.0
PROGRESS_EVERY = timedelta(seconds=1)  # progress is written to the row at most this often
QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
_log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ExportJob:
    id: str
    case_id: str
    requested_by: str
    include_playback: bool
    reason: str | None
    state: str
    items_total: int
    items_done: int
    bytes_total: int
    bytes_done: int
    file_name: str | None
    size: int | None
    sha256: str | None
    manifest_sha256: str | None
    error: Message | None  # shown with api.i18n.tr; a row kept before as plain English reads as it is
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    actor: str = ""


def _job(row: Any) -> ExportJob:
    return ExportJob(
        id=row.id, case_id=row.case_id, requested_by=row.requested_by,
        include_playback=bool(row.include_playback), reason=row.reason, state=row.state,
        items_total=row.items_total, items_done=row.items_done, bytes_total=row.bytes_total,
        bytes_done=row.bytes_done, file_name=row.file_name, size=row.size, sha256=row.sha256,
        manifest_sha256=row.manifest_sha256,
        error=from_stored(row.error) if row.error is not None else None, created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        finished_at=aware(row.finished_at) if row.finished_at is not None else None,
        expires_at=aware(row.expires_at) if row.expires_at is not None else None,
        actor=row.actor)


def _totals(conn: Connection, case_id: str, include_playback: bool) -> tuple[int, int]:
    """Items on the case, and the bytes of footage the bundle will copy."""
    ce, ev, der = tables.case_evidence, catalog.evidence, catalog.derivatives
    on_case = select(ce.c.evidence_id).where(ce.c.case_id == case_id)
    items, size = conn.execute(select(func.count(), func.coalesce(func.sum(ev.c.size), 0))
                               .where(ev.c.id.in_(on_case))).one()
    if include_playback:
        size += conn.execute(select(func.coalesce(func.sum(der.c.size), 0)).where(
            der.c.evidence_id.in_(on_case), der.c.name == PLAYBACK)).scalar_one()
    return int(items), int(size)


def start_export(log: CustodyLog, user: User, case_id: str, include_playback: bool,
                 reason: str | None, now: datetime | None = None) -> ExportJob:
    """Log the request and record a queued job; run it with :func:`run_export`."""
    moment = now or utc_now()
    reason = clean_optional(reason, msg("reason"), REASON_MAX)
    case = prepare_export(log, user, case_id, include_playback, reason, moment)
    job_id = str(uuid.uuid4())
    with write_transaction(log.engine) as conn:
        items, size = _totals(conn, case.id, include_playback)
        conn.execute(insert(tables.export_jobs).values(
            id=job_id, case_id=case.id, requested_by=user.name, actor=user.actor,
            include_playback=include_playback, reason=reason, state=QUEUED, items_total=items,
            items_done=0, bytes_total=size, bytes_done=0, created_at=moment, updated_at=moment))
        return _job(_row(conn, job_id))


def _row(conn: Connection, job_id: str) -> Any:
    row = conn.execute(select(tables.export_jobs).where(tables.export_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(msg("there is no export {job_id}", job_id=job_id),
                       hint=msg("open the case to see its exports"))
    return row


def _set(engine: Engine, job_id: str, **values: Any) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(tables.export_jobs).where(tables.export_jobs.c.id == job_id)
                     .values(**values))


def job_folder(export_dir: Path, job_id: str) -> Path:
    return export_dir / job_id


def run_export(log: CustodyLog, store: ObjectStore, job_id: str, export_dir: Path,
               clock: Clock = utc_now) -> ExportJob:
    """Build a queued job's bundle into its folder of ``export_dir``, recording progress.

    Never raises for a bundle that cannot be built: the job ends ``failed`` with the
    reason (and nothing is left in its folder); returns the job as it ended.
    """
    engine = log.engine
    with engine.connect() as conn:
        job = _job(_row(conn, job_id))
    if job.state != QUEUED:
        raise Conflict(msg("export {job_id} is {state}, not waiting to be built", job_id=job_id,
                           state=job.state),
                       hint=msg("start a new export"))
    _set(engine, job_id, state=RUNNING, updated_at=clock())
    folder = job_folder(export_dir, job_id)
    last = [clock()]

    def progress(items: int, copied: int) -> None:
        moment = clock()
        if moment - last[0] >= PROGRESS_EVERY or items == job.items_total:
            last[0] = moment
            _set(engine, job_id, items_done=items, bytes_done=copied, updated_at=moment)

    try:
        path = build_bundle(engine, store, log, job.case_id, include_playback=job.include_playback,
                            actor=job.actor, out_dir=folder, now=clock(), progress=progress)
        digest, size = _sha256_size(path)
        with zipfile.ZipFile(path) as archive:
            manifest = hashlib.sha256(archive.read(MANIFEST)).hexdigest()
        finished = clock()
        _set(engine, job_id, state=DONE, file_name=path.name, size=size, sha256=digest,
             manifest_sha256=manifest, items_done=job.items_total, updated_at=finished,
             finished_at=finished, expires_at=finished + KEEP)
    except EvidenceError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _set(engine, job_id, state=FAILED, error=stored(exc.args[0]), updated_at=clock(),
             finished_at=clock())
    except Exception:
        _log.exception("export %s failed unexpectedly", job_id)
        shutil.rmtree(folder, ignore_errors=True)
        _set(engine, job_id, state=FAILED, updated_at=clock(), finished_at=clock(),
             error=stored(msg("the export failed unexpectedly (the server log says why); start it "
                              "again")))
    with engine.connect() as conn:
        return _job(_row(conn, job_id))


def _sha256_size(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _require_case(conn: Connection, user: User, case_id: str, action: str) -> None:
    load_case(conn, case_id)  # NotFound first
    access.require_case_access(conn, user, case_id, access.EXPORT_CASE, action)


def list_exports(engine: Engine, user: User, case_id: str) -> list[ExportJob]:
    """The case's exports, newest first."""
    access.require_role(user, access.EXPORT_CASE, msg("follow this case's exports"))
    ej = tables.export_jobs
    with engine.connect() as conn:
        _require_case(conn, user, case_id, msg("follow this case's exports"))
        return [_job(row) for row in conn.execute(
            select(ej).where(ej.c.case_id == case_id).order_by(ej.c.created_at.desc(), ej.c.id))]


def get_export(engine: Engine, user: User, case_id: str, job_id: str) -> ExportJob:
    access.require_role(user, access.EXPORT_CASE, msg("follow this case's exports"))
    with engine.connect() as conn:
        _require_case(conn, user, case_id, msg("follow this case's exports"))
        job = _job(_row(conn, job_id))
    if job.case_id != case_id:
        raise NotFound(msg("case {case_id} has no export {job_id}", case_id=case_id, job_id=job_id),
                       hint=msg("open the case to see its exports"))
    return job


def finished_bundle(engine: Engine, user: User, case_id: str, job_id: str,
                    export_dir: Path) -> tuple[ExportJob, Path]:
    """A finished export's ZIP, for a user who may export the case."""
    job = get_export(engine, user, case_id, job_id)
    if job.state != DONE or job.file_name is None:
        hint = {QUEUED: msg("it has not started yet; follow its progress and download it once "
                            "it is done"),
                RUNNING: msg("it is still being built; download it once it is done"),
                EXPIRED: msg("finished bundles are kept {hours:g} h; start a new export",
                             hours=KEEP.total_seconds() / 3600)}.get(job.state,
                                                                     msg("start a new export"))
        raise Conflict(msg("export {job_id} is {state}, so there is nothing to download", job_id=job_id,
                           state=job.state),
                       hint=hint)
    return job, job_folder(export_dir, job_id) / job.file_name


def download_drafts(user: User, job: ExportJob, case_number: str, reason: str | None,
                    now: datetime) -> Callable[[str], list[EventDraft]]:
    """The one event opening a download session on a finished bundle."""
    def drafts(session_id: str) -> list[EventDraft]:
        return [EventDraft(EventType.CASE_BUNDLE_DOWNLOADED, user.actor, None, {
            "case_id": job.case_id, "case_number": case_number, "export": job.id,
            "bundle": job.file_name, "sha256": job.sha256, "size": job.size,
            "manifest_sha256": job.manifest_sha256, "session": session_id,
            "requested_by": job.requested_by, "reason": reason}, now)]
    return drafts


def case_number(engine: Engine, case_id: str) -> str:
    with engine.connect() as conn:
        return load_case(conn, case_id).number


def sweep(engine: Engine, export_dir: Path, now: datetime | None = None) -> int:
    """Delete the bundles whose time is up, and fail the jobs whose builder fell silent.

    Returns how many jobs changed.
    """
    moment = now or utc_now()
    ej = tables.export_jobs
    with engine.connect() as conn:
        expired = [r.id for r in conn.execute(select(ej.c.id).where(
            ej.c.state == DONE, ej.c.expires_at <= moment))]
        silent = [r.id for r in conn.execute(select(ej.c.id).where(
            ej.c.state.in_((QUEUED, RUNNING)), ej.c.updated_at < moment - STALE_AFTER))]
    for job_id in expired:
        shutil.rmtree(job_folder(export_dir, job_id), ignore_errors=True)
        _set(engine, job_id, state=EXPIRED, updated_at=moment)
    for job_id in silent:
        shutil.rmtree(job_folder(export_dir, job_id), ignore_errors=True)
        _set(engine, job_id, state=FAILED, updated_at=moment, finished_at=moment,
             error=stored(msg("the server stopped while building this export; start it again")))
    return len(expired) + len(silent)


class ExportRunner:
    """Runs export jobs on background threads of a server process, and keeps their rows
    fresh (a heartbeat) so :func:`sweep` can tell a stopped builder from a slow one."""

    def __init__(self, log: CustodyLog, store: ObjectStore, export_dir: Path,
                 clock: Clock = utc_now, workers: int = 1) -> None:
        self._log, self._store, self._dir, self._clock = log, store, export_dir, clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        self._jobs: dict[str, Future[ExportJob]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self._stop.is_set():
                raise Conflict(msg("the server is stopping and takes no new export"),
                               hint=msg("start the export again in a moment"))
            self._jobs[job_id] = self._pool.submit(run_export, self._log, self._store, job_id,
                                                   self._dir, self._clock)
            if self._beat is None:
                self._beat = threading.Thread(target=self._heartbeat, name="export-heartbeat",
                                              daemon=True)
                self._beat.start()

    def wait(self, job_id: str, timeout: float | None = None) -> ExportJob:
        """The job as it ended (for tests and tools; pages poll instead)."""
        with self._lock:
            future = self._jobs[job_id]
        return future.result(timeout)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                pending = [job_id for job_id, f in self._jobs.items() if not f.done()]
            if pending:
                try:
                    with write_transaction(self._log.engine) as conn:
                        ej = tables.export_jobs
                        conn.execute(update(ej).where(ej.c.id.in_(pending),
                                                      ej.c.state.in_((QUEUED, RUNNING)))
                                     .values(updated_at=self._clock()))
                except Exception:  # a database outage must not end the heartbeat
                    _log.exception("export heartbeat failed")

    def shutdown(self) -> None:
        """Let the running export finish; drop the queued ones (their rows stay queued, and
        the sweep fails them once nobody keeps them fresh); take no more."""
        with self._lock:
            self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._beat is not None:
            self._beat.join()
