"""The reviewer's and auditor's pages in Debian's Chromium: custody events filtered by actor,
type and time in the station's zone, an entry's inclusion proof followed step by step and
rechecked by the browser itself, the checkpoint history and the consistency of two
checkpoints, and the verify as a background job with its progress.

The verify's progress is watched at two real points of a real verify (tests/browser_support
serves the app; the gate below pauses the verify's own progress reports until the test has
seen them), never timed. The browser's own check of a proof is shown to be real by a proof
altered in transit (Playwright rewrites one sibling hash of the server's answer).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, Route, expect
from sqlalchemy import text
from starlette.types import ASGIApp

from api.home import Home
from cases.verify_jobs import VerifyRun
from custody.events import decode_event
from custody.progress import Progress
from tests.browser_support import (
    LANGS,
    STATION_ZONE,
    PageFactory,
    Site,
    assert_focus_visible,
    check_page,
    require_browser,
    running_site,
    shoot,
    tr,
)

WAIT = 120  # seconds the test waits for the server's verify to reach a gate
SHANGHAI = ZoneInfo(STATION_ZONE)
API = "/api/v1"

# ---------------------------------------------------------------- a gate in the real verify


class _Stop:
    def __init__(self, where: Callable[[str, int | None, int], bool]) -> None:
        self.where = where
        self.reached = threading.Event()
        self.release = threading.Event()


class VerifyGate:
    """Wraps the app's verify: at each stop asked for, the verify's progress report (of the
    real verify) waits until the test releases it."""

    def __init__(self) -> None:
        self.stops: list[_Stop] = []
        self.lock = threading.Lock()

    def stop_at(self, where: Callable[[str, int | None, int], bool]) -> _Stop:
        stop = _Stop(where)
        with self.lock:
            self.stops.append(stop)
        return stop

    def release_all(self) -> None:
        with self.lock:
            for stop in self.stops:
                stop.release.set()
            self.stops.clear()

    def _at(self, phase: str, total: int | None, count: int) -> None:
        with self.lock:
            stop = self.stops[0] if self.stops and self.stops[0].where(phase, total, count) else None
            if stop is not None:
                self.stops.pop(0)
        if stop is not None:
            stop.reached.set()
            stop.release.wait(WAIT)

    def around(self, run: VerifyRun) -> VerifyRun:
        gate = self

        class Gated:
            def __init__(self, inner: Progress) -> None:
                self.inner = inner
                self.phase_name = ""
                self.total: int | None = None

            def phase(self, name: str, total: int | None = None) -> None:
                self.inner.phase(name, total)
                self.phase_name, self.total = name, total
                gate._at(name, total, 0)

            def checked(self, count: int) -> None:
                self.inner.checked(count)
                gate._at(self.phase_name, self.total, count)

        return lambda objects, progress: run(objects, Gated(progress))


@pytest.fixture(scope="module")
def gate() -> Iterator[VerifyGate]:
    found = VerifyGate()
    yield found
    found.release_all()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, gate: VerifyGate) -> Iterator[Site]:
    """The harness's site, its verify jobs run through the gate."""
    require_browser()

    def hold(served: ASGIApp) -> ASGIApp:
        app: FastAPI = served if isinstance(served, FastAPI) else served.app  # type: ignore[attr-defined]
        jobs = app.state.services.verify_jobs
        jobs.run = gate.around(jobs.run)
        return served

    with running_site(tmp_path_factory.mktemp("audit-site"), wrap=hold) as running:
        yield running


# ---------------------------------------------------------------- helpers


