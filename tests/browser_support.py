"""The browser harness: the web pages in Debian's Chromium, driven by Playwright.

Registered as a pytest plugin (tests/conftest.py), so any test module can use:

- ``site`` (per module): the app under uvicorn on 127.0.0.1, on a home filled by a real
  ingest of a synthetic recorder card (two segments and a photo, unit ``n1``), with the
  organisation and the users of ``tests/api_support.py`` (agencies north and south; one
  user per role: ``officer``, ``case_officer``, ``reviewer``, ``auditor``, ``admin``, and
  others of other units). Every user's password is ``PASSWORD``.
- ``signed_in_page(user, lang)``: a new browser context (its own cookies and storage, a
  1280 px window, the browser's own zone set to America/Los_Angeles so that a page using
  it instead of the station's is caught), the language picked in the header as a person
  would, signed in through the sign-in form. Console errors, uncaught exceptions and
  Content-Security-Policy refusals fail the test at teardown.
- ``new_page(lang)``: the same, not signed in.
- ``shoot(page, name, lang)``: a full-page screenshot in test-output/screenshots/<lang>/.
- ``assert_no_axe_violations(page)``, ``assert_fits(page, 375)``, ``assert_translated(page,
  lang)``, ``assert_no_missing_markers(page)``, ``check_page(page, name, lang)`` (all of
  these at once), ``tr(lang, "English id", **params)`` (the text a person reads).

Chromium is /usr/bin/chromium (``scripts/install-browser``); Playwright never downloads a
browser here. Without it the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from starlette.types import ASGIApp

from api.home import Home, init_home
from api.http import pages_i18n
from api.http.app import create_app
from api.http.ratelimit import RateLimits
from api.http.services import ApiOptions
from api.settings import Settings
from cases.users import add_user, operator
from custody.events import decode_event
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import RECORDER_UTC_OFFSET, make_recorder_image
from tests.api_support import NORTH_UNIT, USERS, make_organisation
from tests.session_stub import SessionStub, has_session_routes

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-output" / "screenshots"
LANGS = ("zh-CN", "en")
PASSWORD = "correct horse battery staple"
STATION_ZONE = "Asia/Shanghai"
BROWSER_ZONE = "America/Los_Angeles"  # never the zone the pages should show
WAIT_MS = 20_000
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
expect.set_options(timeout=WAIT_MS)  # the machine is shared: 5 s is not always enough


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    problem = f"{CHROMIUM} is missing: run scripts/install-browser"
    if os.environ.get("CI") == "true":
        pytest.fail(problem + " (CI=true: the browser tests must run)")
    pytest.skip(problem)


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields its base URL.

    The socket listens before the server starts, so a request made at once waits in the
    backlog instead of being refused.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Site:
    home: Home
    url: str
    tokens: dict[str, str]
    video_id: str = ""
    video_name: str = ""
    video_sha256: str = ""
    photo_name: str = ""
    stub: SessionStub | None = None  # the sessions' stand-in, when the app has none of its own
    passwords: bool = True  # False: this server takes only pasted machine tokens

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in (decode_event(leaf) for _, leaf in self.home.custody_log().entries())
                if e["type"] == event_type]


def add_users(home: Home) -> dict[str, str]:
    """The organisation and users of tests/api_support.py; returns name -> bearer token."""
    make_organisation(home)
    tokens = {}
    for name, member in USERS.items():
        _, tokens[name] = add_user(home.custody_log(), name, member.role, member.officer_no,
                                   by=operator("test"), unit_code=member.unit,
                                   auditor_scope=member.scope)
    return tokens


def give_passwords(app: FastAPI, home: Home,
                   tokens: dict[str, str]) -> tuple[ASGIApp, SessionStub | None]:
    """Let every user sign in with ``PASSWORD``.

    With the server's own sessions (``/api/v1/session``, cases/passwords.py of the sign-in
    work) each user is given the password by the operator. Without them, the contract's
    stand-in (tests/session_stub.py) wraps the app.
    """
    if has_session_routes(app):
        # Imported by name: the module comes with the sign-in work, which may not be here yet.
        set_password = importlib.import_module("cases.passwords").set_password
        for name in tokens:
            set_password(home.custody_log(), name, PASSWORD, by=operator("test"), now=datetime.now(UTC))
        return app, None
    stub = SessionStub(app)
    for name, token in tokens.items():
        stub.add(name, PASSWORD, token)
    return stub, stub


@contextmanager
def running_site(root: Path, *, with_footage: bool = True, sessions: bool = True,
                 prepare: Callable[[Home], None] | None = None,
                 wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> Iterator[Site]:
    """A home (filled by a real ingest when ``with_footage``), its users, and the app serving
    it. ``sessions=False`` serves the app as a server without sign-in sessions (token only);
    ``wrap`` puts an ASGI layer of the test's around it."""
    home, _ = init_home(Settings(home=root / "home", s3_endpoint=None))
    tokens = add_users(home)
    site = Site(home, "", tokens)
    if with_footage:
        _ingest_card(root, home, site)
    if prepare is not None:
        prepare(home)
    app = create_app(home, ApiOptions(rate_limits=RateLimits.generous(), time_zone=STATION_ZONE))
    served: ASGIApp = app
    if sessions:
        served, site.stub = give_passwords(app, home, tokens)
    else:
        if has_session_routes(app):
            pytest.skip("this server has sign-in sessions: the pasted-token form is only for a "
                        "server without them (and can go, with this test)")
        site.passwords = False
    if wrap is not None:
        served = wrap(served)
    try:
        with serve(served) as url:
            site.url = url
            yield site
    finally:
        app.state.services.log.close()
        home.engine().dispose()


