"""A case's written record (文字记录) as evidence: forms, transcripts, notices, decisions and
signed paper scanned or photographed (PDF, DOCX, JPEG, PNG).

A document is stored like footage: its exact bytes under their SHA-256 in the object
store (``storage.objects.original_key``), recorded as an original with the same
``evidence:file:ingested`` and ``evidence:file:verified`` events (``storage.records``), then
put on the case, kept permanently, with its document kind (``case:document:added``). It is
listed with the case's footage (``case_evidence``) and on its own list with its kind.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, insert, select

from cases import access, tables
from cases.case_records import case_row
from cases.errors import InvalidRequest
from cases.retention import CASE, retain_permanently
from cases.text import clean_text
from cases.times import aware
from cases.users import User
from custody.events import EventDraft, format_time
from custody.log import CustodyLog
from domain.errors import AlreadyExists
from domain.event_types import EventType
from domain.messages import listing, msg
from storage import catalog, records
from storage.db import write_transaction
from storage.objects import ObjectStore, original_key
from storage.records import CaptureContext, NewOriginal, Provenance, record_original

DOCUMENT_MAX = 20 * 1024 * 1024  # bytes of one document
NAME_MAX = 255
FIRST_RETENTION = timedelta(days=183)  # until it is on the case (then: permanent)


class DocumentKind(StrEnum):
    FORM = "form"  # 表格
    TRANSCRIPT = "transcript"  # 笔录
    NOTICE = "notice"  # 告知书、通知书
    DECISION = "decision"  # 决定书
    DRAFT_DECISION = "draft_decision"  # 决定书（草稿）
    SCAN = "scan"  # signed paper, scanned or photographed
    INVESTIGATION_REPORT = "investigation_report"  # 案件调查终结报告、审查报告
    RIGHTS_NOTICE = "rights_notice"  # 事先告知书（当事人权利告知）
    STATEMENT = "statement"  # 陈述申辩笔录
    HEARING_RECORD = "hearing_record"  # 听证笔录
    EVIDENCE_LIST = "evidence_list"  # 证据清单
    APPLICATION = "application"  # 申请材料（许可）
    SERVICE_RECEIPT = "service_receipt"  # 送达回证
    OTHER = "other"


@dataclass(frozen=True)
class CaseDocument:
    evidence_id: str
    case_id: str
    kind: DocumentKind
    media_type: str
    original_name: str
    sha256: str
    size: int
    added_at: datetime
    added_by: str


def media_type_of(data: bytes) -> str:
    """The document's format from its bytes (never from its name); refused if not one of
    PDF, DOCX, JPEG or PNG."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return ("application/vnd.openxmlformats-officedocument."
                            "wordprocessingml.document")
        except zipfile.BadZipFile:
            pass
    raise InvalidRequest(msg("the document is not a PDF, DOCX, JPEG or PNG file"),
                         hint=msg("scan or photograph paper records; save forms as PDF or DOCX"))


def parse_document_kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no kind of document", value=value),
                             hint=msg("one of: {kinds}", kinds=listing(k.value for k in DocumentKind))
                             ) from None


def add_document(log: CustodyLog, store: ObjectStore, user: User, case_id: str, name: str,
                 kind: DocumentKind, data: bytes, now: datetime | None = None) -> CaseDocument:
    """Store a document bit for bit and put it on the case (``evidence:file:ingested``,
    ``evidence:file:verified``, then ``case:document:added``).

    A case officer of the case or an admin of its agency. The same bytes already stored
    (on any case) are not stored twice: the recorded original is put on this case.
    """
    what = "add a document to this case"
    access.require_role(user, access.MANAGE_CASE, what)
    name = clean_text(name, "document name", NAME_MAX)
    if not data or len(data) > DOCUMENT_MAX:
        raise InvalidRequest(msg("a document has 1 to {document_max} bytes, not {data_count}",
                                 document_max=DOCUMENT_MAX, data_count=len(data)),
                             hint=msg("split a long scan into several files"))
    moment = now or datetime.now(UTC)
    with log.engine.connect() as conn:  # checked before anything is stored
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.MANAGE_CASE, what)
    media_type = media_type_of(data)
    digest = hashlib.sha256(data).hexdigest()
    upload = store.begin_upload()
    upload.write(data)
    # the store's lock runs on its own clock: never a date it sees as past
    keep = max(moment, datetime.now(UTC)) + FIRST_RETENTION
    stored = upload.commit(original_key(digest), retain_until=keep)
    evidence_id, _ = record_original(
        log, stored, Provenance(source=f"case:{case.number}/{name}", original_name=name,
                                device_serial=None, officer_no=None, actor=user.actor),
        NewOriginal(start_time=None, time_source="none", sequence=None, capture=CaptureContext(),
                    retain_until=stored.retain_until, unit_code=case.unit_code,
                    derivatives_state="none", kind="document"), now=moment)
    cd, ce = tables.case_documents, tables.case_evidence
    with write_transaction(log.engine) as conn:
        record = records.find(conn, evidence_id)
        assert record is not None
        if conn.execute(select(cd.c.evidence_id).where(cd.c.case_id == case_id,
                                                       cd.c.evidence_id == evidence_id)).first():
            raise AlreadyExists(msg("this document ({digest}) is already on case {number}", digest=digest,
                                    number=case.number),
                                hint=msg("list the case's documents"))
        until, extended = retain_permanently(conn, store, record, moment)
        if conn.execute(select(ce.c.case_id).where(ce.c.case_id == case_id,
                                                   ce.c.evidence_id == evidence_id)).first() is None:
            conn.execute(insert(ce).values(case_id=case_id, evidence_id=evidence_id,
                                           attached_at=moment, attached_by=user.name))
        conn.execute(insert(cd).values(case_id=case_id, evidence_id=evidence_id, kind=kind.value,
                                       media_type=media_type, added_at=moment,
                                       added_by=user.name))
        log.append([EventDraft(EventType.CASE_DOCUMENT_ADDED, user.actor, record.subject, {
            "case_id": case_id, "case_number": case.number, "kind": kind.value,
            "media_type": media_type, "name": name, "size": len(data),
            "retention": {"category": CASE, "retain_until": format_time(until)},
            "objects": [copy.ref() for copy in extended]}, moment)], conn)
    return CaseDocument(evidence_id, case_id, kind, media_type, name, digest, len(data), moment,
                        user.name)


def list_documents(engine: Engine, user: User, case_id: str) -> list[CaseDocument]:
    """The case's documents, oldest first, for who may read the case."""
    what = "read this case's documents"
    access.require_role(user, access.READ_CASES, what)
    cd, ev = tables.case_documents, catalog.evidence
    with engine.connect() as conn:
        case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.READ_CASES, what)
        rows = conn.execute(select(cd, ev.c.original_name, ev.c.sha256, ev.c.size)
                            .join(ev, ev.c.id == cd.c.evidence_id)
                            .where(cd.c.case_id == case_id)
                            .order_by(cd.c.added_at, cd.c.evidence_id)).all()
    return [CaseDocument(r.evidence_id, r.case_id, DocumentKind(r.kind), r.media_type,
                         r.original_name, r.sha256, r.size, aware(r.added_at), r.added_by)
            for r in rows]
