"""The station screen: the docking stations' tiles, as a snapshot and as server-sent events.

The docks write their tiles into the catalogue database (``ingest.station_feed``); the
stream looks for changes every ``ApiOptions.station_poll_seconds`` (a short poll of one
indexed query per open screen: the docks may run in other processes, on other machines,
with nothing but the database between them and this server). Who sees which tiles is
``cases.access.station_scope``; what a screen is told is ``cases.stations``. Tiles are
operational state, not evidence: serving them is no custody event.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from api.http.auth import CurrentUser, web_session_of
from api.http.cookies import SESSION_COOKIE
from api.http.errors import request_locale, responses
from api.http.models import StationProblemOut, StationScreenOut, StationTileOut
from api.http.services import Services, ServicesDep
from api.i18n import SOURCE_LOCALE, tr
from cases.errors import AccessDenied, NotAuthenticated
from cases.stations import ScreenEvent, ScreenFollower, station_screen
from cases.users import User, authenticate
from cases.web_sessions import session_user
from domain.errors import EvidenceError
from domain.messages import Message
from domain.station import PROBLEMS, PortStatus

router = APIRouter(tags=["station screen"])
RECONNECT_MS = 3000  # the browser's wait before it reconnects (the stream's `retry:` field)
T = TypeVar("T")

EVENTS_DESCRIPTION = """\
Server-sent events (`text/event-stream`). First a `snapshot` (data: the body of
`GET /stations`), then a `tile` event for each tile that changes (data: one tile) and a
`remove` event when a tile the screen holds goes away (data: `{station, port, sequence}`;
its recorder was taken out, or the port now docks someone else's recorder). Each of them
has `id:` = the sequence number of the change; a client that reconnects with
`Last-Event-ID` gets the changes after it (or a fresh snapshot when that is the only exact
answer). Comments (`: keep-alive`) are sent when nothing changed for a while. The server
ends the stream with an `end` event (data: `{"reason"}`): `lifetime` (reconnect),
`shutdown` (the server stops; reconnect later), `signed_out` (the token no longer works),
`forbidden`, `unavailable` (the database; reconnect later).
"""


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"event": {"const": name},
                           "data": {"contentMediaType": "application/json", "contentSchema": data}}}


_SCHEMAS = "#/components/schemas/"
# One event of the stream (Open API 3.1: the schema of text/event-stream describes each event)
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["event", "data"],
    "properties": {"event": {"type": "string", "enum": ["snapshot", "tile", "remove", "end"]},
                   "data": {"type": "string"}, "id": {"type": "string", "pattern": "^[0-9]+$"},
                   "retry": {"type": "integer"}},
    "oneOf": [
        _event("snapshot", {"$ref": _SCHEMAS + "StationScreenOut"}),
        _event("tile", {"$ref": _SCHEMAS + "StationTileOut"}),
        _event("remove", {"type": "object", "required": ["station", "port", "sequence"],
                          "properties": {"station": {"type": "string"},
                                         "port": {"type": "string"},
                                         "sequence": {"type": "integer"}}}),
        _event("end", {"type": "object", "required": ["reason"], "properties": {"reason": {
            "enum": ["lifetime", "shutdown", "signed_out", "forbidden", "unavailable"]}}}),
    ],
}


def tile_out(seq: int, tile: PortStatus, locale: str = SOURCE_LOCALE) -> StationTileOut:
    """A tile for the API; the problem's ``message`` in ``locale`` (its code and params stay
    for a page that words them itself)."""
    problem = tile.problem
    said = tr(Message(PROBLEMS[problem.code], **problem.params), locale) if problem else ""
    return StationTileOut(
        station=tile.station, port=tile.port, kind="station" if tile.is_station else "port",
        sequence=seq, state=tile.state, station_unit=tile.station_unit,
        device_serial=tile.device_serial, officer_no=tile.officer_no,
        officer_name=tile.officer_name, recorder_unit=tile.recorder_unit,
        identity_source=tile.identity_source, files_total=tile.files_total,
        files_done=tile.files_done, files_failed=tile.files_failed, files_wiped=tile.files_wiped,
        bytes_total=tile.bytes_total, bytes_done=tile.bytes_done, rate=tile.rate,
        wipe=tile.wipe, problem=StationProblemOut(code=problem.code, params=dict(problem.params),
                                                  message=said) if problem else None,
        retry_at=tile.retry_at, started_at=tile.started_at, stale_after=tile.stale_after,
        updated_at=tile.updated_at)


@router.get("/stations", response_model=StationScreenOut, responses=responses(401, 403),
            summary="Station screen: every tile")
def stations(request: Request, services: ServicesDep, user: CurrentUser) -> StationScreenOut:
    """One tile per dock port of each docking station the user may see, and one per station
    (its own tile: online or offline). Officers: the docks of their own recorders; clerks:
    their unit's stations; admins: their agency's; auditors: their scope's."""
    screen = station_screen(services.engine, user)
    locale = request_locale(request)
    return StationScreenOut(sequence=screen.seq, now=services.now(),
                            tiles=[tile_out(seq, tile, locale) for seq, tile in screen.tiles])


