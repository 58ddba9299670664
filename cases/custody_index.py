"""Which custody entries name which evidence item or case, and their type, actor and time.

``custody_subjects`` is derived state: it is filled from the log's own entry
bytes, incrementally, the first time someone asks after new appends. The API
returns the entries themselves (with their ``seq``, provable by an inclusion
proof), so the index only decides which entries to show.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select, update

from cases import tables
from cases.paging import Page
from cases.times import as_utc
from custody import schema
from custody.events import TIME_PATTERN, EventError, decode_event
from custody.verify_scan import as_bytes
from domain.event_types import EventType
from storage.db import write_transaction

BATCH = 5000
TEXT_MAX = 512  # a longer type or actor (only a tampered entry has one) is indexed as NULL
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
    conn.execute(insert(tables.custody_subjects),
                 [{"seq": seq, **_facts(bytes(leaf))} for seq, leaf in rows])
    conn.execute(update(head).where(head.c.id == 1).values(indexed=rows[-1][0] + 1))


def _facts(leaf: bytes) -> dict[str, Any]:
    """What the index holds of an entry: the item and case it names, its type, actor and time.

    Read leniently (an entry that is not a valid event still gets a row, of NULLs where its
    bytes say nothing usable); what is shown is the entry itself, decoded strictly.
    """
    facts: dict[str, Any] = {"evidence_id": None, "case_id": None, "type": None, "actor": None,
                             "time": None}
    try:
        event = orjson.loads(leaf)
    except orjson.JSONDecodeError:
        return facts
    if not isinstance(event, dict):
        return facts
    facts["evidence_id"], facts["case_id"] = _subjects(event)
    for name in ("type", "actor"):
        value = event.get(name)
        facts[name] = value if isinstance(value, str) and len(value) <= TEXT_MAX else None
    moment = event.get("time")
    if isinstance(moment, str) and TIME_PATTERN.fullmatch(moment):
        with suppress(ValueError):  # the pattern lets a month 13 or a year 0 through
            facts["time"] = datetime.fromisoformat(moment[:-1]).replace(tzinfo=UTC)
    return facts


def _subjects(event: dict[str, Any]) -> tuple[str | None, str | None]:
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


@dataclass(frozen=True)
class EventFilter:
    """Which events of an item, a case or the log to show, and in what order."""

    actor: str | None = None  # exactly, e.g. "user:li.na" or "cli:root"
    type: str | None = None  # an EventType value
    time_from: datetime | None = None  # aware; the event's time >= this
    time_to: datetime | None = None  # aware; the event's time < this
    newest_first: bool = False
    offset: int = 0
    limit: int = 100


def event_page(engine: Engine, wanted: EventFilter, *, evidence_id: str | None = None,
               case_id: str | None = None) -> Page[LoggedEvent]:
    """The custody entries naming an item or a case (neither: every entry), filtered.

    Entries are found through the index but shown from their own bytes, decoded strictly,
    so an altered entry shows as a problem rather than as what the index says.
    """
    refresh(engine)
    subjects = tables.custody_subjects
    query = select(subjects.c.seq)
    if evidence_id is not None:
        query = query.where(subjects.c.evidence_id == evidence_id)
    if case_id is not None:
        query = query.where(subjects.c.case_id == case_id)
    # An item's or a case's few entries are found through their own index: a bare type or
    # actor condition could make SQLite scan the type's (or actor's) many rows instead.
    scoped = evidence_id is not None or case_id is not None
    actor, kind = subjects.c.actor, subjects.c.type
    if scoped:
        actor, kind = func.coalesce(actor, ""), func.coalesce(kind, "")  # type: ignore[assignment]
    if wanted.actor is not None:
        query = query.where(actor == wanted.actor)
    if wanted.type is not None:
        query = query.where(kind == wanted.type)
    if wanted.time_from is not None:
        query = query.where(subjects.c.time >= as_utc(wanted.time_from))
    if wanted.time_to is not None:
        query = query.where(subjects.c.time < as_utc(wanted.time_to))
    order = subjects.c.seq.desc() if wanted.newest_first else subjects.c.seq
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        page = query.order_by(order).offset(wanted.offset).limit(wanted.limit).subquery()
        rows = conn.execute(select(schema.entries.c.seq, schema.entries.c.leaf)
                            .join(page, page.c.seq == schema.entries.c.seq)
                            .order_by(schema.entries.c.seq.desc() if wanted.newest_first
                                      else schema.entries.c.seq)).all()
    return Page([logged_event(int(seq), as_bytes(leaf)) for seq, leaf in rows], total,
                wanted.offset, wanted.limit)


def entry_subjects(engine: Engine, seq: int) -> tuple[str | None, str | None]:
    """The evidence item and the case the index says entry ``seq`` names."""
    refresh(engine)
    subjects = tables.custody_subjects
    with engine.connect() as conn:
        row = conn.execute(select(subjects.c.evidence_id, subjects.c.case_id)
                           .where(subjects.c.seq == seq)).first()
    return (None, None) if row is None else (row.evidence_id, row.case_id)


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
