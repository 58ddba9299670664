"""Single sign-on (OpenID Connect): ``/auth/oidc/login`` and ``/auth/oidc/callback``.

The login route makes a state, a nonce and a PKCE verifier, keeps them on the server
(``cases.web_sessions.save_oidc_request``) and the state in a short-lived cookie
(SameSite=Lax, so that it comes back with the provider's redirect), and redirects to the
provider. The callback accepts the answer only in the browser that started it (state ==
cookie), once, within ten minutes; exchanges the code with the verifier; verifies the ID
token (``api.http.oidc``); and opens the same browser session as a password sign-in for
the existing, active user the configured claim names, then redirects to ``next``.

These are pages a browser navigates to, so a failure is a short HTML page saying what to
do (JSON with the usual error shape for a client that does not accept HTML). An unknown
and a revoked account get the same answer.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from html import escape
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.http.auth import client_address, limiter_of
from api.http.cookies import OIDC_COOKIE, OIDC_COOKIE_PATH, secure
from api.http.errors import ErrorBody, error_response, request_locale
from api.http.oidc import OidcClient, OidcFailed, new_secret
from api.http.routes_session import start_browser_session
from api.http.services import Services, ServicesDep
from api.i18n import TAGS, gettext, tr
from cases import tables
from cases.users import User, user_from_row, user_query
from cases.web_sessions import OidcRequest, save_oidc_request, take_oidc_request
from domain.messages import msg

router = APIRouter(tags=["sign-in"])
REQUEST_TTL = timedelta(minutes=10)
DEFAULT_NEXT = "/ui/"
_FAILURES = {400: "invalid_request", 403: "sso_refused", 404: "sso_not_configured"}
_NO_CREDENTIALS: dict[str, Any] = {"security": [{}]}


def _documented(**errors: str) -> dict[int | str, dict[str, Any]]:
    """A redirect, and errors: an HTML page for a browser, the usual JSON for a program."""
    answers: dict[int | str, dict[str, Any]] = {
        302: {"description": "To the provider (login) or to `next` (callback)."}}
    for status, description in {"422": "A parameter does not match the API.",
                                "500": "The server failed.", **errors}.items():
        answers[int(status)] = {"model": ErrorBody, "description": description,
                                "content": {"text/html": {}}}
    return answers
_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{heading}</h1>
<p data-code="{code}">{message}</p><p>{hint}</p>
<p><a href="/ui/">{back}</a></p></main></body></html>
"""


def _failure(request: Request, services: Services, exc: OidcFailed) -> Response:
    """The answer to a failed single sign-on: a page for a browser, JSON for a program;
    the sign-in in progress is forgotten."""
    accept = request.headers.get("accept", "")
    locale = request_locale(request)
    response: Response
    if "text/html" in accept:
        response = HTMLResponse(_PAGE.format(
            code=escape(exc.code), message=escape(tr(exc.message, locale)),
            hint=escape(tr(exc.hint, locale) if exc.hint else ""), lang=TAGS[locale],
            title=escape(gettext("Single sign-on", locale)),
            heading=escape(gettext("Single sign-on did not sign you in", locale)),
            back=escape(gettext("Back to the sign-in page", locale))),
            status_code=exc.status, headers={"Cache-Control": "no-store",
                                             "Content-Language": TAGS[locale]})
    else:
        response = error_response(exc.status, exc.code, exc.message, exc.hint, locale=locale)
    response.delete_cookie(OIDC_COOKIE, path=OIDC_COOKIE_PATH, httponly=True, samesite="lax",
                           secure=secure(request, services.options.sign_in.cookie_secure))
    return response


def _not_configured() -> OidcFailed:
    return OidcFailed(msg("single sign-on is not set up on this server"),
                      hint=msg("sign in with your name and password"), status=404,
                      code="sso_not_configured")


def _stale() -> OidcFailed:
    return OidcFailed(msg("this sign-in was not started in this browser, was already used, or is more than "
                          "ten minutes old"),
                      hint=msg("start again from the sign-in page"),
                      status=400, code="sso_state")


def safe_next(path: str) -> bool:
    """``next`` must be a page of this server under /ui/ (never another site)."""
    parts = urlsplit(path)
    return (not parts.scheme and not parts.netloc and path.startswith(DEFAULT_NEXT)
            and "\\" not in path and "//" not in path
            and all(32 < ord(ch) < 127 for ch in path))


def _redirect_uri(request: Request, client: OidcClient) -> str:
    return client.config.redirect_url or str(request.url_for("oidc_callback"))


@router.get("/auth/oidc/login", response_class=RedirectResponse, status_code=302,
            responses=_documented(**{"400": "`next` is not a page under /ui/.",
                                     "404": "Single sign-on is not set up.",
                                     "502": "The provider cannot be reached."}),
            summary="Start single sign-on", openapi_extra=_NO_CREDENTIALS)
