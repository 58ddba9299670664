"""The web pages in a real browser: Debian's Chromium, headless, driven by selenium.

The app runs under uvicorn on 127.0.0.1 with a home filled by a real ingest of
a synthetic recorder card; users are made with ``cases.users.add_user``. The
browser signs in by pasting a token, as a person would, and the checks are what
that person sees. Install the browser with ``scripts/install-browser``; without
it these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import text

from api.home import Home, init_home
from api.http.app import create_app
from api.settings import Settings
from cases.tables import DEFAULT_UNIT
from cases.users import ALL_AGENCIES, Role, add_user, operator, scope_of
from custody.events import decode_event
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import RECORDER_UTC_OFFSET, make_recorder_image

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path("/tmp")
WAIT_SECONDS = 20
SHORT_HASH = 12


def _require_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"{CHROMIUM} or {CHROMEDRIVER} is missing: run scripts/install-browser"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the browser test must run)")
    pytest.skip(message)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields its base URL.

    The socket listens before the server starts, so a request made at once
    waits in the backlog instead of being refused.
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
    video_id: str
    video_name: str
    video_sha256: str
    photo_name: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_browser()
    root = tmp_path_factory.mktemp("pages")
    roles = make_recorder_image(root / "template")
    card = root / "card"
    card.mkdir()
    for role in ("segment_1", "photo"):
        shutil.copy(roles[role], card)
    home, _ = init_home(Settings(home=root / "home", s3_endpoint=None))
    # The card's recorder keeps UTC+8 (ingest.synthetic): segment 1 starts 01:30:00 UTC.
    ingestor = Ingestor(home.custody_log(), home.object_store(),
                        IngestOptions(station_tz=timezone(RECORDER_UTC_OFFSET)))
    try:
        results = [r for r in ingestor.ingest(card) if r.evidence_id]
    finally:
        ingestor.close()
    video = next(r for r in results if roles["segment_1"].name in r.path)
    assert video.evidence_id and video.sha256, video
    tokens = {}
    for name, role in (("carol", Role.CASE_OFFICER), ("audrey", Role.AUDITOR)):
        _, tokens[name] = add_user(home.custody_log(), name, role, None, by=operator("test"),
                               unit_code=DEFAULT_UNIT, auditor_scope=scope_of(role))
    with serve(create_app(home)) as url:
        yield Site(home, url, tokens, video.evidence_id, roles["segment_1"].name,
                   video.sha256, roles["photo"].name)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to see CSP reports
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, WAIT_SECONDS).until(condition)


def visible(driver: WebDriver, css: str) -> WebElement:
    element: WebElement = wait_for(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)))
    return element


def text_in(driver: WebDriver, css: str, wanted: str) -> None:
    wait_for(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), wanted))


def click_link(driver: WebDriver, link_text: str) -> None:
    """Click a link once the page being drawn shows it."""
    wait_for(driver, EC.element_to_be_clickable((By.LINK_TEXT, link_text))).click()


def sign_in(driver: WebDriver, site: Site, token: str) -> None:
    driver.get(site.url + "/")  # redirects to the pages, then to the sign-in form
    visible(driver, "#token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()


def message_box(driver: WebDriver) -> str:
    return str(visible(driver, "#message").text)


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page, not just the window: the window is stretched to the page's height."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    page_height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, int(page_height) + 120))
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(width, height)
    return path


def csp_violations(driver: WebDriver) -> list[str]:
    """What the browser refused under the Content-Security-Policy since the last call."""
    assert isinstance(driver, webdriver.Chrome)
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries
            if "Content Security Policy" in str(entry["message"])]


def custody_events(home: Home, event_type: str) -> list[dict[str, Any]]:
    return [e for e in (decode_event(leaf) for _, leaf in home.custody_log().entries())
            if e["type"] == event_type]


def test_case_officer_searches_plays_and_files_footage_on_a_case(
        site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, site.tokens["carol"])
    text_in(browser, "#signed-in-as", "carol (case officer)")
    table = visible(browser, "#evidence-table")
    assert site.video_name in table.text and site.photo_name in table.text
    assert site.video_sha256[:SHORT_HASH] + "…" in table.text
    assert "3.0 s" in table.text  # the segment's duration

    # A search that matches nothing says so; clearing it brings the items back.
    visible(browser, "#device").send_keys("NO-SUCH-RECORDER")
    browser.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    text_in(browser, "#no-evidence", "No evidence matches")
    assert "device=NO-SUCH-RECORDER" in browser.current_url
    browser.find_element(By.XPATH, "//button[text()='Clear']").click()
    visible(browser, "#evidence-table")

    # A time range (UTC) leaves out the segment that started before it.
    browser.execute_script("arguments[0].value = '2024-03-15T01:31:00'", visible(browser, "#from"))
    browser.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    text_in(browser, "#evidence-table caption", "1–1 of 1")
    table = visible(browser, "#evidence-table")
    assert site.photo_name in table.text and site.video_name not in table.text
    assert "2024-03-15 01:32:00 UTC" in table.text
    browser.find_element(By.XPATH, "//button[text()='Clear']").click()
    text_in(browser, "#evidence-table caption", "1–2 of 2")

    click_link(browser, site.video_name)
    text_in(browser, "h1", site.video_name)
    assert site.video_sha256 in browser.find_element(By.CSS_SELECTOR, ".facts").text
    assert "playback.mp4" in visible(browser, "#derivatives").text
    text_in(browser, "#custody-events", "Copied off recorder")

    # Play: the service worker adds the token to the player's own Range requests.
    visible(browser, "#view-reason").send_keys("case review")
    browser.find_element(By.CSS_SELECTOR, "#play-form button[type=submit]").click()
    video = visible(browser, "#player")
    wait_for(browser, lambda d: d.execute_script("return arguments[0].readyState", video) >= 2)
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    wait_for(browser, lambda d: d.execute_script("return arguments[0].currentTime", video) > 0.5)
    text_in(browser, "#custody-events",
            "Viewed (the playback copy) by user carol; reason given: “case review”")
    viewed = custody_events(site.home, "evidence:file:viewed")
    assert [(e["actor"], e["details"]["reason"]) for e in viewed] == [("user:carol", "case review")]
    screenshot(browser, "pages-evidence.png")

    # Open a case, then attach the item from its own page.
    click_link(browser, "Cases")
    visible(browser, "#case-number").send_keys("2024/0042")
    browser.find_element(By.ID, "case-title").send_keys("Disturbance, Market Street")
    browser.find_element(By.CSS_SELECTOR, "#new-case-form button[type=submit]").click()
    text_in(browser, "h1", "Case 2024/0042")
    text_in(browser, "#case-evidence", "No evidence is attached yet")
    browser.back()
    browser.back()  # the list of cases, then the item
    text_in(browser, "h1", site.video_name)
    Select(visible(browser, "#attach-case")).select_by_visible_text(
        "2024/0042 — Disturbance, Market Street")
    browser.find_element(By.CSS_SELECTOR, "#attach-form button[type=submit]").click()
    text_in(browser, "#evidence-cases", "Case 2024/0042")
    text_in(browser, "#custody-events", "Attached to case 2024/0042 by user carol")

    click_link(browser, "Case 2024/0042")
    text_in(browser, "#case-evidence", site.video_name)
    browser.find_element(By.ID, "export-button").click()
    text_in(browser, "#export-result", "Bundle ready:")
    assert browser.find_element(By.CSS_SELECTOR, "#export-result a").text.endswith(".zip")
    text_in(browser, "#case-history", "Case bundle exported by user carol")
    assert [e["actor"] for e in custody_events(site.home, "case:bundle:exported")] == ["user:carol"]
    screenshot(browser, "pages-case.png")

    # Send it for review, once: the button gives way to who sent it.
    browser.find_element(By.ID, "review-button").click()
    text_in(browser, "#case-review", "by carol")
    text_in(browser, "#case-history", "Case 2024/0042 sent for review by user carol")
    assert not browser.find_elements(By.ID, "review-button")

    # Detach: the item leaves the case, and the case's history says so.
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='Detach {site.video_name}']").click()
    text_in(browser, "#case-evidence", "No evidence is attached yet")
    text_in(browser, "#case-history", "Taken off case 2024/0042 by user carol")

    # The API's own refusal shows in the message box: the case number is taken.
    click_link(browser, "Cases")
    visible(browser, "#case-number").send_keys("2024/0042")
    browser.find_element(By.ID, "case-title").send_keys("Same number again")
    browser.find_element(By.CSS_SELECTOR, "#new-case-form button[type=submit]").click()
    shown = message_box(browser)
    assert "2024/0042" in shown and "HTTP 409" in shown
    screenshot(browser, "pages-error.png")


def test_auditor_sees_the_checkpoint_the_key_and_an_intact_log(
        site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, site.tokens["audrey"])
    text_in(browser, "h1", "Custody log audit")
    checkpoint = visible(browser, "#checkpoint").text
    latest = site.home.custody_log().latest_checkpoint()
    assert latest is not None and checkpoint.splitlines()[0] == latest.note.splitlines()[0]
    assert visible(browser, "#verifier-key").text == site.home.verifier().vkey()
    text_in(browser, "#verify-verdict", "Intact: every check passed.")
    assert "Problems" not in browser.find_element(By.ID, "verify-report").text
    screenshot(browser, "pages-audit.png")
    assert csp_violations(browser) == []

    # An auditor reads evidence but is not offered the player.
    click_link(browser, "Evidence")
    click_link(browser, site.video_name)
    text_in(browser, "h1", site.video_name)
    assert not browser.find_elements(By.ID, "player")


def test_a_wrong_token_is_refused_with_the_apis_message(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "not-a-real-token")
    shown = message_box(browser)
    assert "HTTP 401" in shown and "unauthenticated" in shown
    assert browser.find_element(By.ID, "token").is_displayed()  # still on the sign-in form
    assert browser.execute_script("return sessionStorage.length") == 0


def test_a_tampered_log_is_reported_to_the_auditor(tmp_path: Path, browser: WebDriver) -> None:
    home, _ = init_home(Settings(home=tmp_path / "home", s3_endpoint=None))
    _, token = add_user(home.custody_log(), "audrey", Role.AUDITOR, None, by=operator("test"),
                        unit_code=DEFAULT_UNIT, auditor_scope=ALL_AGENCIES)
    add_user(home.custody_log(), "mallory", Role.ADMIN, None, by=operator("test"),
             unit_code=DEFAULT_UNIT)
    # Rewrite who created the second account, as someone with SQL access could.
    with home.engine().begin() as conn:
        leaf = bytes(conn.execute(text("SELECT leaf FROM custody_entries WHERE seq=1")).scalar_one())
        forged = leaf.replace(b"cli:test", b"cli:evil")
        assert forged != leaf
        conn.execute(text("UPDATE custody_entries SET leaf=:leaf WHERE seq=1"), {"leaf": forged})
    with serve(create_app(home)) as url:
        sign_in(browser, Site(home, url, {}, "", "", "", ""), token)
        text_in(browser, "#verify-verdict", "Problems found")
        assert visible(browser, "#verify-problems").text


def test_the_api_docs_work_offline_under_the_policy(site: Site, browser: WebDriver) -> None:
    """Swagger UI comes from the package and starts from a file: nothing is blocked, and
    nothing is fetched from another origin."""
    browser.get(site.url + "/api/v1/docs")
    text_in(browser, ".information-container", "evidence case service")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) > 10
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map((r) => r.name)")
    assert resources and all(str(url).startswith(site.url) for url in resources), resources
    assert csp_violations(browser) == []
    screenshot(browser, "pages-api-docs.png")
