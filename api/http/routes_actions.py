"""Enforcement: the agency's list of enforcement matters, officers' enforcement certificates,
and enforcement actions on cases (cases/actions.py; the same functions as `evidence matter|
certificate|action ...`)."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from api.http.auth import CurrentUser
from api.http.bodies import LIMIT_KEY
from api.http.errors import responses
from api.http.models import AgencyCode, Strict, UserName
from api.http.services import Services, ServicesDep
from cases.actions import (
    TEXT_MAX,
    TIME_LIMIT_MAX,
    Action,
    Certificate,
    Matter,
    Party,
    add_certificate,
    add_matter,
    assign_handlers,
    change_matter,
    get_action,
    list_actions,
    list_certificates,
    list_matters,
    mask_id_number,
    open_action,
    parse_kind,
    parse_party_kind,
)
from cases.documents import (
    DOCUMENT_MAX,
    CaseDocument,
    add_document,
    list_documents,
    parse_document_kind,
)
from cases.errors import InvalidRequest
from cases.legal_advice import Advice, advice_by_packet
from cases.legal_review import (
    CHECKLIST,
    Opinion,
    Packet,
    approve,
    contest,
    decide,
    mark_major,
    packets_of,
    record_opinion,
    review_queue_of,
    rule,
    set_catalogue,
    set_materials,
    submit,
)
from cases.text import TEXT_PATTERN
from cases.times import local_day
from domain.messages import msg

router = APIRouter(tags=["enforcement"])
BASE64_PATTERN = (r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|"
                  r"[A-Za-z0-9+/]{4})$")
DOCUMENT_BODY_LIMIT = DOCUMENT_MAX * 4 // 3 + 64 * 1024  # base64, and the JSON around it

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX,
                                            pattern=TEXT_PATTERN)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
ReasonText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
Days = Annotated[int, Field(ge=1, le=TIME_LIMIT_MAX)]
Kind = Literal["licensing", "penalty", "compulsory", "levy", "inspection"]


class MatterIn(Strict):
    agency: AgencyCode
    name: Name
    legal_basis: LongText
    procedure: LongText
    time_limit_days: Days
    remedy: LongText


class MatterChange(Strict):
    name: Name | None = None
    legal_basis: LongText | None = None
    procedure: LongText | None = None
    time_limit_days: Days | None = None
    remedy: LongText | None = None


class MatterOut(BaseModel):
    id: str
    agency: str
    name: str
    legal_basis: str
    procedure: str
    time_limit_days: int
    remedy: str
    updated_at: datetime
    updated_by: str


class MatterList(BaseModel):
    items: list[MatterOut]


class CertificateIn(Strict):
    user: UserName
    number: Short
    issuing_body: Name
    valid_from: date
    valid_to: date


class CertificateOut(BaseModel):
    number: str
    user: str
    issuing_body: str
    valid_from: date
    valid_to: date


class CertificateList(BaseModel):
    items: list[CertificateOut]


class PartyIn(Strict):
    kind: Literal["person", "organisation"]
    name: Name
    id_number: Short | None = None


class PartyOut(BaseModel):
    kind: str
    name: str
    id_number: str | None = Field(description="Masked: the full number stays in the catalogue.")


class ActionIn(Strict):
    kind: Kind
    matter_id: UUID
    party: PartyIn
    on_site: bool = False
    action_date: date


class HandlersIn(Strict):
    officers: Annotated[list[UserName], Field(min_length=1, max_length=20,
                                              json_schema_extra={"uniqueItems": True})]


class ActionOut(BaseModel):
    id: str
    case_id: str
    kind: str
    matter_id: str
    matter: str
    party: PartyOut
    on_site: bool
    action_date: date
    state: str
    officers: list[str]
    created_at: datetime
    created_by: str


class ActionList(BaseModel):
    items: list[ActionOut]


def matter_out(m: Matter) -> MatterOut:
    return MatterOut(id=m.id, agency=m.agency_code, name=m.name, legal_basis=m.legal_basis,
                     procedure=m.procedure, time_limit_days=m.time_limit_days, remedy=m.remedy,
                     updated_at=m.updated_at, updated_by=m.updated_by)


def certificate_out(c: Certificate) -> CertificateOut:
    return CertificateOut(number=c.number, user=c.user_name, issuing_body=c.issuing_body,
                          valid_from=c.valid_from, valid_to=c.valid_to)


def action_out(a: Action) -> ActionOut:
    return ActionOut(id=a.id, case_id=a.case_id, kind=a.kind.value, matter_id=a.matter_id,
                     matter=a.matter_name,
                     party=PartyOut(kind=a.party.kind.value, name=a.party.name,
                                    id_number=mask_id_number(a.party.id_number)),
                     on_site=a.on_site, action_date=a.action_date, state=a.state.value,
                     officers=list(a.officers), created_at=a.created_at, created_by=a.created_by)


@router.get("/matters", response_model=MatterList, responses=responses(401, 403),
            summary="List enforcement matters")
def matters(services: ServicesDep, user: CurrentUser,
            agency: Annotated[AgencyCode | None, Query(
                description="Auditors of every agency: only this agency's.")] = None
            ) -> MatterList:
    """The list of enforcement matters (执法事项清单) of the user's agency."""
    return MatterList(items=[matter_out(m) for m in list_matters(services.engine, user, agency)])


