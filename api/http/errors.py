"""One JSON shape for every error, and the handlers that produce it.

Every error response is ``{"error": {"code", "message", "hint"}}``: ``code`` is
a stable machine word, ``message`` says what happened and ``hint`` what to do.
No stack trace or exception text of an unexpected error ever reaches a client;
it goes to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.cookies import SESSION_COOKIE
from api.http.ranges import RangeNotSatisfiable
from api.http.ratelimit import RateLimited
from cases.errors import (
    AccessDenied,
    BatchRefused,
    Conflict,
    InvalidRequest,
    NotAuthenticated,
    NotPlayable,
)
from cases.web_sessions import SessionEnded
from custody.events import EventError
from domain.errors import (
    AlreadyExists,
    ConfigError,
    EvidenceError,
    IntegrityError,
    MediaError,
    NotFound,
    RetentionLocked,
    StorageError,
    StorageUnavailable,
)
from storage.objects import InvalidStorageRequest

logger = logging.getLogger("evidence.api")


class CsrfRejected(EvidenceError):
    """A request authenticated by the session cookie that changes something came without the
    session's CSRF token (HTTP 403, code ``csrf``)."""

    def __init__(self) -> None:
        super().__init__("this request changes something but did not carry the session's "
                         "CSRF token", hint="send the csrf_token of GET /api/v1/session in the "
                                            "X-CSRF-Token header; reload the page if it is stale")


class ItemError(BaseModel):
    id: str = Field(description="The item the error is about (e.g. an evidence id).")
    code: str
    message: str
    hint: str | None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable word, e.g. not_found.")
    message: str = Field(description="What happened, for a person.")
    hint: str | None = Field(description="What to do about it, if anything.")
    items: list[ItemError] | None = Field(
        default=None, description="All-or-nothing requests (attaching several items): every "
                                  "item that could not be done, and why; present only then.")


class ErrorBody(BaseModel):
    error: ErrorDetail


# Most specific first: the first class an error is an instance of decides.
_MAPPING: tuple[tuple[type[EvidenceError], int, str], ...] = (
    (NotAuthenticated, 401, "unauthenticated"),
    (CsrfRejected, 403, "csrf"),
    (AccessDenied, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "already_exists"),
    (RetentionLocked, 409, "retention_locked"),
    (NotPlayable, 409, "not_playable"),
    (Conflict, 409, "conflict"),
    (RangeNotSatisfiable, 416, "range_not_satisfiable"),
    (RateLimited, 429, "too_many_requests"),
    (InvalidRequest, 400, "invalid_request"),
    (InvalidStorageRequest, 400, "invalid_request"),
    (EventError, 400, "invalid_request"),
    (ConfigError, 400, "invalid_request"),
    (StorageUnavailable, 503, "unavailable"),
    (StorageError, 503, "storage_error"),
    (IntegrityError, 500, "integrity_error"),
    (MediaError, 500, "media_error"),
)

_HTTP_CODES = {400: "invalid_request", 401: "unauthenticated", 403: "forbidden",
               404: "not_found", 405: "method_not_allowed", 406: "not_acceptable",
               409: "conflict", 413: "too_large", 415: "unsupported_media_type",
               416: "range_not_satisfiable", 422: "invalid_request", 429: "too_many_requests"}

_DESCRIPTIONS = {
    400: "The request cannot be carried out as asked.",
    401: "No bearer token or signed-in session, or an unknown, revoked or ended one.",
    403: "The user may not do this (code forbidden), or a request with the session cookie "
         "lacked its X-CSRF-Token (code csrf).",
    404: "No such resource (or route).",
    409: "The resource is in a state that conflicts with the request.",
    413: "The body is larger than this route takes (a route without a body takes none).",
    416: "The Range lies outside the file; Content-Range says its size.",
    422: "A parameter or the body does not match the schema.",
    429: "Too many failed authentications or event-creating requests; Retry-After says when "
         "to retry.",
    500: "The server failed; details are in the server log, never in the response.",
    503: "The database or object store is unreachable; retry later.",
}


def error_response(status: int, code: str, message: str, hint: str | None = None,
                   headers: dict[str, str] | None = None,
                   items: list[ItemError] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, hint=hint, items=items))
    all_headers = {"Cache-Control": "no-store", **(headers or {})}
    if status == 401:
        all_headers["WWW-Authenticate"] = 'Bearer realm="evidence"'
    dumped = body.model_dump()
    if items is None:
        del dumped["error"]["items"]  # the shape every other error has always had
    return JSONResponse(dumped, status_code=status, headers=all_headers)


def classify(exc: EvidenceError) -> tuple[int, str]:
    for kind, status, code in _MAPPING:
        if isinstance(exc, kind):
            return status, code
    return 500, "internal_error"


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer (400, 413, 422, 429, 500 always)."""
    wanted = sorted({*statuses, 400, 413, 422, 429, 500})
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in wanted}


def text_route_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Like ``responses``, for routes whose success is text/plain.

    FastAPI would document a model-based error with the route's own media type;
    errors are always JSON, so the schema is referenced by hand.
    """
    wanted = sorted({*statuses, 400, 413, 422, 429, 500})
    ref = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
    return {status: {"description": _DESCRIPTIONS[status], "content": {"application/json": ref}}
            for status in wanted}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EvidenceError, _evidence_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _evidence_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EvidenceError)
    status, code = classify(exc)
    items = None
    if isinstance(exc, BatchRefused):  # the first item's status; every item's error listed
        status, code = classify(exc.problems[0][1])
        items = [ItemError(id=item, code=classify(problem)[1], message=problem.message,
                           hint=problem.hint) for item, problem in exc.problems]
    headers = {}
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path,
                     type(exc).__name__, exc)
    response = error_response(status, code, exc.message, exc.hint, headers, items)
    if isinstance(exc, SessionEnded) and SESSION_COOKIE in request.cookies:
        # the browser stops sending a cookie that no longer opens anything
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "the request does not match the API: "
                          + "; ".join(problems), "see the OpenAPI document at /api/v1/openapi.json")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = f"there is no route {request.url.path}"
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed while handling this request",
                          "retry; if it keeps failing, give the time of the request to the "
                          "administrator (the server log has the details)")
