"""The web pages: one HTML shell, a script and a stylesheet that call the JSON API.

The pages hold no data and need no login of their own: the script asks for a
bearer token, keeps it in the tab's ``sessionStorage`` and sends it with every
API call. ``<video>`` cannot send a header, so a service worker (``sw.js``,
served from ``/ui/`` so that it controls the pages) adds the token to the
player's Range requests for playback copies; it asks the page for the token on
each request and never stores it.

Wiring: ``install_pages(app)`` in ``create_app``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
PAGES_URL = "/ui/"
STATIC_URL = "/ui/static"

# The security headers (CSP and the rest) come from headers.SecurityHeaders on every
# response; the pages add only their caching.
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def install_pages(app: FastAPI) -> None:
    """Serve the pages at /ui/ (and redirect / there); the API itself is untouched."""
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="ui-static")


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(PAGES_URL, status_code=307)


@router.get("/ui")
def pages_without_slash() -> RedirectResponse:
    return RedirectResponse(PAGES_URL, status_code=307)


@router.get(PAGES_URL)
def pages_shell() -> FileResponse:
    """The single page; the script draws each view (#/evidence, #/cases, #/audit) into it."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=_PAGE_HEADERS)


@router.get(PAGES_URL + "sw.js")
def player_worker() -> FileResponse:
    """The service worker; served here, not under /ui/static/, so its scope covers /ui/."""
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript; charset=utf-8",
                        headers={**_PAGE_HEADERS, "Service-Worker-Allowed": PAGES_URL})
