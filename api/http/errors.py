"""One JSON shape for every error, and the handlers that produce it.

Every error response is ``{"error": {"code", "message", "hint"}}``: ``code`` is
a stable machine word, ``message`` says what happened and ``hint`` what to do.
No stack trace or exception text of an unexpected error ever reaches a client;
it goes to the server log.

``message`` and ``hint`` are in the language the request's ``Accept-Language`` asks for
(Chinese when it names none the API offers; ``api.i18n``), which ``Content-Language``
states; ``code`` never changes with the language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.cookies import SESSION_COOKIE
from api.http.ranges import RangeNotSatisfiable
from api.http.ratelimit import RateLimited
from api.i18n import SOURCE_LOCALE, TAGS, negotiate, tr
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
from domain.messages import Message, clauses, msg, plain
from storage.objects import InvalidStorageRequest

logger = logging.getLogger("evidence.api")


class CsrfRejected(EvidenceError):
    """A request authenticated by the session cookie that changes something came without the
    session's CSRF token (HTTP 403, code ``csrf``)."""

    def __init__(self) -> None:
        super().__init__(msg("this request changes something but did not carry the session's "
                             "CSRF token"),
                         hint=msg("reload the page and try again (a program sends the session's "
                                  "csrf_token in the X-CSRF-Token header)"))


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


def request_locale(request: Request) -> str:
    """The locale of the request's ``Accept-Language`` (``api.i18n.negotiate``)."""
    return negotiate(request.headers.get("accept-language"))


# A route's parameter: the asker's locale, for sentences the server kept (a job's error, a
# verify report's problems, why an item cannot play), translated as they are answered.
LocaleDep = Annotated[str, Depends(request_locale)]


def error_response(status: int, code: str, message: str, hint: str | None = None,
                   headers: dict[str, str] | None = None,
                   items: list[ItemError] | None = None, *,
                   locale: str = SOURCE_LOCALE) -> JSONResponse:
    """The error body, its ``message`` and ``hint`` translated into ``locale`` (the items'
    sentences are translated by the caller)."""
    body = ErrorBody(error=ErrorDetail(code=code, message=tr(message, locale),
                                       hint=None if hint is None else tr(hint, locale),
                                       items=items))
    all_headers = {"Cache-Control": "no-store", "Content-Language": TAGS[locale],
                   "Vary": "Accept-Language", **(headers or {})}
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
    locale = request_locale(request)
    items = None
    if isinstance(exc, BatchRefused):  # the first item's status; every item's error listed
        status, code = classify(exc.problems[0][1])
        items = [ItemError(id=item, code=classify(problem)[1], message=tr(problem.message, locale),
                           hint=None if problem.hint is None else tr(problem.hint, locale))
                 for item, problem in exc.problems]
    headers = {}
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path,
                     type(exc).__name__, exc)
    response = error_response(status, code, exc.message, exc.hint, headers, items, locale=locale)
    if isinstance(exc, SessionEnded) and SESSION_COOKIE in request.cookies:
        # the browser stops sending a cookie that no longer opens anything
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    locale = request_locale(request)
    problems = clauses(validation_problem(error) for error in exc.errors()[:5])
    return error_response(422, "invalid_request", msg("the request does not match the API: "
                                                      "{problems}", problems=problems),
                          msg("see the OpenAPI document at /api/v1/openapi.json"), locale=locale)


def _field(loc: Any) -> str:
    """``("body", "items", 0, "id")`` -> ``body.items[0].id``; the name as the API spells it."""
    where = ""
    for part in loc if isinstance(loc, (list, tuple)) else (loc,):
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += ("." if where else "") + str(part)
    return where or "request"


def validation_problem(error: Mapping[str, Any]) -> Message:
    """One pydantic/FastAPI validation error as a sentence a person can read (translatable)
    for the common kinds; others keep pydantic's English words after the field's name."""
    kind = str(error.get("type", ""))
    field = _field(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return msg("{field}: required but missing", field=field)
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        if kind == "string_too_long" and limit is not None:
            return msg("{field}: must be at most {limit} characters", field=field, limit=limit)
        if limit is not None:
            return msg("{field}: must have at most {limit} items", field=field, limit=limit)
    if kind in ("string_too_short", "too_short"):
        limit = ctx.get("min_length")
        if kind == "string_too_short" and limit is not None:
            return msg("{field}: must be at least {limit} characters", field=field, limit=limit)
        if limit is not None:
            return msg("{field}: must have at least {limit} items", field=field, limit=limit)
    if kind == "string_type":
        return msg("{field}: must be text", field=field)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return msg("{field}: must be a whole number", field=field)
    if kind in ("float_type", "float_parsing"):
        return msg("{field}: must be a number", field=field)
    if kind in ("bool_type", "bool_parsing"):
        return msg("{field}: must be true or false", field=field)
    if kind.startswith(("datetime_", "timezone_")):
        return msg("{field}: not a valid time (write e.g. 2024-03-15T09:30:00+08:00)",
                   field=field)
    if kind.startswith("date_"):
        return msg("{field}: not a valid date (write e.g. 2024-03-15)", field=field)
    if kind in ("uuid_type", "uuid_parsing"):
        return msg("{field}: not a valid id", field=field)
    if kind in ("enum", "literal_error"):
        expected = ctx.get("expected")
        if expected is not None:
            return msg("{field}: must be one of {expected}", field=field, expected=expected)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), None) if ctx else None
        if bound is not None:
            sentence = {
                "greater_than": msg("{field}: must be greater than {bound}", field=field,
                                    bound=bound),
                "greater_than_equal": msg("{field}: must be at least {bound}", field=field,
                                          bound=bound),
                "less_than": msg("{field}: must be less than {bound}", field=field, bound=bound),
                "less_than_equal": msg("{field}: must be at most {bound}", field=field,
                                       bound=bound),
            }
            return sentence[kind]
    if kind == "string_pattern_mismatch":
        return msg("{field}: not in the required form", field=field)
    if kind == "extra_forbidden":
        return msg("{field}: not a field this request takes", field=field)
    if kind in ("json_invalid", "json_type"):
        return msg("{field}: the body is not valid JSON", field=field)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return msg("{field}: must be a JSON object", field=field)
    if kind in ("list_type", "tuple_type", "set_type"):
        return msg("{field}: must be a list", field=field)
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        reason = cause if isinstance(cause, BaseException) and cause.args else None
        if reason is not None and isinstance(reason.args[0], Message):
            return msg("{field}: {reason}", field=field, reason=reason.args[0])
    return msg("{field}: {reason}", field=field, reason=plain(str(error.get("msg", "invalid"))))


_HTTP_WORDS = {406: msg("the response cannot be given in a type the request accepts"),
               415: msg("the body is not of a type this route takes (send application/json)")}


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else msg("request failed")
    if exc.status_code == 404:
        message = msg("there is no route {path}", path=request.url.path)
    elif message == _phrase(exc.status_code):  # Starlette's own words: ours instead
        if exc.status_code == 405:
            message = msg("{method} is not allowed on {path}", method=request.method,
                          path=request.url.path)
        else:
            message = _HTTP_WORDS.get(exc.status_code, message)
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}),
                          locale=request_locale(request))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error",
                          msg("the server failed while handling this request"),
                          msg("retry; if it keeps failing, give the time of the request to the "
                              "administrator (the server log has the details)"),
                          locale=request_locale(request))
