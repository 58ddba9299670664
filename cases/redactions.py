"""Redacted copies of footage and photos, for publication (公示) or sharing outside the agency.

A case officer of the case (or an admin of its agency) asks for a redacted copy of an item on
the case: the server makes it from the stored original (``media.redaction``: faces followed
and blurred, boxes a person drew covered, chosen sound muted), signs a C2PA manifest into it
naming the original (``media.content_credentials``) and stores it as a derivative of the
original under its own SHA-256 (``evidence:file:derived``), with an
``evidence:redaction:requested`` event naming the original (id and hash), the settings, the
faces found and the copy. The original is only read, after its bytes were checked against
their recorded hash.

A second person approves it: a legal reviewer (法制审核人员) of the case's agency, never the
one who asked. Publishing footage of people is a judgement on the law (personal information,
the rights of third parties) that the agency already gives its legal reviewers, who stand
outside the handling unit; an admin runs the system and has no such role.
``evidence:redaction:approved`` (or ``refused``) names the original, the copy, the settings,
who asked and who approved. Only an approved copy is for publication; every download of a
copy is logged (``evidence:redaction:downloaded``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Connection, Engine, insert, select, update

from cases import access, tables
from cases.case_records import case_row
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.text import clean_optional, clean_text
from cases.times import aware
from cases.users import Role, User
from custody.events import EventDraft, Subject, format_time
from custody.log import CustodyLog
from domain.errors import ConfigError, IntegrityError, NotFound
from domain.event_types import EventType
from domain.messages import msg
from media.content_credentials import Origin, SigningCredentials, sign_redacted
from media.face_detector import FaceDetector
from media.redaction import RedactionSettings, redact_photo, redact_video
from storage import records
from storage.db import write_transaction
from storage.objects import ObjectStore, StoredObject, derivative_key

REQUEST = access.MANAGE_CASE
APPROVE = frozenset({Role.REVIEWER})
READ = frozenset({Role.CASE_OFFICER, Role.REVIEWER, Role.ADMIN})
REASON_MAX = 500
MAX_BOXES, MAX_MUTED, MAX_REMOVED, TRACKS_LOGGED = 100, 50, 500, 100
_KINDS = {"video": ("video/mp4", "mp4"), "image": ("image/jpeg", "jpg")}
_CHUNK = 8 * 1024 * 1024


class RedactionTools:
    """What redaction needs from the settings: the face model and the C2PA signing
    credentials (None: this server cannot sign, so it makes no redacted copy)."""

    def __init__(self, credentials: SigningCredentials | None, model_path: Path | None = None,
                 threshold: float = 0.3) -> None:
        self.credentials = credentials
        self._model_path = model_path
        self._threshold = threshold
        self._detector: FaceDetector | None = None
        self.lock = threading.Lock()  # one network, used by one request at a time

    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = FaceDetector(self._model_path, threshold=self._threshold)
        return self._detector


@dataclass(frozen=True)
class Redaction:
    id: str
    evidence_id: str
    original_sha256: str
    case_id: str
    media_type: str
    copy_name: str
    sha256: str
    size: int
    settings: dict[str, Any]
    tracks: list[dict[str, Any]]
    reason: str
    state: str  # requested | approved | refused
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


def request_redaction(log: CustodyLog, store: ObjectStore, tools: RedactionTools, user: User,
                      evidence_id: str, case_id: str, settings: RedactionSettings, reason: str,
                      now: datetime | None = None) -> Redaction:
    """Make, sign and store a redacted copy of an item on the case, awaiting approval."""
    what = msg("ask for a redacted copy")
    access.require_role(user, REQUEST, what)
    reason = clean_text(reason, msg("reason"), REASON_MAX)
    with log.engine.connect() as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, REQUEST, what)
        record = _original_on_case(conn, evidence_id, case_id, case.number)
    media_type, extension = _media_of(record)
    _check_settings(settings, record)
    if tools.credentials is None:
        raise ConfigError(msg("this server has no C2PA signing certificate, so it makes no "
                              "redacted copy"),
                          hint=msg("set EVIDENCE_C2PA_CERT and EVIDENCE_C2PA_KEY on the server"))
    redaction_id = str(uuid.uuid4())
    copy_name = f"redacted-{redaction_id}.{extension}"
    work = Path(tempfile.mkdtemp(prefix="evidence-redact-"))
    try:
        with _checked_original(store, record, work) as original:
            made = work / f"made.{extension}"
            detector = tools.detector() if settings.faces else None
            with tools.lock:
                maker = redact_video if record.kind == "video" else redact_photo
                result = maker(original, made, settings, detector)
            signed = work / copy_name
            sign_redacted(made, signed, media_type,
                          Origin(record.id, record.sha256, record.original_name,
                                 _original_type(record)),
                          _plain(settings.to_json()), tools.credentials)
        stored = _store(store, signed, derivative_key(record.sha256, copy_name),
                        record.retain_until)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    moment = now or datetime.now(UTC)
    tracks = [t.to_json() for t in result.tracks]
    details: dict[str, Any] = {
        "redaction_id": redaction_id, "case_id": case_id, "case_number": case.number,
        "original": {"evidence_id": record.id, "sha256": record.sha256},
        "copy": {"name": copy_name, "sha256": stored.sha256, "size": stored.size,
                 "media_type": media_type},
        "settings": settings.to_json(),
        "detector": detector.describe() if detector is not None else None,
        "faces_found": len(tracks), "tracks": tracks[:TRACKS_LOGGED],
        "frames": result.frames, "covered_frames": result.covered_frames,
        "signed_by": _signer(tools.credentials), "reason": reason}
    with write_transaction(log.engine) as conn:
        records.record_derived_copy(conn, log, record, user.actor, copy_name, "redaction", stored,
                                    moment)
        conn.execute(insert(tables.redactions).values(
            id=redaction_id, evidence_id=record.id, case_id=case_id, copy_name=copy_name,
            media_type=media_type, sha256=stored.sha256, size=stored.size,
            settings=json.dumps(details["settings"], sort_keys=True), tracks=json.dumps(tracks),
            reason=reason, state="requested", requested_by=user.actor, requested_at=moment))
        log.append([EventDraft(EventType.REDACTION_REQUESTED, user.actor, record.subject,
                               _plain(details), moment)], conn)
        return _load(conn, redaction_id)


def decide_redaction(log: CustodyLog, user: User, redaction_id: str, approve: bool,
                     reason: str | None = None, now: datetime | None = None) -> Redaction:
    """Approve (or refuse) a redacted copy: a legal reviewer of the case's agency, not the
    person who asked for it."""
    what = msg("approve a redacted copy") if approve else msg("refuse a redacted copy")
    if not user.operator:
        access.require_role(user, APPROVE, what)
    reason = clean_optional(reason, msg("reason"), REASON_MAX)
    if not approve and reason is None:
        raise InvalidRequest(msg("a refusal needs a reason"),
                             hint=msg("say what must change, e.g. a face that is still visible"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        found = _load(conn, redaction_id)
        case = case_row(conn, found.case_id)
        agency = access.unit_agency(conn, case.unit_code)
        if not user.operator and user.agency_code != agency:
            raise AccessDenied(msg("{user} may not {action}: the case belongs to agency {agency}",
                                   user=user.name, action=what, agency=agency),
                               hint=msg("a legal reviewer of agency {agency} can do this",
                                        agency=agency))
        if found.requested_by == user.actor:
            raise AccessDenied(msg("{user} asked for this redacted copy and may not also {action}",
                                   user=user.name, action=what),
                               hint=msg("a second person approves it: a legal reviewer of agency "
                                        "{agency}", agency=agency))
        if found.state != "requested":
            raise Conflict(msg("this redacted copy was already {state}", state=found.state),
                           hint=msg("ask for a new redacted copy if it must change"))
        state = "approved" if approve else "refused"
        conn.execute(update(tables.redactions).where(tables.redactions.c.id == redaction_id)
                     .values(state=state, decided_by=user.actor, decided_at=moment,
                             decision_reason=reason))
        log.append([EventDraft(
            EventType.REDACTION_APPROVED if approve else EventType.REDACTION_REFUSED, user.actor,
            Subject(found.evidence_id, found.original_sha256), _plain({
                "redaction_id": found.id, "case_id": found.case_id, "case_number": case.number,
                "original": {"evidence_id": found.evidence_id, "sha256": found.original_sha256},
                "copy": {"name": found.copy_name, "sha256": found.sha256, "size": found.size},
                "settings": found.settings, "requested_by": found.requested_by,
                "requested_at": format_time(found.requested_at),
                "approved_by" if approve else "refused_by": user.actor, "reason": reason}),
            moment)], conn)
        return _load(conn, redaction_id)


def get_redaction(engine: Engine, user: User, redaction_id: str) -> Redaction:
    """A redaction, for who may read its case and the legal reviewers of its agency."""
    with engine.connect() as conn:
        found = _load(conn, redaction_id)
        _require_reads(conn, user, found)
    return found


def case_redactions(engine: Engine, user: User, case_id: str) -> list[Redaction]:
    """The case's redacted copies, oldest first."""
    what = msg("read this case's redacted copies")
    access.require_role(user, READ, what)
    with engine.connect() as conn:
        case = case_row(conn, case_id)
        _require_case_reads(conn, user, case, what)
        ids = conn.execute(select(tables.redactions.c.id)
                           .where(tables.redactions.c.case_id == case_id)
                           .order_by(tables.redactions.c.requested_at, tables.redactions.c.id)
                           ).scalars().all()
        return [_load(conn, rid) for rid in ids]


