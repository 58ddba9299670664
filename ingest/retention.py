"""Retention and legal hold. Deletion happens only here, and is logged before it happens.

Footage not on a case is kept for its category's period (at least six months);
footage attached to a case is kept permanently (the case service extends its
retention); a legal hold blocks deletion whatever the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, inspect, select, text, update

from custody.events import EventDraft, Subject, format_time
from custody.log import CustodyLog
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from storage import catalog
from storage.db import write_transaction
from storage.objects import ObjectStore


@dataclass(frozen=True)
class RetentionAction:
    evidence_id: str
    sha256: str
    action: str  # deleted | kept
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"evidence_id": self.evidence_id, "sha256": self.sha256, "action": self.action,
                "reason": self.reason}


def _objects(conn: Connection, evidence_id: str) -> list[tuple[str, str | None]]:
    ev, dv = catalog.evidence, catalog.derivatives
    original = conn.execute(select(ev.c.object_key, ev.c.object_version)
                            .where(ev.c.id == evidence_id)).one()
    derived = conn.execute(select(dv.c.object_key, dv.c.object_version)
                           .where(dv.c.evidence_id == evidence_id)).all()
    return [(original[0], original[1]), *[(d[0], d[1]) for d in derived]]


def _on_a_case(conn: Connection, evidence_id: str) -> bool:
    if not inspect(conn).has_table("case_evidence"):
        return False
    return conn.execute(text("SELECT 1 FROM case_evidence WHERE evidence_id = :e LIMIT 1"),
                        {"e": evidence_id}).first() is not None


def run_retention(log: CustodyLog, store: ObjectStore, now: datetime, actor: str,
                  dry_run: bool = False) -> list[RetentionAction]:
    """Delete footage whose retention has expired, unless held or on a case."""
    ev = catalog.evidence
    with log.engine.connect() as conn:
        due = conn.execute(select(ev.c.id, ev.c.sha256, ev.c.retain_until, ev.c.legal_hold).where(
            ev.c.deleted_at.is_(None), ev.c.retain_until.is_not(None), ev.c.retain_until < now)
        ).all()
    actions = []
    for evidence_id, sha256, retain_until, held in due:
        with write_transaction(log.engine) as conn:
            if held or _on_a_case(conn, evidence_id):
                why = "legal hold" if held else "attached to a case (kept permanently)"
                actions.append(RetentionAction(evidence_id, sha256, "kept", why))
                continue
            if dry_run:
                actions.append(RetentionAction(evidence_id, sha256, "deleted", "dry run"))
                continue
            objects = _objects(conn, evidence_id)
            # Log first: a crash after this leaves bytes a rerun deletes, never an
            # unlogged deletion.
            log.append([EventDraft(EventType.FILE_DELETED, actor, Subject(evidence_id, sha256), {
                "reason": "retention period ended",
                "retain_until": format_time(retain_until) if retain_until.tzinfo else
                str(retain_until), "objects": [{"key": k, "version": v} for k, v in objects]},
                now)], conn)
            conn.execute(update(ev).where(ev.c.id == evidence_id).values(deleted_at=now))
        for key, version in objects:
            try:
                store.delete(key, version)
            except NotFound:
                continue  # already gone: a rerun after a crash
        actions.append(RetentionAction(evidence_id, sha256, "deleted", "retention period ended"))
    return actions


def set_legal_hold(log: CustodyLog, store: ObjectStore, evidence_id: str, on: bool, actor: str,
                   reason: str, now: datetime) -> None:
    """Place or release a legal hold on an original and its derivatives; logged."""
    ev = catalog.evidence
    with write_transaction(log.engine) as conn:
        row = conn.execute(select(ev.c.sha256, ev.c.deleted_at).where(ev.c.id == evidence_id)).first()
        if row is None or row.deleted_at is not None:
            raise NotFound(f"no evidence {evidence_id}", hint="list evidence with the API or CLI")
        if not reason:
            raise EvidenceError("a legal hold needs a reason", hint="pass --reason")
        for key, version in _objects(conn, evidence_id):
            store.set_legal_hold(key, on, version)
        kind = EventType.HOLD_PLACED if on else EventType.HOLD_RELEASED
        log.append([EventDraft(kind, actor, Subject(evidence_id, row.sha256), {"reason": reason},
                               now)], conn)
        conn.execute(update(ev).where(ev.c.id == evidence_id).values(legal_hold=on))
