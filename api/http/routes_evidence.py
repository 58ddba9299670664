"""Evidence: search, read, play back, download the original, legal hold, grants, retention."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.http.auth import CurrentUser
from api.http.convert import detail_out, evidence_page_json, summary_out
from api.http.errors import LocaleDep, responses
from api.http.models import (
    MAX_INT,
    Category,
    EvidenceDetailOut,
    EvidenceKind,
    EvidencePage,
    EvidenceSummaryOut,
    GrantIn,
    GrantOut,
    HoldIn,
    OfficerQuery,
    Reason,
    RecordingId,
    RetentionActionOut,
    RetentionIn,
    RetentionOut,
    SearchFlag,
    Serial,
    UnitCode,
    UtcTime,
)
from api.http.services import ServicesDep
from api.http.streaming import SESSION_HEADER, serve_bytes, serve_preview, store_opener
from cases.evidence import EvidenceFilter, change_legal_hold, evidence_detail, search_evidence
from cases.grants import grant_evidence
from cases.paging import MAX_PAGE
from cases.retention import run_retention
from cases.viewing import (
    DOWNLOADED,
    POSTER,
    STRIP,
    VIEWED,
    StoredTarget,
    open_session,
    original_target,
    photo_target,
    playback_target,
    preview_target,
    target_drafts,
)

router = APIRouter(tags=["evidence"])

ReasonQuery = Annotated[Reason | None, Query(description="Why you are viewing; recorded in the "
                                                         "custody event.")]
_HEADERS: dict[str, Any] = {
    "ETag": {"description": "Strong ETag: the file's SHA-256 in quotes.",
             "schema": {"type": "string"}},
    "Repr-Digest": {"description": "RFC 9530 SHA-256 of the whole file.",
                    "schema": {"type": "string"}},
    "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
    SESSION_HEADER: {"description": "The viewing session this request belongs to.",
                     "schema": {"type": "string", "format": "uuid"}},
}


def stream_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    binary = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {
        200: {"description": "The whole file (no Range, several ranges, or an If-Range that "
                             "does not match the ETag).", "content": binary, "headers": _HEADERS},
        206: {"description": "The requested byte range.", "content": binary, "headers": {
            **_HEADERS, "Content-Range": {"description": "bytes first-last/size",
                                          "schema": {"type": "string"}}}},
    }


STREAM_RESPONSES = stream_responses("video/mp4")
SESSION_DOC = (
    "Honours `Range` (one range; several are answered with the whole file, 200) and "
    "`If-Range` (the strong ETag is the file's SHA-256). A viewing session opens on the first "
    "request and is joined by the same user's requests for the same file within 30 minutes "
    "of the last one (unless they state a different `reason`); only opening a session "
    "appends a custody event. The session id is returned in `" + SESSION_HEADER + "`.")


@router.get("/evidence", response_model=EvidencePage, responses=responses(400, 401, 403),
            summary="Search evidence")
def list_evidence(
    services: ServicesDep, user: CurrentUser,
    officer: Annotated[OfficerQuery | None, Query(
        description="An officer number (exact), or part of an officer's name (the device "
                    "registry's, or a user's), e.g. 李娜.")] = None,
    device: Annotated[Serial | None, Query(description="Recorder serial.")] = None,
    time_from: Annotated[UtcTime | None, Query(
        alias="from", description="Start of the time window, ISO 8601 with a UTC offset or Z "
                                  "(e.g. 2024-03-15T14:30:00+08:00): every item whose span "
                                  "[start, start + duration] overlaps [from, to) is found; an "
                                  "item without a duration, by its start.")] = None,
    time_to: Annotated[UtcTime | None, Query(
        alias="to", description="End of the time window (not included), with a UTC offset.")
    ] = None,
    unit: Annotated[UnitCode | None, Query(
        description="Only this unit's footage, of what the caller may see.")] = None,
    case: Annotated[UUID | None, Query(description="Attached to this case.")] = None,
    category: Annotated[Category | None, Query(description="Retention category.")] = None,
    recording: Annotated[RecordingId | None, Query(description="Part of this recording.")] = None,
    kind: Annotated[EvidenceKind | None, Query()] = None,
    flag: Annotated[list[SearchFlag] | None, Query(
        description="Only items with this flag; repeat for several (all must hold).")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Response:
    """Only what the caller may see (their own footage, their unit's, their agency's...: see
    the role table); the rest is neither listed nor counted. Newest first. Items carry `id`
    and `sha256`. The total is counted up to 1000 items past the page; beyond, `total_exact` is false and
    `total` says "at least"."""
    page = search_evidence(services.engine, user, EvidenceFilter(
        officer=officer, device_serial=device, time_from=time_from, time_to=time_to, unit=unit,
        case_id=str(case) if case else None, category=category, recording_id=recording,
        kind=kind, flags=tuple(flag or ()), offset=offset, limit=limit))
    # EvidencePage's JSON, written without a model per item (api.http.convert)
    return Response(evidence_page_json(page), media_type="application/json")


@router.get("/evidence/{evidence_id}", response_model=EvidenceDetailOut,
            responses=responses(401, 403, 404), summary="Read one evidence item")
def get_evidence(evidence_id: UUID, services: ServicesDep, user: CurrentUser,
                 locale: LocaleDep) -> EvidenceDetailOut:
    """Metadata, derived copies, cases, and every custody event naming the item. Why it
    cannot be played (`status.reason`, `derivatives_error`) is in the Accept-Language; an
    outside program's own words in it (ffmpeg's) are quoted as they are."""
    return detail_out(evidence_detail(services.engine, user, str(evidence_id)), locale)


def _serve_target(request: Request, services: ServicesDep, user: CurrentUser,
                  target: StoredTarget, kind: str, event_type: str, reason: str | None,
                  media_type: str, filename: str | None) -> StreamingResponse:
    now = services.now()
    return serve_bytes(
        request, size=target.size, sha256=target.sha256,
        open_reader=store_opener(services.store, target), media_type=media_type,
        filename=filename,
        start_session=lambda: open_session(
            services.log, user, kind, f"evidence:{target.evidence_id}", reason,
            target_drafts(user, target, event_type, reason, now), now=now,
            idle=services.options.playback_idle))


@router.get("/evidence/{evidence_id}/playback", response_class=StreamingResponse,
            responses={**STREAM_RESPONSES, **responses(401, 403, 404, 409, 416, 503)},
            summary="Stream the playback copy", description=SESSION_DOC)
def play_evidence(evidence_id: UUID, request: Request, services: ServicesDep, user: CurrentUser,
                  reason: ReasonQuery = None) -> StreamingResponse:
    target = playback_target(services.log, user, str(evidence_id))
    return _serve_target(request, services, user, target, "playback", VIEWED, reason,
                         target.media_type, None)


@router.get("/evidence/{evidence_id}/photo", response_class=StreamingResponse,
            responses={**stream_responses("image/jpeg"),
                       **responses(401, 403, 404, 409, 416, 503)},
            summary="Show a photo",
            description="The original of a photo (JPEG, PNG, WebP or GIF), to be shown in the "
                        "browser, for whoever may play the item: photos have no playback "
                        "copy. Appends `evidence:file:viewed` (naming the original) once per "
                        "viewing session, like playback. 409 for other kinds and formats. "
                        + SESSION_DOC)
def show_photo(evidence_id: UUID, request: Request, services: ServicesDep, user: CurrentUser,
               reason: ReasonQuery = None) -> StreamingResponse:
    target = photo_target(services.log, user, str(evidence_id))
    return _serve_target(request, services, user, target, "photo", VIEWED, reason,
                         target.media_type, None)


_PREVIEW_DOC = ("For whoever may play the item. Checked against the custody event that made it "
                "(`evidence:file:derived`), like playback; served without a custody event, as "
                "search results show many at once. 409 when there is none (audio, a damaged "
                "file, still being made). Honours `Range` and `If-Range` like playback.")


@router.get("/evidence/{evidence_id}/poster", response_class=StreamingResponse,
            responses={**stream_responses("image/jpeg"), **responses(401, 403, 404, 409, 416, 503)},
            summary="The poster picture", description="A JPEG frame from about a tenth into "
            "a video (at most 720 lines), or a photo resized. " + _PREVIEW_DOC)
def poster(evidence_id: UUID, request: Request, services: ServicesDep,
           user: CurrentUser) -> StreamingResponse:
    return serve_preview(request, services.store,
                         preview_target(services.log, user, str(evidence_id), POSTER))


@router.get("/evidence/{evidence_id}/strip", response_class=StreamingResponse,
            responses={**stream_responses("image/jpeg"), **responses(401, 403, 404, 409, 416, 503)},
            summary="The thumbnail strip", description="Eight evenly spaced frames side by "
            "side, 90 lines high, for skimming a video (a photo: itself). " + _PREVIEW_DOC)
def strip(evidence_id: UUID, request: Request, services: ServicesDep,
          user: CurrentUser) -> StreamingResponse:
    return serve_preview(request, services.store,
                         preview_target(services.log, user, str(evidence_id), STRIP))


@router.get("/evidence/{evidence_id}/original", response_class=StreamingResponse,
            responses={**stream_responses("application/octet-stream"),
                       **responses(401, 403, 404, 416, 503)},
            summary="Download the original",
            description="Case officers on a case they manage holding the item, reviewers on "
                        "a case of their agency sent for review, admins of its agency. "
                        "`reason` is required (400 without it, after the access check): the "
                        "original leaves the system. Appends `evidence:file:downloaded`, with "
                        "the reason, once per download session. "
                        + SESSION_DOC)
def download_original(evidence_id: UUID, request: Request, services: ServicesDep,
                      user: CurrentUser,
                      reason: Annotated[Reason | None, Query(
                          description="Why you take the original (required); recorded in the "
                                      "custody event.")] = None) -> StreamingResponse:
    target = original_target(services.log, user, str(evidence_id), reason)
    return _serve_target(request, services, user, target, "download", DOWNLOADED, reason,
                         "application/octet-stream", target.original_name)


@router.post("/evidence/{evidence_id}/hold", response_model=EvidenceSummaryOut,
             responses=responses(401, 403, 404, 409, 503), summary="Place a legal hold")
def place_hold(evidence_id: UUID, body: HoldIn, services: ServicesDep,
               user: CurrentUser) -> EvidenceSummaryOut:
    """Admins of the agency owning the footage. Holds the original and its copies in the
    store; event `evidence:hold:placed`."""
    return summary_out(change_legal_hold(services.log, services.store, user, str(evidence_id),
                                         True, body.reason, services.now()))


@router.delete("/evidence/{evidence_id}/hold", response_model=EvidenceSummaryOut,
               responses=responses(401, 403, 404, 409, 503), summary="Release a legal hold")
def release_hold(evidence_id: UUID, reason: Annotated[Reason, Query()], services: ServicesDep,
                 user: CurrentUser) -> EvidenceSummaryOut:
    """Admins of the agency owning the footage; event `evidence:hold:released`. Retention
    dates stay as they are."""
    return summary_out(change_legal_hold(services.log, services.store, user, str(evidence_id),
                                         False, reason, services.now()))


@router.post("/retention", response_model=RetentionOut, responses=responses(400, 401, 403, 503),
             summary="Run the retention job")
def run_retention_job(body: RetentionIn, services: ServicesDep, user: CurrentUser) -> RetentionOut:
    """Admin only; the same job as `evidence retention`. Footage whose retention ended is
    deleted unless it is under legal hold or on a case; each deletion is logged first
    (`evidence:file:deleted`). With `dry_run` nothing is deleted or logged."""
    actions = run_retention(services.log, services.store, user, dry_run=body.dry_run,
                            now=services.now())
    return RetentionOut(items=[RetentionActionOut(evidence_id=a.evidence_id, sha256=a.sha256,
                                                  action=a.action, reason=a.reason)
                               for a in actions])


@router.post("/evidence/{evidence_id}/grants", response_model=GrantOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Grant footage to another unit's case")
def grant(evidence_id: UUID, body: GrantIn, services: ServicesDep, user: CurrentUser) -> GrantOut:
    """Admins of the agency owning the footage. The case's officers may then see it and
    attach it. Event `evidence:access:granted`, naming both units, the case and the reason."""
    made = grant_evidence(services.log, user, str(evidence_id), str(body.case_id), body.reason,
                          services.now())
    return GrantOut(evidence_id=made.evidence_id, case_id=made.case_id,
                    case_number=made.case_number, from_unit=made.from_unit, to_unit=made.to_unit,
                    reason=made.reason, granted_at=made.granted_at, granted_by=made.granted_by)
