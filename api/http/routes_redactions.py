"""Redacted copies of footage and photos for publication (cases/redactions.py; the same
functions as `evidence redact ...`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import Reason, Strict
from api.http.services import ServicesDep
from api.http.streaming import serve_bytes, store_opener
from cases.redactions import (
    MAX_BOXES,
    MAX_MUTED,
    MAX_REMOVED,
    Redaction,
    RedactionTools,
    case_redactions,
    decide_redaction,
    download_redacted,
    get_redaction,
    request_redaction,
)
from cases.viewing import StoredTarget
from media.face_detector import Box
from media.redaction import BoxKind, ManualBox, MuteRange, RedactionSettings

router = APIRouter(tags=["redaction"])
Millis = Annotated[int, Field(ge=0, le=10 * 24 * 3600 * 1000)]
Pixels = Annotated[int, Field(ge=0, le=100_000)]


class BoxIn(Strict):
    x: Pixels
    y: Pixels
    width: Annotated[int, Field(ge=1, le=100_000)]
    height: Annotated[int, Field(ge=1, le=100_000)]
    kind: Literal["face", "plate", "other"] = "face"
    start_ms: Millis = 0
    end_ms: Millis = 0


class MuteIn(Strict):
    start_ms: Millis
    end_ms: Millis


class RedactionIn(Strict):
    evidence_id: UUID
    case_id: UUID
    reason: Reason = Field(description="Why the copy is made, e.g. the publication it is for.")
    faces: bool = Field(True, description="Blur the faces the detector finds and follows.")
    boxes: list[BoxIn] = Field([], max_length=MAX_BOXES,
                               description="Areas a person covers (a missed face, a licence "
                                           "plate), in the original's pixels, over a time "
                                           "range (a photo: leave the times 0).")
    remove_tracks: list[Annotated[int, Field(ge=1)]] = Field(
        [], max_length=MAX_REMOVED, description="Faces found by an earlier request (their "
                                                "`tracks[].id`) that are not faces.")
    mute: list[MuteIn] = Field([], max_length=MAX_MUTED, description="Sound silenced.")
    detect_every: Annotated[int, Field(ge=1, le=30)] = 3
    detect_width: Annotated[int, Field(ge=160, le=3840)] = 640


class DecisionIn(Strict):
    approve: bool
    reason: Reason | None = None


class RedactionOut(BaseModel):
    id: str
    evidence_id: str
    original_sha256: str
    case_id: str
    media_type: str
    sha256: str
    size: int
    settings: dict[str, Any]
    tracks: list[dict[str, Any]]
    reason: str
    state: Literal["requested", "approved", "refused"]
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


def redaction_out(r: Redaction) -> RedactionOut:
    return RedactionOut(id=r.id, evidence_id=r.evidence_id, original_sha256=r.original_sha256,
                        case_id=r.case_id, media_type=r.media_type, sha256=r.sha256,
                        size=r.size, settings=r.settings, tracks=r.tracks, reason=r.reason,
                        state=r.state,  # type: ignore[arg-type]
                        requested_by=r.requested_by, requested_at=r.requested_at,
                        decided_by=r.decided_by, decided_at=r.decided_at,
                        decision_reason=r.decision_reason)


def settings_of(body: RedactionIn) -> RedactionSettings:
    return RedactionSettings(
        faces=body.faces,
        boxes=tuple(ManualBox(Box(b.x, b.y, b.width, b.height), BoxKind(b.kind), b.start_ms,
                              b.end_ms) for b in body.boxes),
        removed_tracks=tuple(body.remove_tracks),
        muted=tuple(MuteRange(m.start_ms, m.end_ms) for m in body.mute),
        detect_every=body.detect_every, detect_width=body.detect_width)


@router.post("/redactions", response_model=RedactionOut, status_code=201,
             responses=responses(400, 401, 403, 404, 503), summary="Ask for a redacted copy")
def new_redaction(body: RedactionIn, services: ServicesDep, user: CurrentUser) -> RedactionOut:
    """A case officer of the case (or an admin of its agency) asks for a redacted copy of an
    item on the case. The server makes it now from the original, which it checks against its
    hash and never changes: faces found and followed across frames are blurred, the boxes
    given covered, the ranges given muted; H.264/AAC MP4 for video, JPEG for a photo, with a
    signed C2PA manifest naming the original. It is stored as a derivative of the original
    with its own SHA-256 (`evidence:file:derived`, `evidence:redaction:requested`) and awaits
    a legal reviewer's approval. `tracks` lists the faces found, to remove wrong ones in a
    new request."""
    tools = services.options.redaction or RedactionTools(None)
    return redaction_out(request_redaction(
        services.log, services.store, tools, user, str(body.evidence_id), str(body.case_id),
        settings_of(body), body.reason))


@router.get("/redactions/{redaction_id}", response_model=RedactionOut,
            responses=responses(401, 403, 404), summary="A redacted copy's request")
def show_redaction(redaction_id: UUID, services: ServicesDep,
                   user: CurrentUser) -> RedactionOut:
    """Who may read its case, and the legal reviewers of the case's agency."""
    return redaction_out(get_redaction(services.engine, user, str(redaction_id)))


@router.get("/cases/{case_id}/redactions", response_model=list[RedactionOut],
            responses=responses(401, 403, 404), summary="A case's redacted copies")
def list_redactions(case_id: UUID, services: ServicesDep,
                    user: CurrentUser) -> list[RedactionOut]:
    """Oldest first; who may read the case, and the legal reviewers of its agency."""
    return [redaction_out(r) for r in case_redactions(services.engine, user, str(case_id))]


@router.post("/redactions/{redaction_id}/decision", response_model=RedactionOut,
             responses=responses(400, 401, 403, 404, 409), summary="Approve or refuse")
def decide(redaction_id: UUID, body: DecisionIn, services: ServicesDep,
           user: CurrentUser) -> RedactionOut:
    """A legal reviewer of the case's agency, never the person who asked for the copy;
    a refusal needs a reason. `evidence:redaction:approved` (or `refused`) names the
    original, the copy, the settings, who asked and who decided; 409 once decided."""
    return redaction_out(decide_redaction(services.log, user, str(redaction_id), body.approve,
                                          body.reason))


@router.get("/redactions/{redaction_id}/file", response_class=StreamingResponse,
            responses={200: {"description": "The redacted copy (MP4 or JPEG).", "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("video/mp4", "image/jpeg")}},
                **responses(401, 403, 404, 416, 503)},
            summary="Download a redacted copy")
def download(redaction_id: UUID, request: Request, services: ServicesDep, user: CurrentUser,
             reason: Annotated[Reason | None, Query(
                 description="Why you take it; recorded in the custody event.")] = None
             ) -> StreamingResponse:
    """Who may read the request. Appends `evidence:redaction:downloaded` (with the copy's
    state: only an approved copy is for publication); the bytes are hashed as they stream."""
    found, copy = download_redacted(services.log, user, str(redaction_id), reason)
    target = StoredTarget(found.evidence_id, found.original_sha256, copy.object_key,
                          copy.object_version, copy.sha256, copy.size, copy.name, copy.name,
                          found.media_type)
    return serve_bytes(request, size=copy.size, sha256=copy.sha256,
                       open_reader=store_opener(services.store, target), start_session=None,
                       media_type=found.media_type, filename=copy.name)