def _ingest_card(root: Path, home: Home, site: Site) -> None:
    roles = make_recorder_image(root / "template")
    card = root / "card"
    card.mkdir()
    for role in ("segment_1", "photo"):
        shutil.copy(roles[role], card)
    # The card's recorder keeps UTC+8 (ingest.synthetic): segment 1 starts 01:30:00 UTC.
    ingestor = Ingestor(home.custody_log(), home.object_store(),
                        IngestOptions(station_tz=timezone(RECORDER_UTC_OFFSET), unit_code=NORTH_UNIT))
    try:
        results = [r for r in ingestor.ingest(card) if r.evidence_id]
    finally:
        ingestor.close()
    video = next(r for r in results if roles["segment_1"].name in r.path)
    assert video.evidence_id and video.sha256, video
    site.video_id, site.video_sha256 = video.evidence_id, video.sha256
    site.video_name = roles["segment_1"].name
    site.photo_name = roles["photo"].name


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module: Playwright's sync API keeps an event loop running in this thread while it
    # is open, and a later test's asyncio.run() would fail beside it.
    require_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        try:
            yield launched
        finally:
            launched.close()


# ---------------------------------------------------------------- pages


@dataclass
class Watched:
    """What went wrong in a page that no assertion looked at."""

    problems: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP: {text}")
        elif message.type == "error" and not _expected_console_error(text):
            self.problems.append(f"console error: {text}")

    def page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught: {error}")


def _expected_console_error(text: str) -> bool:
    # A refused request is logged by the browser itself; the page shows the API's message.
    return text.startswith("Failed to load resource")


PageFactory = Callable[..., "Page"]