def download_redacted(log: CustodyLog, user: User, redaction_id: str, reason: str | None,
                      now: datetime | None = None) -> tuple[Redaction, records.DerivativeRecord]:
    """Log the download and name the stored copy to stream (the caller hashes it as it goes
    and cuts it short if the bytes differ). Before approval only to look at it (the event
    says which state it was in)."""
    reason = clean_optional(reason, msg("reason"), REASON_MAX)
    moment = now or datetime.now(UTC)
    with log.engine.connect() as conn:
        found = _load(conn, redaction_id)
        _require_reads(conn, user, found)
        copy = next((d for d in records.derivatives_of(conn, found.evidence_id)
                     if d.name == found.copy_name), None)
    if copy is None or copy.sha256 != found.sha256:
        raise IntegrityError(msg("the redacted copy's record does not match its request"),
                             hint=msg("run `evidence verify`; report it to an auditor"))
    with write_transaction(log.engine) as conn:
        log.append([EventDraft(EventType.REDACTION_DOWNLOADED, user.actor,
                               Subject(found.evidence_id, found.original_sha256), _plain({
                                   "redaction_id": found.id, "state": found.state,
                                   "copy": {"name": found.copy_name, "sha256": found.sha256},
                                   "reason": reason}), moment)], conn)
    return found, copy


