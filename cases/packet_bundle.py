"""A review packet as a bundle that ``evidence verify-bundle`` checks offline: the packet's
listing (``review-packet.json``, the exact bytes its SHA-256 covers), each cited item's
bytes, and the custody events with their inclusion proofs in one signed checkpoint: each
item's ingest event and the packet's review events (submitted, advice, opinion, contest,
ruling, approval, voided; the action's decision and service). Built like a case bundle
(``cases.bundle``), sealed by ``case:review:packet-exported`` naming the manifest's hash."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cases import access
from cases.actions import action_row
from cases.bundle import (
    _check_written,
    _custody_events,
    _fsync,
    _manifest,
    _write_custody,
    _write_item,
    _Writer,
)
from cases.bundle_report import render_custody_report, render_readme
from cases.bundle_verify import MANIFEST, README, REPORT
from cases.case_records import case_row
from cases.legal_review import read_packet
from cases.packet_checks import ReviewError
from cases.packet_verify import PACKET_EXPORT_EVENT, PACKET_LISTING
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import StorageError
from domain.event_types import EventType
from domain.messages import msg
from storage import records
from storage.objects import ObjectStore

_ACTION_EVENTS = (EventType.ACTION_DECIDED, EventType.ACTION_DECISION_SERVED)


def _about_packet(event: dict[str, Any], packet_id: str, action_id: str,
                  items: set[str]) -> bool:
    details = event["details"]
    return ((event["type"] == EventType.FILE_INGESTED
             and (event["subject"] or {}).get("evidence_id") in items)
            or details.get("packet_id") == packet_id
            or (event["type"] in _ACTION_EVENTS and details.get("action_id") == action_id))


def build_packet_bundle(log: CustodyLog, store: ObjectStore, user: User, packet_id: str,
                        out_dir: Path, now: datetime | None = None) -> Path:
    """Write the packet's bundle into ``out_dir``; who may export the case may export it (it
    holds the originals: not the auditors)."""
    what = "export this review packet"
    access.require_role(user, access.EXPORT_CASE, what)
    moment = now or datetime.now(UTC)
    with log.engine.connect() as conn:
        packet = read_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        access.require_case_access(conn, user, row.case_id, access.EXPORT_CASE, what)
        case = case_row(conn, row.case_id)
        listed = [packet.listing["draft"], *packet.listing["cited"]]
        items = [records.find(conn, item["evidence_id"]) for item in listed]
    rows = [r for r in items if r is not None]
    if len(rows) != len(listed) or any(
            (r.sha256, r.size) != (i["sha256"], i["size"]) for r, i in zip(rows, listed, strict=True)):
        raise ReviewError(msg("the catalogue no longer holds the packet's items as listed"),
                          hint=msg("run `evidence verify --objects` and report it"))
    ids = {r.id for r in rows}
    events = {seq: e for seq, e in _custody_events(log.engine, case.id, sorted(ids)).items()
              if _about_packet(e, packet_id, row.id, ids)}
    listing_bytes = json.dumps(packet.listing, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
    final = out_dir / f"review-packet-{packet.sha256[:16]}-{moment:%Y%m%dT%H%M%SZ}-" \
                      f"{uuid.uuid4().hex[:8]}.zip"
    partial = out_dir / f".{final.name}.partial"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w") as archive:
            writer = _Writer(archive, moment)
            files = [_write_item(writer, store, r, [], events, False) for r in rows]
            manifest = _manifest({"id": case.id, "number": case.number, "title": case.title},
                                 files, events, log, user.actor, moment, False)
            manifest["packet"] = {"id": packet.id, "sha256": packet.sha256,
                                  "action_id": row.id,
                                  "submitted_at": packet.submitted_at.isoformat()}
            manifest["documents"] = [
                writer.text(REPORT, render_custody_report(manifest, events)),
                writer.text(README, render_readme(manifest)),
                writer.data(PACKET_LISTING, listing_bytes)]
            manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                              + "\n").encode("utf-8")
            writer.data(MANIFEST, manifest_bytes)
            export = log.append_one(EventDraft(PACKET_EXPORT_EVENT, user.actor, None, {
                "case_id": case.id, "action_id": row.id, "packet_id": packet.id,
                "packet_sha256": packet.sha256, "bundle": final.name,
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "files": len(files), "events": len(events)}, moment))
            _write_custody(writer, log, [*sorted(events), export.seq], events)
        _fsync(partial)
        _check_written(partial, log)
        partial.replace(final)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(msg("cannot write the packet bundle in {out_dir}: {reason}",
                               out_dir=out_dir, reason=exc),
                           hint=msg("check free space and permissions, then export again")) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final
