"""Streaming stored bytes with Range support, after the custody event is written.

Order matters: decide the range (a 416 delivers nothing and logs nothing),
open the bytes (a store failure delivers nothing and logs nothing), then open
or join the viewing session (its custody event is committed before the first
byte leaves), then stream.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import StreamingResponse

from api.http.ranges import ByteRange, Outcome, decide, strong_etag
from cases.viewing import StoredTarget, ViewSession
from domain.errors import IntegrityError
from storage.objects import ObjectReader, ObjectStore

SESSION_HEADER = "X-View-Session"
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


def serve_bytes(request: Request, *, size: int, sha256: str, open_reader: ReaderOpener,
                start_session: Callable[[], ViewSession], media_type: str,
                filename: str | None = None) -> StreamingResponse:
    etag = strong_etag(sha256)
    decision = decide(request.headers.get("range"), request.headers.get("if-range"), etag, size)
    reader = open_reader(decision.range)
    try:
        if reader.total_size != size or reader.length != decision.range.length:
            raise IntegrityError(
                f"the stored file is {reader.total_size} bytes but {size} were recorded",
                hint="run `evidence verify --objects`; the stored copy may be damaged")
        session = start_session()
    except BaseException:
        reader.close()
        raise
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:",
        "Content-Length": str(decision.range.length),
        "Cache-Control": "private, no-store",
        SESSION_HEADER: session.id,
    }
    if filename is not None:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    status = 200
    if decision.outcome is Outcome.PARTIAL:
        status = 206
        headers["Content-Range"] = decision.range.content_range(size)
    return StreamingResponse(_chunks(reader), status_code=status, media_type=media_type,
                             headers=headers)


def _chunks(reader: ObjectReader) -> Iterator[bytes]:
    try:
        yield from reader
    finally:
        reader.close()
