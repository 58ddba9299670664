"""The docking station: get every file off a recorder, prove the copy, then free it.

A file is deleted from a recorder only when (1) its stored copy was read back
and matched, (2) the custody event recording it is committed, and (3) the
policy says wipe; and only if it still has the size and time it had when it was
copied. Only ingested files and duplicates of stored content are wiped. When
the store or database is unreachable nothing is wiped: the station retries with
backoff and completes when it comes back.

Stopping (``Station.stop``, from the daemon's SIGTERM/SIGINT handler) is checked
between files and between the chunks of a copy: a copy in progress is abandoned
(its upload aborted, the file stays on the recorder, status ``abandoned``), a
read-back in progress finishes and is recorded, and no deletion starts once
stopping. A deletion and its ``evidence:file:wiped`` event are never separated
by a stop: the check comes before the deletion, and the daemon waits for the
dock threads before it exits. A playback copy being made is abandoned (its
ffmpeg is terminated, then killed after a short grace): the original is stored
and recorded, and its derivatives stay pending for the next run.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from custody.events import EventDraft, Subject, format_time
from custody.log import CustodyLog
from devices.base import Recorder
from domain.errors import EvidenceError, StorageError
from domain.event_types import EventType
from domain.messages import msg
from domain.recorder import RecorderFile, RecorderIdentity
from domain.station import PortState, PortStatus, Problem, StationInfo, WipeState
from ingest.pipeline import FileResult, IngestOptions, Ingestor, Progress
from ingest.problems import StationStopping, WipeNotLogged, dock_problem, file_problem
from media.ffmpeg_tools import Cancellation, FfmpegCancelled
from media.name_bytes import bytes_b64, display_name
from storage.db import database_errors
from storage.objects import ObjectStore
from storage.records import find_by_sha256, pending_derivatives

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

WIPEABLE = ("ingested", "duplicate")
T = TypeVar("T")
# Test-only: "POINT:FIFO" makes the station stop once at POINT (copy, read-back, wipe),
# emit {"event": "test-hold"} and block reading FIFO until the test writes a byte.
# Unset in production, where no hold and no wrapper is installed.
HOLD_ENV = "EVIDENCE_TEST_DOCK_HOLD"
HOLD_POINTS = ("copy", "read-back", "wipe")
Hold = Callable[[str], None]
StatusSink = Callable[[PortStatus], None]
PROGRESS_INTERVAL = 0.25  # seconds between two tiles that only count bytes
RATE_WINDOW = 5.0  # seconds of copying the rate is measured over


def _ignore(status: PortStatus) -> None:
    pass


def _utc_now() -> datetime:
    return datetime.now(UTC)


def source_of(result: FileResult) -> str:
    """The name the volume holds for ``result``'s file (its display ``path`` may differ)."""
    return result.source or result.path



def _no_hold(point: str) -> None:
    pass


def fifo_hold(spec: str | None, emit: Callable[[dict[str, Any]], None]) -> Hold:
    """The test hold named by ``spec`` ("POINT:FIFO"), or none when unset."""
    if not spec:
        return _no_hold
    point, _, fifo = spec.partition(":")
    if point not in HOLD_POINTS or not fifo:
        raise EvidenceError(msg("{hold_env}={spec!r} names no hold point", hold_env=HOLD_ENV, spec=spec),
                            hint=msg("unset it (it is for tests), or give one of {hold_points}:FIFO",
                                     hold_points=HOLD_POINTS))
    held = threading.Lock()

    def hold(at: str) -> None:
        if at != point or not held.acquire(blocking=False):
            return  # only the first arrival at the point is held
        emit({"event": "test-hold", "point": at})
        with Path(fifo).open("rb", buffering=0) as release:
            release.read(1)
    return hold


@dataclass
class DockPolicy:
    wipe: bool = False
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    max_attempts: int = 8


@dataclass
class DockOutcome:
    label: str
    identity: RecorderIdentity | None = None
    results: dict[str, FileResult] = field(default_factory=dict)  # by the name the volume holds
    wiped: list[str] = field(default_factory=list)
    complete: bool = False
    error: str | None = None
    stopped: bool = False  # the station stopped during this dock; unfinished files stay put

    def clean(self) -> bool:
        """Complete, or cut short by a stop with nothing failed: what is left is still on it."""
        return self.complete or (self.stopped and self.error is None
                                 and all(r.status != "failed" for r in self.results.values()))

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts


