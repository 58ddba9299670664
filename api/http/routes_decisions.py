"""Publication of decisions (公示), the back office: deadlines and the due lists, the
masked record, its confirmation, publishing, updating and revoking (cases/publication.py),
and each user's notices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StringConstraints

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import AgencyCode, Strict, UnitCode
from api.http.services import ServicesDep
from cases.publication import (
    FIELD_MAX,
    Publication,
    confirm,
    edit,
    get_publication,
    publication_of_action,
    publish,
    revoke,
    update_published,
)
from cases.publication_due import DueItem, due_list, notices_of, parse_status
from cases.text import REASON_MAX, TEXT_PATTERN

router = APIRouter(tags=["publication of decisions"])


PartyText = Annotated[str, StringConstraints(min_length=1, max_length=FIELD_MAX["party"],
                                             pattern=TEXT_PATTERN)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=FIELD_MAX["conclusion"],
                                            pattern=TEXT_PATTERN)]
NumberText = Annotated[str, StringConstraints(
    min_length=1, max_length=FIELD_MAX["document_number"], pattern=TEXT_PATTERN)]
ReasonText = Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX,
                                              pattern=TEXT_PATTERN)]


Status = Literal["due", "due_soon", "overdue", "published", "revoked"]


class DueItemOut(BaseModel):
    publication_id: str
    action_id: str
    case_id: str
    case_number: str
    agency: str
    unit: str
    kind: str
    state: str = Field(description="draft, reviewed, published or revoked.")
    decision_date: date
    due: date
    due_confirmed: bool = Field(description="False: counted into a year whose official "
                                            "schedule is not known yet (未确认).")
    status: Status
    published_at: datetime | None
    on_time: bool | None
    party: str = Field(description="As masked for publication.")
    responsible: list[str]


class DueList(BaseModel):
    items: list[DueItemOut]


class MaskedSpanOut(BaseModel):
    kind: str
    original: str
    replacement: str
    at: list[int] | None = Field(description="Where the replacement stands in the masked text.")


class ContentOut(BaseModel):
    agency: str
    agency_name: str
    kind: str
    party_kind: str
    party: str
    conclusion: str
    legal_basis: str
    decision_date: str
    document_number: str


class VersionOut(BaseModel):
    version: int
    content: ContentOut
    published_at: datetime
    published_by: str
    reason: str | None


class PublicationOut(BaseModel):
    id: str
    action_id: str
    case_id: str
    case_number: str
    agency: str
    unit: str
    kind: str
    decision_date: date
    due: date
    due_confirmed: bool
    state: str
    working: ContentOut = Field(description="The masked working copy: the next version.")
    masked: dict[str, list[MaskedSpanOut]] = Field(description="Per field, what was masked.")
    confirmed_by: str | None
    confirmed_at: datetime | None
    pending_changes: bool
    published_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    versions: list[VersionOut]


class EditIn(Strict):
    party: PartyText | None = None
    conclusion: LongText | None = None
    legal_basis: LongText | None = None
    document_number: NumberText | None = None


class ReasonIn(Strict):
    reason: ReasonText


def due_out(i: DueItem) -> DueItemOut:
    return DueItemOut(publication_id=i.publication_id, action_id=i.action_id, case_id=i.case_id,
                      case_number=i.case_number, agency=i.agency_code, unit=i.unit_code,
                      kind=i.kind, state=i.state, decision_date=i.decision_date, due=i.due,
                      due_confirmed=i.due_confirmed, status=i.status.value,
                      published_at=i.published_at, on_time=i.on_time, party=i.party,
                      responsible=list(i.responsible))


def publication_out(p: Publication) -> PublicationOut:
    return PublicationOut(
        id=p.id, action_id=p.action_id, case_id=p.case_id, case_number=p.case_number,
        agency=p.agency_code, unit=p.unit_code, kind=p.kind, decision_date=p.decision_date,
        due=p.due, due_confirmed=p.due_confirmed, state=p.state,
        working=ContentOut(**p.working),
        masked={f: [MaskedSpanOut(**s) for s in spans] for f, spans in p.masked.items()},
        confirmed_by=p.confirmed_by, confirmed_at=p.confirmed_at,
        pending_changes=p.pending_changes, published_at=p.published_at,
        revoked_at=p.revoked_at, revoked_by=p.revoked_by, revoke_reason=p.revoke_reason,
        versions=[VersionOut(version=v.version, content=ContentOut(**v.content),
                             published_at=v.published_at, published_by=v.published_by,
                             reason=v.reason) for v in p.versions])


@router.get("/publications", response_model=DueList, responses=responses(400, 401, 403),
            summary="Publication deadlines: due, due soon, overdue")
def publications(services: ServicesDep, user: CurrentUser,
                 status: Annotated[Status | None, Query(
                     description="One status; default: every unpublished record.")] = None,
                 agency: Annotated[AgencyCode | None, Query()] = None,
                 unit: Annotated[UnitCode | None, Query()] = None) -> DueList:
    """The publication records of the cases the user may read, earliest due first."""
    return DueList(items=[due_out(i) for i in due_list(
        services.engine, user, services.now(), parse_status(status), agency, unit)])


@router.get("/notices", response_model=DueList, responses=responses(401),
            summary="My notices: decisions I must publish")
def notices(services: ServicesDep, user: CurrentUser) -> DueList:
    """Every unpublished decision the user handles (handling officer, or officer of its
    case), overdue first."""
    return DueList(items=[due_out(i) for i in notices_of(services.engine, user, services.now())])


@router.get("/publications/{publication_id}", response_model=PublicationOut,
            responses=responses(401, 403, 404), summary="A publication record")
def publication(publication_id: UUID, services: ServicesDep,
                user: CurrentUser) -> PublicationOut:
    """The masked working copy, what was masked, and every version published."""
    return publication_out(get_publication(services.engine, user, str(publication_id)))


@router.get("/actions/{action_id}/publication", response_model=PublicationOut,
            responses=responses(401, 403, 404), summary="An action's publication record")
def action_publication(action_id: UUID, services: ServicesDep,
                       user: CurrentUser) -> PublicationOut:
    """The record drafted when the action's decision was recorded."""
    return publication_out(publication_of_action(services.engine, user, str(action_id)))