@router.get("/stations/events", response_class=StreamingResponse,
            responses={200: {"description": EVENTS_DESCRIPTION,
                             "content": {"text/event-stream": {"schema": EVENT_SCHEMA}}},
                       **responses(401, 403)},
            summary="Station screen: live changes (server-sent events)")
async def station_events(
        request: Request, services: ServicesDep, user: CurrentUser,
        last_event_id: Annotated[str | None, Header(
            alias="Last-Event-ID", description="The `id` of the last event received: resume "
                                               "after it.")] = None) -> StreamingResponse:
    follower = ScreenFollower(services.engine, user)
    first = await _in_thread(lambda: follower.start(last_event_id))  # 403 here, not mid-stream
    return StreamingResponse(_stream(request, services, follower, _reauthenticate(request, services),
                                     first),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _in_thread(work: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(work)


def _reauthenticate(request: Request, services: Services) -> Callable[[], User]:
    """How the stream checks again that its user may still follow it: the way the request
    was authenticated (the browser session of its cookie, or its bearer token), so a station
    screen signed in on the pages is not ended as signed out at its first check."""
    if web_session_of(request) is not None:
        cookie = request.cookies.get(SESSION_COOKIE)
        policy = services.options.sign_in.sessions
        return lambda: session_user(services.engine, cookie, policy=policy, now=services.now())[0]
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else None
    return lambda: authenticate(services.engine, token, services.now())


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _frames(services: Services, events: list[ScreenEvent], locale: str) -> list[bytes]:
    frames = []
    for event in events:
        if event.kind == "snapshot":
            body = StationScreenOut(sequence=event.seq, now=services.now(),
                                    tiles=[tile_out(seq, tile, locale) for seq, tile in event.tiles])
            frames.append(_frame("snapshot", body.model_dump(mode="json"), event.seq))
        elif event.kind == "tile":
            seq, tile = event.tiles[0]
            frames.append(_frame("tile", tile_out(seq, tile, locale).model_dump(mode="json"), seq))
        else:
            seq, tile = event.tiles[0]
            frames.append(_frame("remove", {"station": tile.station, "port": tile.port,
                                            "sequence": seq}, seq))
    return frames


async def _stream(request: Request, services: Services, follower: ScreenFollower,
                  reauthenticate: Callable[[], User],
                  first: list[ScreenEvent]) -> AsyncIterator[bytes]:
    options = services.options
    started = said = checked = time.monotonic()
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    for frame in _frames(services, first, request_locale(request)):
        yield frame
    reason = "lifetime"
    while True:
        if services.stopping.is_set():
            reason = "shutdown"
            break
        if time.monotonic() - started >= options.station_stream_seconds:
            break
        if await request.is_disconnected():
            return  # nobody to tell
        await anyio.sleep(options.station_poll_seconds)
        try:
            events = await _in_thread(follower.poll)
            if time.monotonic() - checked >= options.station_reauth_seconds:
                events += await _in_thread(lambda: follower.rescope(reauthenticate()))
                checked = time.monotonic()
        except NotAuthenticated:
            reason = "signed_out"
            break
        except AccessDenied:
            reason = "forbidden"
            break
        except (SQLAlchemyError, EvidenceError):
            reason = "unavailable"
            break
        for frame in _frames(services, events, request_locale(request)):
            yield frame
            said = time.monotonic()
        if time.monotonic() - said >= options.station_heartbeat_seconds:
            yield b": keep-alive\n\n"
            said = time.monotonic()
    yield _frame("end", {"reason": reason})
