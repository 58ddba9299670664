"""Streaming stored bytes with Range support, after the custody event is written.

Order matters: decide the range (a 416 delivers nothing and logs nothing),
open the bytes (a store failure delivers nothing and logs nothing), then open
or join the viewing session (its custody event is committed before the first
byte leaves), then stream.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import StreamingResponse

from api.http.ranges import ByteRange, Outcome, decide, strong_etag
from cases.viewing import StoredTarget, ViewSession
from domain.errors import IntegrityError
from domain.messages import msg
from storage.objects import ObjectReader, ObjectStore

SESSION_HEADER = "X-View-Session"
_log = logging.getLogger(__name__)
ReaderOpener = Callable[[ByteRange], ObjectReader]


def store_opener(store: ObjectStore, target: StoredTarget) -> ReaderOpener:
    def open_range(wanted: ByteRange) -> ObjectReader:
        return store.open(target.key, target.version, start=wanted.start, end=wanted.end)
    return open_range


def file_opener(path: Path) -> ReaderOpener:
    def open_range(wanted: ByteRange) -> ObjectReader:
        handle = path.open("rb")
        size = path.stat().st_size
        handle.seek(wanted.start)
        return ObjectReader(handle, key=path.name, start=wanted.start,
                            end=min(wanted.end, size), total_size=size)
    return open_range


def serve_preview(request: Request, store: ObjectStore, target: StoredTarget) -> StreamingResponse:
    """A poster or thumbnail strip: checked like playback, served without a session."""
    return serve_bytes(request, size=target.size, sha256=target.sha256,
                       open_reader=store_opener(store, target), start_session=None,
                       media_type=target.media_type)


def serve_bytes(request: Request, *, size: int, sha256: str, open_reader: ReaderOpener,
                start_session: Callable[[], ViewSession] | None, media_type: str,
                filename: str | None = None) -> StreamingResponse:
    etag = strong_etag(sha256)
    decision = decide(request.headers.get("range"), request.headers.get("if-range"), etag, size)
    reader = open_reader(decision.range)
    try:
        if reader.total_size != size or reader.length != decision.range.length:
            raise IntegrityError(
                msg("the stored file is {total_size} bytes but {size} were recorded",
                    total_size=reader.total_size, size=size),
                hint=msg("run `evidence verify --objects`; the stored copy may be damaged"))
        session = start_session() if start_session is not None else None
    except BaseException:
        reader.close()
        raise
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:",
        "Content-Length": str(decision.range.length),
        "Cache-Control": "private, no-store",
    }
    if session is not None:
        headers[SESSION_HEADER] = session.id
    if filename is not None:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    status = 200
    if decision.outcome is Outcome.PARTIAL:
        status = 206
        headers["Content-Range"] = decision.range.content_range(size)
    # A whole-file response is hashed as it goes; a part cannot be, but its key and
    # version are the ones the custody event recorded (cases.viewing checked that).
    expect = sha256 if decision.range.start == 0 and decision.range.length == size else None
    return StreamingResponse(_chunks(reader, expect), status_code=status, media_type=media_type,
                             headers=headers)


def _chunks(reader: ObjectReader, expect: str | None = None) -> Iterator[bytes]:
    hasher = hashlib.sha256() if expect is not None else None
    pending: bytes | None = None
    try:
        # Each chunk is held back until the next is read, so the last one is sent only
        # after the whole file hashed right: a client never gets a complete altered file.
        for chunk in reader:
            if hasher is not None:
                hasher.update(chunk)
            if pending is not None:
                yield pending
            pending = chunk
        if hasher is not None and hasher.hexdigest() != expect:
            _log.error("stored bytes of %s hash to %s, not the recorded %s: stream aborted",
                       reader.key, hasher.hexdigest(), expect)
            raise IntegrityError(msg("the stored file {key} hashes to {hexdigest}, not the recorded "
                                     "{expect}; the response was cut short", key=reader.key,
                                     hexdigest=hasher.hexdigest(), expect=expect),
                                 hint=msg("run `evidence verify --objects`; the stored copy was altered"))
        if pending is not None:
            yield pending
    finally:
        reader.close()
