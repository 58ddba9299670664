"""What a submission for legal review checks of each item it cites: the stored bytes hash
to the recorded hash, and the event recording the item (its ingest) is included in a signed
checkpoint; in a witnessed log, in a checkpoint cosigned by the witnesses' quorum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from cases import tables
from cases.custody_index import refresh
from cases.errors import Conflict
from custody.cosigned import WitnessQuorum, quorum_checkpoint
from custody.events import decode_event
from custody.log import CustodyLog
from custody.note import Verifier
from custody.proofs import check_inclusion_document
from domain.errors import EvidenceError
from domain.event_types import EventType
from domain.messages import Message, clauses, listing, msg
from storage import records
from storage.objects import ObjectStore
from storage.records import EvidenceRecord


class ReviewError(Conflict):
    """The gate or a step refused because something is missing (HTTP 409; CLI exit 1)."""


def ingest_seqs(log: CustodyLog, evidence_ids: Sequence[str]) -> dict[str, int]:
    """The entry recording each item's ingest (items without one are left out)."""
    subjects = tables.custody_subjects
    with log.engine.connect() as conn:
        rows = conn.execute(select(subjects.c.evidence_id, func.min(subjects.c.seq))
                            .where(subjects.c.evidence_id.in_(list(evidence_ids)),
                                   subjects.c.type == EventType.FILE_INGESTED.value)
                            .group_by(subjects.c.evidence_id)).all()
    return {str(evidence_id): int(seq) for evidence_id, seq in rows}


def verify_item(log: CustodyLog, store: ObjectStore, verifier: Verifier, item: dict[str, Any],
                record: EvidenceRecord | None, seq: int | None,
                proven_size: int) -> Message | None:
    """Why a cited item fails (None: it verifies). ``record``: its catalogue row;
    ``proven_size``: the checkpoint its ingest event must be proven in (an event past it
    is left to the caller)."""
    if record is None or record.sha256 != item["sha256"]:
        return msg("its catalogue entry no longer matches the listing")
    try:
        stored, _ = store.read_back_sha256(record.object_key, record.object_version)
    except EvidenceError as exc:
        return msg("its stored bytes cannot be read ({reason})", reason=exc.message)
    if stored != record.sha256:
        return msg("its stored bytes hash to {stored}, not the recorded {recorded}",
                   stored=stored, recorded=record.sha256)
    if seq is None:
        return msg("no custody event records it")
    if seq >= proven_size:
        return None
    try:
        proof = log.inclusion_proof(seq, proven_size)
        check_inclusion_document(proof.to_json(), verifier)
    except EvidenceError as exc:
        return msg("its recording event {seq} is not proven in a signed checkpoint ({reason})",
                   seq=seq, reason=exc.message)
    subject = decode_event(proof.leaf).get("subject") or {}
    if subject.get("sha256") != record.sha256:
        return msg("its recording event {seq} names another hash", seq=seq)
    return None


def check_cited(log: CustodyLog, store: ObjectStore, verifier: Verifier,
                items: Sequence[dict[str, Any]], witnesses: WitnessQuorum | None = None) -> None:
    """Refuse (ReviewError) unless every item verifies; in a witnessed log, also unless each
    item's ingest event is in a checkpoint the witnesses' quorum cosigned."""
    refresh(log.engine)
    signed = log.checkpoint()  # sign what the log holds now: the items' events are proven in it
    proven_size = signed.size
    if witnesses is not None:
        cosigned = quorum_checkpoint(log.engine, witnesses)
        proven_size = cosigned[0] if cosigned is not None else 0
    seqs = ingest_seqs(log, [item["evidence_id"] for item in items])
    with log.engine.connect() as conn:
        rows = {item["evidence_id"]: records.find(conn, item["evidence_id"]) for item in items}
    failures = [msg("{evidence_id}: {why}", evidence_id=item["evidence_id"], why=why)
                for item in items
                if (why := verify_item(log, store, verifier, item, rows[item["evidence_id"]],
                                       seqs.get(item["evidence_id"]), proven_size)) is not None]
    if failures:
        raise ReviewError(msg("submission refused: cited items fail verification: {failures}",
                              failures=clauses(failures)),
                          hint=msg("replace the item with a verified copy, or run `evidence verify "
                                   "--objects` and report the tampering"))
    waiting = [item["evidence_id"] for item in items
               if seqs.get(item["evidence_id"], proven_size) >= proven_size]
    if waiting and witnesses is not None:
        raise ReviewError(
            msg("submission refused: the witnesses have not cosigned yet: the events recording "
                "{items} are in no checkpoint cosigned by {quorum} of the {count} witnesses",
                items=listing(waiting), quorum=witnesses.quorum, count=len(witnesses.keys)),
            hint=msg("the witnesses are asked every few seconds: submit again in a minute; if it "
                     "lasts, check them with `evidence verify --witness`"))