def at_station(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def station_input(moment: datetime) -> str:
    """A time as the pages' time fields take and show it, whatever the browser's locale."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def api_json(page: Page, site: Site, path: str) -> Any:
    """What the API answers the signed-in person (the page's own cookies)."""
    response = page.request.get(site.url + API + path)
    assert response.ok, response.text()
    return response.json()


def event_seq(site: Site, event_type: str, actor: str) -> int:
    entries = [(seq, decode_event(leaf)) for seq, leaf in site.home.custody_log().entries()]
    return max(seq for seq, e in entries if e["type"] == event_type and e["actor"] == actor)


def expect_proof_matches(page: Page, lang: str, seq: int) -> None:
    expect(page.locator("h1")).to_have_text(tr(lang, "Inclusion proof of entry {index}", index=f"{seq:,}"))
    expect(page.locator("#proof-verdict")).to_have_text(tr(
        lang, "Your browser recomputed every step: the path matches the signed root, and the "
              "checkpoint's signature verifies with the log's key."))
    expect(page.locator("#proof-verdict")).to_have_class(re.compile(r"\bok\b"))
    expect(page.locator("#server-verdict")).to_have_text(
        tr(lang, "The server's check agrees: the proof verifies."))
    computed = page.locator("#computed-root").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", computed)
    expect(page.locator("#signed-root")).to_have_text(computed)
    expect(page.locator("#browser-signature")).to_have_text(tr(lang, "verifies with the log's key"))


def keyboard_fill_time(page: Page, moment: datetime) -> None:
    """Types a time into the focused time field as a person would: YYYY-MM-DD HH:mm:ss on a
    24-hour clock (the browser's locale, en-US, has no say)."""
    page.keyboard.type(station_input(moment))


# ---------------------------------------------------------------- events and proofs


@pytest.mark.parametrize("lang", LANGS)
def test_auditor_filters_events_by_actor_type_and_time_and_follows_a_proof(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("auditor", lang)
    signed_in = event_seq(site, "user:session:started", "user:auditor")
    signed_in_at = datetime.fromisoformat(decode_event(site.home.custody_log().entry(signed_in))["time"])
    page.get_by_role("link", name=tr(lang, "Custody events"), exact=True).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Custody events"))
    # The zone the times are typed in is named by the fields.
    expect(page.locator("label[for=from]")).to_have_text(tr(lang, "At or after"))
    expect(page.locator("#from-zone")).to_have_text(f"({STATION_ZONE})")
    check_page(page, "custody-events", lang)
    # In pages: the log has more entries than one page holds.
    total = site.home.custody_log().size()
    assert total > 50
    caption = page.locator("#events-table caption")
    expect(caption).to_have_text(tr(lang, "Custody events {first}–{last} of {total}",
                                    first=1, last=50, total=f"{total:,}"))
    page.locator("#next-page").click()
    expect(caption).to_contain_text(tr(lang, "Custody events {first}–{last} of {total}",
                                       first=51, last="", total="").split("–")[0] + "–")
    expect(page.locator("#events-table tbody tr").first).to_contain_text("50")
    page.go_back()
    expect(caption).to_have_text(tr(lang, "Custody events {first}–{last} of {total}",
                                    first=1, last=50, total=f"{total:,}"))
    page.locator("h1").focus()

    # Keyboard only: the heading has the focus; Tab goes through the form.
    page.keyboard.press("Tab")
    expect(page.locator("#actor")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("auditor")  # a name alone is a user's
    page.keyboard.press("Tab")
    expect(page.locator("#type")).to_be_focused()
    for _ in range(60):  # arrow down the list to "signed in", as a person would
        if page.locator("#type").input_value() == "user:session:started":
            break
        page.keyboard.press("ArrowDown")
    expect(page.locator("#type")).to_have_value("user:session:started")
    page.keyboard.press("Tab")
    expect(page.locator("#from")).to_be_focused()
    start, end = signed_in_at - timedelta(minutes=30), signed_in_at + timedelta(minutes=30)
    keyboard_fill_time(page, start)
    expect(page.locator("#from")).to_have_value(station_input(start))
    page.keyboard.press("Tab")
    expect(page.locator("#to")).to_be_focused()
    keyboard_fill_time(page, end)
    expect(page.locator("#to")).to_have_value(station_input(end))
    page.keyboard.press("Enter")

    # The window was taken in Shanghai time, whatever the browser's own zone.
    typed_from = re.escape(start.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S").replace(":", "%3A"))
    expect(page).to_have_url(re.compile(r"from=" + typed_from + r"%2B08%3A00"))
    assert "actor=user%3Aauditor" in page.url and "type=user%3Asession%3Astarted" in page.url
    table = page.locator("#events-table")
    expect(table).to_contain_text(at_station(signed_in_at))
    expect(table).to_contain_text("(Asia/Shanghai)")
    rows = table.locator("tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):
        row = rows.nth(i)
        expect(row).to_contain_text(tr(lang, "Signed in"))
        expect(row).to_contain_text("user:auditor")
        shown = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.inner_text())
        assert shown and at_station(start) <= shown.group(0) < at_station(end)
    expect(page.locator("#actor")).to_have_value("user:auditor")
    expect(page.locator("#from")).to_have_value(re.compile("^" + re.escape(station_input(start)[:16])))
    check_page(page, "custody-events-filtered", lang)

    # A window an hour later finds none of them.
    page.locator("#from").fill(station_input(end + timedelta(hours=1)))
    page.locator("#to").fill("")
    page.locator("#events-form button[type=submit]").click()
    expect(page.locator("#no-events")).to_have_text(tr(lang, "No custody events match this filter."))
    page.go_back()
    # A filter the server refuses (an address edited by hand) leaves the form to correct it.
    page.goto(site.url + "/ui/custody/events?type=evidence:file:eaten")
    expect(page.locator("#no-events")).to_have_text(
        tr(lang, "These events could not be read: correct the filter."))
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#events-form")).to_be_visible()
    page.go_back()

    # Each entry links to its proof, which the browser checks itself.
    page.get_by_role("link", name=tr(lang, "Proof of entry {seq}", seq=signed_in)).click()
    expect_proof_matches(page, lang, signed_in)
    leaf = site.home.custody_log().entry(signed_in)
    expect(page.locator("#canonical")).to_have_value(leaf.decode())
    assert page.locator("#proof-steps li").count() >= 1
    expect(page.locator("#checkpoint-note")).to_contain_text("\u2014 ")
    check_page(page, "entry-proof", lang)

    # Another zone chosen in the header: the same filter, its fields and the times in UTC.
    page.go_back()
    expect(page.locator("#events-table")).to_contain_text(at_station(signed_in_at))
    page.locator("#time-zone").select_option("UTC")
    expect(page.locator("#from-zone")).to_have_text("(UTC)")
    expect(page.locator("#from")).to_have_value(re.compile(
        "^" + re.escape(start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))))
    expect(page.locator("#events-table")).to_contain_text(
        signed_in_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + " (UTC)")


@pytest.mark.parametrize("lang", LANGS)
def test_a_proof_altered_in_transit_fails_the_browsers_own_check(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("auditor", lang)
    seq = event_seq(site, "user:session:started", "user:auditor")
    altered: list[str] = []

    def alter(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        sibling = body["steps"][0]["sibling"]
        body["steps"][0]["sibling"] = ("0" if sibling[0] != "0" else "1") + sibling[1:]
        altered.append(body["steps"][0]["sibling"])
        route.fulfill(response=response, json=body)  # the server's "verified: true" is kept

    page.route("**/api/v1/custody/entries/*/proof*", alter)
    page.goto(f"{site.url}/ui/custody/entries/{seq}")
    verdict = page.locator("#proof-verdict")
    expect(verdict).to_contain_text(tr(
        lang, "Your browser's own check failed: this entry is not proven by the signed checkpoint."))
    expect(verdict).to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("#server-verdict")).to_have_text(tr(
        lang, "The server says this proof verifies, but your browser's own check does not agree. "
              "Do not rely on this proof; tell an auditor."))
    assert altered
    expect(page.locator("#proof-steps")).to_contain_text(altered[0])
    computed = page.locator("#computed-root").inner_text()
    signed = page.locator("#signed-root").inner_text()
    assert computed != signed
    expect(page.locator("#proof-problems")).to_contain_text(signed)
    check_page(page, "entry-proof-altered", lang)

    # Without the rewriting, the same entry is proven.
    page.unroute("**/api/v1/custody/entries/*/proof*")
    page.reload()
    expect_proof_matches(page, lang, seq)


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("lang", LANGS)
def test_checkpoint_history_and_the_consistency_of_two(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("auditor", lang)
    page.get_by_role("link", name=tr(lang, "Checkpoint history"), exact=True).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Checkpoint history"))
    expect(page.locator("#history-verdict")).to_have_text(tr(lang, "Every checkpoint shown holds."))
    history = api_json(page, site, "/custody/checkpoints?limit=50")
    items = history["items"]
    assert len(items) >= 2
    rows = page.locator("#checkpoints-table tbody tr")
    expect(rows).to_have_count(len(items))
    newest = items[0]
    expect(rows.first).to_contain_text(at_station(datetime.fromisoformat(newest["created_at"])))
    expect(rows.first).to_contain_text(newest["root_hash"][:12])
    check_page(page, "checkpoints", lang)

    oldest = items[-1]
    page.locator("#older").select_option(str(oldest["number"]))
    page.locator("#newer").select_option(str(newest["number"]))
    page.locator("#consistency-form button[type=submit]").click()
    expect(page.locator("#consistency-verdict")).to_have_text(tr(
        lang, "Checkpoint {new} ({newSize} entries) extends checkpoint {old} ({oldSize} entries): "
              "the log only grew, and nothing signed before was changed.",
        new=f"{newest['number']:,}", newSize=f"{newest['size']:,}",
        old=f"{oldest['number']:,}", oldSize=f"{oldest['size']:,}"))
    expect(page.locator("#consistency-proof li").first).to_be_visible()
    check_page(page, "checkpoints-consistent", lang)


# ---------------------------------------------------------------- the verify as a job


@pytest.mark.parametrize("lang", LANGS)
def test_verify_runs_in_the_background_with_progress_to_an_intact_report(
        site: Site, signed_in_page: PageFactory, gate: VerifyGate, lang: str) -> None:
    page = signed_in_page("auditor", lang)
    expect(page.locator("h1")).to_have_text(tr(lang, "Custody log audit"))
    entries_start = gate.stop_at(lambda phase, total, count: phase == "entries" and count == 0)
    entries_read = gate.stop_at(
        lambda phase, total, count: phase == "entries" and bool(total) and count == total)
    page.locator("#verify-form button[type=submit]").click()
    assert entries_start.reached.wait(WAIT)
    bar = page.get_by_role("progressbar")
    phase = tr(lang, "Log entries: their form, order and chain")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(bar).to_have_attribute("aria-valuetext", re.compile("^" + re.escape(phase)))
    expect(page.locator("#verify-progress-text")).to_contain_text(phase)
    expect(page.locator("#verify-form button[type=submit]")).to_be_disabled()
    expect(page.locator("#verify-jobs tbody tr").first).to_contain_text(tr(lang, "running"))
    check_page(page, "audit-verify-running", lang)
    entries_start.release.set()
    assert entries_read.reached.wait(WAIT)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    entries_read.release.set()

    expect(page.locator("#verify-verdict")).to_have_text(tr(lang, "Intact: every check passed."))
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.locator("#verify-problems")).to_have_count(0)
    expect(page.locator("#verify-jobs tbody tr").first).to_contain_text(tr(lang, "Intact"))
    expect(page.locator("#verify-jobs tbody tr").first).to_contain_text("user:auditor")
    check_page(page, "audit-verify", lang)
    # The job is the server's: on coming back its report is there.
    page.reload()
    expect(page.locator("#verify-verdict")).to_have_text(tr(lang, "Intact: every check passed."))


def _forge_second_entry_and_drop_a_checkpoint(home: Home) -> None:
    """Rewrite who created the second account, and delete the third checkpoint, as someone
    with SQL access could."""
    with home.engine().begin() as conn:
        leaf = bytes(conn.execute(text("SELECT leaf FROM custody_entries WHERE seq=1")).scalar_one())
        forged = leaf.replace(b"cli:test", b"cli:evil")
        assert forged != leaf
        conn.execute(text("UPDATE custody_entries SET leaf=:leaf WHERE seq=1"), {"leaf": forged})
        third = conn.execute(text(
            "SELECT id FROM custody_checkpoints ORDER BY id LIMIT 1 OFFSET 2")).scalar_one()
        conn.execute(text("DELETE FROM custody_checkpoints WHERE id=:id"), {"id": third})


@pytest.mark.parametrize("lang", LANGS)
def test_a_tampered_log_gives_a_failing_report_in_words(
        tmp_path: Path, signed_in_page: PageFactory, lang: str) -> None:
    with running_site(tmp_path, with_footage=False,
                      prepare=_forge_second_entry_and_drop_a_checkpoint) as tampered:
        page = signed_in_page("auditor", lang, on=tampered)
        page.locator("#verify-form button[type=submit]").click()
        verdict = page.locator("#verify-verdict")
        expect(verdict).to_contain_text(re.sub(r"\{count\}.*", "", tr(lang, "Problems found: {count}.")))
        expect(verdict).to_have_class(re.compile(r"\bbad\b"))
        problems = page.locator("#verify-problems")
        expect(problems).to_be_visible()
        expect(problems.locator("tbody tr").first).to_be_visible()
        expect(page.locator("#verify-jobs tbody tr").first).to_contain_text(
            re.sub(r"\{count\}.*", "", tr(lang, "Problems found: {count}.")))
        check_page(page, "audit-tampered", lang)

        # The forged entry's proof fails in the browser as on the server.
        page.goto(tampered.url + "/ui/custody/entries/1")
        expect(page.locator("#proof-verdict")).to_contain_text(tr(
            lang, "Your browser's own check failed: this entry is not proven by the signed checkpoint."))
        expect(page.locator("#canonical")).to_have_value(re.compile("cli:evil"))
        expect(page.locator("#server-verdict")).to_contain_text(tr(lang, "The server's check also failed:"))
        shoot(page, "entry-proof-tampered", lang)

        # And the history shows where the deleted checkpoint was.
        page.goto(tampered.url + "/ui/custody/checkpoints")
        expect(page.locator("#history-verdict")).to_have_class(re.compile(r"\bbad\b"))
        expect(page.locator("#checkpoints-table")).to_contain_text(
            tr(lang, "Checkpoints stored before it are missing."))
        shoot(page, "checkpoints-tampered", lang)


# ---------------------------------------------------------------- who sees what


def _post(site: Site, user: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(site.url + API + path, method="POST",
                                     data=json.dumps(body or {}).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {site.tokens[user]}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"POST {path}: {exc.code} {exc.read().decode()}") from None


@pytest.fixture(scope="module")
def review_case(site: Site) -> dict[str, Any]:
    """A case of unit n1 with the video on it, sent for review (so the agency's reviewers
    read it and the video), made by the case officer through the API."""
    case: dict[str, Any] = _post(site, "case_officer", "/cases",
                                 {"number": "AUD-2024-001", "title": "审计页面"})
    _post(site, "case_officer", f"/cases/{case['id']}/evidence", {"evidence_id": site.video_id})
    _post(site, "case_officer", f"/cases/{case['id']}/review", None)
    return case


@pytest.mark.parametrize("lang", LANGS)
def test_a_reviewer_reads_the_events_of_items_and_cases_in_scope(
        site: Site, signed_in_page: PageFactory, review_case: dict[str, Any], lang: str) -> None:
    page = signed_in_page("reviewer", lang)
    expect(page.get_by_role("link", name=tr(lang, "Custody events"), exact=True)).to_have_count(0)
    page.goto(f"{site.url}/ui/evidence/{site.video_id}/events")
    expect(page.locator("h1")).to_have_text(tr(lang, "Custody events of {name}", name=site.video_name))
    table = page.locator("#events-table")
    expect(table).to_contain_text(tr(lang, "File copied off a recorder and stored"))
    check_page(page, "evidence-events", lang)
    page.locator("#type").select_option("evidence:file:ingested")
    page.locator("#events-form button[type=submit]").click()
    expect(page.locator("#events-table tbody tr")).to_have_count(1)
    ingested = int(page.locator("#events-table tbody tr td").first.inner_text().replace(",", ""))
    page.get_by_role("link", name=tr(lang, "Proof of entry {seq}", seq=ingested)).click()
    expect_proof_matches(page, lang, ingested)
    expect(page.get_by_role("link", name=tr(lang, "Custody events of this item"))).to_be_visible()

    case = review_case
    page.goto(f"{site.url}/ui/cases/{case['id']}/events")
    expect(page.locator("h1")).to_have_text(
        tr(lang, "Custody events of case {number}", number=case["number"]))
    expect(page.locator("#events-table")).to_contain_text(tr(lang, "Case opened"))
    expect(page.locator("#events-table")).to_contain_text(tr(lang, "Evidence attached to a case"))
    check_page(page, "case-events", lang)

    # The whole log is for auditors of every agency; the checkpoints are a reviewer's too.
    page.goto(site.url + "/ui/custody/events")
    expect(page.locator("h1")).to_have_text(tr(lang, "You cannot open this page"))
    page.goto(site.url + "/ui/custody/checkpoints")
    expect(page.locator("h1")).to_have_text(tr(lang, "Checkpoint history"))


@pytest.mark.parametrize("lang", LANGS)
def test_other_roles_and_scopes_are_refused(site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("officer", lang)
    for label in ("Custody events", "Checkpoint history", "Audit"):
        expect(page.get_by_role("link", name=tr(lang, label), exact=True)).to_have_count(0)
    for path in ("/ui/custody/events", "/ui/custody/checkpoints", "/ui/audit"):
        page.goto(site.url + path)
        expect(page.locator("h1")).to_have_text(tr(lang, "You cannot open this page"))
    check_page(page, "audit-refused", lang)
    # An entry that names nothing of theirs: the server refuses its proof, the page says so.
    page.goto(site.url + "/ui/custody/entries/0")
    expect(page.locator("h1")).to_have_text(tr(lang, "This page could not be shown"))
    expect(page.locator("#message")).to_contain_text("403")

    # An auditor of one agency reads neither the whole log nor another agency's item.
    other = signed_in_page("south-reviewer", lang)
    other.goto(f"{site.url}/ui/evidence/{site.video_id}/events")
    expect(other.locator("h1")).to_have_text(tr(lang, "This page could not be shown"))
    north = signed_in_page("north-auditor", lang)
    north.goto(site.url + "/ui/custody/events")
    expect(north.locator("h1")).to_have_text(tr(lang, "You cannot open this page"))
