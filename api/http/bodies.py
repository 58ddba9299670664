"""Request bodies are limited before anything reads them.

Each route has a limit: a route with a JSON body takes at most ``JSON_BODY_LIMIT``
bytes (a route may declare a smaller one in ``openapi_extra`` under
``x-max-body-bytes``); a route without a body, a static file or an unknown path
takes none (and reads none). The limit is enforced outside every other layer:

* a ``Content-Length`` over the largest limit gets 413 at once: the body is
  never received, whatever else the request lacks (a token, a route);
* a ``Content-Length`` over the route's limit gets 413 at the first read,
  before a byte is taken;
* a body streamed without a length is counted as it arrives; the read that
  passes the limit raises ``BodyTooLarge`` (413) inside whatever was reading.

A 413 says ``Connection: close`` so the server drops the rest of the body
instead of reading it to find the next request.

A route without a body takes none at all: a body sent to it, however small, is
refused with 413 before the route runs (``refuse_unexpected_body``), never
ignored: it is a client's mistake (the wrong route, or a parameter sent in the
body that belongs in the query). An API request says it has a body by its
``Content-Length`` (above 0) or its ``Transfer-Encoding``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import error_response, request_locale
from api.i18n import DEFAULT_LOCALE, negotiate
from domain.messages import msg

JSON_BODY_LIMIT = 64 * 1024
LIMIT_KEY = "x-max-body-bytes"
_CLOSE = {"Connection": "close"}


class BodyTooLarge(StarletteHTTPException):
    """The body passed its route's limit (HTTP 413). An HTTPException, so FastAPI's
    body parsing passes it on instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, msg("the request body is larger than the {limit} bytes this route "
                                  "takes", limit=limit), headers=dict(_CLOSE))
        self.limit = limit


def too_large_response(limit: int, locale: str = DEFAULT_LOCALE) -> JSONResponse:
    hint = (msg("send at most {limit} bytes", limit=limit) if limit else
            msg("this route takes no body: send the request without one"))
    return error_response(413, "too_large", BodyTooLarge(limit).detail, hint, dict(_CLOSE),
                          locale=locale)


async def _body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return too_large_response(exc.limit, request_locale(request))


async def refuse_unexpected_body(request: Request) -> None:
    """A router dependency: 413 when a route without a body is sent one (any length). Async:
    it only reads headers, so it runs on the event loop, not in the thread pool."""
    if route_limit(request.scope.get("route")) != 0:
        return
    if "transfer-encoding" in request.headers or (_declared_length(request.scope) or 0) > 0:
        raise BodyTooLarge(0)


def route_limit(route: object) -> int:
    """The most bytes of body ``route`` takes: 0 unless it is an API route with a body."""
    if not isinstance(route, APIRoute) or route.body_field is None:
        return 0
    return int((route.openapi_extra or {}).get(LIMIT_KEY, JSON_BODY_LIMIT))


def largest_limit(routes: Iterable[object]) -> int:
    """The largest limit of any route in ``routes``, looking inside included routers and
    mounts (FastAPI keeps an included router whole, not as its routes)."""
    largest = JSON_BODY_LIMIT
    for route in routes:
        inner = getattr(route, "original_router", None) or route
        if inner is not route or isinstance(route, Mount):
            largest = max(largest, largest_limit(getattr(inner, "routes", ())))
        else:
            largest = max(largest, route_limit(route))
    return largest


class BodyLimit:
    """The ASGI middleware: wraps the whole app, so nothing inside sees an oversized body.

    Before routing only the largest limit of any route (``ceiling``) is known: a
    ``Content-Length`` over it gets 413 at once. The route's own limit is applied
    when something first reads the body, which is after routing (FastAPI reads a
    body before it checks the token, so an oversized one is refused before 401).
    """

    def __init__(self, app: ASGIApp, ceiling: int = JSON_BODY_LIMIT) -> None:
        self.app = app
        self.ceiling = ceiling

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.ceiling:
            language = dict(scope["headers"]).get(b"accept-language", b"")
            locale = negotiate(language.decode("latin-1"))
            await too_large_response(self.ceiling, locale)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            limit = min(self.ceiling, route_limit(scope.get("route")))
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)  # refused without taking a byte
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length, if it is a number; digits are counted before parsing so a
    length of thousands of digits is never parsed. A length that is no number is
    refused by the server before the app sees it, and the body is counted anyway."""
    value = dict(scope["headers"]).get(b"content-length", b"").strip()
    if not value.isdigit():
        return None
    return 10 ** 19 if len(value) > 19 else int(value)


def install_body_limits(app: FastAPI) -> None:
    """The handler for a 413 raised while a body streams (the middleware is added by the app)."""
    app.add_exception_handler(BodyTooLarge, _body_too_large)