@router.patch("/publications/{publication_id}", response_model=PublicationOut,
              responses=responses(400, 401, 403, 404, 409), summary="Edit the working copy")
def edit_publication(publication_id: UUID, body: EditIn, services: ServicesDep,
                     user: CurrentUser) -> PublicationOut:
    """Masked again; must be confirmed again. Event `case:publication:edited`."""
    changes = body.model_dump(exclude_none=True)
    return publication_out(edit(services.log, user, str(publication_id), changes,
                                services.now()))


@router.post("/publications/{publication_id}/confirm", response_model=PublicationOut,
             responses=responses(400, 401, 403, 404, 409), summary="Confirm the masked text")
def confirm_publication(publication_id: UUID, services: ServicesDep,
                        user: CurrentUser) -> PublicationOut:
    """A person confirms the masked working copy. Event `case:publication:confirmed`."""
    return publication_out(confirm(services.log, user, str(publication_id), services.now()))


@router.post("/publications/{publication_id}/publish", response_model=PublicationOut,
             responses=responses(401, 403, 404, 409), summary="Publish the decision")
def publish_publication(publication_id: UUID, services: ServicesDep,
                        user: CurrentUser) -> PublicationOut:
    """Version 1 goes public. Event `case:publication:published`."""
    return publication_out(publish(services.log, user, str(publication_id), services.now()))


@router.post("/publications/{publication_id}/update", response_model=PublicationOut,
             responses=responses(400, 401, 403, 404, 409), summary="Publish a new version")
def update_publication(publication_id: UUID, body: ReasonIn, services: ServicesDep,
                       user: CurrentUser) -> PublicationOut:
    """The confirmed working copy as a new version; the reason shows in the public
    correction notice. Event `case:publication:updated`."""
    return publication_out(update_published(services.log, user, str(publication_id),
                                            body.reason, services.now()))


@router.post("/publications/{publication_id}/revoke", response_model=PublicationOut,
             responses=responses(400, 401, 403, 404, 409), summary="Revoke a publication")
def revoke_publication(publication_id: UUID, body: ReasonIn, services: ServicesDep,
                       user: CurrentUser) -> PublicationOut:
    """The public sees a revocation notice only. Event `case:publication:revoked`."""
    return publication_out(revoke(services.log, user, str(publication_id), body.reason,
                                  services.now()))
