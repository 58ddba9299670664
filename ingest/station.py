"""The docking station: get every file off a recorder, prove the copy, then free it.

A file is deleted from a recorder only when (1) its stored copy was read back
and matched, (2) the custody event recording it is committed, and (3) the
policy says wipe; and only if it still has the size and time it had when it was
copied. Only ingested files and duplicates of stored content are wiped. When
the store or database is unreachable nothing is wiped: the station retries with
backoff and completes when it comes back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from custody.events import EventDraft, Subject, format_time
from custody.log import CustodyLog
from devices.base import Recorder
from domain.errors import EvidenceError, StorageError
from domain.event_types import EventType
from domain.recorder import RecorderIdentity
from ingest.pipeline import FileResult, IngestOptions, Ingestor, Progress
from storage.db import database_errors
from storage.objects import ObjectStore
from storage.records import find_by_sha256, pending_derivatives

WIPEABLE = ("ingested", "duplicate")
T = TypeVar("T")


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
    results: dict[str, FileResult] = field(default_factory=dict)
    wiped: list[str] = field(default_factory=list)
    complete: bool = False
    error: str | None = None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts


class RecorderProgress(Progress):
    """Per-recorder counters a live table reads (state, files, bytes, rate)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.state = "docked"
        self.files_total = 0
        self.files_done = 0
        self.bytes_done = 0
        self.started = datetime.now(UTC)

    def advanced(self, nbytes: int) -> None:
        self.bytes_done += nbytes

    def file_finished(self, result: FileResult) -> None:
        self.files_done += 1

    def rate(self) -> float:
        seconds = (datetime.now(UTC) - self.started).total_seconds()
        return self.bytes_done / seconds if seconds > 0 else 0.0