@router.post("/matters", response_model=MatterOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Add an enforcement matter")
def new_matter(body: MatterIn, services: ServicesDep, user: CurrentUser) -> MatterOut:
    """Admins of the agency. Event `org:matter:added`."""
    return matter_out(add_matter(services.log, user, body.agency, body.name, body.legal_basis,
                                 body.procedure, body.time_limit_days, body.remedy,
                                 services.now()))


@router.patch("/matters/{matter_id}", response_model=MatterOut,
              responses=responses(400, 401, 403, 404, 409), summary="Change an enforcement matter")
def edit_matter(matter_id: UUID, body: MatterChange, services: ServicesDep,
                user: CurrentUser) -> MatterOut:
    """Admins of the matter's agency. Event `org:matter:changed` (before and after)."""
    return matter_out(change_matter(services.log, user, str(matter_id), name=body.name,
                                    legal_basis=body.legal_basis, procedure=body.procedure,
                                    time_limit_days=body.time_limit_days, remedy=body.remedy,
                                    now=services.now()))


@router.post("/certificates", response_model=CertificateOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409),
             summary="Record an enforcement certificate")
def new_certificate(body: CertificateIn, services: ServicesDep,
                    user: CurrentUser) -> CertificateOut:
    """Admins of the holder's agency. Event `user:certificate:added`."""
    return certificate_out(add_certificate(services.log, user, body.user, body.number,
                                           body.issuing_body, body.valid_from, body.valid_to,
                                           services.now()))


@router.get("/users/{name}/certificates", response_model=CertificateList,
            responses=responses(401, 403), summary="A user's enforcement certificates")
def certificates(name: Annotated[UserName, Path()], services: ServicesDep,
                 user: CurrentUser) -> CertificateList:
    """The user themselves, or an admin of their agency."""
    return CertificateList(items=[certificate_out(c) for c in
                                  list_certificates(services.engine, user, name)])


@router.post("/cases/{case_id}/actions", response_model=ActionOut, status_code=201,
             responses=responses(400, 401, 403, 404), summary="Open an enforcement action")
def new_action(case_id: UUID, body: ActionIn, services: ServicesDep,
               user: CurrentUser) -> ActionOut:
    """A case officer of the case, or an admin of its agency; a draft. The party's id number
    is kept in the catalogue and masked in the event `case:action:opened`."""
    party = Party(parse_party_kind(body.party.kind), body.party.name, body.party.id_number)
    return action_out(open_action(services.log, user, str(case_id), parse_kind(body.kind),
                                  str(body.matter_id), party, body.on_site, body.action_date,
                                  services.now()))


@router.get("/cases/{case_id}/actions", response_model=ActionList,
            responses=responses(401, 403, 404), summary="A case's enforcement actions")
def actions(case_id: UUID, services: ServicesDep, user: CurrentUser) -> ActionList:
    """For who may read the case."""
    return ActionList(items=[action_out(a) for a in
                             list_actions(services.engine, user, str(case_id))])


@router.get("/actions/{action_id}", response_model=ActionOut,
            responses=responses(401, 403, 404), summary="Read an enforcement action")
def read_action(action_id: UUID, services: ServicesDep, user: CurrentUser) -> ActionOut:
    """For who may read its case."""
    return action_out(get_action(services.engine, user, str(action_id)))


@router.put("/actions/{action_id}/officers", response_model=ActionOut,
            responses=responses(400, 401, 403, 404, 409),
            summary="Name an action's handling officers")
