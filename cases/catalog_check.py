"""`evidence verify` over the catalogue: each evidence row must be what its custody events made it.

The log is tamper-evident; the catalogue is an ordinary table anyone with database
access can edit. Serving, search and retention read the catalogue, so every fact it
holds that an event also records is compared here: hash, size, object, officer,
device, unit, flags (``ingested``); start time, kind, flags (``probed``); each derivative's object and
hash (``derived``); legal hold (``hold:placed``/``released``); retention (``ingested``,
then ``case:evidence:attached``); deletion (``deleted``). Facts an event does not
record (older events lack some keys) are not compared.

Kinds: ``catalog_mismatch`` (a row disagrees with its events), ``catalog_orphan`` (a
row, or a derivative row, no event made), ``catalog_missing`` (an ingested item, or a
logged derivative, with no row). Everything is read in one snapshot, so rows and
entries committed together are seen together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from custody import schema
from custody.events import format_time
from custody.report import VerifyReport
from custody.verify import cap_problems
from domain.errors import StorageUnavailable
from domain.event_types import EventType
from domain.messages import Message, clauses, listing, msg, plain
from storage import catalog, records

BATCH = 5000
_COLUMNS = ("id", "original_name", "sha256", "size", "object_key", "object_version", "officer_no",
            "device_serial", "unit_code", "start_time", "retain_until", "retention_category",
            "legal_hold", "kind", "flags", "deleted_at")
CHECK = "catalog"
_TYPES = (EventType.FILE_INGESTED, EventType.FILE_PROBED, EventType.FILE_DERIVED,
          EventType.FILE_DELETED, EventType.HOLD_PLACED, EventType.HOLD_RELEASED,
          EventType.CASE_EVIDENCE_ATTACHED, EventType.CASE_DOCUMENT_ADDED)
_WANTED = frozenset(t.value.encode() for t in _TYPES)
_TYPE_KEY = b'"type":"'
_MISSING = object()


@dataclass
class _Expected:
    """One item's catalogue facts as its events state them: field -> (value, entry)."""

    facts: dict[str, tuple[Any, int]] = field(default_factory=dict)
    derivatives: dict[str, tuple[tuple[Any, ...], int]] = field(default_factory=dict)
    ingested: int | None = None


def check_catalog(engine: Engine, report: VerifyReport) -> None:
    """Compare every evidence and derivative row with the custody events; add problems."""
    found = VerifyReport(source=report.source)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                expected = _from_events(conn)
                rows = list(conn.execute(select(*(catalog.evidence.c[name] for name in _COLUMNS))))
                derived: dict[str, dict[str, tuple[Any, ...]]] = {}
                der = catalog.derivatives
                for d in conn.execute(select(der.c.evidence_id, der.c.name, der.c.object_key,
                                             der.c.object_version, der.c.sha256, der.c.size)):
                    derived.setdefault(d.evidence_id, {})[d.name] = (
                        d.object_key, d.object_version, d.sha256, d.size)
    except SQLAlchemyError as exc:
        raise StorageUnavailable(msg("cannot read the catalogue: {reason}", reason=exc),
                                 hint=msg("check EVIDENCE_DATABASE_URL and that the server is up")) from None
    for row in rows:
        _compare(found, row, expected.pop(row.id, None), derived.pop(row.id, {}))
    for evidence_id, wanted in expected.items():
        found.add("catalog_missing", msg("evidence {evidence_id} was ingested (entry {entry}) but has "
                                         "no catalogue row: it was removed from the database",
                                         evidence_id=evidence_id, entry=plain(str(wanted.ingested))),
                  wanted.ingested)
    for evidence_id, names in derived.items():
        found.add("catalog_orphan", msg("derivative row(s) {names} of evidence {evidence_id} belong to "
                                        "no catalogue row", names=listing(sorted(names)),
                                        evidence_id=evidence_id))
    cap_problems(found)
    report.problems.extend(found.problems)
    report.checks.append(CHECK)


def _compare(found: VerifyReport, row: Any, wanted: _Expected | None,
             derived: dict[str, tuple[Any, ...]]) -> None:
    if wanted is None or wanted.ingested is None:
        found.add("catalog_orphan", msg("evidence {evidence_id} ({name}) is in the catalogue but no "
                                        "custody event ingested it: the row was added to the "
                                        "database", evidence_id=row.id, name=row.original_name))
        return
    actual = _row_facts(row)
    differences: list[Message] = []
    first: int | None = None
    for name, (value, seq) in wanted.facts.items():
        if actual.get(name, _MISSING) != value:
            differences.append(msg("{name} is {actual!r} in the catalogue but {value!r} in entry {entry}",
                                   name=name, actual=actual.get(name), value=value, entry=seq))
            first = seq if first is None else min(first, seq)
    for name, (ref, seq) in wanted.derivatives.items():
        have = derived.pop(name, None)
        if have is None:
            differences.append(msg("derivative {name} (entry {entry}) has no catalogue row", name=name,
                                   entry=seq))
        elif not _same_object(have, ref):
            differences.append(msg("derivative {name} names {key} (SHA-256 {sha256}, {size} bytes) in the "
                                   "catalogue but entry {entry} recorded {recorded} (SHA-256 "
                                   "{recorded_sha256}, {recorded_size} bytes)", name=name,
                                   key=have[0], sha256=have[2], size=plain(str(have[3])), entry=seq,
                                   recorded=ref[0], recorded_sha256=ref[2],
                                   recorded_size=plain(str(ref[3]))))
        else:
            continue
        first = seq if first is None else min(first, seq)
    for name in sorted(derived):
        differences.append(msg("derivative {name} is in the catalogue but no event derived it",
                                  name=name))
    if differences:
        found.add("catalog_mismatch", msg("evidence {evidence_id}: {differences}: the row was edited in "
                                          "the database", evidence_id=row.id,
                                          differences=clauses(differences)),
                  first if first is not None else wanted.ingested)


