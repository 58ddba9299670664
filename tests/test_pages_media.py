"""The case officer's media and case pages in Chromium: a recording's timeline (every gap
drawn and labelled, played on the wall clock), photos, sound, a damaged file's status, the
original's download with a reason, and a case's detach and export with progress.

This module's ``site`` (it overrides the harness's for these tests only) ingests a fuller
card of the synthetic recorder: segments 1, 2 and 3 (09:30:00–09:30:06 and 09:30:10–09:30:13
at the station, a 4 s gap between), a photo, a WAV sound recording and an MP4 cut off
before its index (damaged). The browser's own zone is Los Angeles; the pages show the
station's, Asia/Shanghai, or the zone picked in the header.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, Request, Route, expect

from api.home import Home
from cases.bundle_verify import verify_bundle
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import RECORDER_UTC_OFFSET, make_recorder_image
from tests.api_support import NORTH_UNIT, OFFICER_NO, add_evidence, make_clip
from tests.browser_support import (
    LANGS,
    PageFactory,
    Site,
    assert_focus_visible,
    check_page,
    require_browser,
    running_site,
    shoot,
    tr,
)

ROLES = ("segment_1", "segment_2", "segment_3", "photo", "wav", "truncated_mp4")
RECORDING_START = datetime(2024, 3, 15, 1, 30, tzinfo=UTC)  # 09:30:00 at the station
# Another recorder's two segments: 11:00:00–11:00:04 and 11:00:02.5–11:00:05.5 at the station.
OVERLAP_START = datetime(2024, 3, 15, 3, 0, tzinfo=UTC)
STATION = ZoneInfo("Asia/Shanghai")


@dataclass
class Card:
    """What the module's ingest stored: role -> evidence id, name and SHA-256."""

    ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)


def _ingest(root: Path, home: Home, card: Card) -> None:
    roles = make_recorder_image(root / "template")
    folder = root / "card"
    folder.mkdir()
    for role in ROLES:
        shutil.copy(roles[role], folder)
    ingestor = Ingestor(home.custody_log(), home.object_store(),
                        IngestOptions(station_tz=timezone(RECORDER_UTC_OFFSET), unit_code=NORTH_UNIT))
    try:
        results = [r for r in ingestor.ingest(folder) if r.evidence_id]
    finally:
        ingestor.close()
    for role in ROLES:
        found = next(r for r in results if r.path.endswith(roles[role].name))
        assert found.evidence_id and found.sha256, found
        card.ids[role], card.sha256[role] = found.evidence_id, found.sha256
        card.names[role] = roles[role].name
    for n, (offset_ms, seconds) in enumerate([(0, 4), (2500, 3)], start=1):
        name = f"ZFY0077_{OFFICER_NO}_20240315110000_{n:04d}.MP4"
        card.ids[f"overlap_{n}"] = add_evidence(
            home, name, b"overlapping original %d" % n, officer_no=OFFICER_NO, device="ZFY0077",
            start=OVERLAP_START + timedelta(milliseconds=offset_ms), duration_ms=seconds * 1000,
            playback=make_clip(root / f"overlap-{n}.mp4", seconds), sequence=n)
        card.names[f"overlap_{n}"] = name


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Card]]:
    require_browser()
    root = tmp_path_factory.mktemp("media-site")
    card = Card()
    with running_site(root, with_footage=False, prepare=lambda home: _ingest(root, home, card)) as running:
        yield running, card


@pytest.fixture(scope="module")
def site(media: tuple[Site, Card]) -> Site:
    """The harness's ``site`` for this module: the fuller card."""
    return media[0]


@pytest.fixture(scope="module")
def card(media: tuple[Site, Card]) -> Card:
    return media[1]


def call(site: Site, user: str, method: str, path: str, body: dict[str, Any] | None = None,
         lang: str = "en") -> Any:
    """The JSON API with the user's machine token (setting up what a test starts from), its
    sentences in ``lang``."""
    request = urllib.request.Request(
        site.url + "/api/v1" + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {site.tokens[user]}", "Content-Type": "application/json",
                 "Accept-Language": lang})
    with urllib.request.urlopen(request) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def new_case(site: Site, number: str, evidence: list[str]) -> str:
    case = call(site, "case_officer", "POST", "/cases", {"number": number, "title": f"Media {number}"})
    if evidence:
        call(site, "case_officer", "POST", f"/cases/{case['id']}/evidence", {"evidence_ids": evidence})
    return str(case["id"])


