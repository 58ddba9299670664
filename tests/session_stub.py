"""A stand-in for the sign-in sessions of ``/api/v1/session``, for the browser tests only.

The pages sign people in against this contract (api/http/routes_session.py):

- ``POST /api/v1/session`` ``{"name", "password"}`` sets the cookie ``evidence_session`` and
  returns ``{"user": <GET /api/v1/me>, "csrf_token": "..."}``; a wrong name or password: 401;
- ``GET /api/v1/session``: the same body for the cookie's session, or 401;
- ``DELETE /api/v1/session``: ends it (204);
- ``GET /api/v1/session/providers``: ``{"oidc": false}`` (true: single sign-on at /auth/oidc/login);
- a request with the cookie is that user's; an unsafe one must carry ``X-CSRF-Token``.

The real server side is built on another branch. While an app has no route at
``/api/v1/session``, ``browser_support`` wraps it in this stub so that the pages' real
sign-in, cookie playback and CSRF header are exercised; once the route exists the stub
is not used. It maps a session to the user's bearer token, so everything behind it is
the real API. It enforces CSRF, so a page that forgot the header fails its test.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from api.http.convert import user_out
from cases.errors import NotAuthenticated
from cases.users import authenticate

COOKIE = "evidence_session"
SESSION_PATH = "/api/v1/session"
_UNSAFE = {b"POST", b"PUT", b"PATCH", b"DELETE"}


@dataclass
class _Session:
    token: str
    csrf: str


@dataclass
class SessionStub:
    app: FastAPI
    passwords: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (password, token)
    sessions: dict[str, _Session] = field(default_factory=dict)
    csrf_refused: int = 0  # unsafe requests refused for a missing or wrong X-CSRF-Token

    def add(self, name: str, password: str, token: str) -> None:
        self.passwords[name] = (password, token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        session_id = _cookie(scope)
        session = self.sessions.get(session_id) if session_id else None
        if path == SESSION_PATH + "/providers" and scope["method"] == "GET":
            await _json(send, 200, {"oidc": False})
            return
        if path == SESSION_PATH:
            await self._session_route(scope, receive, send, session_id, session)
            return
        if session is not None and path.startswith("/api/") and not _header(scope, b"authorization"):
            if scope["method"].encode() in _UNSAFE and _header(scope, b"x-csrf-token") != session.csrf:
                self.csrf_refused += 1
                await _error(send, 403, "forbidden", "the request has no valid CSRF token")
                return
            scope = dict(scope)
            scope["headers"] = [*scope["headers"], (b"authorization", f"Bearer {session.token}".encode())]
        await self.app(scope, receive, send)

    async def _session_route(self, scope: Scope, receive: Receive, send: Send,
                             session_id: str | None, session: _Session | None) -> None:
        method = scope["method"]
        if method == "GET":
            if session is None:
                await _error(send, 401, "unauthenticated", "you are not signed in")
                return
            await _json(send, 200, self._body(session))
        elif method == "POST":
            body = json.loads(await _read(receive) or b"{}")
            known = self.passwords.get(str(body.get("name", "")))
            if known is None or not secrets.compare_digest(known[0], str(body.get("password", ""))):
                await _error(send, 401, "unauthenticated", "the name or password is wrong")
                return
            new_id = secrets.token_urlsafe(24)
            self.sessions[new_id] = _Session(known[1], secrets.token_urlsafe(24))
            await _json(send, 200, self._body(self.sessions[new_id]),
                        cookie=f"{COOKIE}={new_id}; HttpOnly; SameSite=Strict; Path=/")
        elif method == "DELETE":
            if session is None or _header(scope, b"x-csrf-token") != session.csrf:
                await _error(send, 401 if session is None else 403, "forbidden", "no session to end")
                return
            self.sessions.pop(session_id or "", None)
            await _json(send, 204, None, cookie=f"{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/")
        else:
            await _error(send, 405, "method_not_allowed", "not a session method")

    def _body(self, session: _Session) -> dict[str, Any]:
        engine = self.app.state.services.engine
        try:
            user = authenticate(engine, session.token)
        except NotAuthenticated:
            return {"user": None, "csrf_token": session.csrf}
        return {"user": user_out(user).model_dump(mode="json"), "csrf_token": session.csrf}


def has_session_routes(app: FastAPI) -> bool:
    """Whether the app has sign-in sessions of its own (its API description names the route;
    ``app.routes`` does not list the routes of included routers)."""
    return SESSION_PATH in app.openapi()["paths"]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    morsel = SimpleCookie(raw).get(COOKIE)
    return morsel.value if morsel else None


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(send: Send, status: int, body: Any, cookie: str | None = None) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if cookie:
        headers.append((b"set-cookie", cookie.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _error(send: Send, status: int, code: str, message: str) -> None:
    await _json(send, status, {"error": {"code": code, "message": message, "hint": None}})
