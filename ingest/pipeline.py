"""Ingest a recorder volume: walk, copy (one read), read back, record, derive.

Stages overlap: while one file's stored copy is read back and recorded, the
next file is already being copied; playback copies are made by a separate
worker pool so transcoding never holds an original back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from queue import Queue
from typing import Any

from custody.log import CustodyLog
from devices.base import Recorder
from domain.errors import EvidenceError, StorageError
from domain.messages import msg
from ingest.capture import capture_context, start_time
from ingest.derive import derive
from ingest.originals import (
    CopiedOriginal,
    SourceChanged,
    SourceReadError,
    copy_original,
    copy_stream,
    read_back,
)
from ingest.problems import file_problem_code
from ingest.walk import Found, Passed, junk_in_path, walk_volume
from media.name_bytes import bytes_b64, display_name, is_plain
from media.names import parse_name
from storage.objects import ObjectStore
from storage.records import (
    NewOriginal,
    Provenance,
    pending_derivatives,
    record_derivatives,
    record_original,
)

DEFAULT_RETENTION_DAYS = 183  # at least six months, the legal minimum for unattached footage
MIN_RETENTION_DAYS = 183


@dataclass(frozen=True)
class FileResult:
    """One file's outcome. ``path`` is printable; ``source`` is the name the volume holds."""

    path: str
    status: str  # ingested | duplicate | skipped | failed
    sha256: str | None = None
    size: int | None = None
    evidence_id: str | None = None
    reason: str | None = None
    retryable: bool = False  # failed because the store or database was unreachable
    mtime_ns: int | None = None  # the source's mtime when it was copied (for a safe wipe)
    source: str | None = None  # the path as the volume names it, when that is not UTF-8
    code: str | None = None  # why it failed or was skipped: a file code of domain.station.PROBLEMS

    def __post_init__(self) -> None:
        # a name that is not UTF-8: print its display form, keep its exact bytes in ``source``
        if not is_plain(self.path):
            object.__setattr__(self, "source", self.source or self.path)
            object.__setattr__(self, "path", display_name(self.path))
        if self.reason is not None and not is_plain(self.reason):
            object.__setattr__(self, "reason", display_name(self.reason))

    def to_json(self) -> dict[str, Any]:
        shown = {"path": self.path, "sha256": self.sha256, "size": self.size, "status": self.status,
                 "evidence_id": self.evidence_id, "reason": self.reason}
        if self.source is not None:
            shown["path_b64"] = bytes_b64(self.source)
        return shown


@dataclass
class IngestOptions:
    actor: str = "station:local"
    device_serial: str | None = None
    officer_no: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    retention_category: str = "standard"
    station_tz: tzinfo = field(default_factory=lambda: datetime.now().astimezone().tzinfo or UTC)
    clock_offset_seconds: int | None = None  # device minus true time, when known
    derive: bool = True  # make playback copies now; False leaves them for derive_pending()
    derive_workers: int = 2
    flags: tuple[str, ...] = ()
    unit_code: str | None = None  # the unit footage belongs to: its recorder's, else the station's


class Progress:
    """What a progress display is told; the default ignores it."""

    def file_started(self, rel: str, size: int) -> None: ...
    def advanced(self, nbytes: int) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...


