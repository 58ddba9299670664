"""The public site (公示平台) at ``/public/``: no sign-in, server-rendered HTML, JSON and Atom.

Anyone may read it, so it is kept apart from the signed-in service:
- no route here reads or sets a cookie or looks at ``Authorization``; every request is
  anonymous and GET/HEAD only (so there is nothing for CSRF to forge);
- every request takes one from its address's allowance (``RateLimits.public_per_address``),
  else 429 with ``Retry-After``;
- responses say ``Cache-Control: public, no-cache`` with a strong ``ETag`` (a cache must ask
  again each time, so a withdrawn entry is gone at once; an unchanged page costs a 304);
- the pages are plain HTML with one stylesheet and no script, in Chinese, and fit a phone.

What it shows comes only from what an agency's admin published (``cases.public_entries``
keeps the published copies; for an officer it also checks the account is still active).

Extension points (for another part of the site, e.g. published decisions):
- pages: your own ``APIRouter(prefix=PUBLIC_URL, include_in_schema=False,
  dependencies=PUBLIC_DEPENDENCIES)``, routes with ``methods=GET_HEAD``, each returning
  ``render(request, "x.html", title=..., ...)`` (or ``not_found_page(request, "what")``);
  your templates live in ``TEMPLATE_DIR`` and ``{% extends "base.html" %}``, filling
  ``title`` and ``content`` (and optionally ``feeds`` for ``<link rel=alternate>``).
- JSON: a router with ``prefix=PUBLIC_API_URL`` (add ``Depends(reject_unknown_query)``),
  answers made with ``json_response`` (same headers); raise ``NotFound`` etc. as elsewhere.
- feeds: ``atom_response(request, feed)`` with ``api.http.atom.Feed``/``Entry``; ids from
  ``feed_id(request, "stable/key")``, links from ``absolute(request, path)``.
- template filters: ``local_date``, ``local_time`` (Asia/Shanghai); globals ``public_url``,
  ``api_url``, ``static_url``, ``site_name``; ``_list.html`` is a list page with cards.
- ``NAV``: append ``(path, label)`` to put a page in the header's navigation.
- ``AGENCY_SOURCES``: append a function giving {code: name} of agencies your part shows,
  so the agency index lists them; ``AGENCY_LINKS``: append ``("/decisions", "执法决定")`` to
  link your part from each agency's page (``/public/agencies/{code}/decisions``).
- register the routers in ``create_app``: ``install_public_site(app, [*public_pages.routers,
  *your_module.routers])``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http import atom
from api.http.auth import client_address, limiter_of
from api.http.errors import error_response, request_locale
from api.http.ratelimit import RateLimited
from api.http.services import ServicesDep
from domain.messages import msg

PUBLIC_URL = "/public"
PUBLIC_API_URL = PUBLIC_URL + "/api"
STATIC_URL = PUBLIC_URL + "/static"
TEMPLATE_DIR = Path(__file__).parent / "public_templates"
STATIC_DIR = Path(__file__).parent / "public_static"
SITE_NAME = "行政执法信息公示平台"
SHOWN_ZONE = ZoneInfo("Asia/Shanghai")  # times on the public site: the region's zone
CACHE_CONTROL = "public, no-cache"
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
GET_HEAD = ["GET", "HEAD"]  # the methods of every public route

# The header's navigation: (path under PUBLIC_URL, label). Other parts of the site append.
NAV: list[tuple[str, str]] = [("/", "首页"), ("/agencies", "执法机关"),
                              ("/certificates", "执法证查询")]


def public_request(request: Request, services: ServicesDep) -> None:
    """Every public request takes one from its address's allowance (429 when it is used up)."""
    limiter_of(request.app, services).public_request(client_address(request))


PUBLIC_DEPENDENCIES = [Depends(public_request)]


def _local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d")
    return value.isoformat()


