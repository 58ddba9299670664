"""Retention categories and legal hold.

Categories (``evidence.retention_category``):

* ``standard`` - footage on no case: kept for ``EVIDENCE_RETENTION_DAYS`` (at
  least six months) from ingest, set on the object when it was stored.
* ``case`` - footage attached to a case is kept permanently: its original and
  derived copies get a retention date ``PERMANENT_RETENTION`` ahead (100 years,
  within what S3 Object Lock accepts), and the custody event records it.
  Detaching never shortens it: WORM retention can only be lengthened.

A legal hold (admin only) is separate from both: while it is on, nothing can
delete the objects whatever their retention date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, select

from cases import access, tables
from cases.users import User
from custody.events import JSON, EventDraft, format_time
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage import records
from storage.db import database_errors, write_transaction
from storage.objects import ObjectStore
from storage.records import EvidenceRecord

STANDARD = "standard"
CASE = "case"
CATEGORIES = (STANDARD, CASE)
PERMANENT_RETENTION = timedelta(days=36525)
RETENTION_ENDED = "retention period ended"


@dataclass(frozen=True)
class StoredCopy:
    """An object belonging to one evidence item: its original or a derived copy."""

    name: str  # "original" or the derivative's name
    key: str
    version: str | None
    sha256: str
    size: int

    def ref(self) -> dict[str, JSON]:
        return {"name": self.name, "key": self.key, "version": self.version,
                "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class RetentionAction:
    """What the retention job did (or, in a dry run, would do) with one expired item."""

    evidence_id: str
    sha256: str
    action: Literal["deleted", "kept"]
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"evidence_id": self.evidence_id, "sha256": self.sha256, "action": self.action,
                "reason": self.reason}


def stored_copies(conn: Connection, evidence: EvidenceRecord) -> list[StoredCopy]:
    """The original and every derivative of ``evidence``."""
    return [StoredCopy("original", evidence.object_key, evidence.object_version,
                       evidence.sha256, evidence.size),
            *(StoredCopy(d.name, d.object_key, d.object_version, d.sha256, d.size)
              for d in records.derivatives_of(conn, evidence.id))]


def retain_permanently(conn: Connection, store: ObjectStore, evidence: EvidenceRecord,
                       now: datetime) -> tuple[datetime, list[StoredCopy]]:
    """Lengthen every copy's retention to ``now + PERMANENT_RETENTION``; never shortens.

    Returns the new date and the copies whose retention was lengthened. Called
    inside the caller's transaction: lengthening is harmless if it rolls back.
    """
    until = now + PERMANENT_RETENTION
    extended = []
    for copy in stored_copies(conn, evidence):
        current = store.head(copy.key, copy.version).retain_until
        if current is not None and current >= until:
            continue
        store.extend_retention(copy.key, until, copy.version)
        extended.append(copy)
    records.extend_retention(conn, evidence.id, CASE, until)
    return until, extended


def set_legal_hold(conn: Connection, store: ObjectStore, evidence: EvidenceRecord,
                   on: bool) -> list[StoredCopy]:
    """Place or release the hold on every copy, and record it on the catalogue row."""
    copies = stored_copies(conn, evidence)
    for copy in copies:
        store.set_legal_hold(copy.key, on, copy.version)
    records.set_legal_hold_flag(conn, evidence.id, on)
    return copies


def on_a_case(conn: Connection, evidence_id: str) -> bool:
    ce = tables.case_evidence
    return conn.execute(select(ce.c.case_id).where(ce.c.evidence_id == evidence_id)
                        .limit(1)).first() is not None


def run_retention(log: CustodyLog, store: ObjectStore, user: User, *, dry_run: bool = False,
                  now: datetime | None = None) -> list[RetentionAction]:
    """Delete footage whose retention has expired, unless held or on a case (admin only;
    an agency's admin: the footage their agency may see, the operator: all).

    Each deletion is logged (``evidence:file:deleted``, naming every copy) and
    committed before the bytes go: a crash can leave bytes behind, never an
    unlogged deletion. The same function serves the CLI and the HTTP API.
    """
    access.require_role(user, access.RUN_RETENTION, msg("run the retention job"))
    moment = now or datetime.now(UTC)
    with database_errors(msg("listing expired footage")), log.engine.connect() as conn:
        due = records.expired(conn, moment, among=access.visible_footage(user))
    return [_retire(log, store, user, evidence, moment, dry_run) for evidence in due]


def _retire(log: CustodyLog, store: ObjectStore, user: User, evidence: EvidenceRecord,
            now: datetime, dry_run: bool) -> RetentionAction:
    with database_errors(msg("deleting expired footage")), write_transaction(log.engine) as conn:
        current = records.find(conn, evidence.id)  # a hold may have come since the listing
        if current is None or current.deleted_at is not None:
            return RetentionAction(evidence.id, evidence.sha256, "kept", "already deleted")
        if current.legal_hold or on_a_case(conn, current.id):
            why = "legal hold" if current.legal_hold else "attached to a case (kept permanently)"
            return RetentionAction(current.id, current.sha256, "kept", why)
        if dry_run:
            return RetentionAction(current.id, current.sha256, "deleted", "dry run")
        copies = stored_copies(conn, current)
        log.append([EventDraft(EventType.FILE_DELETED, user.actor, current.subject, {
            "reason": RETENTION_ENDED,
            "retain_until": format_time(current.retain_until) if current.retain_until else None,
            "objects": [{"key": c.key, "version": c.version} for c in copies]}, now)], conn)
        records.mark_deleted(conn, current.id, now)
    for copy in copies:
        try:
            store.delete(copy.key, copy.version)
        except NotFound:
            continue  # already gone: a rerun after a crash
    return RetentionAction(current.id, current.sha256, "deleted", RETENTION_ENDED)