def at_station(seconds: float, zone: ZoneInfo = STATION, start: datetime = RECORDING_START) -> str:
    """The wall-clock time ``seconds`` into the recording, as the pages show it (whole seconds)."""
    instant = start + timedelta(seconds=seconds)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def seconds_text(lang: str, value: str) -> str:
    return tr(lang, "{seconds} s", seconds=value)


def player_time(page: Page) -> float:
    return float(page.evaluate("() => document.querySelector('#player').currentTime"))


def tab_to(page: Page, focused: str, most: int = 80) -> None:
    for _ in range(most):
        if page.evaluate(focused):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {focused}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_recording_timeline_draws_the_gap_and_plays_on_the_wall_clock(
        site: Site, card: Card, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang)
    page.goto(site.url + f"/ui/evidence/{card.ids['segment_2']}")
    expect(page.locator("h1")).to_have_text(card.names["segment_2"])
    page.get_by_role("link", name=tr(lang, "Timeline of the whole recording, with its gaps")).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Recording of recorder {serial}", serial="ZFY0001"))

    # Drawn: three segments, one hatched gap labelled with its length, no overlap.
    timeline = page.locator("#timeline")
    expect(timeline.locator("rect.tl-seg")).to_have_count(3)
    expect(timeline.locator("rect.tl-gap")).to_have_count(1)
    expect(timeline.locator("rect.tl-gap")).to_have_attribute("fill", "url(#gap-hatch)")
    gap_label = tr(lang, "gap {length}", length=seconds_text(lang, "4"))
    expect(timeline.locator("text.tl-gap-label")).to_have_text(gap_label)
    # 6 s into a 13 s span, 4 s long
    expect(timeline.locator("rect.tl-gap")).to_have_attribute("x", "46.154%")
    expect(timeline.locator("rect.tl-gap")).to_have_attribute("width", "30.769%")
    expect(timeline.locator("rect.tl-overlap")).to_have_count(0)
    # Listed as text, with the station's local times.
    gap_row = page.locator("#timeline-list tbody tr", has_text=tr(lang, "Gap: nothing was recorded"))
    expect(gap_row).to_have_count(1)
    expect(gap_row).to_contain_text(at_station(6))
    expect(gap_row).to_contain_text(at_station(10))
    expect(gap_row).to_contain_text("(Asia/Shanghai)")
    expect(gap_row).to_contain_text(seconds_text(lang, "4"))
    third = page.locator("#timeline-list tbody tr", has_text=card.names["segment_3"])
    expect(third).to_contain_text(at_station(10))
    expect(third).to_contain_text(at_station(13))
    check_page(page, "recording", lang)

    # Open the player, then play from inside the gap: it is shown as a gap, black, not closed.
    reason = f"timeline {lang}"
    page.locator("#view-reason").fill(reason)
    page.locator("#play-form button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    assert page.evaluate("() => document.querySelector('#player').duration") == pytest.approx(13, abs=0.2)
    page.evaluate("""() => { const v = document.querySelector('#player'); v.muted = true;
        v.pause(); v.currentTime = 8.5; }""")
    page.wait_for_function("() => !document.querySelector('#player').seeking")
    expect(page.locator("#wall-clock-time")).to_have_text(f"{at_station(8.5)} (Asia/Shanghai)")
    expect(page.locator("#wall-clock-what")).to_have_text(tr(
        lang, "— a gap of {length}: nothing was recorded; the picture is black",
        length=seconds_text(lang, "4")))
    expect(page.locator("#timeline-marker")).to_have_attribute("x1", "65.385%")

    # Play on through the gap into segment 3: the clock shown is the time it was recorded.
    page.evaluate("() => document.querySelector('#player').play()")
    page.wait_for_function("() => document.querySelector('#player').currentTime > 10.4")
    page.evaluate("() => document.querySelector('#player').pause()")
    position = player_time(page)
    assert 10.4 < position < 13
    expect(page.locator("#wall-clock-time")).to_have_text(f"{at_station(position)} (Asia/Shanghai)")
    expect(page.locator("#wall-clock-what")).to_have_text(
        tr(lang, "— segment {name}", name=card.names["segment_3"]))
    viewed = [(e["subject"]["evidence_id"], e["details"]["reason"])
              for e in site.events("evidence:file:viewed") if e["actor"] == "user:case_officer"]
    for role in ("segment_1", "segment_2", "segment_3"):
        assert (card.ids[role], reason) in viewed

    # Clicking a segment on the timeline seeks to its start.
    timeline.locator(f"rect[data-evidence-id='{card.ids['segment_2']}']").click()
    page.wait_for_function("""() => { const v = document.querySelector('#player');
        return !v.seeking && v.currentTime >= 3 && v.currentTime < 6; }""")
    page.evaluate("() => document.querySelector('#player').pause()")
    position = player_time(page)
    expect(page.locator("#wall-clock-time")).to_have_text(f"{at_station(position)} (Asia/Shanghai)")
    expect(page.locator("#wall-clock-what")).to_have_text(
        tr(lang, "— segment {name}", name=card.names["segment_2"]))

    # Another zone picked in the header: every time follows it.
    page.locator("#time-zone").select_option("Asia/Urumqi")
    urumqi = ZoneInfo("Asia/Urumqi")
    gap_row = page.locator("#timeline-list tbody tr", has_text=tr(lang, "Gap: nothing was recorded"))
    expect(gap_row).to_contain_text(at_station(6, urumqi))
    expect(gap_row).to_contain_text("(Asia/Urumqi)")
    page.get_by_role("button", name=tr(lang, "Play from {name}", name=card.names["segment_3"])).click()
    page.wait_for_function("""() => { const v = document.querySelector('#player');
        return v.readyState >= 1 && !v.seeking && v.currentTime >= 10; }""")
    page.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; v.pause(); }")
    position = player_time(page)
    expect(page.locator("#wall-clock-time")).to_have_text(f"{at_station(position, urumqi)} (Asia/Urumqi)")
    page.locator("#time-zone").select_option("Asia/Shanghai")