def _local_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(
        enabled_extensions=("html", "xml"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local_date"] = _local_date
    env.filters["local_time"] = _local_time
    env.globals.update(site_name=SITE_NAME, public_url=PUBLIC_URL, static_url=STATIC_URL,
                       api_url=PUBLIC_API_URL)
    return env


TEMPLATES = _environment()


def _with_etag(request: Request, body: bytes, media_type: str, status_code: int,
               headers: Mapping[str, str] | None = None) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    all_headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, **(headers or {})}
    if status_code == 200 and etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=all_headers)


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """An HTML page from ``template`` (which extends ``base.html``), with the public headers."""
    path = request.url.path
    body = TEMPLATES.get_template(template).render(
        nav=[(PUBLIC_URL + p if p != "/" else PUBLIC_URL + "/", label, _current(path, p))
             for p, label in NAV], **context).encode("utf-8")
    return _with_etag(request, body, HTML, status_code)


def _current(path: str, nav_path: str) -> bool:
    if nav_path == "/":
        return path in (PUBLIC_URL, PUBLIC_URL + "/")
    return path == PUBLIC_URL + nav_path or path.startswith(PUBLIC_URL + nav_path + "/")


def json_response(request: Request, body: Any, status_code: int = 200) -> Response:
    """A JSON answer of the public API (UTF-8, Chinese unescaped), with the public headers."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return _with_etag(request, data.encode("utf-8"), JSON, status_code)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return atom.rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def atom_response(request: Request, feed: atom.Feed) -> Response:
    return _with_etag(request, atom.feed_xml(feed), atom.MEDIA_TYPE, 200)


def absolute(request: Request, path: str) -> str:
    """The full URL of a site path, for feeds (which need absolute links)."""
    return str(request.base_url).rstrip("/") + path


def feed_id(request: Request, key: str) -> str:
    return atom.tag_uri(request.url.hostname or "localhost", key)


def not_found_page(request: Request, what: str) -> Response:
    return render(request, "not_found.html", status_code=404, title="未找到", what=what)


pages = APIRouter(prefix=PUBLIC_URL, include_in_schema=False, dependencies=PUBLIC_DEPENDENCIES)


@pages.api_route("", methods=GET_HEAD)
def public_without_slash() -> Response:
    return Response(status_code=307, headers={"Location": PUBLIC_URL + "/"})


# Agencies the site lists: each source gives {code: name} of agencies with something public.
# The before-lists register theirs; another part (decisions) appends its own.
AGENCY_SOURCES: list[Callable[[Engine], dict[str, str]]] = []
# Links on an agency's page to other parts: (path after /public/agencies/{code}, label).
AGENCY_LINKS: list[tuple[str, str]] = []


def public_agency_names(engine: Engine) -> dict[str, str]:
    """Every agency any part of the site shows, by code (sorted)."""
    names: dict[str, str] = {}
    for source in AGENCY_SOURCES:
        names.update(source(engine))
    return dict(sorted(names.items()))


def install_public_site(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Serve ``/public/`` with the parts' ``routers`` (each made with ``PUBLIC_DEPENDENCIES``);
    call after ``install_pages``, whose fallback it narrows for /public/."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="public-static")
    for router in routers:
        app.include_router(router)
    app.include_router(pages)
    app.router.default = _public_fallback(app.router.default)


def _public_fallback(other: ASGIApp) -> ASGIApp:
    """A path under /public/ that no route answers: the public 404 page (JSON under the API)."""
    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == PUBLIC_URL or path.startswith(PUBLIC_URL + "/")):
            request = Request(scope, receive)
            try:  # a miss costs like any other public request
                public_request(request, request.app.state.services)
            except RateLimited as exc:
                await error_response(429, "too_many_requests", exc.message, exc.hint,
                                     {"Retry-After": str(exc.retry_after)},
                                     locale=request_locale(request))(scope, receive, send)
                return
            if path.startswith(PUBLIC_API_URL + "/") or path == PUBLIC_API_URL:
                response: Response = error_response(
                    404, "not_found", msg("the public site has no list at this address"),
                    msg("the public lists are at {url}", url=PUBLIC_API_URL + "/agencies"),
                    {"Cache-Control": CACHE_CONTROL}, locale=request_locale(request))
            else:
                response = not_found_page(request, "页面")
            await response(scope, receive, send)
            return
        await other(scope, receive, send)

    return fallback
