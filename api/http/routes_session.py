"""Signing in and out of the web pages: the browser session (``api.http.cookies``).

``POST /session`` takes a name and password and sets the session cookie; ``GET /session``
says who is signed in and gives the CSRF token the pages send with every change;
``DELETE /session`` signs out (the server-side session ends, the cookie is cleared).
``GET /session/providers`` tells the sign-in page whether to offer single sign-on.
Every failed sign-in gets the same 401 whatever the reason (unknown name, wrong
password, locked or revoked account), and takes from the address's allowance of failed
authentications (429 once used up).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.auth import client_address, limiter_of, session_cookie
from api.http.convert import user_out
from api.http.cookies import CSRF_HEADER, SESSION_COOKIE, clear_session_cookie, set_session_cookie
from api.http.errors import CsrfRejected, responses
from api.http.models import UserOut
from api.http.services import Services, ServicesDep
from cases.errors import NotAuthenticated
from cases.passwords import password_sign_in
from cases.users import User
from cases.web_sessions import (
    OpenedSession,
    WebSession,
    csrf_matches,
    csrf_token_for,
    end_session,
    open_session,
    session_user,
)
from custody.events import JSON
from domain.messages import msg

router = APIRouter(tags=["sign-in"])
_NO_STORE = {"Cache-Control": "no-store"}
NO_CREDENTIALS: dict[str, Any] = {"security": [{}]}  # OpenAPI: reachable without any
COOKIE_IF_ANY: dict[str, Any] = {"security": [{}]}  # added to the cookie's own: optional
SessionCookie = Annotated[str | None, Depends(session_cookie)]


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256, description="The user name.")
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user: UserOut = Field(description="The signed-in user, as GET /me gives it.")
    csrf_token: str = Field(description="Send it in the X-CSRF-Token header with every POST, "
                                        "PUT, PATCH and DELETE made with the session cookie.")


class ProvidersOut(BaseModel):
    oidc: bool = Field(description="Single sign-on (OpenID Connect) is set up: "
                                   "GET /auth/oidc/login?next=/ui/ starts it.")


def _cookie_session(request: Request, services: Services) -> tuple[User, WebSession] | None:
    """The live session of the request's cookie; None without a cookie. An ended or unknown
    one counts as a failed authentication of the address."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    limiter = limiter_of(request.app, services)
    address = client_address(request)
    limiter.check_address(address)
    try:
        return session_user(services.engine, cookie, policy=services.options.sign_in.sessions,
                            now=services.now())
    except NotAuthenticated:
        limiter.failed(address)
        raise


def start_browser_session(request: Request, response: Response, services: Services, user: User,
                          method: str, details: dict[str, JSON] | None = None) -> OpenedSession:
    """Open a session for ``user`` and set its cookie on ``response``; a session the browser
    already had ends first (the id changes at every sign-in)."""
    options = services.options.sign_in
    now = services.now()
    address = client_address(request)
    limiter_of(request.app, services).require_event(user.name, address, take=True)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous is not None:
        try:
            old_user, old = session_user(services.engine, previous, policy=options.sessions,
                                         now=now)
        except NotAuthenticated:
            pass
        else:
            end_session(services.log, old, by=old_user, reason="replaced by a new sign-in",
                        now=now)
    opened = open_session(services.log, user, method=method, policy=options.sessions, now=now,
                          address=address, details=details)
    set_session_cookie(response, request, opened.session_id, always_secure=options.cookie_secure)
    return opened


@router.post("/session", response_model=SessionOut, responses=responses(401),
             summary="Sign in with a name and password", openapi_extra=NO_CREDENTIALS)
def sign_in(body: SignInIn, request: Request, response: Response,
            services: ServicesDep) -> SessionOut:
    """Sets the session cookie `evidence_session` (HttpOnly, SameSite=Strict, Secure over
    HTTPS). A wrong name or password, a locked and a revoked account get the same 401.
    Event `user:session:started`; the failure that locks an account, `user:account:locked`."""
    limiter = limiter_of(request.app, services)
    address = client_address(request)
    limiter.check_address(address)
    try:
        user = password_sign_in(services.log, body.name, body.password,
                                policy=services.options.sign_in.lockout, now=services.now(),
                                address=address)
    except NotAuthenticated:
        limiter.failed(address)
        raise
    opened = start_browser_session(request, response, services, user, "password")
    response.headers.update(_NO_STORE)
    return SessionOut(user=user_out(user), csrf_token=opened.csrf_token)


@router.get("/session", response_model=SessionOut, responses=responses(401),
            summary="Who is signed in")
def current_session(request: Request, response: Response, services: ServicesDep,
                    cookie: SessionCookie) -> SessionOut:
    """The session cookie's user and CSRF token; 401 when not signed in (a bearer token is
    not a session)."""
    found = _cookie_session(request, services)
    if found is None:
        raise NotAuthenticated(msg("you are not signed in"),
                               hint=msg("sign in with your name and password"))
    user, _ = found
    assert cookie is not None
    response.headers.update(_NO_STORE)
    return SessionOut(user=user_out(user), csrf_token=csrf_token_for(cookie))


@router.delete("/session", status_code=204, responses=responses(403),
               summary="Sign out", openapi_extra=COOKIE_IF_ANY)
def sign_out(request: Request, services: ServicesDep, cookie: SessionCookie) -> Response:
    """Ends the cookie's session on the server (event `user:session:ended`) and clears the
    cookie; needs X-CSRF-Token. Without a live session there is nothing to end: 204."""
    response = Response(status_code=204, headers=_NO_STORE)
    try:
        found = _cookie_session(request, services)
    except NotAuthenticated:
        found = None
    if found is not None:
        user, session = found
        assert cookie is not None
        if not csrf_matches(cookie, request.headers.get(CSRF_HEADER)):
            raise CsrfRejected()
        limiter_of(request.app, services).require_event(user.name, client_address(request),
                                                        take=True)
        end_session(services.log, session, by=user, reason="signed out", now=services.now())
    clear_session_cookie(response, request,
                         always_secure=services.options.sign_in.cookie_secure)
    return response


@router.get("/session/providers", response_model=ProvidersOut, summary="Ways to sign in",
            responses=responses(), openapi_extra=NO_CREDENTIALS)
def providers(services: ServicesDep) -> ProvidersOut:
    """Needs no sign-in: whether the sign-in page should offer single sign-on."""
    return ProvidersOut(oidc=services.oidc is not None)