# --- checks ----------------------------------------------------------------------------

def _original_on_case(conn: Connection, evidence_id: str, case_id: str, number: str
                      ) -> records.EvidenceRecord:
    record = records.find(conn, evidence_id)
    if record is None or record.deleted_at is not None:
        raise NotFound(msg("there is no evidence {evidence_id}", evidence_id=evidence_id),
                       hint=msg("check the id in the case's list of evidence"))
    ce = tables.case_evidence
    if conn.execute(select(ce.c.evidence_id).where(ce.c.case_id == case_id,
                                                   ce.c.evidence_id == evidence_id)).first() is None:
        raise InvalidRequest(msg("evidence {evidence_id} is not on case {number}",
                                 evidence_id=evidence_id, number=number),
                             hint=msg("attach it to the case first"))
    return record


def _media_of(record: records.EvidenceRecord) -> tuple[str, str]:
    if record.kind not in _KINDS:
        raise InvalidRequest(msg("a {kind} item cannot be redacted", kind=record.kind),
                             hint=msg("redaction takes video and photos"))
    return _KINDS[record.kind]


def _original_type(record: records.EvidenceRecord) -> str:
    container = (record.container or "").lower()
    if record.kind == "image":
        return "image/png" if "png" in container else "image/jpeg"
    return "video/quicktime" if container == "mov" else "video/mp4"


def _check_settings(settings: RedactionSettings, record: records.EvidenceRecord) -> None:
    if len(settings.boxes) > MAX_BOXES or len(settings.muted) > MAX_MUTED \
            or len(settings.removed_tracks) > MAX_REMOVED:
        raise InvalidRequest(msg("at most {boxes} boxes, {muted} muted ranges and {removed} "
                                 "removed faces", boxes=MAX_BOXES, muted=MAX_MUTED,
                                 removed=MAX_REMOVED),
                             hint=msg("ask for two redacted copies, one after the other"))
    width, height = record.width or 0, record.height or 0
    duration = record.duration_ms or 0
    for manual in settings.boxes:
        b = manual.box
        if b.x < 0 or b.y < 0 or b.w < 1 or b.h < 1 or (width and b.x + b.w > width) \
                or (height and b.y + b.h > height):
            raise InvalidRequest(msg("box {box} is not inside the {width}x{height} picture",
                                     box=b.to_list(), width=width, height=height),
                                 hint=msg("give x, y, width and height in the original's pixels"))
        if manual.start_ms < 0 or manual.end_ms < manual.start_ms:
            raise InvalidRequest(msg("a box's time range must start at 0 or later and not end "
                                     "before it starts"), hint=msg("give times in milliseconds"))
    for muted in settings.muted:
        if record.kind != "video":
            raise InvalidRequest(msg("a photo has no sound to mute"),
                                 hint=msg("leave out the muted ranges"))
        if muted.start_ms < 0 or muted.end_ms <= muted.start_ms or \
                (duration and muted.start_ms >= duration):
            raise InvalidRequest(msg("muted range {start}-{end} ms is not inside the "
                                     "{duration} ms recording", start=muted.start_ms,
                                     end=muted.end_ms, duration=duration),
                                 hint=msg("give start and end in milliseconds, start first"))
    if not 1 <= settings.detect_every <= 30 or not 160 <= settings.detect_width <= 3840:
        raise InvalidRequest(msg("detect every 1 to 30 frames, on a copy 160 to 3840 pixels wide"),
                             hint=msg("leave them out for the defaults"))