def open_context(browser: Browser, site: Site, watched: Watched,
                 lang: str | None, browser_locale: str = "en-US") -> tuple[BrowserContext, Page]:
    """A page of ``site`` in the pages' language ``lang``; ``browser_locale`` is the browser's
    own (what it would show in its own widgets), never what the pages should follow."""
    context = browser.new_context(viewport=DESKTOP, timezone_id=BROWSER_ZONE, locale=browser_locale,
                                  accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.on("console", watched.console)
    page.on("pageerror", watched.page_error)
    page.goto(site.url + "/ui/")
    page.locator("#language").wait_for()
    if lang is not None and page.locator("#language").input_value() != lang:
        page.locator("#language").select_option(lang)
        # The sign-in form is drawn again in the new language: wait for it, not just for the
        # language, or what is typed next goes into the form being replaced.
        page.wait_for_function("""([lang, heading]) => document.documentElement.lang === lang
            && document.querySelector('#main h1')?.textContent === heading
            && !document.querySelector('#main').hasAttribute('aria-busy')""",
                               arg=[lang, tr(lang, "Sign in")])
    return context, page


def sign_in(page: Page, site: Site, user: str) -> None:
    """Through the form, as the person would: name and password, or a pasted token."""
    if site.passwords:
        page.locator("#signin-name").fill(user)
        page.locator("#signin-password").fill(PASSWORD)
        page.locator("#signin-form button[type=submit]").click()
    else:
        page.locator("#token").fill(site.tokens[user])
        page.locator("#token-form button[type=submit]").click()
    page.locator("#signed-in-as").wait_for()
    # The start page has rendered and taken the focus, so keys pressed next go to it.
    page.wait_for_function("""() => {
        const main = document.getElementById("main");
        return !location.pathname.endsWith("/signin") && !main.hasAttribute("aria-busy")
            && main.contains(document.activeElement); }""")


@pytest.fixture
def new_page(browser: Browser, site: Site) -> Iterator[PageFactory]:
    contexts: list[BrowserContext] = []
    watched = Watched()

    def make(lang: str | None = "zh-CN", on: Site | None = None, browser_locale: str = "en-US") -> Page:
        context, page = open_context(browser, on or site, watched, lang, browser_locale)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()
    assert watched.problems == []


@pytest.fixture
def signed_in_page(new_page: PageFactory, site: Site) -> PageFactory:
    def make(user: str, lang: str = "zh-CN", on: Site | None = None,
             browser_locale: str = "en-US") -> Page:
        page = new_page(lang, on, browser_locale)
        sign_in(page, on or site, user)
        return page

    return make


# ---------------------------------------------------------------- checks


def tr(lang: str, message_id: str, **params: object) -> str:
    """What the pages show for ``message_id`` in ``lang`` (the catalogue's text)."""
    text = (message_id if lang == pages_i18n.SOURCE_LOCALE
            else pages_i18n.messages(lang).get(message_id, message_id))
    for name, value in params.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def shoot(page: Page, name: str, lang: str) -> Path:
    """A screenshot of the whole page: test-output/screenshots/<lang>/<name>.png."""
    path = SCREENSHOTS / lang / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_axe_violations(page: Page) -> None:
    """axe-core (bundled with axe-playwright-python, so offline) finds nothing on the page."""
    results = Axe().run(page)
    violations = results.response["violations"]
    assert not violations, results.generate_report()


def assert_fits(page: Page, width: int = 375) -> None:
    """At ``width`` CSS pixels nothing scrolls sideways; the viewport is restored after."""
    before = page.viewport_size or DESKTOP
    page.set_viewport_size({"width": width, "height": before["height"]})
    try:
        page.wait_for_function("() => document.documentElement.clientWidth > 0")
        scroll_width, viewport = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll_width > viewport:
            wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > limit + 1).slice(0, 5)
                .map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""", viewport)
            raise AssertionError(f"{scroll_width} px wide at {viewport} px: {wide}")
    finally:
        page.set_viewport_size(before)


_VISIBLE_TEXT = "() => document.body.innerText"


def assert_no_missing_markers(page: Page) -> None:
    """A missing value shows "—", never null, undefined or NaN."""
    text = page.evaluate(_VISIBLE_TEXT)
    for marker in ("null", "undefined", "NaN", "[object Object]"):
        assert marker not in text, f"{marker!r} shown on {page.url}"


def assert_translated(page: Page, lang: str) -> None:
    """In a language other than English, no sentence of the pages shows in English."""
    if lang == pages_i18n.SOURCE_LOCALE:
        return
    text = page.evaluate(_VISIBLE_TEXT)
    catalogue = pages_i18n.messages(lang)
    english = [i for i in pages_i18n.script_messages().ids
               if " " in i and "{" not in i and catalogue.get(i, i) != i and i in text]
    assert english == [], f"shown in English on {page.url}: {english}"


def check_page(page: Page, name: str, lang: str) -> None:
    """What every page must pass, in each language: a screenshot (desktop, and 375 px wide),
    axe-core, no sideways scrolling at 375 px, no untranslated sentence, no "null"."""
    shoot(page, name, lang)
    assert_no_missing_markers(page)
    assert_translated(page, lang)
    assert_no_axe_violations(page)
    assert_fits(page, 375)
    before = page.viewport_size or DESKTOP
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        shoot(page, name + "-375", lang)
    finally:
        page.set_viewport_size(before)


def assert_focus_visible(page: Page) -> None:
    """The focused element is drawn with a visible outline (keyboard users see where they are)."""
    style = page.evaluate("""() => {
        const e = document.activeElement; const s = getComputedStyle(e);
        return [e.tagName, s.outlineStyle, s.outlineWidth, s.boxShadow]; }""")
    tag, outline, width, shadow = style
    assert tag != "BODY", "nothing has the focus"
    assert (outline != "none" and width != "0px") or shadow != "none", style
