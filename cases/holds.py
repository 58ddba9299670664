"""The legal holds an admin is responsible for: the held footage of their agency's units,
with who placed each hold, when and why (from its custody event)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from cases import access, tables
from cases.custody_index import logged_event, refresh
from cases.evidence import EvidenceSummary, summary
from cases.paging import Page
from cases.users import User
from custody import schema
from domain.event_types import EventType
from domain.messages import msg
from storage import catalog, records


@dataclass(frozen=True)
class HeldItem:
    evidence: EvidenceSummary
    unit_code: str | None
    placed_at: str | None  # the time of the hold's custody event
    placed_by: str | None  # its actor
    reason: str | None
    seq: int | None  # the evidence:hold:placed entry (None: no event names it, see verify)


def list_holds(engine: Engine, user: User, offset: int = 0, limit: int = 50) -> Page[HeldItem]:
    """Footage under legal hold that ``user`` may release, oldest hold first by entry."""
    access.require_role(user, access.LEGAL_HOLD, msg("list legal holds"))
    refresh(engine)
    ev, subjects = catalog.evidence, tables.custody_subjects
    held = select(ev.c.id).where(ev.c.legal_hold.is_(True), ev.c.deleted_at.is_(None),
                                 access.owned_footage(user))
    placed = (select(subjects.c.evidence_id, func.max(subjects.c.seq).label("seq"))
              .where(subjects.c.type == EventType.HOLD_PLACED.value,
                     subjects.c.evidence_id.in_(held))
              .group_by(subjects.c.evidence_id).subquery())
    query = (select(ev, placed.c.seq).outerjoin(placed, placed.c.evidence_id == ev.c.id)
             .where(ev.c.id.in_(held)))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(held.subquery())).scalar_one()
        rows = conn.execute(query.order_by(placed.c.seq.nulls_first(), ev.c.id)
                            .offset(offset).limit(limit)).all()
        leaves = dict(conn.execute(select(schema.entries.c.seq, schema.entries.c.leaf).where(
            schema.entries.c.seq.in_([r.seq for r in rows if r.seq is not None]))).all())
    items = []
    for row in rows:
        event = logged_event(int(row.seq), bytes(leaves[row.seq])).event \
            if row.seq in leaves else None
        details = (event or {}).get("details") or {}
        items.append(HeldItem(summary(records.from_row(row)), row.unit_code,
                              event["time"] if event else None, event["actor"] if event else None,
                              details.get("reason"), int(row.seq) if row.seq is not None else None))
    return Page(items, total, offset, limit)
