"""Which custody entries name which evidence item or case.

``custody_subjects`` is derived state: it is filled from the log's own entry
bytes, incrementally, the first time someone asks after new appends. The API
returns the entries themselves (with their ``seq``, provable by an inclusion
proof), so the index only decides which entries to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, update

from cases import tables
from custody import schema
from custody.events import EventError, decode_event
from domain.event_types import EventType
from storage.db import write_transaction

BATCH = 5000
EVENTS_SHOWN = 1000  # per item or case in a detail view; GET /custody/entries has them all


@dataclass(frozen=True)
class LoggedEvent:
    """One custody entry as stored; ``event`` is None when its bytes are not canonical."""

    seq: int
    leaf: bytes
    event: dict[str, Any] | None
    problem: str | None = None


def refresh(engine: Engine) -> None:
    """Index every entry appended since the last call."""
    while True:
        with engine.connect() as conn:
            indexed = conn.execute(select(tables.custody_subjects_head.c.indexed)).scalar_one()
            size = conn.execute(select(schema.head.c.size)).scalar_one()
        if indexed >= size:
            return
        with write_transaction(engine) as conn:
            _index_batch(conn)


def _index_batch(conn: Connection) -> None:
    head = tables.custody_subjects_head
    # The UPDATE locks the row, so concurrent refreshes take turns.
    start = conn.execute(update(head).where(head.c.id == 1).values(indexed=head.c.indexed)
                         .returning(head.c.indexed)).scalar_one()
    rows = conn.execute(select(schema.entries.c.seq, schema.entries.c.leaf)
                        .where(schema.entries.c.seq >= start)
                        .order_by(schema.entries.c.seq).limit(BATCH)).all()
    if not rows:
        return
    found = []
    for seq, leaf in rows:
        evidence_id, case_id = _subjects(bytes(leaf))
        if evidence_id or case_id:
            found.append({"seq": seq, "evidence_id": evidence_id, "case_id": case_id})
    if found:
        conn.execute(insert(tables.custody_subjects), found)
    conn.execute(update(head).where(head.c.id == 1).values(indexed=rows[-1][0] + 1))


def _subjects(leaf: bytes) -> tuple[str | None, str | None]:
    try:
        event = orjson.loads(leaf)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    subject = event.get("subject")
    details = event.get("details")
    evidence_id = subject.get("evidence_id") if isinstance(subject, dict) else None
    case_id = details.get("case_id") if isinstance(details, dict) else None
    return (evidence_id if isinstance(evidence_id, str) and len(evidence_id) <= 36 else None,
            case_id if isinstance(case_id, str) and len(case_id) <= 36 else None)


def events_for(engine: Engine, *, evidence_id: str | None = None, case_id: str | None = None,
               limit: int = EVENTS_SHOWN) -> list[LoggedEvent]:
    """The custody entries naming an evidence item or a case, oldest first."""
    refresh(engine)
    subjects = tables.custody_subjects
    query = select(schema.entries.c.seq, schema.entries.c.leaf).join(
        subjects, subjects.c.seq == schema.entries.c.seq)
    if evidence_id is not None:
        query = query.where(subjects.c.evidence_id == evidence_id)
    if case_id is not None:
        query = query.where(subjects.c.case_id == case_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(schema.entries.c.seq).limit(limit)).all()
    return [logged_event(int(seq), bytes(leaf)) for seq, leaf in rows]


def logged_event(seq: int, leaf: bytes) -> LoggedEvent:
    try:
        return LoggedEvent(seq, leaf, decode_event(leaf))
    except EventError as exc:
        return LoggedEvent(seq, leaf, None, f"entry {seq} is not a valid custody event: {exc}; "
                                            "run `evidence verify`")




@dataclass(frozen=True)
class LoggedObject:
    """A stored copy as the custody event that made it names it."""

    key: str
    version: str | None
    sha256: str
    size: int | None
    seq: int


def logged_object(engine: Engine, evidence_id: str, name: str) -> LoggedObject | None:
    """The object the item's ``ingested`` event (``name`` "original") or its latest ``derived``
    event of that name records, or None when no event names one.

    Serving reads the catalogue row; this is what the row must agree with, so a row
    edited to point elsewhere is caught. Only entries mentioning the event type are decoded:
    an item viewed thousands of times has thousands of entries.
    """
    refresh(engine)
    subjects = tables.custody_subjects
    wanted = EventType.FILE_INGESTED if name == "original" else EventType.FILE_DERIVED
    marker = f'"{wanted.value}"'.encode()
    query = (select(schema.entries.c.seq, schema.entries.c.leaf)
             .join(subjects, subjects.c.seq == schema.entries.c.seq)
             .where(subjects.c.evidence_id == evidence_id).order_by(schema.entries.c.seq))
    found: LoggedObject | None = None
    with engine.connect() as conn:
        for seq, leaf in conn.execute(query):
            data = leaf.encode() if isinstance(leaf, str) else bytes(leaf)  # a tampered blob
            if marker not in data:
                continue
            event = logged_event(int(seq), data).event
            if event is None or event.get("type") != wanted:
                continue
            details = event.get("details") or {}
            if wanted == EventType.FILE_DERIVED and details.get("name") != name:
                continue
            ref = details.get("object")
            if isinstance(ref, dict) and isinstance(ref.get("key"), str) \
                    and isinstance(ref.get("sha256"), str):
                size = ref.get("size")
                version = ref.get("version")
                found = LoggedObject(ref["key"], version if isinstance(version, str) else None,
                                     ref["sha256"], size if isinstance(size, int) else None, int(seq))
            if wanted == EventType.FILE_INGESTED:
                break  # an item has one ingest event
    return found
