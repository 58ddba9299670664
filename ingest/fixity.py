"""`evidence verify --objects`: re-hash every stored object against the events naming it.

An event names an object in ``details.object`` or ``details.objects`` as
``{"key", "sha256", "size", "version"}``. Every named object must exist and
hash to what the log recorded; leftover temporary uploads are reported too.

An original stored by an ingest that then failed is named by no event
(``unrecorded_object``). Ingesting its file again records it; when the file
will never come again (the card was lost or wiped elsewhere), `evidence orphans
--record --reason R` accounts for it with an ``evidence:object:orphaned`` event
naming the object, after re-hashing it against its content address. Originals
are WORM: it stays in the store either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custody.events import EventDraft, EventError, decode_event
from custody.log import CustodyLog
from custody.report import Problem, VerifyReport
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from domain.messages import listing, msg, plain
from storage.db import database_errors, write_transaction
from storage.objects import ObjectStore
from storage.records import find_by_sha256, object_ref

ORIGINALS_PREFIX = "originals/"


@dataclass(frozen=True)
class NamedObject:
    key: str
    version: str | None
    sha256: str
    size: int | None
    entry: int


class ObjectCollector:
    """Visitor for ``verify_database``: remembers the objects events name."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.objects: dict[tuple[str, str | None], NamedObject] = {}
        self.deleted: set[str] = set()  # keys whose deletion was logged

    def __call__(self, index: int, event: dict[str, Any]) -> None:
        details = event["details"]
        if event["type"] == EventType.FILE_DELETED:  # the retention job removed these
            for ref in details.get("objects", []):
                self.objects.pop((ref.get("key"), ref.get("version")), None)
                self.deleted.add(ref.get("key"))
            return
        named = details.get("objects") or []
        if "object" in details:
            named = [details["object"], *named]
        for ref in named:
            if not isinstance(ref, dict) or not isinstance(ref.get("key"), str) \
                    or not isinstance(ref.get("sha256"), str):
                self.problems.append(Problem("bad_object_reference",
                                             f"entry {index} names an object without key and sha256",
                                             index))
                continue
            obj = NamedObject(ref["key"], ref.get("version"), ref["sha256"], ref.get("size"), index)
            earlier = self.objects.setdefault((obj.key, obj.version), obj)
            if earlier.sha256 != obj.sha256:
                self.problems.append(Problem("conflicting_object_hash",
                                             f"entries {earlier.entry} and {index} record different "
                                             f"SHA-256 values for {obj.key}", index))


def check_objects(store: ObjectStore, collector: ObjectCollector, report: VerifyReport,
                  progress: Callable[[int], None] | None = None) -> None:
    """Re-hash what the store holds (never a cache) and add problems to ``report``."""
    report.problems.extend(collector.problems)
    for obj in collector.objects.values():
        try:
            digest, size = store.read_back_sha256(obj.key, obj.version)
        except NotFound:
            report.add("missing_object", msg("{key} (named by entry {entry}) is not in the object store",
                                             key=obj.key, entry=obj.entry), obj.entry)
            continue
        except EvidenceError as exc:
            report.add("unreadable_object", msg("{key} could not be read: {error}", key=obj.key,
                                                error=exc), obj.entry)
            continue
        report.objects += 1
        if digest != obj.sha256 or (obj.size is not None and size != obj.size):
            report.add("object_mismatch", msg("{key} hashes to {digest} ({size} bytes) but entry {entry} "
                                              "recorded {recorded} ({recorded_size} bytes): it was "
                                              "altered", key=obj.key, digest=digest, size=size,
                                              entry=obj.entry, recorded=obj.sha256,
                                              recorded_size=plain(str(obj.size))), obj.entry)
        if progress:
            progress(size)
    check_unrecorded(store, collector, report)
    leftovers = store.temporaries()
    if leftovers:
        report.add("leftover_temporary", msg("{count} temporary upload(s) were left by an interrupted "
                                             "ingest ({keys}); rerun the ingest or `evidence cleanup`",
                                             count=len(leftovers), keys=listing(leftovers[:3])))
    report.checks.append("objects")


def check_unrecorded(store: ObjectStore, collector: ObjectCollector, report: VerifyReport) -> None:
    """Report originals the store holds that no event names (stored, then the run failed)."""
    for key in unrecorded_originals(store, collector):
        report.add("unrecorded_object", msg("{key} is stored but no custody event names it: an ingest "
                                            "stored it and then failed; ingest the recorder or "
                                            "folder again and it is recorded, or, if its file will "
                                            "never come again, account for it with `evidence "
                                            "orphans --record --reason R`", key=key))


def unrecorded_originals(store: ObjectStore, collector: ObjectCollector) -> list[str]:
    """Keys of the originals the store holds that no event the collector saw names."""
    named = {key for key, _version in collector.objects} | collector.deleted
    return sorted(key for key in store.list(ORIGINALS_PREFIX) if key not in named)


@dataclass(frozen=True)
class Orphan:
    """An original no ingest recorded. ``status``: ``unrecorded`` (listed), ``recorded`` (its
    ``evidence:object:orphaned`` event is logged), ``ingested`` (an ingest recorded it
    meanwhile) or ``refused`` (it cannot be read, or its bytes do not match its address)."""

    key: str
    status: str
    sha256: str | None = None
    size: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "sha256": self.sha256, "size": self.size,
                "reason": self.reason}


def find_orphans(log: CustodyLog, store: ObjectStore) -> list[Orphan]:
    """The originals the store holds that no custody event names (reads the whole log)."""
    collector = ObjectCollector()
    for index, leaf in log.entries():
        try:
            event = decode_event(leaf)
        except EventError:
            continue  # `evidence verify` reports a bad entry; it names no object here
        collector(index, event)
    return [Orphan(key, "unrecorded", sha256=key.rsplit("/", 1)[-1])
            for key in unrecorded_originals(store, collector)]


def record_orphans(log: CustodyLog, store: ObjectStore, actor: str, reason: str,
                   now: datetime | None = None) -> list[Orphan]:
    """Account for every unrecorded original with an ``evidence:object:orphaned`` event.

    Each is re-hashed first: one whose bytes do not hash to the SHA-256 its content
    address names is refused (it was altered), so it stays reported by `verify --objects`.
    Run it when no ingest is running; one that an ingest records meanwhile is left to it.
    """
    done = []
    for orphan in find_orphans(log, store):
        expected = orphan.sha256 or ""
        try:
            stored = store.head(orphan.key)
            digest, size = store.read_back_sha256(orphan.key, stored.version_id)
        except EvidenceError as exc:
            done.append(Orphan(orphan.key, "refused", expected, reason=f"cannot be read: {exc}"))
            continue
        if digest != expected or stored.sha256 != expected or size != stored.size:
            done.append(Orphan(orphan.key, "refused", digest, size, reason=(
                f"its bytes hash to {digest} ({size} bytes), not to the SHA-256 its address "
                "names: it was altered; investigate it (it is not accounted for)")))
            continue
        moment = now or datetime.now(UTC)
        with database_errors(msg("recording an orphaned original")), \
                write_transaction(log.engine) as conn:
            if find_by_sha256(conn, expected) is not None:
                done.append(Orphan(orphan.key, "ingested", expected, size,
                                   "an ingest recorded it meanwhile"))
                continue
            log.append([EventDraft(EventType.OBJECT_ORPHANED, actor, None, {
                "object": object_ref(stored), "reason": reason,
                "note": "stored by an ingest that failed before recording it; its file never "
                        "came again, so it is on no evidence record"}, moment)], conn)
        done.append(Orphan(orphan.key, "recorded", expected, size))
    return done
