"""The authentication dependency: every route but the OpenAPI document and sign-in needs a user.

A request authenticates with EITHER a bearer token (machines; unchanged) OR the browser
session cookie (``api.http.cookies``). With the cookie, every unsafe method (anything but
GET, HEAD and OPTIONS) must also send the session's CSRF token in ``X-CSRF-Token``
(compared in constant time), else 403 with code ``csrf``; a bearer request needs none
(another site's page cannot make a browser send an Authorization header). Media GETs
(playback, original, export, with Range) work with the cookie alone, so ``<video src>``
plays on any address. When both are sent, the bearer token decides.

It also applies the rate limits (``api.http.ratelimit``): an address that failed to
authenticate too often is refused before its token is looked at, and an event-creating
request takes from its user's and address's allowance.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.http.cookies import CSRF_HEADER, SESSION_COOKIE
from api.http.errors import CsrfRejected
from api.http.ratelimit import CHARGE_KEY, Charge, RateLimiter
from api.http.services import ServicesDep
from cases.errors import NotAuthenticated
from cases.users import User, authenticate
from cases.web_sessions import WebSession, csrf_matches, session_user
from domain.messages import msg

bearer = HTTPBearer(auto_error=False, description="A token from `evidence user add` or "
                                                  "POST /api/v1/users.")
session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="SessionCookie",
                              description="The browser session of POST /api/v1/session; with it, "
                                          "every POST, PUT, PATCH and DELETE also needs the "
                                          f"session's CSRF token in {CSRF_HEADER}.")
_LIMITER_LOCK = threading.Lock()
_SAFE = frozenset({"GET", "HEAD"})
_CSRF_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_KEY = "evidence.web_session"  # the cookie's session, left on request.state
_STREAMS = ("/playback", "/original", "/photo", "/download")  # an event per viewing session


def limiter_of(app: FastAPI, services: ServicesDep) -> RateLimiter:
    """The app's rate limiter, made on first use from its options and clock."""
    with _LIMITER_LOCK:
        limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
        if limiter is None:
            clock = services.options.clock
            limiter = RateLimiter(services.options.rate_limits, lambda: clock().timestamp())
            app.state.rate_limiter = limiter
        return limiter


def current_user(request: Request, services: ServicesDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                 cookie: Annotated[str | None, Depends(session_cookie)]) -> User:
    limiter = limiter_of(request.app, services)
    address = client_address(request)
    limiter.check_address(address)
    session: WebSession | None = None
    try:
        if credentials is None and cookie is not None:
            user, session = session_user(services.engine, cookie,
                                         policy=services.options.sign_in.sessions,
                                         now=services.now())
        elif credentials is None:
            raise NotAuthenticated(msg("this request needs a signed-in session or a bearer token"),
                                   hint=msg("sign in on the web pages, or send 'Authorization: Bearer "
                                            "<token>' (an admin issues tokens with `evidence user add`)"))
        else:
            user = authenticate(services.engine, credentials.credentials, services.now())
    except NotAuthenticated:
        limiter.failed(address)
        raise
    if session is not None:
        assert cookie is not None
        setattr(request.state, SESSION_KEY, session)
        if request.method not in _CSRF_SAFE and not csrf_matches(cookie,
                                                                 request.headers.get(CSRF_HEADER)):
            raise CsrfRejected()
    path = request.url.path
    if request.method not in _SAFE or path.endswith("/export"):
        limiter.require_event(user.name, address, take=True)
    elif path.endswith(_STREAMS):
        limiter.require_event(user.name, address, take=False)
        setattr(request.state, CHARGE_KEY, Charge(limiter, user.name, address))
    return user


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def web_session_of(request: Request) -> WebSession | None:
    """The browser session ``current_user`` authenticated this request with, if any."""
    session = getattr(request.state, SESSION_KEY, None)
    return session if isinstance(session, WebSession) else None


CurrentUser = Annotated[User, Depends(current_user)]
