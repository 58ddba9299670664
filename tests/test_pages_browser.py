"""The web pages in a real browser: Debian's Chromium, headless, driven by Playwright.

The harness (tests/browser_support.py) serves the app on 127.0.0.1 with a home filled by
a real ingest of a synthetic recorder card. The browser's own zone is America/Los_Angeles,
the station's Asia/Shanghai: the pages must show and take the station's. Each journey runs
in Chinese and in English, with a screenshot of each page (test-output/screenshots/),
axe-core, and a check that nothing scrolls sideways at 375 px.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.browser_support import (
    LANGS,
    PageFactory,
    Site,
    assert_focus_visible,
    check_page,
    running_site,
    shoot,
    tr,
)

SHORT_HASH = 12
# Segment 1 starts 01:30:00 UTC (09:30:00 at the station), the photo 01:32:00 UTC.
VIDEO_AT_STATION = "2024-03-15 09:30:00"
PHOTO_AT_STATION = "2024-03-15 09:32:00"


def search_button(page: Page) -> None:
    page.locator("#search-form button[type=submit]").click()


@pytest.mark.parametrize("lang", LANGS)
def test_case_officer_searches_plays_and_files_footage_on_a_case(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang)
    expect(page.locator("#signed-in-as")).to_have_text(
        tr(lang, "{name} ({role})", name="case_officer", role=tr(lang, "case officer")))
    table = page.locator("#evidence-table")
    expect(table).to_contain_text(site.video_name)
    expect(table).to_contain_text(site.photo_name)
    expect(table).to_contain_text(site.video_sha256[:SHORT_HASH] + "…")
    expect(table).to_contain_text(tr(lang, "{seconds} s", seconds="3.0"))  # the segment's duration
    # Shown in the station's zone, named, though the browser's own zone is Los Angeles.
    expect(table).to_contain_text(VIDEO_AT_STATION)
    expect(table).to_contain_text("(Asia/Shanghai)")
    check_page(page, "evidence-list", lang)

    # A search that matches nothing says so; clearing it brings the items back.
    page.locator("#device").fill("NO-SUCH-RECORDER")
    search_button(page)
    expect(page.locator("#no-evidence")).to_have_text(tr(lang, "No evidence matches this search."))
    assert "device=NO-SUCH-RECORDER" in page.url
    page.locator("#clear-search").click()
    expect(page.locator("#evidence-table")).to_be_visible()

    # A time typed in is the station's: 09:31 there leaves out the segment that began at 09:30.
    page.locator("#from").fill("2024-03-15 09:31")
    search_button(page)
    expect(page.locator("#evidence-table caption")).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=1, total=1))
    assert "from=2024-03-15T09%3A31%3A00%2B08%3A00" in page.url
    expect(page.locator("#evidence-table")).to_contain_text(PHOTO_AT_STATION)
    expect(page.locator("#evidence-table")).not_to_contain_text(site.video_name)
    expect(page.locator("#from")).to_have_value("2024-03-15 09:31")
    page.locator("#clear-search").click()
    expect(page.locator("#evidence-table caption")).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=2, total=2))

    page.get_by_role("link", name=site.video_name).click()
    expect(page.locator("h1")).to_have_text(site.video_name)
    expect(page.locator(".facts")).to_contain_text(site.video_sha256)
    expect(page.locator("#derivatives")).to_contain_text("playback.mp4")
    ingested = next(e for e in site.events("evidence:file:ingested")
                    if (e["subject"] or {}).get("evidence_id") == site.video_id)
    expect(page.locator("#custody-events")).to_contain_text(
        tr(lang, "Copied off {recorder} by {actor} from “{source}” and stored as evidence ({size}).",
           recorder=tr(lang, "recorder {serial} (officer {officer})", serial="ZFY0001", officer="100234"),
           actor=tr(lang, "station {name}", name="local"), source=ingested["details"]["source"],
           size=tr(lang, "{count} bytes", count=f"{ingested['details']['size']:,}")))

    # Play: the session cookie authenticates the player's own Range requests.
    reason = f"case review {lang}"
    page.locator("#view-reason").fill(reason)
    page.locator("#play-form button[type=submit]").click()
    video = page.locator("#player")
    expect(video).to_be_visible()
    page.wait_for_function("() => document.querySelector('#player').readyState >= 2")
    page.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#player').currentTime > 0.5")
    viewed = tr(lang, "Viewed (the playback copy) by {actor}.",
                actor=tr(lang, "user {name}", name="case_officer"))
    expect(page.locator("#custody-events")).to_contain_text(
        viewed + " " + tr(lang, "Reason given: “{reason}”.", reason=reason))
    assert ("user:case_officer", reason) in [
        (e["actor"], e["details"]["reason"]) for e in site.events("evidence:file:viewed")]
    check_page(page, "evidence-item", lang)

    # Open a case, then attach the item from its own page.
    number = f"2024/0042-{lang}"
    title = "朝阳区市场纠纷" if lang == "zh-CN" else "Disturbance, Market Street"
    page.get_by_role("link", name=tr(lang, "Cases"), exact=True).click()
    page.locator("#case-number").fill(number)
    page.locator("#case-title").fill(title)
    page.locator("#new-case-form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Case {number}", number=number))
    expect(page.locator("#case-evidence")).to_have_text(tr(lang, "No evidence is attached yet."))
    page.go_back()
    page.go_back()  # the list of cases, then the item
    expect(page.locator("h1")).to_have_text(site.video_name)
    page.locator("#attach-case").select_option(label=f"{number} — {title}")
    page.locator("#attach-form button[type=submit]").click()
    expect(page.locator("#evidence-cases")).to_contain_text(tr(lang, "Case {number}", number=number))
    expect(page.locator("#custody-events")).to_contain_text(tr(
        lang, "Attached to case {number} by {actor}.", number=number,
        actor=tr(lang, "user {name}", name="case_officer")))

    page.get_by_role("link", name=tr(lang, "Case {number}", number=number)).click()
    expect(page.locator("#case-evidence")).to_contain_text(site.video_name)
    page.locator("#export-button").click()  # a job on the server; then a plain download link
    with page.expect_download() as download:
        page.locator("#export-download").click()
    assert download.value.suggested_filename.endswith(".zip")
    exported = site.events("case:bundle:exported")[-1]
    assert exported["actor"] == "user:case_officer"
    expect(page.locator("#case-history")).to_contain_text(
        tr(lang, "Case bundle exported by {actor}: files in it: {files}; manifest SHA-256 {sha256}.",
           actor=tr(lang, "user {name}", name="case_officer"), files=1,
           sha256=exported["details"]["manifest_sha256"]))
    check_page(page, "case", lang)

    # Send it for review, once: the button gives way to who sent it.
    page.locator("#review-button").click()
    expect(page.locator("#case-review")).to_contain_text(tr(lang, "Sent by {name}", name="case_officer"))
    expect(page.locator("#case-history")).to_contain_text(tr(
        lang, "Case {number} sent for review by {actor}.", number=number,
        actor=tr(lang, "user {name}", name="case_officer")))
    expect(page.locator("#review-button")).to_have_count(0)

    # Detach: the item leaves the case, and the case's history says so.
    page.get_by_role("button", name=tr(lang, "Detach {name}", name=site.video_name)).click()
    page.get_by_role("button", name=tr(lang, "Yes, take {name} off the case", name=site.video_name)).click()
    expect(page.locator("#case-evidence")).to_have_text(tr(lang, "No evidence is attached yet."))
    expect(page.locator("#case-history")).to_contain_text(tr(
        lang, "Taken off case {number} by {actor}.", number=number,
        actor=tr(lang, "user {name}", name="case_officer")))

    # The API's own refusal shows in the message box: the number is taken. No request line.
    page.get_by_role("link", name=tr(lang, "Cases"), exact=True).click()
    check_page(page, "cases", lang)
    page.locator("#case-number").fill(number)
    page.locator("#case-title").fill("Same number again")
    page.locator("#new-case-form button[type=submit]").click()
    message = page.locator("#message")
    expect(message).to_contain_text(number)
    expect(message).to_contain_text(tr(lang, "Reference for support: {code} ({status})",
                                       code="already_exists", status=409))
    assert "/api/" not in message.inner_text()
    shoot(page, "error-message", lang)


def tab_to(page: Page, focused: str, most: int = 60) -> None:
    """Press Tab until the script ``focused`` is true (at most ``most`` times)."""
    for _ in range(most):
        if page.evaluate(focused):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {focused}")


@pytest.mark.parametrize("lang", LANGS)
def test_keyboard_only_sign_in_search_and_play(site: Site, new_page: PageFactory, lang: str) -> None:
    """Tab and Enter alone, with the focus visible at every step."""
    page = new_page(lang)  # a language picked in the header keeps the focus there
    if lang == "zh-CN":
        expect(page.locator("#signin-name")).to_be_focused()  # the form takes the focus when drawn
    tab_to(page, "() => document.activeElement.id === 'signin-name'")
    page.keyboard.type("officer")
    page.keyboard.press("Tab")
    expect(page.locator("#signin-password")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.locator("#evidence-table")).to_be_visible()

    # To the officer field, type, search with Enter.
    tab_to(page, "() => document.activeElement.id === 'officer'")
    expect(page.locator("#officer")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("100234")
    page.keyboard.press("Enter")
    expect(page.locator("#evidence-table caption")).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=2, total=2))
    assert "officer=100234" in page.url

    # Tab to the video's link and open it with Enter.
    tab_to(page, f"() => document.activeElement.textContent === {json.dumps(site.video_name)}")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(site.video_name)

    # Tab to the reason, type it, Enter plays.
    tab_to(page, "() => document.activeElement.id === 'view-reason'")
    expect(page.locator("#view-reason")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("keyboard")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 2")
    expect(page.locator("#player")).to_be_focused()  # its own keys (Space, arrows) work from here
    page.wait_for_function("() => document.querySelector('#player').currentTime > 0.2")
    assert ("user:officer", "keyboard") in [
        (e["actor"], e["details"]["reason"]) for e in site.events("evidence:file:viewed")]


@pytest.mark.parametrize("lang", LANGS)
def test_auditor_sees_the_checkpoint_the_key_and_an_intact_log(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("auditor", lang)
    expect(page.locator("h1")).to_have_text(tr(lang, "Custody log audit"))
    checkpoint = page.locator("#checkpoint").inner_text()
    latest = site.home.custody_log().latest_checkpoint()
    assert latest is not None and checkpoint.splitlines()[0] == latest.note.splitlines()[0]
    expect(page.locator("#verifier-key")).to_have_text(site.home.verifier().vkey())
    # The verify runs as a background job (its progress: tests/test_pages_audit.py).
    page.locator("#verify-form button[type=submit]").click()
    expect(page.locator("#verify-verdict")).to_have_text(tr(lang, "Intact: every check passed."))
    expect(page.locator("#verify-problems")).to_have_count(0)
    check_page(page, "audit", lang)

    # An auditor reads evidence but is not offered the player.
    page.get_by_role("link", name=tr(lang, "Evidence"), exact=True).click()
    page.get_by_role("link", name=site.video_name).click()
    expect(page.locator("h1")).to_have_text(site.video_name)
    expect(page.locator("#player")).to_have_count(0)


def test_a_page_the_role_does_not_include_says_so(site: Site, signed_in_page: PageFactory) -> None:
    page = signed_in_page("officer", "zh-CN")
    expect(page.get_by_role("link", name=tr("zh-CN", "Audit"))).to_have_count(0)
    page.goto(site.url + "/ui/audit")
    expect(page.locator("h1")).to_have_text(tr("zh-CN", "You cannot open this page"))


@pytest.mark.parametrize("lang", LANGS)
def test_sign_in_refuses_a_wrong_password_and_sign_out_ends_the_session(
        site: Site, new_page: PageFactory, lang: str) -> None:
    page = new_page(lang)
    check_page(page, "sign-in", lang)
    page.locator("#signin-name").fill("reviewer")
    page.locator("#signin-password").fill("wrong")
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text(tr(lang, "Reference for support: {code} ({status})",
                                                        code="unauthenticated", status=401))
    expect(page.locator("#signin-password")).to_have_value("")  # not left in the form
    shoot(page, "sign-in-refused", lang)

    page.locator("#signin-password").fill("correct horse battery staple")
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#signed-in-as")).to_contain_text("reviewer")
    # The session is a cookie the script cannot read, not a token kept in the page.
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => sessionStorage.length") == 0
    page.locator("#sign-out").click()
    expect(page.locator("#signin-form")).to_be_visible()
    page.goto(site.url + "/ui/evidence")
    expect(page.locator("#signin-form")).to_be_visible()  # the server forgot the session too
    assert "next=%2Fui%2Fevidence" in page.url


def test_single_sign_on_is_offered_when_the_server_has_it(site: Site, new_page: PageFactory) -> None:
    page = new_page("zh-CN")
    page.route("**/api/v1/session/providers", lambda route: route.fulfill(json={"oidc": True}))
    page.goto(site.url + "/ui/cases")  # sent to sign in, then back to the cases
    button = page.get_by_role("link", name=tr("zh-CN", "Sign in with your agency's single sign-on"))
    expect(button).to_have_attribute("href", "/auth/oidc/login?next=%2Fui%2Fcases")
    expect(page.locator("#signin-form")).to_be_visible()  # names and passwords still work
    check_page(page, "sign-in-sso", "zh-CN")


OLD_PLAYER_WORKER = b"""
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  if (new URL(event.request.url).pathname.endsWith("/playback")) {
    event.respondWith(fetch(event.request.url, { credentials: "omit" }));  // no cookie: 401
  }
});
"""


def serving_old_worker(app: ASGIApp) -> ASGIApp:
    """Serves the old token worker at /ui/sw.js, as an older version of the server did."""
    async def with_worker(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/ui/old-sw.js":
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/javascript"), (b"service-worker-allowed", b"/ui/")]})
            await send({"type": "http.response.body", "body": OLD_PLAYER_WORKER})
            return
        await app(scope, receive, send)
    return with_worker


def test_a_browser_with_the_old_player_worker_is_freed_of_it(
        tmp_path: Path, signed_in_page: PageFactory) -> None:
    """The token-adding service worker of the previous pages would send the player's requests
    without the cookie; the pages unregister it and reload once, and playback works."""
    with running_site(tmp_path, wrap=serving_old_worker) as old:
        page = signed_in_page("officer", "en", on=old)
        page.evaluate("""async () => {
            await navigator.serviceWorker.register('/ui/old-sw.js', { scope: '/ui/' });
            await navigator.serviceWorker.ready; }""")
        page.goto(old.url + f"/ui/evidence/{old.video_id}")
        page.wait_for_function("() => navigator.serviceWorker.controller === null")
        assert page.evaluate("async () => (await navigator.serviceWorker.getRegistrations()).length") == 0
        expect(page.locator("h1")).to_have_text(old.video_name)
        page.locator("#play-form button[type=submit]").click()
        page.wait_for_function("() => document.querySelector('#player').readyState >= 2")


def test_the_pages_send_the_csrf_token_and_the_language(site: Site, signed_in_page: PageFactory) -> None:
    page = signed_in_page("case_officer", "en")
    refused = site.stub.csrf_refused if site.stub else 0
    page.get_by_role("link", name="Cases", exact=True).click()
    page.locator("#case-number").fill("CSRF-1")
    page.locator("#case-title").fill("Sent with the header")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/cases") and r.method == "POST") as sent:
        page.locator("#new-case-form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Case CSRF-1")
    headers = sent.value.all_headers()
    assert headers.get("x-csrf-token") and headers.get("accept-language") == "en"
    assert site.stub is None or site.stub.csrf_refused == refused

    # The choice of language is remembered, and the next calls carry it.
    page.locator("#language").select_option("zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    with page.expect_request(lambda r: "/api/v1/cases" in r.url) as listed:
        page.reload()
    assert listed.value.all_headers().get("accept-language") == "zh-CN"
    expect(page.locator("h1")).to_have_text(tr("zh-CN", "Case {number}", number="CSRF-1"))


def test_times_follow_the_zone_chosen_in_the_header(site: Site, signed_in_page: PageFactory) -> None:
    page = signed_in_page("case_officer", "en")
    page.locator("#time-zone").select_option("Asia/Urumqi")  # UTC+06:00
    expect(page.locator("#evidence-table")).to_contain_text("2024-03-15 07:30:00")
    expect(page.locator("#evidence-table")).to_contain_text("(Asia/Urumqi)")
    page.locator("#from").fill("2024-03-15 07:31")
    search_button(page)
    expect(page.locator("#evidence-table caption")).to_contain_text("1–1 of 1")
    assert "from=2024-03-15T07%3A31%3A00%2B06%3A00" in page.url
    page.reload()
    expect(page.locator("#time-zone")).to_have_value("Asia/Urumqi")  # remembered
    expect(page.locator("#from")).to_have_value("2024-03-15 07:31")


# (zone, what the person typed, what the API is sent)
ZONED_INPUTS = [
    ("Asia/Shanghai", "2026-12-07 14:30", "2026-12-07T14:30:00+08:00"),
    ("Asia/Shanghai", "2026-12-07T14:30:00", "2026-12-07T14:30:00+08:00"),
    ("Asia/Shanghai", "２０２６-１２-０７　１４：３０", "2026-12-07T14:30:00+08:00"),  # full-width
    ("Asia/Shanghai", "2026-12-07", "2026-12-07T00:00:00+08:00"),  # a date alone: its midnight
    ("Asia/Kolkata", "2024-03-15 07:01", "2024-03-15T07:01:00+05:30"),
    ("UTC", "2024-03-15T01:30:00", "2024-03-15T01:30:00+00:00"),
    # Summer time ends: 01:30 happens twice; the earlier one is meant.
    ("America/New_York", "2024-11-03T01:30:00", "2024-11-03T01:30:00-04:00"),
    # Summer time starts: 02:30 never happens; it moves forward by the gap.
    ("America/New_York", "2024-03-10T02:30:00", "2024-03-10T03:30:00-04:00"),
    ("Australia/Lord_Howe", "2024-01-15T12:00:00", "2024-01-15T12:00:00+11:00"),
]


def test_time_module_reads_inputs_in_the_chosen_zone_not_the_browsers(
        site: Site, new_page: PageFactory) -> None:
    page = new_page("en")
    results = page.evaluate("""async (cases) => {
        const time = await import('/ui/static/js/time.js');
        return cases.map(([zone, typed]) => time.fromInput(typed, zone)); }""", ZONED_INPUTS)
    assert results == [sent for _, _, sent in ZONED_INPUTS]
    # what is no time at all: the browser's own formats, a day or hour that does not exist
    wrong = ["03/15/2024 09:29 AM", "2024/03/15 09:29", "2024-13-01 00:00", "2023-02-29 10:00",
             "2024-03-15 24:00", "2024-03-15 9:5", "yesterday"]
    assert page.evaluate("""async (wrong) => {
        const time = await import('/ui/static/js/time.js');
        return wrong.map((typed) => time.fromInput(typed, 'UTC')); }""", wrong) == [None] * len(wrong)
    shown = page.evaluate("""async () => {
        const time = await import('/ui/static/js/time.js');
        return [time.clockText('2024-03-15T01:30:00Z', 'Asia/Shanghai'),
                time.clockText('2024-11-03T06:30:00Z', 'America/New_York'),
                time.clockText(null), time.timeText(undefined), time.fromInput(''),
                time.inputValue('2024-03-15T01:30:00+00:00')]; }""")
    assert shown == ["2024-03-15 09:30:00", "2024-11-03 01:30:00", None, "—", None, "2024-03-15 09:30"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_address_gets_a_page_in_the_chosen_language(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("officer", lang)
    response = page.goto(site.url + "/no/such/page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text(tr(lang, "Page not found"))
    check_page(page, "not-found", lang)
    # An address with something the API cannot read: said for people, not in the schema's words.
    page.goto(site.url + "/ui/evidence/not-an-id%3Fx")
    expect(page.locator("h1")).to_have_text(tr(lang, "This page could not be shown"))
    expect(page.locator("#message")).to_contain_text(
        tr(lang, "Something in this request is not in the form the server expects."))
    assert "UUID" not in page.locator("#message").inner_text()
    shoot(page, "bad-address", lang)
    api = page.goto(site.url + "/api/v1/no-such-route")
    assert api is not None and api.status == 404
    assert json.loads(api.text())["error"]["code"] == "not_found"


def test_a_server_without_sessions_takes_a_machine_token(
        tmp_path: Path, new_page: PageFactory) -> None:
    with running_site(tmp_path, sessions=False) as tokens_only:
        page = new_page("en", on=tokens_only)
        page.locator("#token").fill("not-a-real-token")
        page.locator("#token-form button[type=submit]").click()
        expect(page.locator("#message")).to_contain_text("unauthenticated (401)")
        expect(page.locator("#token")).to_be_visible()  # still on the sign-in form
        assert page.evaluate("() => sessionStorage.length") == 0

        page.locator("#token").fill(tokens_only.tokens["officer"])
        page.locator("#token-form button[type=submit]").click()
        expect(page.locator("#signed-in-as")).to_contain_text("officer")
        page.get_by_role("link", name=tokens_only.video_name).click()
        # The player cannot send a bearer header: the page says what to do instead.
        expect(page.locator("#player-needs-session")).to_be_visible()


def test_the_api_docs_work_offline_under_the_policy(site: Site, new_page: PageFactory) -> None:
    """Swagger UI comes from the package and starts from a file: nothing is blocked (the
    harness fails on a CSP report), and nothing is fetched from another origin."""
    page = new_page(None)
    page.goto(site.url + "/api/v1/docs")
    expect(page.locator(".information-container")).to_contain_text("evidence case service")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 10
    resources = page.evaluate("() => performance.getEntriesByType('resource').map((r) => r.name)")
    assert resources and all(str(url).startswith(site.url) for url in resources), resources
    shoot(page, "api-docs", "en")