def _same_object(have: tuple[Any, ...], ref: tuple[Any, ...]) -> bool:
    # an event without a size (none are written so) leaves the size unchecked
    return have[:3] == ref[:3] and (ref[3] is None or have[3] == ref[3])


def _row_facts(row: Any) -> dict[str, Any]:
    """The row's facts in the form events state them (times as RFC 3339 text)."""
    return {"sha256": row.sha256, "size": row.size, "object_key": row.object_key,
            "object_version": row.object_version, "officer_no": row.officer_no,
            "device_serial": row.device_serial, "unit_code": row.unit_code,
            "start_time": _time(row.start_time), "retain_until": _time(row.retain_until),
            "retention_category": row.retention_category, "legal_hold": bool(row.legal_hold),
            "kind": row.kind, "flags": _flags(row.flags), "deleted": row.deleted_at is not None}


def _flags(text: str | None) -> Any:
    try:
        return orjson.loads(text or "[]")
    except orjson.JSONDecodeError:
        return text  # unreadable: never equal to a logged list


def _time(moment: datetime | None) -> str | None:
    aware = records.utc(moment)  # SQLite hands back naive UTC
    return format_time(aware) if aware is not None else None


def _from_events(conn: Connection) -> dict[str, _Expected]:
    expected: dict[str, _Expected] = {}
    for seq, event in _events(conn):
        subject = event.get("subject")
        details = event.get("details")
        if not isinstance(subject, dict) or not isinstance(details, dict) \
                or not isinstance(subject.get("evidence_id"), str):
            continue
        item = expected.setdefault(subject["evidence_id"], _Expected())
        _apply(item, seq, event["type"], subject, details)
    return expected


def _apply(item: _Expected, seq: int, kind: str, subject: dict[str, Any],
           details: dict[str, Any]) -> None:
    facts = item.facts
    if kind == EventType.FILE_INGESTED:
        item.ingested = seq
        named = details.get("object")
        ref: dict[str, Any] = named if isinstance(named, dict) else {}
        facts.update({"sha256": (subject.get("sha256"), seq), "size": (details.get("size"), seq),
                      "object_key": (ref.get("key"), seq), "object_version": (ref.get("version"), seq),
                      "legal_hold": (False, seq), "deleted": (False, seq)})
        for name, key in (("officer_no", "officer"), ("device_serial", "device"),
                          ("unit_code", "unit_code"), ("retain_until", "retain_until"),
                          ("flags", "flags")):
            if key in details:  # events older than a column do not state it
                facts[name] = (details[key], seq)
    elif kind == EventType.FILE_PROBED:
        metadata = details.get("metadata")
        if isinstance(metadata, dict) and metadata:  # empty: probing failed, nothing changed
            for name in ("start_time", "kind"):
                if name in metadata:
                    facts[name] = (metadata[name], seq)
        if isinstance(details.get("flags"), list):
            facts["flags"] = (details["flags"], seq)
    elif kind == EventType.FILE_DERIVED:
        made = details.get("object")
        if isinstance(made, dict) and isinstance(details.get("name"), str):
            item.derivatives[details["name"]] = (
                (made.get("key"), made.get("version"), made.get("sha256"), made.get("size")), seq)
    elif kind in (EventType.HOLD_PLACED, EventType.HOLD_RELEASED):
        facts["legal_hold"] = (kind == EventType.HOLD_PLACED, seq)
    elif kind in (EventType.CASE_EVIDENCE_ATTACHED, EventType.CASE_DOCUMENT_ADDED):
        retention = details.get("retention")  # a document is kept permanently once on a case
        if isinstance(retention, dict):
            facts["retention_category"] = (retention.get("category"), seq)
            facts["retain_until"] = (retention.get("retain_until"), seq)
    elif kind == EventType.FILE_DELETED:
        facts["deleted"] = (True, seq)


def _events(conn: Connection) -> Iterator[tuple[int, dict[str, Any]]]:
    """The log's events that set catalogue facts, oldest first, in batches by seq."""
    entries = schema.entries
    start = 0
    while True:
        rows = conn.execute(select(entries.c.seq, entries.c.leaf).where(entries.c.seq >= start)
                            .order_by(entries.c.seq).limit(BATCH)).all()
        if not rows:
            return
        for seq, leaf in rows:
            data = leaf.encode() if isinstance(leaf, str) else bytes(leaf)  # a tampered blob
            # Canonical entries sort their keys: the top-level "type" is the last one.
            # Reading it without decoding skips views and the like (most of a big log).
            at = data.rfind(_TYPE_KEY) + len(_TYPE_KEY)
            if data[at:data.find(b'"', at)] not in _WANTED:
                continue
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue  # the log check reports it
            if isinstance(event, dict) and event.get("type") in _TYPES:
                yield int(seq), event
        start = int(rows[-1][0]) + 1
