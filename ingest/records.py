"""Catalogue rows and the custody events describing them, committed together."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from custody.events import JSON, EventDraft, Subject, format_time
from custody.log import CustodyLog
from domain.event_types import EventType
from storage import catalog
from storage.db import database_errors, write_transaction
from storage.objects import StoredObject


@dataclass(frozen=True)
class Provenance:
    """Where a file came from: the station's view of the volume and the recorder."""

    source: str  # path inside the volume
    original_name: str
    device_serial: str | None
    officer_no: str | None
    actor: str


def object_ref(stored: StoredObject) -> dict[str, Any]:
    return {"key": stored.key, "sha256": stored.sha256, "size": stored.size,
            "version": stored.version_id}


def find_by_sha256(conn: Connection, sha256: str) -> str | None:
    return conn.execute(select(catalog.evidence.c.id)
                        .where(catalog.evidence.c.sha256 == sha256)).scalar()


def record_original(log: CustodyLog, stored: StoredObject, prov: Provenance, *,
                    row: dict[str, Any], now: datetime) -> tuple[str, bool]:
    """Record an ingested (or seen-again) original; returns (evidence id, duplicate)."""
    with database_errors("recording an original"), write_transaction(log.engine) as conn:
        existing = find_by_sha256(conn, stored.sha256)
        seen = {"source": prov.source, "original_name": prov.original_name,
                "device": prov.device_serial, "officer": prov.officer_no}
        if existing is not None:
            log.append([EventDraft(EventType.FILE_SEEN_AGAIN, prov.actor,
                                   Subject(existing, stored.sha256), seen, now)], conn)
            return existing, True
        evidence_id = str(uuid.uuid4())
        subject = Subject(evidence_id, stored.sha256)
        flags = row.get("flags", [])
        log.append([
            EventDraft(EventType.FILE_INGESTED, prov.actor, subject, {
                **seen, "size": stored.size, "object": object_ref(stored),
                "retain_until": format_time(stored.retain_until) if stored.retain_until else None,
                "flags": list[JSON](flags)}, now),
            EventDraft(EventType.FILE_VERIFIED, prov.actor, subject, {
                "read_back_sha256": stored.sha256, "key": stored.key,
                "version": stored.version_id}, now),
        ], conn)
        conn.execute(insert(catalog.evidence).values(
            id=evidence_id, sha256=stored.sha256, size=stored.size, object_key=stored.key,
            object_version=stored.version_id, original_name=prov.original_name,
            source_path=prov.source, device_serial=prov.device_serial,
            officer_no=prov.officer_no, legal_hold=False, ingested_at=now,
            **{**row, "flags": json.dumps(flags)}))
        return evidence_id, False


def record_derivatives(log: CustodyLog, evidence_id: str, sha256: str, actor: str,
                       made: list[tuple[str, str, StoredObject]], metadata: dict[str, Any],
                       flags: list[str], error: str | None, now: datetime) -> None:
    """Store derivative rows, metadata and flags, with one custody event per derivative."""
    subject = Subject(evidence_id, sha256)
    with database_errors("recording derivatives"), write_transaction(log.engine) as conn:
        drafts = [EventDraft(EventType.FILE_PROBED, actor, subject,
                             {"metadata": _jsonable(metadata), "flags": list[JSON](flags),
                              "error": error}, now)]
        for name, method, stored in made:
            drafts.append(EventDraft(EventType.FILE_DERIVED, actor, subject, {
                "name": name, "method": method, "object": object_ref(stored)}, now))
            conn.execute(catalog.derivatives.delete().where(
                (catalog.derivatives.c.evidence_id == evidence_id)
                & (catalog.derivatives.c.name == name)))
            conn.execute(insert(catalog.derivatives).values(
                evidence_id=evidence_id, name=name, object_key=stored.key,
                object_version=stored.version_id, sha256=stored.sha256, size=stored.size,
                method=method, created_at=now))
        log.append(drafts, conn)
        state = "failed" if error else ("done" if made else "none")
        conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence_id).values(
            derivatives_state=state, derivatives_error=error, flags=json.dumps(flags),
            **metadata))


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k != "media_json"}


def pending_derivatives(log: CustodyLog, evidence_id: str | None = None) -> list[dict[str, Any]]:
    """Evidence whose playback copy and thumbnails are still to be made (resumes a crash)."""
    ev = catalog.evidence
    query = select(ev.c.id, ev.c.sha256, ev.c.object_key, ev.c.object_version,
                   ev.c.original_name, ev.c.size, ev.c.flags, ev.c.media_json).where(
        ev.c.derivatives_state == "pending")
    if evidence_id is not None:
        query = query.where(ev.c.id == evidence_id)
    with database_errors("listing pending derivatives"), log.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