@pytest.mark.parametrize("lang", LANGS)
def test_an_overlap_is_drawn_listed_and_played_from_the_later_segment(
        site: Site, card: Card, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang)
    page.goto(site.url + f"/ui/evidence/{card.ids['overlap_1']}")
    page.get_by_role("link", name=tr(lang, "Timeline of the whole recording, with its gaps")).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Recording of recorder {serial}", serial="ZFY0077"))
    timeline = page.locator("#timeline")
    expect(timeline.locator("rect.tl-seg")).to_have_count(2)
    expect(timeline.locator("rect.tl-gap")).to_have_count(0)
    expect(timeline.locator("rect.tl-overlap")).to_have_count(1)
    expect(timeline.locator("rect.tl-overlap")).to_have_attribute("x", "45.455%")  # 2.5 s of 5.5 s
    expect(timeline.locator("text.tl-overlap-label")).to_have_text(
        tr(lang, "overlap {length}", length=seconds_text(lang, "1.5")))
    earlier, later = card.names["overlap_1"], card.names["overlap_2"]
    row = page.locator("#timeline-list tbody tr", has_text=tr(
        lang, "Overlap: {earlier} and {later} both recorded this time; the joined file shows {later}",
        earlier=earlier, later=later))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(at_station(2, start=OVERLAP_START))  # 11:00:02.5, shown to the second
    expect(row).to_contain_text(at_station(4, start=OVERLAP_START))
    check_page(page, "recording-overlap", lang)

    # Played from the later segment: its own start, on the wall clock.
    page.get_by_role("button", name=tr(lang, "Play from {name}", name=later)).click()
    page.wait_for_function("""() => { const v = document.querySelector('#player');
        return v && v.readyState >= 1 && !v.seeking && v.currentTime >= 2.5; }""")
    page.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; v.pause(); }")
    position = player_time(page)
    assert 2.5 <= position < 5.5
    expect(page.locator("#wall-clock-time")).to_have_text(
        f"{at_station(position, start=OVERLAP_START)} (Asia/Shanghai)")
    expect(page.locator("#wall-clock-what")).to_have_text(tr(lang, "— segment {name}", name=later))