class Ingestor:
    """Ingests volumes into one store and one custody log."""

    def __init__(self, log: CustodyLog, store: ObjectStore, options: IngestOptions,
                 progress: Progress | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.log, self.store, self.options = log, store, options
        self.progress = progress or Progress()
        self.clock = clock
        self._derive_pool = ThreadPoolExecutor(max(1, options.derive_workers), "derive")
        self._pending_derive: list[Future[None]] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        self._derive_pool.shutdown(wait=True)

    def retain_until(self) -> datetime:
        return self.clock() + timedelta(days=self.options.retention_days)

    def ingest(self, root: Path) -> Iterator[FileResult]:
        """Every file under ``root``, each ending ingested, duplicate, skipped or failed."""
        if not root.is_dir():
            raise EvidenceError(msg("{root} is not a folder", root=root),
                                hint=msg("pass a mounted recorder or folder"))
        return self._run(walk_volume(root), lambda item: copy_original(
            item, self.store, self.retain_until(), self.progress.advanced))

    def ingest_recorder(self, recorder: Recorder,
                        only: Collection[str] | None = None) -> Iterator[FileResult]:
        """Every file a recorder lists (or those in ``only``), read through its own streams."""
        items: list[Found | Passed] = []
        for rf in recorder.list_files():
            if only is not None and rf.path not in only and display_name(rf.path) not in only:
                continue
            reason = junk_in_path(rf.path)
            path = Path(rf.path)
            mtime_ns = round(rf.mtime.timestamp() * 1_000_000) * 1000
            items.append(Passed(path, rf.path, reason) if reason
                         else Found(path, rf.path, rf.size, mtime_ns))

        def copier(item: Found) -> CopiedOriginal:
            try:
                stream = recorder.open(item.rel)
            except EvidenceError as exc:
                raise SourceReadError(msg("cannot open {rel} on the recorder: {reason}", rel=item.rel,
                                          reason=exc.message),
                                      hint=exc.hint) from None
            with stream:
                return copy_stream(stream, item.path.name, item.size, item.mtime_ns, self.store,
                                   self.retain_until(), self.progress.advanced)
        return self._run(items, copier)

    def _run(self, items: Iterable[Found | Passed],
             copier: Callable[[Found], CopiedOriginal]) -> Iterator[FileResult]:
        results: Queue[FileResult | None] = Queue()
        outstanding: list[Future[None]] = []
        with ThreadPoolExecutor(1, "readback") as verify_pool:
            for item in items:
                if isinstance(item, Passed):
                    results.put(FileResult(item.rel, "failed" if item.failed else "skipped",
                                           reason=item.reason,
                                           code="file_refused" if item.failed else None))
                else:
                    copied = self._copy(item, copier, results)
                    if copied is not None:
                        outstanding.append(verify_pool.submit(self._finish, item, copied, results))
                yield from _drain(results)
            for future in outstanding:
                future.result()
        # the read-back pool has finished, so no more derive jobs are being submitted
        for future in self._pending_derive:
            future.result()
        self._pending_derive.clear()
        yield from _drain(results)

    def _copy(self, item: Found, copier: Callable[[Found], CopiedOriginal],
              results: Queue[FileResult | None]) -> CopiedOriginal | None:
        self.progress.file_started(display_name(item.rel), item.size)
        try:
            return copier(item)
        except EvidenceError as exc:
            status = "skipped" if isinstance(exc, SourceChanged) else "failed"
            results.put(FileResult(item.rel, status, size=item.size, reason=str(exc),
                                   retryable=isinstance(exc, StorageError),
                                   code=file_problem_code(exc)))
            return None
        except Exception as exc:  # one bad file never ends the run
            results.put(FileResult(item.rel, "failed", size=item.size, reason=unexpected(exc),
                                   code=file_problem_code(exc)))
            return None

    def _finish(self, item: Found, copied: CopiedOriginal, results: Queue[FileResult | None]) -> None:
        try:
            read_back(self.store, copied)
            evidence_id, duplicate = record_original(
                self.log, copied.stored, self._provenance(item), self._new_original(item, copied),
                now=self.clock())
        except EvidenceError as exc:
            results.put(FileResult(item.rel, "failed", copied.sha256, copied.size, reason=str(exc),
                                   retryable=isinstance(exc, StorageError),
                                   code=file_problem_code(exc)))
            return
        except Exception as exc:  # the object may be stored: the next run records it
            results.put(FileResult(item.rel, "failed", copied.sha256, copied.size,
                                   reason=unexpected(exc), code=file_problem_code(exc)))
            return
        if duplicate:
            results.put(FileResult(item.rel, "duplicate", copied.sha256, copied.size, evidence_id,
                                   "this content is already stored; the sighting was logged",
                                   mtime_ns=copied.mtime_ns))
            return
        done = FileResult(item.rel, "ingested", copied.sha256, copied.size, evidence_id,
                          mtime_ns=copied.mtime_ns)
        if self.options.derive and copied.size > 0:
            future = self._derive_pool.submit(self._derive_one, evidence_id, done, results)
            with self._lock:
                self._pending_derive.append(future)
        else:
            results.put(self._flagged(done, list(self.options.flags) +
                                      (["zero_byte"] if copied.size == 0 else [])))

    def _derive_one(self, evidence_id: str, done: FileResult,
                    results: Queue[FileResult | None]) -> None:
        try:
            flags, error = self.derive_pending(only=evidence_id)
        except Exception as exc:  # the original is safe and logged; the derivative stays pending
            flags, error = ["no_playback_copy"], unexpected(exc)
        results.put(self._flagged(done, flags, error))

    @staticmethod
    def _flagged(done: FileResult, flags: list[str], error: str | None = None) -> FileResult:
        if not flags:
            return done
        why = f" ({error})" if error else ""
        return replace(done, reason="original kept and flagged: " + ", ".join(sorted(set(flags)))
                       + why)

    def derive_pending(self, only: str | None = None) -> tuple[list[str], str | None]:
        """Make missing derivatives (all pending, or one); returns the last one's flags, error."""
        flags: list[str] = []
        error: str | None = None
        for evidence in pending_derivatives(self.log.engine, only):
            # the start time comes from the context stored with the record, not this run's
            outcome = derive(self.store, evidence, retain_until=self.retain_until(),
                             fallback_tz=self.options.station_tz)
            record_derivatives(self.log, evidence, self.options.actor, outcome.made, outcome.facts,
                               outcome.flags, outcome.error, self.clock())
            flags, error = outcome.flags, outcome.error
        return flags, error

    def _provenance(self, item: Found) -> Provenance:
        name = parse_name(item.path.name)
        return Provenance(
            source=display_name(item.rel), original_name=display_name(item.path.name),
            actor=self.options.actor,
            device_serial=self.options.device_serial or (name.device_serial if name else None),
            officer_no=self.options.officer_no or (name.officer_no if name else None),
            source_b64=bytes_b64(item.rel), original_name_b64=bytes_b64(item.path.name))

    def _new_original(self, item: Found, copied: CopiedOriginal) -> NewOriginal:
        capture = capture_context(self.options.clock_offset_seconds, self.options.station_tz,
                                  datetime.fromtimestamp(copied.mtime_ns / 1e9, UTC))
        start, source = start_time(item.path.name, capture, None,
                                   fallback_tz=self.options.station_tz, fallback_mtime=self.clock())
        name = parse_name(item.path.name)
        flags = list(self.options.flags) + (["zero_byte"] if copied.size == 0 else [])
        return NewOriginal(
            start_time=start, time_source=source, sequence=name.sequence if name else None,
            capture=capture, retain_until=copied.stored.retain_until,
            unit_code=self.options.unit_code, flags=tuple(flags),
            retention_category=self.options.retention_category,
            derivatives_state="pending" if copied.size else "none")


def unexpected(exc: BaseException) -> str:
    """The reason given for a file whose handling raised something no one foresaw."""
    return (f"unexpected error ({type(exc).__name__}: {exc}); the other files went on; "
            "ingest again, and report this if it repeats")


def _drain(results: Queue[FileResult | None]) -> Iterator[FileResult]:
    while not results.empty():
        item = results.get_nowait()
        if item is not None:
            yield item