class Station:
    """Docks recorders into one log and store. Thread-safe: one call per recorder at once."""

    def __init__(self, log: CustodyLog, store: ObjectStore, base_options: IngestOptions,
                 policy: DockPolicy, emit: Callable[[dict[str, Any]], None] = lambda _: None,
                 wait: Callable[[float], bool] | None = None) -> None:
        self.log, self.store, self.base, self.policy = log, store, base_options, policy
        self.emit = emit
        self._stop = threading.Event()
        # ``wait`` returns True when the station is stopping; tests pass their own.
        self.wait = wait or self._stop.wait
        self.progress: dict[str, RecorderProgress] = {}

    def stop(self) -> None:
        self._stop.set()

    def derive_pending(self) -> int:
        """Make the derivatives a crashed run left pending (as `evidence ingest` does).

        Returns how many items were pending; a failure is reported, not raised: the
        next dock tries again, and docking must go on.
        """
        ingestor = Ingestor(self.log, self.store, self.base)
        try:
            pending = len(pending_derivatives(self.log.engine))
            if pending:
                ingestor.derive_pending()
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
        with database_errors("logging a dock event"):
            self.log.append(drafts)

    def dock(self, recorder: Recorder, label: str) -> DockOutcome:
        outcome = DockOutcome(label)
        progress = self.progress.setdefault(label, RecorderProgress(label))
        actor = self.base.actor
        try:
            identity = recorder.identity()
            outcome.identity = identity
            files = recorder.list_files()
            progress.files_total = len(files)
            self._event(self._arrival_events(actor, label, identity, files))
            self.emit({"event": "docked", "recorder": label, "serial": identity.serial,
                       "officer": identity.officer_no, "identity_source": identity.source,
                       "clock_offset_seconds": identity.clock_offset_seconds, "files": len(files)})
            self._transfer(recorder, label, identity, outcome, progress)
        except EvidenceError as exc:
            outcome.error = str(exc)
            outcome.complete = False  # e.g. the wipe gave up: files may be left on the recorder
            progress.state = "failed"
            self.emit({"event": "error", "recorder": label, "reason": str(exc)})
        finally:
            self._undocked(actor, label, outcome)
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
            progress.state = "transferring"
            ingestor = Ingestor(self.log, self.store, self._options(identity), progress)
            todo = None if attempt == 1 else {p for p, r in outcome.results.items()
                                              if r.status == "failed"} | pending
            try:
                for result in ingestor.ingest_recorder(recorder, todo):
                    previous = outcome.results.get(result.path)
                    if previous is None or previous.status not in WIPEABLE:
                        outcome.results[result.path] = result
                    self.emit({"event": "file", "recorder": label, **result.to_json()})
            finally:
                ingestor.close()
            retry = [r for r in outcome.results.values() if r.status == "failed" and r.retryable]
            if not retry:
                break
            progress.state = "waiting for store"
            if self._pause(label, attempt, delay, len(retry), retry[0].reason):
                return
            pending = {r.path for r in retry}
            for r in retry:
                del outcome.results[r.path]
        failed = [r for r in outcome.results.values() if r.status == "failed"]
        outcome.complete = not failed
        if self.policy.wipe:
            progress.state = "wiping"
            self._wipe(recorder, label, outcome)
        progress.state = "done" if outcome.complete else "incomplete"

    def _wipe(self, recorder: Recorder, label: str, outcome: DockOutcome) -> None:
        """Delete what is provably stored and logged, and unchanged since it was copied."""
        current = {f.path: f for f in recorder.list_files()}
        for result in outcome.results.values():
            listed = current.get(result.path)
            if (result.status not in WIPEABLE or listed is None or result.sha256 is None
                    or listed.size != result.size or result.mtime_ns is None
                    or abs(round(listed.mtime.timestamp() * 1e9) - result.mtime_ns) > 1000):
                continue
            evidence_id = self._retrying(label, partial(self._stored_as, result.sha256))
            if evidence_id is None:  # never wipe what the catalogue does not hold
                continue
            recorder.delete(result.path)
            # The file is gone: its event is retried until the database is back or the
            # station stops, and a stop says which deletion is not yet logged.
            try:
                self._retrying(label, partial(self._event, [EventDraft(
                    EventType.FILE_WIPED, self.base.actor, Subject(evidence_id, result.sha256),
                    {"recorder": label, "source": result.path, "status": result.status})]),
                    until_stopped=True)
            except StorageError as exc:
                raise StorageError(
                    f"{result.path} was wiped from {label} (stored as evidence {evidence_id}, "
                    f"sha256 {result.sha256}) but its custody event could not be logged: {exc}",
                    hint="the copy is safe in the store; log the wipe once the database is "
                         "back (this line is in the station's event output)") from exc
            outcome.wiped.append(result.path)
            self.emit({"event": "wiped", "recorder": label, "path": result.path})

    def _stored_as(self, sha256: str) -> str | None:
        with database_errors("checking a file before wiping it"), self.log.engine.connect() as c:
            found = find_by_sha256(c, sha256)
            return found.id if found is not None else None

    def _retrying(self, label: str, action: Callable[[], T], *, until_stopped: bool = False) -> T:
        """``action``, retried with the transfer's backoff while the store or database fails:
        up to ``policy.max_attempts`` times, or with ``until_stopped`` until the station stops."""
        delays = self._delays()
        attempt = 1
        while True:
            try:
                return action()
            except StorageError as exc:
                if attempt >= self.policy.max_attempts and not until_stopped:
                    raise
                if self._pause(label, attempt, next(delays), 1, str(exc)):
                    raise
            attempt += 1

    def _delays(self) -> Iterator[float]:
        """Seconds to wait after each failed attempt: doubling, up to the policy's cap."""
        delay = self.policy.retry_initial_seconds
        while True:
            yield delay
            delay = min(delay * 2, self.policy.retry_max_seconds)

    def _pause(self, label: str, attempt: int, delay: float, files: int,
               reason: str | None) -> bool:
        """Say the work is retried in ``delay`` seconds, and wait; True when stopping."""
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

