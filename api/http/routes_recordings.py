"""Recordings: segments of one recorder joined into one playable file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from api.http.auth import CurrentUser
from api.http.convert import recording_out
from api.http.errors import responses
from api.http.models import MAX_INT, Reason, RecordingId, RecordingPage
from api.http.routes_evidence import SESSION_DOC, STREAM_RESPONSES
from api.http.services import ServicesDep
from api.http.streaming import file_opener, serve_bytes
from cases.paging import MAX_PAGE
from cases.recordings import joined_playback
from cases.viewing import open_session, recording_drafts, recording_segments, visible_recordings

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


@router.get("/recordings/{recording_id}/playback", response_class=StreamingResponse,
            responses={**STREAM_RESPONSES, **responses(401, 403, 404, 409, 416, 503)},
            summary="Stream a whole recording",
            description="The segments' playback copies joined by stream copy into one MP4, "
                        "made on first use and cached on the server; gaps between segments are "
                        "closed in the joined file, so read them from GET /recordings. Opening "
                        "a session appends one `evidence:file:viewed` event per segment. "
                        + SESSION_DOC)
def play_recording(recording_id: Annotated[RecordingId, Path()], request: Request,
                   services: ServicesDep, user: CurrentUser,
                   reason: Annotated[Reason | None, Query()] = None) -> StreamingResponse:
    copies = recording_segments(services.log, user, recording_id)
    joined = joined_playback(services.store, recording_id, copies, services.cache_dir)
    now = services.now()
    return serve_bytes(
        request, size=joined.size, sha256=joined.sha256, open_reader=file_opener(joined.path),
        media_type="video/mp4",
        start_session=lambda: open_session(
            services.log, user, "playback", f"recording:{recording_id}", reason,
            recording_drafts(user, recording_id, copies, joined.sha256, reason, now), now=now,
            idle=services.options.playback_idle))
