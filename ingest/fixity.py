"""`evidence verify --objects`: re-hash every stored object against the events naming it.

An event names an object in ``details.object`` or ``details.objects`` as
``{"key", "sha256", "size", "version"}``. Every named object must exist and
hash to what the log recorded; leftover temporary uploads are reported too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from custody.report import Problem, VerifyReport
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from storage.objects import ObjectStore

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
            report.add("missing_object", f"{obj.key} (named by entry {obj.entry}) is not in the "
                       "object store", obj.entry)
            continue
        except EvidenceError as exc:
            report.add("unreadable_object", f"{obj.key} could not be read: {exc}", obj.entry)
            continue
        report.objects += 1
        if digest != obj.sha256 or (obj.size is not None and size != obj.size):
            report.add("object_mismatch", f"{obj.key} hashes to {digest} ({size} bytes) but entry "
                       f"{obj.entry} recorded {obj.sha256} ({obj.size} bytes): it was altered",
                       obj.entry)
        if progress:
            progress(size)
    check_unrecorded(store, collector, report)
    leftovers = store.temporaries()
    if leftovers:
        report.add("leftover_temporary", f"{len(leftovers)} temporary upload(s) were left by an "
                   f"interrupted ingest ({', '.join(leftovers[:3])}); rerun the ingest or "
                   "`evidence cleanup`")
    report.checks.append("objects")


def check_unrecorded(store: ObjectStore, collector: ObjectCollector, report: VerifyReport) -> None:
    """Report originals the store holds that no event names (stored, then the run failed)."""
    named = {key for key, _version in collector.objects} | collector.deleted
    for key in store.list(ORIGINALS_PREFIX):
        if key not in named:
            report.add("unrecorded_object", f"{key} is stored but no custody event names it: an "
                       "ingest stored it and then failed; ingest the recorder or folder again and "
                       "it is recorded")