class RecorderProgress(Progress):
    """One dock's tile (``domain.station.PortStatus``), kept by the dock thread; every change
    goes to ``notify`` (the terminal table and the station feed consume the same objects),
    byte counts at most every ``PROGRESS_INTERVAL`` seconds."""

    def __init__(self, label: str, station: StationInfo | None = None, *, wipe: bool = False,
                 notify: StatusSink = _ignore, clock: Callable[[], datetime] = _utc_now,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.station = station or StationInfo("station")
        self.notify, self.clock, self.monotonic = notify, clock, monotonic
        self.wipe_policy = wipe
        self.state: PortState = "docked"
        self.identity: RecorderIdentity | None = None
        self.files_total = 0
        self.bytes_total = 0
        self.files_wiped = 0
        self.started = clock()
        self.finished: dict[str, FileResult] = {}  # by the name the volume holds
        self.wipe: WipeState = "waiting" if wipe else "off"
        self.error: Problem | None = None  # what failed the whole dock
        self.retry: Problem | None = None  # why it waits, while it waits
        self.retry_at: datetime | None = None
        self._resume_state: PortState = "transferring"
        self._file_bytes: dict[str, int] = {}
        self._current: str | None = None
        self._samples: deque[tuple[float, int]] = deque()
        self._bytes_told = -PROGRESS_INTERVAL
        self._over = False  # the dock ended: a file the store refused is no longer retried

    # --- what the dock tells it --------------------------------------------------------

    def identified(self, identity: RecorderIdentity, files: list[RecorderFile]) -> None:
        self.identity = identity
        self.files_total = len(files)
        self.bytes_total = sum(f.size for f in files)
        self._tell()

    def set_state(self, state: PortState) -> None:
        if state != "retrying":
            self.retry, self.retry_at = None, None
        self.state = state
        if state == "wiping":
            self.wipe = "wiping"
        self._tell()

    def file_started(self, rel: str, size: int) -> None:
        self._current = rel
        self._file_bytes[rel] = 0  # a file copied again counts its bytes once

    def advanced(self, nbytes: int) -> None:
        if self._current is not None:
            self._file_bytes[self._current] = self._file_bytes.get(self._current, 0) + nbytes
        self._tell(bytes_only=True)

    def file_finished(self, result: FileResult) -> None:
        self.finished[result.source or result.path] = result
        self._tell()

    def retrying(self, problem: Problem, delay: float) -> None:
        if self.state != "retrying":
            self._resume_state = self.state
        self.state, self.retry = "retrying", problem
        self.retry_at = self.clock() + timedelta(seconds=delay)
        self._tell()

    def resumed(self) -> None:
        """The wait is over: back to what it was doing."""
        if self.state == "retrying":
            self.state, self.retry, self.retry_at = self._resume_state, None, None
            self._tell()

    def wiped_one(self) -> None:
        self.files_wiped += 1
        self._tell()

    def failed(self, problem: Problem) -> None:
        self.error = problem
        self.state, self.retry, self.retry_at = "failed", None, None
        self._tell()

    def ended(self, outcome: DockOutcome) -> None:
        """The dock is over: done, incomplete, failed or stopped, and how far the wipe got."""
        self._over = True
        if self.error is None:
            if outcome.complete:
                self.state = "done"
            else:
                self.state = "stopped" if outcome.stopped else "incomplete"
        self.retry, self.retry_at = None, None
        if self.wipe_policy:
            wipeable = sum(1 for r in outcome.results.values() if r.status in WIPEABLE)
            self.wipe = ("done" if outcome.complete and wipeable == len(outcome.wiped)
                         else "partial")
        self._tell()

    # --- what it shows -----------------------------------------------------------------

    @property
    def files_done(self) -> int:
        """Files with an outcome; a file failed for an unreachable store is not done (it is
        tried again), and a file tried again counts once."""
        return sum(1 for r in self.finished.values() if not self._retried(r))

    @property
    def bytes_done(self) -> int:
        return sum(self._file_bytes.values())

    def rate(self) -> float:
        """Bytes per second over the last ``RATE_WINDOW`` seconds (0 when nothing moved)."""
        now = self.monotonic()
        while self._samples and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        if not self._samples:
            return 0.0
        since, before = self._samples[0]
        return (self.bytes_done - before) / max(now - since, 1.0)

    def _retried(self, result: FileResult) -> bool:
        """Failed for an unreachable store or database, and still to be tried again."""
        return result.status == "failed" and result.retryable and not self._over

    def _left(self) -> list[FileResult]:
        """Files that stay on the recorder because of a problem (a junk file is no problem)."""
        return [r for r in self.finished.values()
                if (r.status == "failed" and not self._retried(r)) or r.status == "abandoned"
                or (r.status == "skipped" and r.code is not None)]

    def problem(self) -> Problem | None:
        if self.error is not None:
            return self.error
        if self.state == "retrying":
            return self.retry
        left = self._left()
        if left:
            return file_problem(left[-1].code, left[-1].path)
        if self.state == "stopped":
            return Problem("station_stopped")
        return None

    def snapshot(self) -> PortStatus:
        identity = self.identity
        return PortStatus(
            station=self.station.name, port=display_name(self.label), state=self.state,
            updated_at=self.clock(), station_unit=self.station.unit,
            device_serial=identity.serial if identity else None,
            officer_no=identity.officer_no if identity else None,
            officer_name=identity.officer_name if identity else None,
            recorder_unit=identity.unit_code if identity else None,
            identity_source=identity.source if identity else None,
            files_total=self.files_total, files_done=self.files_done,
            files_failed=len(self._left()), files_wiped=self.files_wiped,
            bytes_total=self.bytes_total, bytes_done=self.bytes_done, rate=self.rate(),
            wipe=self.wipe, problem=self.problem(), retry_at=self.retry_at,
            started_at=self.started)

    def _tell(self, bytes_only: bool = False) -> None:
        now = self.monotonic()
        self._samples.append((now, self.bytes_done))
        if bytes_only:  # a count of bytes alone is told at most every PROGRESS_INTERVAL
            if now - self._bytes_told < PROGRESS_INTERVAL:
                return
            self._bytes_told = now
        self.notify(self.snapshot())


class Station:
    """Docks recorders into one log and store. Thread-safe: one call per recorder at once."""

    def __init__(self, log: CustodyLog, store: ObjectStore, base_options: IngestOptions,
                 policy: DockPolicy, emit: Callable[[dict[str, Any]], None] = lambda _: None,
                 wait: Callable[[float], bool] | None = None, hold: Hold = _no_hold,
                 info: StationInfo | None = None, on_status: StatusSink = _ignore) -> None:
        self.log, self.store, self.base, self.policy = log, store, base_options, policy
        self.emit = emit
        # the tiles of this station's screen: every change of a dock goes to ``on_status``
        self.info = info or StationInfo("station", base_options.unit_code)
        self.on_status = on_status
        self._stop = threading.Event()
        self.transcodes = Cancellation()  # the station's ffmpeg runs, abandoned on stop
        # ``wait`` returns True when the station is stopping; tests pass their own.
        self.wait = wait or self._stop.wait
        self.hold = hold
        if hold is not _no_hold:
            self.store = cast(ObjectStore, _HeldReadBack(store, hold))
        self.progress: dict[str, RecorderProgress] = {}

    def stop(self) -> None:
        """Stop between files, abandoning any transcode (safe from any thread, more than once)."""
        self._stop.set()
        self.transcodes.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def derive_pending(self) -> int:
        """Make the derivatives a crashed run left pending (as `evidence ingest` does).

        Returns how many items were pending; a failure is reported, not raised: the
        next dock tries again, and docking must go on.
        """
        ingestor = _StoppableIngestor(self, self.base, Progress())
        try:
            waiting = pending_derivatives(self.log.engine)
            pending = len(waiting)
            for evidence in waiting:  # one at a time, so a stop comes between two
                if self.stopping:
                    break
                ingestor.derive_pending(only=evidence.id)
        except EvidenceError as exc:
            self.emit({"event": "error", "recorder": None,
                       "reason": f"pending derivatives not made: {exc}"})
            return 0
        finally:
            ingestor.close()
        if pending:
            self.emit({"event": "derived", "pending": pending})
        return pending

    def _event(self, drafts: list[EventDraft]) -> None:
        with database_errors(msg("logging a dock event")):
            self.log.append(drafts)

    def dock(self, recorder: Recorder, label: str) -> DockOutcome:
        outcome = DockOutcome(label)
        if self.stopping:  # queued behind other docks when the stop came: not touched at all
            outcome.stopped = True
            self.emit({"event": "not-docked", "recorder": label,
                       "reason": "the station stopped before this recorder was docked"})
            return outcome
        progress = RecorderProgress(label, self.info, wipe=self.policy.wipe, notify=self.on_status)
        self.progress[label] = progress  # a new dock of the port starts a new tile
        actor = self.base.actor
        try:
            progress.set_state("docked")
            identity = recorder.identity()
            outcome.identity = identity
            files = recorder.list_files()
            progress.identified(identity, files)
            self._event(self._arrival_events(actor, label, identity, files))
            self.emit({"event": "docked", "recorder": label, "serial": identity.serial,
                       "officer": identity.officer_no, "identity_source": identity.source,
                       "clock_offset_seconds": identity.clock_offset_seconds, "files": len(files)})
            self._transfer(recorder, label, identity, outcome, progress)
        except EvidenceError as exc:
            outcome.error = str(exc)
            outcome.complete = False  # e.g. the wipe gave up: files may be left on the recorder
            progress.failed(dock_problem(exc))
            self.emit({"event": "error", "recorder": label, "reason": str(exc)})
        except Exception as exc:  # the tile says so; the daemon's dock thread reports it
            progress.failed(dock_problem(exc))
            raise
        finally:
            outcome.stopped = self.stopping
            self._undocked(actor, label, outcome)
            progress.ended(outcome)
        return outcome

    def _arrival_events(self, actor: str, label: str, identity: RecorderIdentity,
                        files: list[Any]) -> list[EventDraft]:
        who = {"recorder": label, "serial": identity.serial}
        drafts = [
            EventDraft(EventType.RECORDER_DOCKED, actor, details={**who, "model": identity.model}),
            EventDraft(EventType.RECORDER_IDENTIFIED, actor, details={
                **who, "source": identity.source, "officer_no": identity.officer_no,
                "officer_name": identity.officer_name, "unit_no": identity.unit_no,
                "unit_name": identity.unit_name,
                "flags": ["unknown_device"] if identity.source == "unknown" else []}),
        ]
        if identity.clock_offset_seconds is not None or identity.device_clock is not None:
            drafts.append(EventDraft(EventType.RECORDER_CLOCK_OFFSET, actor, details={
                **who, "offset_seconds": identity.clock_offset_seconds,
                "device_clock": format_time(identity.device_clock) if identity.device_clock else None,
                "synced": identity.clock_synced}))
        drafts.append(EventDraft(EventType.RECORDER_FILES_FOUND, actor, details={
            **who, "count": len(files), "bytes": sum(f.size for f in files),
            "important": sum(1 for f in files if f.important),
            "locked": sum(1 for f in files if f.locked)}))
        return drafts

    def _options(self, identity: RecorderIdentity) -> IngestOptions:
        flags = tuple(self.base.flags) + (("unknown_device",) if identity.source == "unknown" else ())
        # the footage belongs to its recorder's unit when the registry names one
        return replace(self.base, device_serial=identity.serial, officer_no=identity.officer_no,
                       clock_offset_seconds=identity.clock_offset_seconds, flags=flags,
                       unit_code=identity.unit_code or self.base.unit_code)

    def _transfer(self, recorder: Recorder, label: str, identity: RecorderIdentity,
                  outcome: DockOutcome, progress: RecorderProgress) -> None:
        pending: set[str] = set()
        for attempt, delay in zip(range(1, self.policy.max_attempts + 1), self._delays(),
                                  strict=False):
            progress.set_state("transferring")
            ingestor = _StoppableIngestor(self, self._options(identity), progress)
            todo = None if attempt == 1 else {p for p, r in outcome.results.items()
                                              if r.status == "failed"} | pending
            stoppable = _StoppableRecorder(recorder, self)
            try:
                for result in ingestor.ingest_recorder(stoppable, todo):
                    if source_of(result) in stoppable.abandoned and result.status == "failed":
                        result = replace(result, status="abandoned", retryable=False, reason=(
                            "the station stopped before this file was stored; it stays on "
                            "the recorder for the next dock"))
                    previous = outcome.results.get(source_of(result))
                    if previous is None or previous.status not in WIPEABLE:
                        outcome.results[source_of(result)] = result
                    progress.file_finished(result)
                    self.emit({"event": "file", "recorder": label, **result.to_json()})
            finally:
                ingestor.close()
            retry = [r for r in outcome.results.values() if r.status == "failed" and r.retryable]
            if not retry:
                break
            if attempt == self.policy.max_attempts:
                break  # the retries ran out: those files failed, and stay on the recorder
            problem = Problem("store_unreachable", {"files": len(retry), "attempt": attempt})
            if self._pause(label, attempt, delay, len(retry), retry[0].reason, problem):
                return
            pending = {source_of(r) for r in retry}
            for r in retry:
                del outcome.results[source_of(r)]
        failed = [r for r in outcome.results.values() if r.status in ("failed", "abandoned")]
        outcome.complete = not failed
        if self.policy.wipe:
            progress.set_state("wiping")
            self._wipe(recorder, label, outcome)

    def _wipe(self, recorder: Recorder, label: str, outcome: DockOutcome) -> None:
        """Delete what is provably stored and logged, and unchanged since it was copied."""
        current = {f.path: f for f in recorder.list_files()}
        for source, result in outcome.results.items():  # keyed by the name the volume holds
            listed = current.get(source)
            if (result.status not in WIPEABLE or listed is None or result.sha256 is None
                    or listed.size != result.size or result.mtime_ns is None
                    or abs(round(listed.mtime.timestamp() * 1e9) - result.mtime_ns) > 1000):
                continue
            if self.stopping:  # the only stop point of a wipe: before a deletion
                outcome.complete = False
                return
            evidence_id = self._retrying(label, partial(self._stored_as, result.sha256))
            if evidence_id is None:  # never wipe what the catalogue does not hold
                continue
            recorder.delete(source)
            self.hold("wipe")
            shown: dict[str, Any] = {"source": result.path}
            raw = bytes_b64(source)
            if raw is not None:  # a name that is not UTF-8: its exact bytes beside the display form
                shown["source_b64"] = raw
            # The file is gone: its event is retried until the database is back or the
            # station stops, and a stop says which deletion is not yet logged.
            try:
                self._retrying(label, partial(self._event, [EventDraft(
                    EventType.FILE_WIPED, self.base.actor, Subject(evidence_id, result.sha256),
                    {"recorder": label, **shown, "status": result.status})]),
                    until_stopped=True)
            except StorageError as exc:
                raise WipeNotLogged(
                    msg("{path} was wiped from {label} (stored as evidence {evidence_id}, sha256 {sha256}) "
                        "but its custody event could not be logged: {reason}", path=result.path,
                        label=label, evidence_id=evidence_id, sha256=result.sha256, reason=exc),
                    hint=msg("the copy is safe in the store; log the wipe once the database is back (this "
                             "line is in the station's event output)"),
                    path=result.path) from exc
            outcome.wiped.append(result.path)
            self.progress[label].wiped_one()
            self.emit({"event": "wiped", "recorder": label, "path": result.path,
                       **({"path_b64": raw} if raw is not None else {})})

    def _stored_as(self, sha256: str) -> str | None:
        with database_errors(msg("checking a file before wiping it")), self.log.engine.connect() as c:
            found = find_by_sha256(c, sha256)
            return found.id if found is not None else None

    def _retrying(self, label: str, action: Callable[[], T], *, until_stopped: bool = False) -> T:
        """``action``, retried with the transfer's backoff while the store or database fails:
        up to ``policy.max_attempts`` times, or with ``until_stopped`` until the station stops."""
        delays = self._delays()
        attempt = 1
        while True:
            try:
                done = action()
            except StorageError as exc:
                if attempt >= self.policy.max_attempts and not until_stopped:
                    raise
                if self._pause(label, attempt, next(delays), 1, str(exc),
                               dock_problem(exc, files=1, attempt=attempt)):
                    raise
            else:
                self.progress[label].resumed()
                return done
            attempt += 1

    def _delays(self) -> Iterator[float]:
        """Seconds to wait after each failed attempt: doubling, up to the policy's cap."""
        delay = self.policy.retry_initial_seconds
        while True:
            yield delay
            delay = min(delay * 2, self.policy.retry_max_seconds)

    def _pause(self, label: str, attempt: int, delay: float, files: int,
               reason: str | None, problem: Problem) -> bool:
        """Say the work is retried in ``delay`` seconds, and wait; True when stopping."""
        self.progress[label].retrying(problem, delay)
        self.emit({"event": "retrying", "recorder": label, "attempt": attempt,
                   "in_seconds": delay, "files": files, "reason": reason})
        return self.wait(delay)

    def _undocked(self, actor: str, label: str, outcome: DockOutcome) -> None:
        details: dict[str, Any] = {"recorder": label, "complete": outcome.complete,
                                   "wiped": len(outcome.wiped), "error": outcome.error}
        details.update(outcome.counts())
        try:
            self._event([EventDraft(EventType.RECORDER_UNDOCKED, actor, details=details)])
        except StorageError as exc:
            outcome.error = outcome.error or str(exc)
        self.emit({"event": "undocked", **details})



class _StoppableIngestor(Ingestor):
    """An ingestor that leaves derivatives pending once the station stops (the next run makes
    them, as after a crash): a stop never waits for a transcode, started or not."""

    def __init__(self, station: Station, options: IngestOptions, progress: Progress) -> None:
        super().__init__(station.log, station.store, options, progress)
        self._station = station

    def derive_pending(self, only: str | None = None) -> tuple[list[str], str | None]:
        if self._station.stopping:
            return [], None
        try:
            with self._station.transcodes.applies():
                return super().derive_pending(only)
        except FfmpegCancelled:  # nothing was recorded: the derivatives are still pending
            return [], None


class _StoppableRecorder:
    """A recorder whose streams end with StationStopping once the station stops: a copy is
    abandoned between two chunks, and no new file is opened."""

    def __init__(self, recorder: Recorder, station: Station) -> None:
        self._recorder, self._station = recorder, station
        self.abandoned: set[str] = set()

    def _check(self, path: str) -> None:
        if self._station.stopping:
            self.abandoned.add(path)
            raise StationStopping(msg("not copied: the station is stopping ({path} stays on the recorder)",
                                      path=path),
                                  hint=msg("dock the recorder again"))

    def identity(self) -> RecorderIdentity:
        return self._recorder.identity()

    def list_files(self) -> list[RecorderFile]:
        return self._recorder.list_files()

    def open(self, path: str) -> BinaryIO:
        self._check(path)
        return cast(BinaryIO, _StoppableStream(self._recorder.open(path), path, self))

    def delete(self, path: str) -> None:
        self._recorder.delete(path)

    def eject(self) -> None:
        self._recorder.eject()

    def volume_root(self) -> Path | None:
        return self._recorder.volume_root()


class _StoppableStream(io.RawIOBase):
    def __init__(self, inner: BinaryIO, path: str, recorder: _StoppableRecorder) -> None:
        super().__init__()
        self._inner, self._path, self._recorder = inner, path, recorder
        self._started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._started:
            self._recorder._station.hold("copy")  # mid-copy: some bytes read, none committed
        self._recorder._check(self._path)
        self._started = True
        return self._inner.readinto(buffer)  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class _HeldReadBack:
    """The store with the test hold before each read-back (installed only by a test hold)."""

    def __init__(self, store: ObjectStore, hold: Hold) -> None:
        self._store, self._hold = store, hold

    def read_back_sha256(self, key: str, version_id: str | None = None) -> tuple[str, int]:
        self._hold("read-back")
        return self._store.read_back_sha256(key, version_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
