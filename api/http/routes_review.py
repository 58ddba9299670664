"""The legal review's further steps (cases/review_materials.py, legal_advice.py,
decision_service.py, packet_bundle.py): the agency's required review materials, a legal
adviser's or government lawyer's opinion on a packet, the service of a decision, and a
packet's bundle for offline verification. The same functions as `evidence action ...`."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.background import BackgroundTask

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import AgencyCode, Strict
from api.http.routes_actions import AdviceOut, VersionOut, advice_out
from api.http.services import ServicesDep
from cases.decision_service import Service, parse_method, record_service, services_of
from cases.legal_advice import parse_adviser_kind, record_advice, request_advice
from cases.packet_bundle import build_packet_bundle
from cases.review_materials import read_requirements, set_requirements
from cases.text import TEXT_PATTERN

router = APIRouter(tags=["enforcement"])

Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
Text4000 = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=TEXT_PATTERN)]


class RequirementsIn(Strict):
    requirements: dict[str, Annotated[list[dict[str, Any]], Field(max_length=50)]] = Field(
        description="By kind of action (licensing, penalty, compulsory, levy, inspection): "
                    "a list of {name, kinds: [document kinds, any one satisfies it], when?: "
                    "licence_revoked | business_closed | after_hearing}. Kinds not given keep "
                    "their defaults.")


class RequirementsOut(BaseModel):
    agency: str
    version: int = Field(description="0: the defaults, never set by the agency.")
    requirements: dict[str, list[dict[str, Any]]]


class AdviceRequestIn(Strict):
    adviser_kind: Literal["legal_adviser", "government_lawyer"]
    question: Text4000


class AdviceIn(Strict):
    adviser: Text200 = Field(description="Who gave the opinion (name, firm or office).")
    opinion: Text4000
    given_on: date


class ServiceIn(Strict):
    served_on: date
    method: Literal["direct", "post", "left", "electronic", "public_notice"] = Field(
        description="直接送达 direct, 邮寄送达 post, 留置送达 left, 电子送达 electronic, "
                    "公告送达 public_notice.")
    recipient: Text200


class ServiceOut(BaseModel):
    id: str
    action_id: str
    served_on: date
    method: str
    recipient: str
    recorded_by: str
    recorded_at: datetime


class ServiceList(BaseModel):
    items: list[ServiceOut]


def service_out(s: Service) -> ServiceOut:
    return ServiceOut(id=s.id, action_id=s.action_id, served_on=s.served_on,
                      method=s.method.value, recipient=s.recipient, recorded_by=s.recorded_by,
                      recorded_at=s.recorded_at)


@router.get("/agencies/{agency}/review-materials", response_model=RequirementsOut,
            responses=responses(401, 403), summary="Required review materials")
def review_materials(agency: Annotated[AgencyCode, Path()], services: ServicesDep,
                     user: CurrentUser) -> RequirementsOut:
    """The materials each kind of action must cite when submitted for legal review."""
    version, requirements = read_requirements(services.engine, user, agency)
    return RequirementsOut(agency=agency, version=version, requirements=requirements)


@router.put("/agencies/{agency}/review-materials", response_model=VersionOut,
            responses=responses(400, 401, 403), summary="Set the required review materials")
def set_review_materials(agency: Annotated[AgencyCode, Path()], body: RequirementsIn,
                         services: ServicesDep, user: CurrentUser) -> VersionOut:
    """Admins of the agency: a new version. Event `org:review-materials:set`."""
    return VersionOut(agency=agency, version=set_requirements(
        services.log, user, agency, body.requirements, services.now()))


@router.post("/reviews/{packet_id}/advice", response_model=AdviceOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409),
             summary="Ask a legal adviser or government lawyer")
def ask_advice(packet_id: UUID, body: AdviceRequestIn, services: ServicesDep,
               user: CurrentUser) -> AdviceOut:
    """Reviewers of the case's agency, before their opinion. Event
    `case:review:advice-requested`."""
    return advice_out(request_advice(services.log, user, str(packet_id),
                                     parse_adviser_kind(body.adviser_kind), body.question,
                                     services.now()))


@router.put("/reviews/{packet_id}/advice/{advice_id}", response_model=AdviceOut,
            responses=responses(400, 401, 403, 404, 409), summary="Record an adviser's opinion")
def give_advice(packet_id: UUID, advice_id: UUID, body: AdviceIn, services: ServicesDep,
                user: CurrentUser) -> AdviceOut:
    """Reviewers of the case's agency record who gave it, what and when; once. Event
    `case:review:advice-recorded`."""
    return advice_out(record_advice(services.log, user, str(packet_id), str(advice_id),
                                    body.adviser, body.opinion, body.given_on, services.now()))


@router.post("/actions/{action_id}/service", response_model=ServiceOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Record service of the decision")
def serve_decision(action_id: UUID, body: ServiceIn, services: ServicesDep,
                   user: CurrentUser) -> ServiceOut:
    """送达: a case officer of the case or an admin of its agency, after the decision (409
    before). Event `case:action:decision-served`."""
    return service_out(record_service(services.log, user, str(action_id), body.served_on,
                                      parse_method(body.method), body.recipient,
                                      services.now()))


@router.get("/actions/{action_id}/service", response_model=ServiceList,
            responses=responses(401, 403, 404), summary="How the decision was served")
def decision_services(action_id: UUID, services: ServicesDep, user: CurrentUser) -> ServiceList:
    """For who may read the case."""
    return ServiceList(items=[service_out(s) for s in
                              services_of(services.engine, user, str(action_id))])


@router.get("/reviews/{packet_id}/bundle", response_class=FileResponse,
            responses={**responses(401, 403, 404, 409),
                       200: {"content": {"application/zip": {"schema": {
                           "type": "string", "format": "binary"}}},
                             "description": "The packet's bundle (ZIP)."}},
            summary="Export a review packet as a bundle")
def packet_bundle(packet_id: UUID, services: ServicesDep, user: CurrentUser) -> FileResponse:
    """For who may export the case (not auditors: it holds the originals): the packet's
    listing, each cited item's bytes and the custody events (ingest of each item, every
    review step) with inclusion proofs in one signed checkpoint; `evidence verify-bundle`
    checks it offline. Event `case:review:packet-exported`."""
    services.export_dir.mkdir(parents=True, exist_ok=True)
    work = FilePath(tempfile.mkdtemp(prefix=".packet-", dir=services.export_dir))
    try:
        path = build_packet_bundle(services.log, services.store, user, str(packet_id), work,
                                   services.now())
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(path, media_type="application/zip", filename=path.name,
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))