@pytest.mark.parametrize("lang", LANGS)
def test_photo_sound_and_a_damaged_file_with_its_original_by_keyboard(
        site: Site, card: Card, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang)

    # The photo, shown from the /photo route (a viewing, logged).
    page.goto(site.url + f"/ui/evidence/{card.ids['photo']}")
    expect(page.locator("h1")).to_have_text(card.names["photo"])
    expect(page.locator("#player")).to_have_count(0)
    page.locator("#play-form button[type=submit]").click()
    expect(page.locator("#photo")).to_be_visible()
    assert "/photo" in str(page.locator("#photo").get_attribute("src"))
    page.wait_for_function("() => document.querySelector('#photo').complete "
                           "&& document.querySelector('#photo').naturalWidth === 320")
    assert any(e["subject"]["evidence_id"] == card.ids["photo"] and e["actor"] == "user:case_officer"
               for e in site.events("evidence:file:viewed"))
    # Not on a case of hers: the original is not hers to take.
    expect(page.locator("#original-not-allowed")).to_be_visible()
    expect(page.locator("#original-form")).to_have_count(0)
    check_page(page, "evidence-photo", lang)

    # Sound: an audio player, no picture.
    page.goto(site.url + f"/ui/evidence/{card.ids['wav']}")
    expect(page.locator("h1")).to_have_text(card.names["wav"])
    page.locator("#play-form button[type=submit]").click()
    expect(page.locator("audio#player")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    assert page.evaluate("() => document.querySelector('#player').duration") == pytest.approx(2, abs=0.3)
    check_page(page, "evidence-audio", lang)

    # A video shows its thumbnail strip.
    page.goto(site.url + f"/ui/evidence/{card.ids['segment_1']}")
    page.wait_for_function("() => document.querySelector('#strip')?.complete "
                           "&& document.querySelector('#strip').naturalWidth > 0")

    # The damaged file: its status in words, no broken player; on her case, the original.
    number = f"DMG-{lang}"
    new_case(site, number, [card.ids["truncated_mp4"]])
    page.goto(site.url + f"/ui/evidence/{card.ids['truncated_mp4']}")
    expect(page.locator("h1")).to_have_text(card.names["truncated_mp4"])
    expect(page.locator("#media-status")).to_contain_text(tr(
        lang, "Damaged: the file could not be read as video, sound or a picture, so it cannot be played. "
              "The original is kept as it came off the recorder."))
    expect(page.locator("video, audio, #photo, #play-form")).to_have_count(0)
    damaged = call(site, "case_officer", "GET", f"/evidence/{card.ids['truncated_mp4']}", lang=lang)
    diagnosis = damaged["status"]["reason"]
    assert "moov" in diagnosis
    expect(page.locator("#media-status")).to_contain_text(diagnosis)  # in the page's language
    if lang == "zh-CN":
        assert diagnosis.startswith("无法读取媒体信息：") and "cannot" not in diagnosis
    check_page(page, "evidence-damaged", lang)

    # Keyboard only: Enter without a reason is refused in words, and nothing is logged.
    before = len(site.events("evidence:file:downloaded"))
    tab_to(page, "() => document.activeElement.id === 'original-reason'")
    assert_focus_visible(page)
    page.keyboard.type("   ")
    page.keyboard.press("Enter")
    expect(page.locator("#original-needs-reason")).to_have_text(
        tr(lang, "Give a reason: the original is not handed out without one."))
    expect(page.locator("#original-reason")).to_be_focused()
    expect(page.locator("#original-reason")).to_have_attribute("aria-invalid", "true")
    assert len(site.events("evidence:file:downloaded")) == before
    reason = f"court copy {lang} 法庭"
    page.keyboard.press("Control+A")
    page.keyboard.type(reason)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    saved = download.value.path()
    assert download.value.suggested_filename == card.names["truncated_mp4"]
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == card.sha256["truncated_mp4"]
    link = page.locator("#original-link")
    expect(link).to_have_attribute("download", card.names["truncated_mp4"])
    assert "reason=" in str(link.get_attribute("href"))
    downloaded = site.events("evidence:file:downloaded")
    assert len(downloaded) == before + 1
    assert downloaded[-1]["actor"] == "user:case_officer"
    assert downloaded[-1]["subject"]["evidence_id"] == card.ids["truncated_mp4"]
    assert downloaded[-1]["details"]["reason"] == reason


@pytest.mark.parametrize("lang", LANGS)
def test_a_role_without_original_rights_sees_no_download(
        site: Site, card: Card, signed_in_page: PageFactory, lang: str) -> None:
    new_case(site, f"OFF-{lang}", [card.ids["segment_1"]])
    page = signed_in_page("officer", lang)  # the officer who recorded it: may play, never take
    page.goto(site.url + f"/ui/evidence/{card.ids['segment_1']}")
    expect(page.locator("h1")).to_have_text(card.names["segment_1"])
    expect(page.locator("#play-form")).to_be_visible()
    expect(page.locator("#original-form, #original-not-allowed, #original-h")).to_have_count(0)
    expect(page.get_by_text(tr(lang, "Download the original"))).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_detaches_with_a_confirm_and_exports_with_progress_to_a_verified_bundle(
        site: Site, card: Card, signed_in_page: PageFactory, lang: str, tmp_path: Path) -> None:
    number = f"EXP-{lang}"
    case_id = new_case(site, number, [card.ids["segment_1"], card.ids["photo"]])
    page = signed_in_page("case_officer", lang)
    page.goto(site.url + f"/ui/cases/{case_id}")
    expect(page.locator("h1")).to_have_text(tr(lang, "Case {number}", number=number))
    check_page(page, "case-media", lang)

    # Detach asks first; Cancel leaves the item on the case.
    detached = len(site.events("case:evidence:detached"))
    detach = page.get_by_role("button", name=tr(lang, "Detach {name}", name=card.names["photo"]))
    detach.click()
    confirm = page.get_by_role("button", name=tr(lang, "Yes, take {name} off the case",
                                                 name=card.names["photo"]))
    expect(confirm).to_be_focused()
    page.get_by_role("button", name=tr(lang, "Cancel")).click()
    expect(detach).to_be_focused()
    assert len(site.events("case:evidence:detached")) == detached
    detach.click()
    confirm.click()
    expect(page.locator("#case-evidence")).not_to_contain_text(card.names["photo"])
    expect(page.locator("#case-evidence")).to_contain_text(card.names["segment_1"])
    expect(page.locator("#case-history")).to_contain_text(tr(
        lang, "Taken off case {number} by {actor}.", number=number,
        actor=tr(lang, "user {name}", name="case_officer")))

    # Export, keyboard only; the first looks at the job are held so its progress is seen.
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(rf".*/api/v1/cases/{case_id}/exports/[0-9a-f-]+$"), hold)
    fetched: list[Request] = []
    page.on("request", lambda r: fetched.append(r) if r.url.split("?")[0].endswith("/download") else None)
    tab_to(page, "() => document.activeElement.id === 'export-reason'")
    assert_focus_visible(page)
    reason = f"for the court {lang}"
    page.keyboard.type(reason)
    page.keyboard.press("Enter")
    progress = page.get_by_role("progressbar")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("aria-valuetext",
                                       tr(lang, "Waiting for the server to start building the bundle…"))
    expect(page.locator("#export-progress-label")).to_have_text(
        tr(lang, "Waiting for the server to start building the bundle…"))
    expect(page.locator("#export-button")).to_be_disabled()
    shoot(page, "case-export-progress", lang)
    released = True
    for route in held:
        route.continue_()

    download_link = page.locator("#export-download")
    expect(download_link).to_be_focused()
    expect(download_link).to_have_attribute("download", re.compile(r".+\.zip$"))
    href = str(download_link.get_attribute("href"))
    assert re.search(rf"/api/v1/cases/{case_id}/exports/[0-9a-f-]+/download\?reason=", href)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    bundle = tmp_path / download.value.suggested_filename
    download.value.save_as(bundle)
    assert verify_bundle(bundle, site.home.verifier().vkey()).ok
    expect(page.locator("#export-done")).to_have_text(tr(
        lang, "The bundle is ready: {items} items, {size}.", items=1,
        size=tr(lang, "{count} bytes", count=f"{bundle.stat().st_size:,}")))
    # Streamed by the browser to disk as a download, never fetched into the page.
    assert all(r.resource_type not in ("fetch", "xhr") for r in fetched)
    assert page.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => e.name.includes('/download')).map((e) => e.initiatorType)
        .filter((kind) => kind === 'fetch' || kind === 'xmlhttprequest').length""") == 0
    downloaded = [e for e in site.events("case:bundle:downloaded") if e["actor"] == "user:case_officer"]
    assert downloaded and downloaded[-1]["details"]["reason"] == reason
    exported = site.events("case:bundle:exported")[-1]
    expect(page.locator("#case-history")).to_contain_text(
        tr(lang, "Case bundle exported by {actor}: files in it: {files}; manifest SHA-256 {sha256}.",
           actor=tr(lang, "user {name}", name="case_officer"), files=1,
           sha256=exported["details"]["manifest_sha256"]))
    check_page(page, "case-exported", lang)


def test_an_export_that_fails_says_why_in_words(site: Site, card: Card, signed_in_page: PageFactory) -> None:
    """The server's job is followed as it is, except that its last answer is turned into a
    failure, as when the store cannot be read mid-build: the page says so, offers no link."""
    case_id = new_case(site, "EXP-FAIL", [card.ids["segment_1"]])
    page = signed_in_page("case_officer", "zh-CN")
    page.goto(site.url + f"/ui/cases/{case_id}")

    def fail(route: Route) -> None:
        job = route.fetch().json()
        job.update(state="failed", download=None, error="the object store could not be read")
        route.fulfill(json=job)

    page.route(re.compile(rf".*/api/v1/cases/{case_id}/exports/[0-9a-f-]+$"), fail)
    page.locator("#export-button").click()
    expect(page.locator("#export-failed")).to_have_text(tr(
        "zh-CN", "The bundle could not be built: {error}", error="the object store could not be read"))
    expect(page.locator("#export-download")).to_have_count(0)
    expect(page.locator("#export-button")).to_be_enabled()
