"""Enforcement: the agency's list of enforcement matters, officers' enforcement certificates,
and enforcement actions on cases (cases/actions.py; the same functions as `evidence matter|
certificate|action ...`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import Base64Bytes, BaseModel, Field, StringConstraints

from api.http.auth import CurrentUser
from api.http.bodies import LIMIT_KEY
from api.http.errors import responses
from api.http.models import AgencyCode, Strict, UserName
from api.http.services import ServicesDep
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

router = APIRouter(tags=["enforcement"])
DOCUMENT_BODY_LIMIT = DOCUMENT_MAX * 4 // 3 + 64 * 1024  # base64, and the JSON around it

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
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
    number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
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
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


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
    officers: Annotated[list[UserName], Field(min_length=1, max_length=20)]


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
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    kind: Literal["form", "transcript", "notice", "decision", "draft_decision", "scan", "other"]
    content_base64: Base64Bytes = Field(description="The file's exact bytes, base64.")


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
    if not body.content_base64:
        raise InvalidRequest("the document is empty", hint="send the file's bytes, base64")
    return document_out(add_document(services.log, services.store, user, str(case_id),
                                     body.name, parse_document_kind(body.kind),
                                     body.content_base64, services.now()))


@router.get("/cases/{case_id}/documents", response_model=DocumentList,
            responses=responses(401, 403, 404), summary="A case's documents")
def documents(case_id: UUID, services: ServicesDep, user: CurrentUser) -> DocumentList:
    """For who may read the case; they are also listed with its footage (GET /cases/{id})."""
    return DocumentList(items=[document_out(d) for d in
                               list_documents(services.engine, user, str(case_id))])
