"""Publication before the action, for an agency's admins: its random-inspection list, its
service guides, and what of its four lists the public site shows (cases/public_lists.py and
cases/public_entries.py; the same functions as `evidence inspection|guide|publication ...`).
The public site itself (no sign-in) is ``api.http.public_site``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, StringConstraints

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import AgencyCode, Strict
from api.http.services import ServicesDep
from cases import public_entries as pe
from cases import public_lists as pl
from cases.text import TEXT_PATTERN

router = APIRouter(tags=["publication"])

Name = Annotated[str, StringConstraints(min_length=1, max_length=pl.NAME_MAX, pattern=TEXT_PATTERN)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=pl.TEXT_MAX,
                                            pattern=TEXT_PATTERN)]
# A guide's text has lines; each is checked in cases.public_lists.long_text.
Body = Annotated[str, StringConstraints(min_length=1, max_length=pl.BODY_MAX)]
PublicName = Annotated[str, StringConstraints(min_length=1, max_length=pe.PUBLIC_NAME_MAX,
                                              pattern=TEXT_PATTERN)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
EntryId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^/\x00-\x1f]+$",
                              description="The item's id; an officer's certificate number.")]
ListName = Literal["matters", "officers", "inspections", "guides"]


class InspectionIn(Strict):
    name: Name
    basis: LongText
    subject: LongText
    method: LongText
    frequency: LongText


class InspectionChange(Strict):
    name: Name | None = None
    basis: LongText | None = None
    subject: LongText | None = None
    method: LongText | None = None
    frequency: LongText | None = None


class InspectionOut(BaseModel):
    id: str
    agency: str
    name: str
    basis: str
    subject: str
    method: str
    frequency: str
    updated_at: datetime
    updated_by: str


class InspectionList(BaseModel):
    items: list[InspectionOut]


class GuideIn(Strict):
    matter_id: UUID
    title: Name
    body: Body


class GuideChange(Strict):
    matter_id: UUID | None = None
    title: Name | None = None
    body: Body | None = None


class GuideOut(BaseModel):
    id: str
    agency: str
    matter_id: str
    matter: str
    title: str
    body: str
    updated_at: datetime
    updated_by: str


class GuideList(BaseModel):
    items: list[GuideOut]


class PublishIn(Strict):
    public_name: PublicName | None = None  # officers: the name the public sees (first time)


class WithdrawIn(Strict):
    reason: Reason


class EntryStatusOut(BaseModel):
    list: ListName
    id: str
    title: str
    published_at: datetime | None
    current: bool  # the public sees the entry as it is now
    holder: str | None = None  # officers: the certificate holder's user name


class EntryStatusList(BaseModel):
    items: list[EntryStatusOut]


class PublishedOut(BaseModel):
    list: ListName
    id: str
    agency: str
    title: str
    published_at: datetime


def inspection_out(i: pl.InspectionItem) -> InspectionOut:
    return InspectionOut(id=i.id, agency=i.agency_code, name=i.name, basis=i.basis,
                         subject=i.subject, method=i.method, frequency=i.frequency,
                         updated_at=i.updated_at, updated_by=i.updated_by)


def guide_out(g: pl.ServiceGuide) -> GuideOut:
    return GuideOut(id=g.id, agency=g.agency_code, matter_id=g.matter_id, matter=g.matter_name,
                    title=g.title, body=g.body, updated_at=g.updated_at, updated_by=g.updated_by)


@router.get("/agencies/{agency}/inspections", response_model=InspectionList,
            responses=responses(401, 403), summary="The agency's random-inspection list")
def inspections(agency: Annotated[AgencyCode, Path()], services: ServicesDep,
                user: CurrentUser) -> InspectionList:
    """Admins of the agency: every item, published or not."""
    return InspectionList(items=[inspection_out(i) for i in
                                 pl.list_inspections(services.engine, user, agency)])


@router.post("/agencies/{agency}/inspections", response_model=InspectionOut, status_code=201,
             responses=responses(400, 401, 403, 404), summary="Add an inspection item")
def new_inspection(agency: Annotated[AgencyCode, Path()], body: InspectionIn,
                   services: ServicesDep, user: CurrentUser) -> InspectionOut:
    """Admins of the agency. Event `org:inspection:added`; not public until published."""
    return inspection_out(pl.add_inspection(
        services.log, user, agency, name=body.name, basis=body.basis, subject=body.subject,
        method=body.method, frequency=body.frequency, now=services.now()))


@router.patch("/inspections/{item_id}", response_model=InspectionOut,
              responses=responses(400, 401, 403, 404), summary="Change an inspection item")
def edit_inspection(item_id: UUID, body: InspectionChange, services: ServicesDep,
                    user: CurrentUser) -> InspectionOut:
    """Admins of its agency. Event `org:inspection:changed`; the public copy waits for a new
    publication."""
    return inspection_out(pl.change_inspection(
        services.log, user, str(item_id), name=body.name, basis=body.basis, subject=body.subject,
        method=body.method, frequency=body.frequency, now=services.now()))


@router.delete("/inspections/{item_id}", status_code=204, responses=responses(401, 403, 404),
               summary="Remove an inspection item")
def delete_inspection(item_id: UUID, services: ServicesDep, user: CurrentUser) -> Response:
    """Admins of its agency; its public copy goes too. Event `org:inspection:removed`."""
    pl.remove_inspection(services.log, user, str(item_id), services.now())
    return Response(status_code=204)


@router.get("/agencies/{agency}/guides", response_model=GuideList,
            responses=responses(401, 403), summary="The agency's service guides")
def guides(agency: Annotated[AgencyCode, Path()], services: ServicesDep,
           user: CurrentUser) -> GuideList:
    """Admins of the agency: every guide, published or not."""
    return GuideList(items=[guide_out(g) for g in pl.list_guides(services.engine, user, agency)])


@router.post("/agencies/{agency}/guides", response_model=GuideOut, status_code=201,
             responses=responses(400, 401, 403, 404), summary="Add a service guide")
def new_guide(agency: Annotated[AgencyCode, Path()], body: GuideIn, services: ServicesDep,
              user: CurrentUser) -> GuideOut:
    """Admins of the agency; for one of its enforcement matters. Event `org:guide:added`."""
    return guide_out(pl.add_guide(services.log, user, agency, matter_id=str(body.matter_id),
                                  title=body.title, body=body.body, now=services.now()))


@router.patch("/guides/{guide_id}", response_model=GuideOut,
              responses=responses(400, 401, 403, 404), summary="Change a service guide")
def edit_guide(guide_id: UUID, body: GuideChange, services: ServicesDep,
               user: CurrentUser) -> GuideOut:
    """Admins of its agency. Event `org:guide:changed`."""
    return guide_out(pl.change_guide(
        services.log, user, str(guide_id),
        matter_id=None if body.matter_id is None else str(body.matter_id), title=body.title,
        body=body.body, now=services.now()))


@router.delete("/guides/{guide_id}", status_code=204, responses=responses(401, 403, 404),
               summary="Remove a service guide")
def delete_guide(guide_id: UUID, services: ServicesDep, user: CurrentUser) -> Response:
    """Admins of its agency; its public copy goes too. Event `org:guide:removed`."""
    pl.remove_guide(services.log, user, str(guide_id), services.now())
    return Response(status_code=204)


@router.get("/agencies/{agency}/publication/{list_name}", response_model=EntryStatusList,
            responses=responses(401, 403), summary="What of a list the public site shows")
def publication_status(agency: Annotated[AgencyCode, Path()], list_name: ListName,
                       services: ServicesDep, user: CurrentUser) -> EntryStatusList:
    """Admins of the agency: each entry, when it was published, and whether the public sees
    its current text."""
    return EntryStatusList(items=[
        EntryStatusOut(list=s.kind.value, id=s.entry_id, title=s.title,
                       published_at=s.published_at, current=s.current, holder=s.holder)
        for s in pe.list_status(services.engine, user, agency, pe.ListKind(list_name))])


@router.post("/publication/{list_name}/{entry_id}", response_model=PublishedOut,
             responses=responses(400, 401, 403, 404), summary="Publish an entry as it is now")
def publish_entry(list_name: ListName, entry_id: EntryId, body: PublishIn,
                  services: ServicesDep, user: CurrentUser) -> PublishedOut:
    """Admins of its agency. Event `org:public-entry:published` with the published fields; an
    officer needs `public_name` the first time."""
    entry = pe.publish(services.log, user, pe.ListKind(list_name), entry_id,
                       public_name=body.public_name, now=services.now())
    return PublishedOut(list=entry.kind.value, id=entry.entry_id, agency=entry.agency_code,
                        title=entry.title, published_at=entry.published_at)


@router.post("/publication/{list_name}/{entry_id}/withdraw", status_code=204,
             responses=responses(400, 401, 403, 404), summary="Take an entry off the public site")
def withdraw_entry(list_name: ListName, entry_id: EntryId, body: WithdrawIn,
                   services: ServicesDep, user: CurrentUser) -> Response:
    """Admins of its agency, with a reason. Event `org:public-entry:withdrawn`."""
    pe.withdraw(services.log, user, pe.ListKind(list_name), entry_id, body.reason,
                services.now())
    return Response(status_code=204)