def handlers(action_id: UUID, body: HandlersIn, services: ServicesDep,
             user: CurrentUser) -> ActionOut:
    """Replaces the handling officers. Each needs an enforcement certificate valid on the
    action's date; on-site work needs at least two (400 says who lacks what). Event
    `case:action:handlers-assigned`."""
    return action_out(assign_handlers(services.log, user, str(action_id), list(body.officers),
                                      services.now()))


class DocumentIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=TEXT_PATTERN)]
    kind: Literal["form", "transcript", "notice", "decision", "draft_decision", "scan", "other",
                  "investigation_report", "rights_notice", "statement", "hearing_record",
                  "evidence_list", "application", "service_receipt"]
    content_base64: Annotated[str, StringConstraints(pattern=BASE64_PATTERN)] = Field(
        description="The file's exact bytes, base64 (RFC 4648, padded).")


class DocumentOut(BaseModel):
    evidence_id: str
    case_id: str
    kind: str
    media_type: str
    name: str
    sha256: str
    size: int
    added_at: datetime
    added_by: str


class DocumentList(BaseModel):
    items: list[DocumentOut]


def document_out(d: CaseDocument) -> DocumentOut:
    return DocumentOut(evidence_id=d.evidence_id, case_id=d.case_id, kind=d.kind.value,
                       media_type=d.media_type, name=d.original_name, sha256=d.sha256,
                       size=d.size, added_at=d.added_at, added_by=d.added_by)


@router.post("/cases/{case_id}/documents", response_model=DocumentOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409, 413), summary="Add a case document",
             openapi_extra={LIMIT_KEY: DOCUMENT_BODY_LIMIT})
def new_document(case_id: UUID, body: DocumentIn, services: ServicesDep,
                 user: CurrentUser) -> DocumentOut:
    """A case officer of the case, or an admin of its agency: a PDF, DOCX, JPEG or PNG (told
    by its bytes) of up to 20 MiB, stored bit for bit like footage (`evidence:file:ingested`,
    `evidence:file:verified`) and put on the case, kept permanently (`case:document:added`)."""
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except binascii.Error:
        raise InvalidRequest(msg("content_base64 is not base64"),
                             hint=msg("send the file's bytes, base64 (RFC 4648, padded)")) from None
    return document_out(add_document(services.log, services.store, user, str(case_id),
                                     body.name, parse_document_kind(body.kind), data,
                                     services.now()))


@router.get("/cases/{case_id}/documents", response_model=DocumentList,
            responses=responses(401, 403, 404), summary="A case's documents")
def documents(case_id: UUID, services: ServicesDep, user: CurrentUser) -> DocumentList:
    """For who may read the case; they are also listed with its footage (GET /cases/{id})."""
    return DocumentList(items=[document_out(d) for d in
                               list_documents(services.engine, user, str(case_id))])


# --- the legal review of major decisions (cases/legal_review.py) ------------------------------

class CatalogueIn(Strict):
    rules: Annotated[list[dict[str, Any]], Field(max_length=200)]


class VersionOut(BaseModel):
    agency: str
    version: int


class MajorIn(Strict):
    reason: ReasonText


class FactsIn(Strict):
    fine: Annotated[int, Field(ge=0, le=10**12)] | None = None  # yuan
    licence_revoked: bool | None = None
    business_closed: bool | None = None
    after_hearing: bool | None = None


class MaterialsIn(Strict):
    draft: UUID = Field(description="The draft decision: a document of the case.")
    cited: list[UUID] = Field(default_factory=list, max_length=1000)
    facts: FactsIn = Field(default_factory=FactsIn)


class PacketHash(BaseModel):
    packet_sha256: str


class ChecklistItem(Strict):
    result: Literal["pass", "fail", "material"]
    note: LongText | None = None


class ChecklistIn(Strict):
    """The plan's eight points (cases.legal_review.CHECKLIST), each passed, failed or
    needing material."""

    enforcing_body_lawful: ChecklistItem
    officers_qualified: ChecklistItem
    procedure_lawful: ChecklistItem
    facts_and_evidence: ChecklistItem
    law_and_discretion: ChecklistItem
    within_authority: ChecklistItem
    documents_in_order: ChecklistItem
    possible_crime: ChecklistItem


class OpinionIn(Strict):
    opinion: Literal["pass", "fail", "return"]
    reasons: Annotated[str, StringConstraints(min_length=1, max_length=4000,
                                              pattern=TEXT_PATTERN)]
    checklist: ChecklistIn


