"""Recordings: segments of one recorder joined into one playable file."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from api.http.auth import CurrentUser
from api.http.convert import recording_detail_out, recording_out
from api.http.errors import responses
from api.http.models import MAX_INT, Reason, RecordingDetailOut, RecordingId, RecordingPage
from api.http.ranges import strong_etag
from api.http.routes_evidence import SESSION_DOC, STREAM_RESPONSES
from api.http.services import ServicesDep
from api.http.streaming import file_opener, serve_bytes
from cases.paging import MAX_PAGE
from cases.recording_export import export_recording
from cases.recordings import joined_playback
from cases.viewing import (
    open_session,
    playable_recording,
    recording_detail,
    recording_drafts,
    visible_recordings,
)
from storage.objects import CHUNK_SIZE

router = APIRouter(tags=["recordings"])


@router.get("/recordings", response_model=RecordingPage, responses=responses(401, 403),
            summary="List recordings")
def list_recordings(services: ServicesDep, user: CurrentUser,
                    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
                    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> RecordingPage:
    """Segments grouped per recorder, with gaps and overlaps, oldest first: the recordings
    whose every segment the caller may see."""
    page = visible_recordings(services.log, user, offset, limit)
    return RecordingPage(items=[recording_out(rec, names) for rec, names in page.items],
                         total=page.total, offset=page.offset, limit=page.limit,
                         next_offset=page.next_offset)


@router.get("/recordings/{recording_id}", response_model=RecordingDetailOut,
            responses=responses(401, 403, 404), summary="Read a recording's timeline")
def read_recording(recording_id: Annotated[RecordingId, Path()], services: ServicesDep,
                   user: CurrentUser) -> RecordingDetailOut:
    """Every segment on the wall clock (UTC start and end, duration, whether it has a playback
    copy, where it sits in the joined file), and every gap and overlap between consecutive
    segments exactly, however short. Gaps, overlaps and the segments' shown parts tile the
    recording's span: what the joined file (GET /recordings/{id}/playback) plays at time t is
    what was recorded at start + t. For whoever may see every segment."""
    return recording_detail_out(recording_detail(services.log, user, recording_id))


@router.get("/recordings/{recording_id}/playback", response_class=StreamingResponse,
            responses={**STREAM_RESPONSES, **responses(401, 403, 404, 409, 416, 503)},
            summary="Stream a whole recording",
            description="The segments' playback copies joined by stream copy into one MP4 "
                        "on the wall clock, made on first use and cached on the server: time t "
                        "into the file is the recording's start plus t; a gap is black picture "
                        "and silence of its true length; where segments overlap, the later one "
                        "is shown from its own start (GET /recordings/{id} lists both). Opening "
                        "a session appends one `evidence:file:viewed` event per segment. "
                        + SESSION_DOC)
def play_recording(recording_id: Annotated[RecordingId, Path()], request: Request,
                   services: ServicesDep, user: CurrentUser,
                   reason: Annotated[Reason | None, Query()] = None) -> StreamingResponse:
    recording, copies = playable_recording(services.log, user, recording_id)
    joined = joined_playback(services.store, recording, copies, services.cache_dir)
    now = services.now()
    return serve_bytes(
        request, size=joined.size, sha256=joined.sha256, open_reader=file_opener(joined.path),
        media_type="video/mp4",
        start_session=lambda: open_session(
            services.log, user, "playback", f"recording:{recording_id}", reason,
            recording_drafts(user, recording_id, copies, joined.sha256, reason, now), now=now,
            idle=services.options.playback_idle))


@router.get("/recordings/{recording_id}/export", response_class=StreamingResponse,
            responses={200: {"description": "The joined MP4, as an attachment.",
                             "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
                       **responses(400, 401, 403, 404, 409, 503)},
            summary="Export a whole recording")
def export_recording_file(recording_id: Annotated[RecordingId, Path()], services: ServicesDep,
                          user: CurrentUser,
                          reason: Annotated[Reason | None, Query()] = None) -> StreamingResponse:
    """The recording's joined MP4 as a download, for the roles that may play it. Appends one
    `evidence:recording:exported` event per segment (its playback copy's SHA-256, the joined
    file's SHA-256, where the segment sits in it, every gap (black picture and
    silence in the file) and overlap, the reason) before the first byte leaves; the
    same events as `evidence recordings --join`. Every request is an export: no Range."""
    joined = export_recording(services.log, services.store, user, recording_id, reason,
                              services.cache_dir, services.now())
    handle = joined.path.open("rb")
    headers = {
        "ETag": strong_etag(joined.sha256),
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(joined.sha256)).decode()}:",
        "Content-Length": str(joined.size),
        "Cache-Control": "private, no-store",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(recording_id + '.mp4', safe='')}",
    }
    return StreamingResponse(_file_chunks(handle), media_type="video/mp4", headers=headers)


def _file_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