@contextmanager
def _checked_original(store: ObjectStore, record: records.EvidenceRecord,
                      work: Path) -> Iterator[Path]:
    """A local file with the original's bytes, checked against the recorded hash."""
    local = getattr(store, "local_path", None)
    path = local(record.object_key, record.object_version) if callable(local) else None
    digest = hashlib.sha256()
    if path is None:
        path = work / "original"
        with store.open(record.object_key, record.object_version) as reader, \
                path.open("wb") as out:
            for chunk in reader:
                digest.update(chunk)
                out.write(chunk)
    else:
        with Path(path).open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
    if digest.hexdigest() != record.sha256:
        raise IntegrityError(msg("the stored original of {evidence_id} no longer matches its "
                                 "SHA-256; no copy was made", evidence_id=record.id),
                             hint=msg("run `evidence verify --objects`; report it to an auditor"))
    yield Path(path)


def _store(store: ObjectStore, path: Path, key: str, retain_until: datetime | None
           ) -> StoredObject:
    upload = store.begin_upload()
    try:
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                upload.write(chunk)
        stored = upload.commit(key, retain_until=retain_until)
    except BaseException:
        upload.abort()
        raise
    digest, size = store.read_back_sha256(stored.key, stored.version_id)
    if digest != stored.sha256 or size != stored.size:
        raise IntegrityError(msg("the redacted copy reads back wrong from the store"),
                             hint=msg("check the store, then ask again"))
    return stored


def _signer(credentials: SigningCredentials) -> dict[str, str]:
    certificate = x509.load_pem_x509_certificates(credentials.chain_pem)[0]
    return {"subject": certificate.subject.rfc4514_string(),
            "sha256": certificate.fingerprint(hashes.SHA256()).hex()}


def _require_reads(conn: Connection, user: User, found: Redaction) -> None:
    what = msg("read this redacted copy")
    if not user.operator:
        access.require_role(user, READ, what)
    _require_case_reads(conn, user, case_row(conn, found.case_id), what)


def _require_case_reads(conn: Connection, user: User, case: Any, what: str) -> None:
    """Who may read the case; and a legal reviewer of its agency, who approves its copies."""
    if user.role is Role.REVIEWER and not user.operator:
        agency = access.unit_agency(conn, case.unit_code)
        if user.agency_code != agency:
            raise AccessDenied(msg("{user} may not {action}: the case belongs to agency {agency}",
                                   user=user.name, action=what, agency=agency),
                               hint=msg("a legal reviewer of agency {agency} can do this",
                                        agency=agency))
        return
    access.require_case_access(conn, user, case.id, READ, what)


def _load(conn: Connection, redaction_id: str) -> Redaction:
    r = tables.redactions
    row = conn.execute(select(r).where(r.c.id == redaction_id)).first()
    if row is None:
        raise NotFound(msg("there is no redacted copy {redaction_id}", redaction_id=redaction_id),
                       hint=msg("list the case's redacted copies"))
    original = records.find(conn, row.evidence_id)
    assert original is not None  # a foreign key
    return Redaction(row.id, row.evidence_id, original.sha256, row.case_id, row.media_type,
                     row.copy_name, row.sha256, row.size, json.loads(row.settings),
                     json.loads(row.tracks), row.reason, row.state, row.requested_by,
                     aware(row.requested_at), row.decided_by,
                     aware(row.decided_at) if row.decided_at else None, row.decision_reason)


def _plain(value: Any) -> Any:
    """JSON values only, as a custody event holds them."""
    return json.loads(json.dumps(value))