def oidc_login(request: Request, services: ServicesDep,
               next: Annotated[str, Query(max_length=2000,
                                          description="The page to return to, under /ui/.")]
               = DEFAULT_NEXT) -> Response:
    """Redirects to the OpenID provider (state, nonce and PKCE S256); needs no sign-in."""
    client = services.oidc
    if client is None:
        return _failure(request, services, _not_configured())
    if not safe_next(next):
        return _failure(request, services, OidcFailed(
            msg("the page to return to must be one of this server's pages under /ui/"),
            hint=msg("start single sign-on from the sign-in page"), status=400,
            code="invalid_request"))
    address = client_address(request)
    limiter_of(request.app, services).require_event(f"address:{address}", address, take=True)
    state, nonce, verifier = new_secret(), new_secret(), new_secret()
    try:
        url = client.authorization_url(redirect_uri=_redirect_uri(request, client), state=state,
                                       nonce=nonce, code_verifier=verifier)
    except OidcFailed as exc:
        return _failure(request, services, exc)
    save_oidc_request(services.engine, state, OidcRequest(nonce, verifier, next),
                      now=services.now(), ttl=REQUEST_TTL)
    response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    response.set_cookie(OIDC_COOKIE, state, max_age=int(REQUEST_TTL.total_seconds()),
                        path=OIDC_COOKIE_PATH, httponly=True, samesite="lax",
                        secure=secure(request, services.options.sign_in.cookie_secure))
    return response


@router.get("/auth/oidc/callback", response_class=RedirectResponse, status_code=302,
            responses=_documented(**{
                "400": "Not started in this browser, used, or stale.",
                "403": "Refused or unverifiable, or no active account matches the identity.",
                "404": "Single sign-on is not set up.",
                "502": "The provider cannot be reached."}),
            summary="The provider's answer", name="oidc_callback", openapi_extra=_NO_CREDENTIALS)
def oidc_callback(request: Request, services: ServicesDep) -> Response:
    """Where the provider sends the browser back (code and state); on success the session
    cookie is set (event `user:session:started`, method `oidc`) and the browser goes to
    `next`."""
    client = services.oidc
    if client is None:
        return _failure(request, services, _not_configured())
    limiter = limiter_of(request.app, services)
    address = client_address(request)
    limiter.check_address(address)
    try:
        user, identity_details = _verified_user(request, services, client)
    except OidcFailed as exc:
        limiter.failed(address)
        return _failure(request, services, exc)
    pending_next = identity_details.pop("next")
    response = RedirectResponse(pending_next, status_code=302,
                                headers={"Cache-Control": "no-store"})
    start_browser_session(request, response, services, user, "oidc",
                          details=dict(identity_details))
    response.delete_cookie(OIDC_COOKIE, path=OIDC_COOKIE_PATH, httponly=True, samesite="lax",
                           secure=secure(request, services.options.sign_in.cookie_secure))
    return response


def _verified_user(request: Request, services: Services,
                   client: OidcClient) -> tuple[User, dict[str, str]]:
    params = request.query_params
    state, remembered = params.get("state"), request.cookies.get(OIDC_COOKIE)
    if not state or not remembered or not hmac.compare_digest(state.encode(), remembered.encode()):
        raise _stale()
    pending = take_oidc_request(services.engine, state, now=services.now(), ttl=REQUEST_TTL)
    if pending is None:
        raise _stale()
    if params.get("error"):
        raise OidcFailed(msg("the provider did not sign you in ({error})", error=params['error'][:100]),
                         hint=msg("start again from the sign-in page, or sign in with your name and "
                                  "password"), status=403, code="sso_refused")
    if params.get("iss") is not None and params["iss"] != client.config.issuer:
        raise OidcFailed(msg("the answer came from another provider than the one asked"),
                         hint=msg("start again from the sign-in page"), status=403,
                         code="sso_refused")
    code = params.get("code")
    if not code:
        raise OidcFailed(msg("the provider's answer has no authorization code"),
                         hint=msg("start again from the sign-in page"), status=400,
                         code="invalid_request")
    identity = client.sign_in(code=code, redirect_uri=_redirect_uri(request, client),
                              code_verifier=pending.code_verifier, nonce=pending.nonce,
                              now=services.now().timestamp())
    with services.engine.connect() as conn:
        row = conn.execute(user_query().where(tables.users.c.name == identity.name)).first()
    if row is None or row.revoked_at is not None:
        raise OidcFailed(msg("no active account here matches your single sign-on identity"),
                         hint=msg("ask an admin of your agency to add you under the name the provider "
                                  "gives as {claim}", claim=client.config.claim),
                         status=403, code="sso_no_account")
    return user_from_row(row), {"issuer": client.config.issuer, "subject": identity.subject,
                                "next": pending.next_path}
