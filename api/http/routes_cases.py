"""Cases: create, list, read; attach and detach evidence; case officers; review; export."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.http.auth import CurrentUser
from api.http.convert import attached_out, case_detail_out, case_out
from api.http.errors import responses
from api.http.models import (
    MAX_INT,
    AttachedList,
    AttachedOut,
    AttachIn,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePage,
    OfficerIn,
    Reason,
    UserName,
)
from api.http.services import ServicesDep
from cases.bundle import build_bundle
from cases.case_records import (
    assign_officer,
    attach_evidence,
    attach_many,
    case_detail,
    create_case,
    detach_evidence,
    list_cases,
    prepare_export,
    remove_officer,
)
from cases.paging import MAX_PAGE
from cases.review import request_review

router = APIRouter(tags=["cases"])


@router.post("/cases", response_model=CaseOut, status_code=201,
             responses=responses(400, 401, 403, 409), summary="Open a case")
def new_case(body: CaseIn, services: ServicesDep, user: CurrentUser) -> CaseOut:
    """Case officers and admins; the case belongs to the creator's unit and the creator manages
    it. Event `case:record:created`."""
    return case_out(create_case(services.log, user, body.title, body.number, services.now()))


@router.get("/cases", response_model=CasePage, responses=responses(401, 403), summary="List cases")
def cases_page(services: ServicesDep, user: CurrentUser,
               offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> CasePage:
    """Case officers see the cases they manage, reviewers their agency's cases sent for review,
    auditors the cases in their scope, admins their agency's cases."""
    page = list_cases(services.engine, user, offset, limit)
    return CasePage(items=[case_out(c) for c in page.items], total=page.total, offset=page.offset,
                    limit=page.limit, next_offset=page.next_offset)


@router.get("/cases/{case_id}", response_model=CaseDetailOut, responses=responses(401, 403, 404),
            summary="Read a case")
def read_case(case_id: UUID, services: ServicesDep, user: CurrentUser) -> CaseDetailOut:
    """The case, its evidence, and every custody event naming it."""
    return case_detail_out(case_detail(services.engine, user, str(case_id)))


@router.post("/cases/{case_id}/evidence", response_model=AttachedOut | AttachedList,
             status_code=201, responses=responses(401, 403, 404, 409, 503),
             summary="Attach evidence")
def attach(case_id: UUID, body: AttachIn, services: ServicesDep,
           user: CurrentUser) -> AttachedOut | AttachedList:
    """Footage you can see, of the case's unit or granted to the case. Footage on a case is
    kept permanently: its retention is lengthened to 100 years and the event
    `case:evidence:attached` records the new date and the objects. With `evidence_id` the
    answer is the item; with `evidence_ids` (up to 500) all are attached or none: the answer
    lists them, and an error lists in `error.items` every item that cannot be attached and
    why (the status is that of the first)."""
    if body.evidence_id is not None:
        return attached_out(attach_evidence(services.log, services.store, user, str(case_id),
                                            str(body.evidence_id), services.now()))
    assert body.evidence_ids is not None
    made = attach_many(services.log, services.store, user, str(case_id),
                       [str(item) for item in body.evidence_ids], services.now())
    return AttachedList(items=[attached_out(item) for item in made])


@router.delete("/cases/{case_id}/evidence/{evidence_id}", status_code=204,
               responses=responses(401, 403, 404), summary="Detach evidence",
               response_class=Response)
def detach(case_id: UUID, evidence_id: UUID, services: ServicesDep, user: CurrentUser) -> Response:
    """Event `case:evidence:detached`. Retention is never shortened."""
    detach_evidence(services.log, user, str(case_id), str(evidence_id), services.now())
    return Response(status_code=204)


@router.post("/cases/{case_id}/officers", response_model=CaseOut,
             responses=responses(400, 401, 403, 404, 409), summary="Assign a case officer")
def add_officer(case_id: UUID, body: OfficerIn, services: ServicesDep,
                user: CurrentUser) -> CaseOut:
    """Admins, or a case officer of this case. Event `case:officer:assigned`."""
    return case_out(assign_officer(services.log, user, str(case_id), body.user, services.now()))


@router.delete("/cases/{case_id}/officers/{name}", response_model=CaseOut,
               responses=responses(401, 403, 404), summary="Remove a case officer")
def drop_officer(case_id: UUID, name: Annotated[UserName, Path()], services: ServicesDep,
                 user: CurrentUser) -> CaseOut:
    """Admins of the case's agency. Event `case:officer:removed`."""
    return case_out(remove_officer(services.log, user, str(case_id), name, services.now()))


@router.post("/cases/{case_id}/review", response_model=CaseOut,
             responses=responses(401, 403, 404, 409), summary="Send a case for review")
def review(case_id: UUID, services: ServicesDep, user: CurrentUser) -> CaseOut:
    """A case officer of the case, or an admin of its agency; the agency's reviewers may then
    read it and its footage. Once per case (409 after). Event `case:review:requested`."""
    return case_out(request_review(services.log, user, str(case_id), services.now()))


@router.get("/cases/{case_id}/export", response_class=FileResponse,
            responses={200: {"description": "The export bundle.",
                             "content": {"application/zip": {"schema": {
                                 "type": "string", "format": "binary"}}}},
                       **responses(401, 403, 404, 503)},
            summary="Export the case bundle")
def export(case_id: UUID, services: ServicesDep, user: CurrentUser,
           include_playback: Annotated[bool, Query(description="Add playback copies.")] = False,
           reason: Annotated[Reason | None, Query()] = None) -> FileResponse:
    """Case officers of the case, reviewers (once it is sent for review) and admins of its
    agency. Event `case:bundle:requested` (who asked, and why), then `case:bundle:exported`
    (what the bundle holds: its manifest's SHA-256).
    The bundle carries every custody event of the case with its inclusion proof."""
    case = prepare_export(services.log, user, str(case_id), include_playback, reason,
                          services.now())
    workdir = FilePath(tempfile.mkdtemp(prefix="evidence-export-"))
    try:
        path = build_bundle(services.engine, services.store, services.log, case.id,
                            include_playback=include_playback, actor=user.actor,
                            out_dir=workdir, now=services.now())
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(path, media_type="application/zip", filename=path.name,
                        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True))
