"""Build a case export bundle: originals, manifest, custody events with proofs, report.

Order of work (the layout and the binding are described in ``cases.bundle_verify``):

1. Copy every original (and playback copy, if asked) from the store into a ZIP
   under a temporary name, hashing as it goes; bytes that differ from the
   catalogue's SHA-256 abort the export before anything is logged.
2. Write the custody report, README and manifest; the manifest lists every file
   with its SHA-256 and size and every custody event carried.
3. Append ``case:bundle:exported`` naming the manifest's SHA-256. It is logged
   before the bundle is published, so a bundle never exists without its event; a
   failure after this point leaves a logged export with no file, never the reverse.
4. Sign a checkpoint covering the export event, add every event's exact bytes
   and inclusion proof to that one checkpoint, the checkpoint and the key.
5. fsync, verify the finished ZIP with ``verify_bundle`` against the log's key,
   then rename it to its ``.zip`` name. A half-written bundle only ever exists
   as a hidden ``.partial`` file, deleted on failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cases import tables
from cases.bundle_report import render_custody_report, render_readme
from cases.bundle_verify import (
    BUNDLE_FORMAT,
    CHECKPOINT,
    COSIGNED,
    COSIGNED_PROOF,
    EXPORT_EVENT,
    MANIFEST,
    ORIGINALS_DIR,
    PLAYBACK_DIR,
    README,
    REPORT,
    VKEY,
    entry_member,
    proof_document_bytes,
    proof_member,
    verify_bundle,
)
from cases.custody_index import refresh
from cases.recordings import PLAYBACK
from cases.times import aware
from custody import schema
from custody.checkpoint import parse_checkpoint_body
from custody.cosigned import cosigned_checkpoint
from custody.events import EventDraft, EventError, decode_event, format_time
from custody.log import CustodyLog
from custody.note import parse_note
from domain.errors import IntegrityError, NotFound, StorageError
from domain.messages import clauses, msg
from storage import catalog, records
from storage.objects import ObjectStore
from storage.records import DerivativeRecord, EvidenceRecord

_ZIP64_THRESHOLD = zipfile.ZIP64_LIMIT
_ID_CHUNK = 500
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")


Progress = Callable[[int, int], None]  # (items done, bytes of footage copied so far)


def build_bundle(engine: Engine, store: ObjectStore, log: CustodyLog, case_id: str, *,
                 include_playback: bool, actor: str, out_dir: Path,
                 now: datetime | None = None, progress: Progress | None = None) -> Path:
    """Write the case's export bundle into ``out_dir`` and return its path (a ``.zip``).

    ``progress`` is called as footage is copied (often: keep it cheap) and after each item.
    """
    moment = now or datetime.now(UTC)
    case, items, derivatives = _load_case(engine, case_id)
    events = _custody_events(engine, case["id"], [row.id for row in items])
    final = out_dir / (f"case-{_SAFE_NAME.sub('_', case['number'])}-"
                       f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.zip")
    partial = out_dir / f".{final.name}.partial"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w") as archive:
            writer = _Writer(archive, moment, progress)
            files = []
            for row in items:
                files.append(_write_item(writer, store, row, derivatives.get(row.id, []), events,
                                         include_playback))
                writer.item_done()
            manifest = _manifest(case, files, events, log, actor, moment, include_playback)
            manifest["documents"] = [
                writer.text(REPORT, render_custody_report(manifest, events)),
                writer.text(README, render_readme(manifest))]
            manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                              + "\n").encode("utf-8")
            writer.data(MANIFEST, manifest_bytes)
            export = log.append_one(EventDraft(EXPORT_EVENT, actor, None, {
                "case_id": case["id"], "case_number": case["number"],
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "bundle": final.name, "files": len(files), "events": len(events),
                "bytes": writer.copied_bytes, "include_playback": include_playback}, moment))
            _write_custody(writer, log, [*sorted(events), export.seq], events)
        _fsync(partial)
        _check_written(partial, log)
        partial.replace(final)
        _fsync(out_dir)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(msg("cannot write the case bundle in {out_dir}: {reason}", out_dir=out_dir,
                               reason=exc),
                           hint=msg("check free space and permissions, then export again")) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


class _Writer:
    """Adds members to the ZIP with fixed times and read-only modes."""

    def __init__(self, archive: zipfile.ZipFile, moment: datetime,
                 progress: Progress | None = None) -> None:
        self.archive = archive
        self.date_time = moment.astimezone(UTC).timetuple()[:6]
        self.copied_bytes = 0
        self.progress = progress
        self.items_done = 0
        self.streamed = 0  # footage bytes copied so far, the current file's included

    def item_done(self) -> None:
        self.items_done += 1
        if self.progress is not None:
            self.progress(self.items_done, self.streamed)

    def _info(self, name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = compress
        info.external_attr = 0o100444 << 16  # a regular, read-only file
        return info

    def data(self, name: str, data: bytes) -> dict[str, Any]:
        self.archive.writestr(self._info(name, zipfile.ZIP_DEFLATED), data)
        return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def text(self, name: str, text: str) -> dict[str, Any]:
        return self.data(name, text.encode("utf-8"))

    def copy(self, name: str, store: ObjectStore, key: str, version: str | None,
             sha256: str, size: int, what: str) -> None:
        """Stream a stored object in, refusing bytes that are not the logged ones."""
        hasher, copied = hashlib.sha256(), 0
        info = self._info(name, zipfile.ZIP_STORED)  # footage does not compress
        with store.open(key, version) as reader, \
                self.archive.open(info, "w", force_zip64=size >= _ZIP64_THRESHOLD) as out:
            for chunk in reader:
                hasher.update(chunk)
                copied += len(chunk)
                out.write(chunk)
                self.streamed += len(chunk)
                if self.progress is not None:
                    self.progress(self.items_done, self.streamed)
        if (hasher.hexdigest(), copied) != (sha256, size):
            raise IntegrityError(
                msg("the stored {what} reads back as SHA-256 {hexdigest} ({copied} bytes), not the "
                    "recorded {sha256} ({size} bytes)", what=what, hexdigest=hasher.hexdigest(),
                    copied=copied, sha256=sha256, size=size),
                hint=msg("no bundle was made and nothing was logged; run `evidence verify --objects`"))
        self.copied_bytes += copied


def _load_case(engine: Engine, case_id: str) -> tuple[dict[str, str], list[EvidenceRecord],
                                                       dict[str, list[DerivativeRecord]]]:
    ce, ev, dv = tables.case_evidence, catalog.evidence, catalog.derivatives
    with engine.connect() as conn:
        case = conn.execute(select(tables.cases).where(tables.cases.c.id == case_id)).first()
        if case is None:
            raise NotFound(msg("there is no case {case_id}", case_id=case_id),
                           hint=msg("check the case number in the list of cases"))
        items = [records.from_row(row) for row in conn.execute(
            select(ev).join(ce, ce.c.evidence_id == ev.c.id).where(ce.c.case_id == case_id)
            .order_by(ce.c.attached_at, ev.c.id))]
        derivatives: dict[str, list[DerivativeRecord]] = {}
        for chunk in _chunks([row.id for row in items]):
            for copy in conn.execute(select(dv).where(dv.c.evidence_id.in_(chunk))
                                     .order_by(dv.c.evidence_id, dv.c.name)):
                derivatives.setdefault(copy.evidence_id, []).append(records.derivative_from_row(copy))
    for item in items:
        if item.deleted_at is not None:
            raise NotFound(msg("the original of evidence {item} ({original_name}) was deleted on "
                               "{deleted_at}", item=item.id, original_name=item.original_name,
                               deleted_at=item.deleted_at.isoformat()),
                           hint=msg("detach it from the case, then export again"))
    return {"id": case.id, "number": case.number, "title": case.title}, items, derivatives


def _custody_events(engine: Engine, case_id: str,
                    evidence_ids: list[str]) -> dict[int, dict[str, Any]]:
    """Every event about the items, or naming the case in ``details.case_id``."""
    refresh(engine)
    subjects, entries = tables.custody_subjects, schema.entries
    wanted = set(evidence_ids)
    found: dict[int, dict[str, Any]] = {}
    conditions = [subjects.c.case_id == case_id,
                  *(subjects.c.evidence_id.in_(chunk) for chunk in _chunks(evidence_ids))]
    with engine.connect() as conn:
        for condition in conditions:
            rows = conn.execute(select(entries.c.seq, entries.c.leaf)
                                .join(subjects, subjects.c.seq == entries.c.seq)
                                .where(condition))
            for seq, leaf in rows:
                try:
                    event = decode_event(bytes(leaf))
                except EventError as exc:
                    raise IntegrityError(msg("custody entry {seq} is not a valid event: {reason}", seq=seq,
                                             reason=exc.message),
                                         hint=msg("run `evidence verify`; no bundle was made")) from None
                # The index is derived state: keep only what the entry itself says.
                if _names(event, case_id, wanted):
                    found[int(seq)] = event
    return found


def _names(event: Mapping[str, Any], case_id: str, evidence_ids: set[str]) -> bool:
    subject = event["subject"] or {}
    return subject.get("evidence_id") in evidence_ids or event["details"].get("case_id") == case_id


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _ID_CHUNK):
        yield values[start:start + _ID_CHUNK]


def _write_item(writer: _Writer, store: ObjectStore, row: EvidenceRecord,
                derivatives: list[DerivativeRecord],
                events: Mapping[int, Mapping[str, Any]], include_playback: bool) -> dict[str, Any]:
    suffix = _EXTENSION.fullmatch(Path(row.original_name).suffix)
    path = f"{ORIGINALS_DIR}{row.sha256}{suffix.group(0).lower() if suffix else ''}"
    writer.copy(path, store, row.object_key, row.object_version, row.sha256, row.size,
                msg("original of {original_name}", original_name=row.original_name))
    copies = []
    for copy in derivatives:
        member = None
        if include_playback and copy.name == PLAYBACK:
            member = f"{PLAYBACK_DIR}{row.sha256}.{copy.name}"
            writer.copy(member, store, copy.object_key, copy.object_version, copy.sha256,
                        copy.size, msg("playback copy of {original_name}", original_name=row.original_name))
        copies.append({"name": copy.name, "sha256": copy.sha256, "size": copy.size,
                       "method": copy.method, "path": member})
    return {
        "evidence_id": row.id, "original_name": row.original_name, "path": path,
        "sha256": row.sha256, "size": row.size, "derivatives": copies,
        "metadata": {
            "kind": row.kind, "container": row.container, "video_codec": row.video_codec,
            "audio_codec": row.audio_codec, "duration_ms": row.duration_ms, "width": row.width,
            "height": row.height, "start_time": _time(row.start_time),
            "time_source": row.time_source, "device_serial": row.device_serial,
            "officer_no": row.officer_no, "source_path": row.source_path,
            "ingested_at": _time(row.ingested_at), "flags": list(row.flags)},
        "events": sorted(seq for seq, e in events.items()
                         if (e["subject"] or {}).get("evidence_id") == row.id),
    }


def _time(moment: datetime | None) -> str | None:
    return format_time(aware(moment)) if moment is not None else None


def _manifest(case: dict[str, str], files: list[dict[str, Any]],
              events: Mapping[int, Mapping[str, Any]], log: CustodyLog, actor: str,
              moment: datetime, include_playback: bool) -> dict[str, Any]:
    on_files = {f["evidence_id"] for f in files}
    return {
        "format": BUNDLE_FORMAT, "created_at": format_time(moment), "created_by": actor,
        "case": case, "include_playback": include_playback,
        "log": {"origin": log.origin, "vkey": log.signer.verifier_key()},
        "files": files,
        # Case history: events naming the case that no file's own chain already shows.
        "case_events": sorted(seq for seq, e in events.items()
                              if (e["subject"] or {}).get("evidence_id") not in on_files),
        "events": sorted(events),
    }


def _write_custody(writer: _Writer, log: CustodyLog, seqs: list[int],
                   events: Mapping[int, Mapping[str, Any]]) -> None:
    """Each event's exact bytes and its proof, all to one checkpoint covering the export."""
    signed = log.checkpoint()
    for seq in seqs:
        proof = log.inclusion_proof(seq, signed.size)
        if proof.checkpoint != signed.note or (seq in events and decode_event(proof.leaf) != events[seq]):
            raise IntegrityError(msg("custody entry {seq} changed while the bundle was being made", seq=seq),
                                 hint=msg("run `evidence verify`; the bundle was not published"))
        writer.data(entry_member(seq), proof.leaf)
        writer.data(proof_member(seq), proof_document_bytes(proof.to_json()))
    writer.text(CHECKPOINT, signed.note)
    writer.text(VKEY, log.signer.verifier_key() + "\n")
    _write_cosigned(writer, log, signed.size)


def _write_cosigned(writer: _Writer, log: CustodyLog, size: int) -> None:
    """The newest checkpoint the witnesses cosigned, with the consistency proof from it to
    the bundle's checkpoint (none: the log has no witness yet)."""
    cosigned = cosigned_checkpoint(log.engine)
    if cosigned is None:
        return
    witnessed = parse_checkpoint_body(parse_note(cosigned).text).size
    if witnessed > size:
        return  # cosigned after the bundle's checkpoint was signed: a later bundle has it
    proof = log.consistency_proof(witnessed, size).path if 0 < witnessed < size else ()
    writer.text(COSIGNED, cosigned)
    writer.text(COSIGNED_PROOF, json.dumps({"old_size": witnessed, "new_size": size, "proof": [
        base64.b64encode(step).decode() for step in proof]}, indent=1) + "\n")


def _check_written(path: Path, log: CustodyLog) -> None:
    report = verify_bundle(path, log.signer.verifier_key())
    if not report.ok:
        problems = clauses(p.message for p in report.problems[:5])
        raise IntegrityError(msg("the bundle just written does not verify: {problems}", problems=problems),
                             hint=msg("it was not published; run `evidence verify --objects`"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