class ReasonIn(Strict):
    reason: ReasonText


class RulingIn(ReasonIn):
    upheld: bool


class AdviceOut(BaseModel):
    id: str
    packet_id: str
    adviser_kind: str = Field(description="legal_adviser (法律顾问) or government_lawyer (公职律师).")
    question: str
    requested_by: str
    requested_at: datetime
    adviser: str | None = Field(description="Who gave the opinion; null while it is awaited.")
    opinion: str | None
    given_on: date | None
    recorded_by: str | None


class PacketOut(BaseModel):
    id: str
    action_id: str
    sha256: str
    listing: dict[str, Any]
    submitted_at: datetime
    submitted_by: str
    due: date
    due_confirmed: bool = Field(
        description="Every working day counted to `due` is on a known official holiday "
                    "calendar; false: the day may still move when the calendar is published.")
    opinion: str | None
    reviewed_by: str | None
    approved_by: str | None
    contested: bool
    ruling: str | None
    overdue: bool = Field(description="Waiting for an opinion past its due date "
                                      "(the Asia/Shanghai date).")
    voided_at: datetime | None = Field(
        description="Set once the materials changed after the submission: the packet, its "
                    "opinion and approval no longer count, for good.")
    voided_reason: str | None
    advice: list[AdviceOut] = Field(default_factory=list,
                                    description="Legal advisers' opinions asked for and given.")


class PacketList(BaseModel):
    items: list[PacketOut]


def advice_out(a: Advice) -> AdviceOut:
    return AdviceOut(id=a.id, packet_id=a.packet_id, adviser_kind=a.adviser_kind.value,
                     question=a.question, requested_by=a.requested_by,
                     requested_at=a.requested_at, adviser=a.adviser, opinion=a.opinion,
                     given_on=a.given_on, recorded_by=a.recorded_by)


def packet_out(p: Packet, today: date | None = None,
               advice: list[Advice] | None = None) -> PacketOut:
    return PacketOut(overdue=today is not None and p.overdue(today), id=p.id,
                     action_id=p.action_id, sha256=p.sha256, listing=p.listing,
                     submitted_at=p.submitted_at, submitted_by=p.submitted_by, due=p.due,
                     due_confirmed=p.due_confirmed, opinion=p.opinion,
                     reviewed_by=p.reviewed_by, approved_by=p.approved_by,
                     contested=p.contested, ruling=p.ruling, voided_at=p.voided_at,
                     voided_reason=p.voided_reason,
                     advice=[advice_out(a) for a in advice or []])


def one_packet_out(services: Services, packet: Packet) -> PacketOut:
    """The packet as answered after a step: with its advice and `overdue` of today."""
    return packets_out(services, [packet]).items[0]


def packets_out(services: Services, packets: list[Packet]) -> PacketList:
    advice = advice_by_packet(services.engine, packets)
    today = local_day(services.now())
    return PacketList(items=[packet_out(p, today, advice[p.id]) for p in packets])


@router.put("/agencies/{agency}/major-catalogue", response_model=VersionOut,
            responses=responses(400, 401, 403), summary="Set the major-decision catalogue")
def major_catalogue(agency: Annotated[AgencyCode, Path()], body: CatalogueIn,
                    services: ServicesDep, user: CurrentUser) -> VersionOut:
    """Admins of the agency: a new version of its catalogue of major decisions (rules by
    kind, matter_id, fine_at_least, licence_revoked, business_closed, after_hearing).
    Event `org:major-catalogue:set`."""
    return VersionOut(agency=agency, version=set_catalogue(services.log, user, agency,
                                                           body.rules, services.now()))


@router.post("/actions/{action_id}/major", status_code=204, response_class=Response,
             responses=responses(400, 401, 403, 404), summary="Mark an action major")
def major(action_id: UUID, body: MajorIn, services: ServicesDep, user: CurrentUser) -> Response:
    """By hand, with the reason. Event `case:action:marked-major`."""
    mark_major(services.log, user, str(action_id), body.reason, services.now())
    return Response(status_code=204)


@router.put("/actions/{action_id}/materials", response_model=PacketHash,
            responses=responses(400, 401, 403, 404, 409), summary="Set draft and materials")
