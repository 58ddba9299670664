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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from custody.events import JSON
from storage import catalog
from storage.objects import ObjectStore

STANDARD = "standard"
CASE = "case"
CATEGORIES = (STANDARD, CASE)
PERMANENT_RETENTION = timedelta(days=36525)


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


def stored_copies(conn: Connection, evidence: Any) -> list[StoredCopy]:
    """The original and every derivative of ``evidence`` (a catalogue row)."""
    copies = [StoredCopy("original", evidence.object_key, evidence.object_version,
                         evidence.sha256, evidence.size)]
    der = catalog.derivatives
    for row in conn.execute(select(der).where(der.c.evidence_id == evidence.id)
                            .order_by(der.c.name)):
        copies.append(StoredCopy(row.name, row.object_key, row.object_version, row.sha256, row.size))
    return copies


def retain_permanently(conn: Connection, store: ObjectStore, evidence: Any,
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
    conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence.id).values(
        retention_category=CASE, retain_until=until))
    return until, extended


def set_legal_hold(conn: Connection, store: ObjectStore, evidence: Any, on: bool) -> list[StoredCopy]:
    """Place or release the hold on every copy, and record it on the catalogue row."""
    copies = stored_copies(conn, evidence)
    for copy in copies:
        store.set_legal_hold(copy.key, on, copy.version)
    conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence.id)
                 .values(legal_hold=on))
    return copies
