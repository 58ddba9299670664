"""The browser session's cookie and CSRF header: names and how they are set.

The session cookie (``evidence_session``) is HttpOnly (no script reads it),
SameSite=Strict (no other site's page or link sends it), Path=/ (media requests
carry it, so ``<video src>`` plays with it alone), and Secure when the request came
over HTTPS or ``EVIDENCE_COOKIE_SECURE`` says the server is behind a TLS proxy. It
has no Max-Age: it lasts until the browser closes, and the server ends it sooner
(idle and absolute timeouts).
"""

from __future__ import annotations

from fastapi import Request, Response

SESSION_COOKIE = "evidence_session"
CSRF_HEADER = "X-CSRF-Token"
OIDC_COOKIE = "evidence_oidc"  # the state of a single sign-on in progress
OIDC_COOKIE_PATH = "/auth/oidc/"


def secure(request: Request, always: bool) -> bool:
    return always or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session_id: str, *,
                       always_secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="strict",
                        secure=secure(request, always_secure))


def clear_session_cookie(response: Response, request: Request, *, always_secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=secure(request, always_secure))