def materials(action_id: UUID, body: MaterialsIn, services: ServicesDep,
              user: CurrentUser) -> PacketHash:
    """The draft decision, the items it cites and its facts. A change voids, for good, every
    packet submitted of other materials (`case:review:voided`). Event
    `case:action:materials-set`."""
    return PacketHash(packet_sha256=set_materials(
        services.log, user, str(action_id), str(body.draft), [str(c) for c in body.cited],
        body.facts.model_dump(exclude_none=True), services.now()))


@router.post("/actions/{action_id}/reviews", response_model=PacketOut, status_code=201,
             responses=responses(401, 403, 404, 409), summary="Submit for legal review")
def submit_review(action_id: UUID, services: ServicesDep, user: CurrentUser) -> PacketOut:
    """送审: the materials the action's kind requires must be cited (409 naming each missing
    one), and every cited item must verify (stored bytes re-hashed, recording event proven
    in a signed checkpoint; a witnessed log: one the witnesses' quorum cosigned; 409 naming
    each that fails). Due `review_days` working days later on the official calendar
    (`due_confirmed`). Event `case:review:submitted`."""
    return one_packet_out(services, submit(
        services.log, services.store, services.verifier, user, str(action_id), services.now(),
        working_days=services.options.review_days,
        witnesses=services.options.review_witnesses))


@router.get("/actions/{action_id}/reviews", response_model=PacketList,
            responses=responses(401, 403, 404), summary="An action's reviews")
def reviews(action_id: UUID, services: ServicesDep, user: CurrentUser) -> PacketList:
    """Every packet submitted, with its opinion, contest, ruling and approval."""
    return packets_out(services, packets_of(services.engine, user, str(action_id)))


@router.get("/reviews", response_model=PacketList, responses=responses(401, 403),
            summary="The legal reviewer's queue")
def review_queue(services: ServicesDep, user: CurrentUser) -> PacketList:
    """Reviewers: the packets of their agency waiting for an opinion, the earliest due first
    (`overdue` once the due date passed)."""
    return packets_out(services, review_queue_of(services.engine, user))


@router.post("/reviews/{packet_id}/opinion", response_model=PacketOut,
             responses=responses(400, 401, 403, 404, 409), summary="Give the review opinion")
def opinion(packet_id: UUID, body: OpinionIn, services: ServicesDep,
            user: CurrentUser) -> PacketOut:
    """Reviewers of the case's agency: the eight-point checklist and pass, fail or return.
    Event `case:review:opinion`."""
    checklist = {k: {"result": v.result, **({"note": v.note} if v.note else {})}
                 for k, v in ((k, getattr(body.checklist, k)) for k in CHECKLIST)}
    return one_packet_out(services, record_opinion(services.log, user, str(packet_id), Opinion(body.opinion),
                                     body.reasons, checklist, services.now()))


@router.post("/reviews/{packet_id}/contest", response_model=PacketOut,
             responses=responses(400, 401, 403, 404, 409), summary="Contest an opinion")
def contest_opinion(packet_id: UUID, body: ReasonIn, services: ServicesDep,
                    user: CurrentUser) -> PacketOut:
    """The handling unit. Event `case:review:contested`."""
    return one_packet_out(services, contest(services.log, user, str(packet_id), body.reason, services.now()))


@router.post("/reviews/{packet_id}/ruling", response_model=PacketOut,
             responses=responses(400, 401, 403, 404, 409), summary="Rule on a contest")
def ruling(packet_id: UUID, body: RulingIn, services: ServicesDep,
           user: CurrentUser) -> PacketOut:
    """The principal (an admin of the agency). Event `case:review:ruled`."""
    return one_packet_out(services, rule(services.log, user, str(packet_id), body.upheld, body.reason,
                           services.now()))


@router.post("/reviews/{packet_id}/approval", response_model=PacketOut,
             responses=responses(401, 403, 404, 409), summary="Approve a reviewed decision")
def approval(packet_id: UUID, services: ServicesDep, user: CurrentUser) -> PacketOut:
    """The approving head (an admin of the agency), after a pass. Event `case:review:approved`."""
    return one_packet_out(services, approve(services.log, user, str(packet_id), services.now()))


@router.post("/actions/{action_id}/decision", status_code=204, response_class=Response,
             responses=responses(401, 403, 404, 409), summary="Record the decision")
def decision(action_id: UUID, services: ServicesDep, user: CurrentUser) -> Response:
    """THE GATE: a major action needs a passed review of exactly its current draft and
    materials, and the head's approval; 409 says what is missing. Event `case:action:decided`."""
    decide(services.log, user, str(action_id), services.now())
    return Response(status_code=204)
