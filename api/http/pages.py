"""The web pages: one HTML shell, ES modules and a stylesheet that call the JSON API.

The pages hold no data. ``/ui/`` and every path under it (``/ui/evidence/<id>``,
``/ui/cases``, ...) is the same shell; the script (``static/js/main.js``) draws the
view the path names, in the person's language and time zone. People sign in with a
name and password into a session cookie (``POST /api/v1/session``), so the player's
``<video>`` requests authenticate like every other request. ``/ui/config.json``
tells the page the station's time zone and the languages it offers, and
``/ui/i18n/{locale}.json`` the messages of one language (``pages_i18n``).

Any other path that is not the API's (``/api/...``) gets the same shell with status
404, and the script says "page not found" in the person's language: people get a
page, machines asking the API get JSON.

Wiring: ``install_pages(app)`` in ``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http import pages_i18n
from api.http.services import ServicesDep
from domain.errors import NotFound
from domain.messages import msg

STATIC_DIR = Path(__file__).parent / "static"
SHELL = STATIC_DIR / "index.html"
PAGES_URL = "/ui/"
STATIC_URL = "/ui/static"
API_PREFIX = "/api"

# The security headers (CSP and the rest) come from headers.SecurityHeaders on every
# response; the pages add only their caching.
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def install_pages(app: FastAPI) -> None:
    """Serve the pages at /ui/ (and redirect / there); the API itself is untouched.

    Paths no route answers reach the router's default: the shell for a page, the
    API's JSON 404 for anything under /api/ and for methods other than GET/HEAD.
    """
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(router)
    app.router.default = _page_fallback(app.router.default)


def _shell(status_code: int = 200) -> FileResponse:
    return FileResponse(SHELL, status_code=status_code, media_type="text/html; charset=utf-8",
                        headers=_PAGE_HEADERS)


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _page_fallback(not_found: ASGIApp) -> ASGIApp:
    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
                and not is_api_path(path)):
            # Under /ui/ a view the script knows (or its own "not found"); elsewhere a 404 page.
            await _shell(200 if path.startswith(PAGES_URL) else 404)(scope, receive, send)
            return
        await not_found(scope, receive, send)

    return fallback


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(PAGES_URL, status_code=307)


@router.get("/ui")
def pages_without_slash() -> RedirectResponse:
    return RedirectResponse(PAGES_URL, status_code=307)


@router.get(PAGES_URL)
def pages_shell() -> FileResponse:
    """The single page; the script draws each view (/ui/evidence, /ui/cases, ...) into it."""
    return _shell()


@router.get(PAGES_URL + "config.json")
def page_config(services: ServicesDep) -> JSONResponse:
    """What the page needs before anyone signs in: the station's zone and the languages."""
    body: dict[str, Any] = {
        "time_zone": services.options.time_zone,
        "default_locale": pages_i18n.DEFAULT_LOCALE,
        "locales": [{"code": code, "name": name} for code, name in pages_i18n.LOCALES.items()],
    }
    return JSONResponse(body, headers=_PAGE_HEADERS)


@router.get(PAGES_URL + "i18n/{locale}.json")
def page_messages(locale: str) -> JSONResponse:
    """One language's messages for the script's ``t()``: {"locale", "messages": {id: text}}."""
    try:
        found = pages_i18n.messages(locale)
    except KeyError:
        offered = ", ".join(pages_i18n.LOCALES)
        raise NotFound(msg("the pages are not translated into {locale!r}", locale=locale),
                       hint=msg("choose one of: {offered}", offered=offered)) from None
    return JSONResponse({"locale": locale, "messages": found}, headers=_PAGE_HEADERS)
