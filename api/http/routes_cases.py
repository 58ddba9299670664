"""Cases: create, list, read; attach and detach evidence; case officers; review; export."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.http.auth import CurrentUser
from api.http.convert import attached_out, case_detail_out, case_out
from api.http.errors import LocaleDep, responses
from api.http.models import (
    MAX_INT,
    AttachedList,
    AttachedOut,
    AttachIn,
    AttachManyIn,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePage,
    ExportIn,
    ExportJobList,
    ExportJobOut,
    OfficerIn,
    Reason,
    UserName,
)
from api.http.routes_evidence import SESSION_DOC, stream_responses
from api.http.services import ServicesDep
from api.http.streaming import file_opener, serve_bytes
from api.i18n import tr
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
from cases.export_jobs import (
    DONE,
    ExportJob,
    case_number,
    download_drafts,
    finished_bundle,
    get_export,
    list_exports,
    start_export,
    sweep,
)
from cases.paging import MAX_PAGE
from cases.review import request_review
from cases.viewing import open_session

router = APIRouter(tags=["cases"])
PREFIX = "/api/v1"


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
def attach(case_id: UUID, body: AttachIn | AttachManyIn, services: ServicesDep,
           user: CurrentUser) -> AttachedOut | AttachedList:
    """Footage you can see, of the case's unit or granted to the case. Footage on a case is
    kept permanently: its retention is lengthened to 100 years and the event
    `case:evidence:attached` records the new date and the objects. With `evidence_id` the
    answer is the item; with `evidence_ids` (up to 500) all are attached or none: the answer
    lists them, and an error lists in `error.items` every item that cannot be attached and
    why (the status is that of the first)."""
    if isinstance(body, AttachIn):
        return attached_out(attach_evidence(services.log, services.store, user, str(case_id),
                                            str(body.evidence_id), services.now()))
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


def _job_out(job: ExportJob, locale: str) -> ExportJobOut:
    done = job.state == DONE
    return ExportJobOut(
        id=job.id, case_id=job.case_id, state=job.state,  # type: ignore[arg-type]
        requested_by=job.requested_by, include_playback=job.include_playback, reason=job.reason,
        items_total=job.items_total, items_done=job.items_done, bytes_total=job.bytes_total,
        bytes_done=job.bytes_done, file_name=job.file_name, size=job.size, sha256=job.sha256,
        manifest_sha256=job.manifest_sha256, error=None if job.error is None else tr(job.error, locale),
        created_at=job.created_at,
        updated_at=job.updated_at, finished_at=job.finished_at, expires_at=job.expires_at,
        download=f"{PREFIX}/cases/{job.case_id}/exports/{job.id}/download" if done else None)


@router.post("/cases/{case_id}/exports", response_model=ExportJobOut, status_code=202,
             responses=responses(400, 401, 403, 404, 409, 503), summary="Start a case export")
def start_case_export(case_id: UUID, body: ExportIn, services: ServicesDep,
                      user: CurrentUser, locale: LocaleDep) -> ExportJobOut:
    """Who may export the case bundle (see GET /cases/{id}/export). Logs
    `case:bundle:requested` now, then builds the bundle on the server, in the background: the
    build goes on if the client leaves. Follow it with GET /cases/{id}/exports/{export_id}
    (items and bytes done of total); download it once `done`. A finished bundle is kept 24 h.
    The same job as `evidence case-export`."""
    sweep(services.engine, services.export_dir, services.now())
    job = start_export(services.log, user, str(case_id), body.include_playback, body.reason,
                       services.now())
    services.exports.submit(job.id)
    return _job_out(job, locale)


@router.get("/cases/{case_id}/exports", response_model=ExportJobList,
            responses=responses(401, 403, 404), summary="List a case's exports")
def case_exports(case_id: UUID, services: ServicesDep, user: CurrentUser,
                 locale: LocaleDep) -> ExportJobList:
    """Every export of the case, newest first, with its progress; for who may export it."""
    sweep(services.engine, services.export_dir, services.now())
    return ExportJobList(items=[_job_out(job, locale) for job in
                                list_exports(services.engine, user, str(case_id))])


@router.get("/cases/{case_id}/exports/{export_id}", response_model=ExportJobOut,
            responses=responses(401, 403, 404), summary="Follow a case export")
def case_export(case_id: UUID, export_id: UUID, services: ServicesDep,
                user: CurrentUser, locale: LocaleDep) -> ExportJobOut:
    """Its state and progress: items and bytes done of total; a failure's `error` in the
    Accept-Language."""
    sweep(services.engine, services.export_dir, services.now())
    return _job_out(get_export(services.engine, user, str(case_id), str(export_id)), locale)


@router.get("/cases/{case_id}/exports/{export_id}/download", response_class=StreamingResponse,
            responses={**stream_responses("application/zip"),
                       **responses(401, 403, 404, 409, 416, 503)},
            summary="Download a finished case export",
            description="The ZIP built on the server, streamed from its file (never held in "
                        "memory), for who may export the case; 409 until it is done, and once "
                        "it expired. Appends `case:bundle:downloaded` (the ZIP's and the "
                        "manifest's SHA-256, the reason) once per download session. "
                        + SESSION_DOC)
def download_case_export(case_id: UUID, export_id: UUID, request: Request,
                         services: ServicesDep, user: CurrentUser,
                         reason: Annotated[Reason | None, Query()] = None) -> StreamingResponse:
    sweep(services.engine, services.export_dir, services.now())
    job, path = finished_bundle(services.engine, user, str(case_id), str(export_id),
                                services.export_dir)
    assert job.size is not None and job.sha256 is not None and job.file_name is not None
    number, now = case_number(services.engine, job.case_id), services.now()
    return serve_bytes(
        request, size=job.size, sha256=job.sha256, open_reader=file_opener(path),
        media_type="application/zip", filename=job.file_name,
        start_session=lambda: open_session(
            services.log, user, "bundle", f"export:{job.id}", reason,
            download_drafts(user, job, number, reason, now), now=now,
            idle=services.options.playback_idle))
