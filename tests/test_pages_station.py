"""The station screen in a browser: a clerk watches real docks of simulated recorders.

The docks run in this process, in a thread each: ``ingest.station.Station`` docking a
``devices.simulated.SimulatedRecorder``, its tiles written by ``ingest.station_feed`` into
the database the served app reads, as `evidence dock` does. A dock stops at the points a
test names (mid-copy, before the wipe, in a retry's wait) until the test has seen what
the page shows there; the page is waited on with Playwright's expect(), nothing sleeps.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Locator, Page, Request, expect
from starlette.types import ASGIApp

from api.http.services import Services
from cases.devices import register_device, registry_entries
from cases.users import operator
from devices.mass_storage import registry_lookup
from devices.simulated import SimulatedRecorder
from domain.station import PROBLEMS, PortStatus, Problem, StationInfo
from ingest.pipeline import IngestOptions
from ingest.station import DockPolicy, Station
from ingest.station_feed import StatusFeed
from storage.station_status import publish
from tests.api_support import NORTH_UNIT, OFFICER_NO, OTHER_OFFICER_NO
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
from tests.test_dock import SHANGHAI, clips
from tests.test_station_feed import FlakyStore

DEADLINE = 60.0  # seconds a dock waits for the test at a stop, and the test for a dock
STATION_JS = Path(__file__).resolve().parent.parent / "api/http/static/js/views/station.js"
EVENTS = "/api/v1/stations/events"


@pytest.fixture(scope="module")
def served() -> list[ASGIApp]:
    return []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, served: list[ASGIApp]) -> Iterator[Site]:
    """The app with the users of tests/api_support.py, and no footage until a dock brings it."""
    require_browser()

    def keep(app: ASGIApp) -> ASGIApp:
        served.append(app)
        return app

    with running_site(tmp_path_factory.mktemp("station"), with_footage=False, wrap=keep) as running:
        yield running


@pytest.fixture
def services(site: Site, served: list[ASGIApp]) -> Services:
    app = served[0]
    assert isinstance(app, FastAPI)
    services: Services = app.state.services
    return services


# ---------------------------------------------------------------- docks


class Stops:
    """The points where a dock waits for the test: the first arrival at each point named
    flushes the tiles to the database and waits until ``release``."""

    def __init__(self, feed: StatusFeed, points: tuple[str, ...]) -> None:
        self.feed = feed
        self.arrived = {point: threading.Event() for point in points}
        self.go = {point: threading.Event() for point in points}

    def __call__(self, point: str) -> None:
        if point in self.arrived and not self.arrived[point].is_set():
            assert self.feed.flush()
            self.arrived[point].set()
            self.go[point].wait(DEADLINE)

    def reached(self, point: str) -> None:
        assert self.arrived[point].wait(DEADLINE), f"the dock never reached {point}"

    def release(self, point: str) -> None:
        self.go[point].set()

    def release_all(self) -> None:
        for event in self.go.values():
            event.set()


def register(site: Site, serial: str, officer_no: str, name: str) -> None:
    register_device(site.home.custody_log(), operator("test"), serial, officer_no, NORTH_UNIT,
                    officer_name=name)


@contextmanager
def docking(site: Site, tmp_path: Path, feed: StatusFeed, serial: str, officer_no: str,
            files: list[bytes], *, wipe: bool, stops: tuple[str, ...] = (),
            store: FlakyStore | None = None, retry_seconds: float = 1.0,
            fault: Callable[[SimulatedRecorder], None] | None = None) -> Iterator[Stops]:
    """A real dock of a simulated recorder at ``feed``'s station, in a thread; the block
    runs while it docks, and the dock has ended when the block is left. With ``store``
    (down), the dock's first retry waits at the stop "retry", then the store comes back."""
    mount = tmp_path / f"media-{serial}"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, serial, officer_no, files,
                                 lookup=registry_lookup(registry_entries(site.home.engine())))
    recorder.dock()
    if fault is not None:
        fault(recorder)
    held = Stops(feed, stops)

    def wait(seconds: float) -> bool:
        held("retry")
        if store is not None:
            store.down = False
        return False

    home = site.home
    station = Station(home.custody_log(), store or home.object_store(),  # type: ignore[arg-type]
                      IngestOptions(actor="station:test", station_tz=SHANGHAI, derive=False,
                                    unit_code=NORTH_UNIT),
                      DockPolicy(wipe=wipe, retry_initial_seconds=retry_seconds),
                      wait=wait, hold=held, info=feed.info, on_status=feed.update)
    thread = threading.Thread(target=station.dock, args=(recorder, serial), daemon=True)
    thread.start()
    try:
        yield held
    finally:
        held.release_all()
        thread.join(DEADLINE)
    assert not thread.is_alive(), f"the dock of {serial} did not end"
    assert feed.flush()


# ---------------------------------------------------------------- the page


def tile_of(page: Page, serial: str) -> Locator:
    return page.locator(f'article.tile[data-serial="{serial}"]')


def progress_of(tile: Locator, done: int, total: int) -> None:
    bar = tile.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", str(done))
    expect(bar).to_have_attribute("aria-valuemax", str(total))


def tab_to(page: Page, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_clerk_follows_real_docks_on_the_station_screen(
        site: Site, signed_in_page: PageFactory, services: Services, tmp_path: Path,
        lang: str) -> None:
    code = "Z" if lang == "zh-CN" else "E"
    first, second, third = f"ZFY{code}001", f"ZFY{code}002", f"ZFY{code}003"
    register(site, first, OFFICER_NO, "李娜")
    register(site, second, OTHER_OFFICER_NO, "王强")
    desk = StationInfo(f"desk-{lang}", NORTH_UNIT)
    feed = StatusFeed(site.home.engine(), desk).start()
    silent, moment = f"silent-{lang}", datetime.now(UTC)  # its dock stops reporting at once
    publish(site.home.engine(), [PortStatus(silent, "", "online", moment, station_unit=NORTH_UNIT,
                                            stale_after=moment + timedelta(seconds=2))])
    page = signed_in_page("clerk", lang)  # a clerk's start page is the station screen
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request) if EVENTS in request.url else None)
    try:
        expect(page.locator("h1")).to_have_text(tr(lang, "Station screen"))
        expect(page.locator("#station-connection")).to_have_text(tr(lang, "Live"))
        expect(page.get_by_role("link", name=tr(lang, "Station screen"), exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=tr(lang, "Evidence"), exact=True)).to_have_count(0)
        station = page.locator(f'section.station[data-station="{desk.name}"]')
        expect(station.locator(".station-state")).to_have_text(
            tr(lang, "Station: {state}", state=tr(lang, "Running")))

        # A recorder of three files, wiped after: its tile appears as it copies, counts
        # up to 3/3, then wipes, and says so.
        with docking(site, tmp_path, feed, first, OFFICER_NO, clips(3, 41), wipe=True,
                     stops=("copy", "wipe")) as dock:
            dock.reached("copy")
            tile = tile_of(page, first)
            expect(tile.locator("h3")).to_have_text(
                tr(lang, "{name} ({number})", name="李娜", number=OFFICER_NO))
            expect(tile.locator(".tile-recorder")).to_have_text(tr(lang, "Recorder {serial}",
                                                                     serial=first))
            expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Copying"))
            progress_of(tile, 0, 3)
            expect(tile.locator(".files-count")).to_have_text(
                tr(lang, "{done} of {total} files", done=0, total=3))
            expect(tile.locator(".tile-wipe")).to_have_text(tr(lang, "Wiped once every file is stored"))
            expect(tile.locator(".tile-bytes")).to_contain_text("117.2 KB")  # 3 × 40,000 bytes
            expect(tile).to_contain_text("(Asia/Shanghai)")  # times in the station's zone
            shoot(page, "station-copying", lang)
            dock.release("copy")
            dock.reached("wipe")
            expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Wiping the recorder"))
            expect(tile.locator(".files-count")).to_have_text(
                tr(lang, "{done} of {total} files", done=3, total=3))
            progress_of(tile, 3, 3)
        expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Done"))
        expect(tile.locator(".tile-wipe")).to_have_text(
            tr(lang, "Wiped: every stored file was deleted from the recorder"))
        expect(tile.locator(".tile-bytes")).to_have_text(
            tr(lang, "{done} of {total}", done="117.2 KB", total="117.2 KB"))
        expect(page.locator("#station-news")).to_have_text(tr(
            lang, "{officer}: recorder {serial} is done, {done} of {total} files stored.",
            officer=tr(lang, "{name} ({number})", name="李娜", number=OFFICER_NO),
            serial=first, done=3, total=3))

        # The store is unreachable: the tile says so in words, and counts down to the retry.
        store = FlakyStore(site.home.object_store())
        with docking(site, tmp_path, feed, second, OTHER_OFFICER_NO, clips(2, 42), wipe=False,
                     stops=("retry",), store=store, retry_seconds=90) as dock:
            dock.reached("retry")
            tile = tile_of(page, second)
            expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Waiting to try again"))
            expect(tile.locator(".tile-problem")).to_have_text(
                tr(lang, PROBLEMS["store_unreachable"], files=2, attempt=1))
            countdown = tile.locator(".countdown")
            pattern = tr(lang, "Trying again in {seconds} s", seconds="(\\d+)")
            expect(countdown).to_have_text(re.compile(pattern))
            before = int(re.fullmatch(pattern, countdown.inner_text()).group(1))  # type: ignore[union-attr]
            assert 80 <= before <= 90, before
            expect(countdown).not_to_have_text(countdown.inner_text())  # it ticks each second
            after = int(re.fullmatch(pattern, countdown.inner_text()).group(1))  # type: ignore[union-attr]
            assert after < before
            expect(tile.locator(".tile-wipe")).to_have_text(
                tr(lang, "Kept on the recorder (this station does not wipe)"))
            check_page(page, "station", lang)
        expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Done"))
        expect(tile.locator(".countdown")).to_have_count(0)
        expect(tile.locator(".tile-problem")).to_have_count(0)
        progress_of(tile, 2, 2)

        # A file fails mid-copy: it stays on the recorder, the rest is wiped, in words.
        victim: list[str] = []

        def unplug_one(recorder: SimulatedRecorder) -> None:
            victim.append(recorder.list_files()[1].path)
            recorder.fail_read_after(victim[0], 10_000)

        with docking(site, tmp_path, feed, third, OFFICER_NO, clips(3, 43), wipe=True,
                     fault=unplug_one):
            pass
        tile = tile_of(page, third)  # a recorder the registry does not know: its number only
        expect(tile.locator("h3")).to_have_text(tr(lang, "Officer {number}", number=OFFICER_NO))
        expect(tile.locator(".tile-state")).to_have_text(tr(lang, "Finished with problems"))
        expect(tile.locator(".tile-problem")).to_have_text(
            tr(lang, PROBLEMS["file_unplugged"], path=victim[0]))
        expect(tile.locator(".tile-wipe")).to_have_text(
            tr(lang, "Partly wiped: some files stay on the recorder"))
        expect(tile.locator(".tile-failed")).to_have_text(tr(lang, "{count} file(s)", count=1))
        expect(page.locator("#station-news")).to_have_text(tr(
            lang, "{officer}: recorder {serial} finished with problems; files left on the "
                  "recorder: {count}.",
            officer=tr(lang, "Officer {number}", number=OFFICER_NO),
            serial=third, count=1))

        # The server goes away and comes back: the screen says so, then resumes where it was
        # (the browser sends the last event's id), and takes the changes made meanwhile.
        services.stopping.set()
        try:
            expect(page.locator("#station-connection")).to_have_text(
                tr(lang, "Connection lost; reconnecting…"))
            publish(site.home.engine(), [PortStatus(
                desk.name, "spare", "docked", datetime.now(UTC), station_unit=NORTH_UNIT,
                device_serial=f"ZFY{code}009", files_total=1)])
        finally:
            services.stopping.clear()
        expect(page.locator("#station-connection")).to_have_text(tr(lang, "Live"))
        expect(tile_of(page, f"ZFY{code}009").locator("h3")).to_have_text(tr(lang, "Unknown officer"))
        expect(tile_of(page, first).locator(".tile-state")).to_have_text(tr(lang, "Done"))
        expect(page.locator(f'section.station[data-station="{silent}"] .station-state')).to_have_text(
            tr(lang, "Station: {state}", state=tr(lang, "Not responding")))
        resumed = [r.all_headers().get("last-event-id") for r in requests]
        assert resumed and all(resumed) and all(i.isdigit() for i in resumed if i), resumed
        check_page(page, "station-problems", lang)

        # Monitor mode, by keyboard alone: the header goes, the tiles stay; Escape leaves it.
        tab_to(page, "monitor-mode")
        assert_focus_visible(page)
        page.keyboard.press("Enter")
        monitor = page.locator("#monitor-mode")
        expect(monitor).to_have_attribute("aria-pressed", "true")
        expect(page.locator("header.top")).to_be_hidden()
        expect(tile_of(page, first)).to_be_visible()
        shoot(page, "station-monitor", lang)
        page.keyboard.press("Escape")
        expect(monitor).to_have_attribute("aria-pressed", "false")
        expect(page.locator("header.top")).to_be_visible()
    finally:
        assert feed.close()


def test_the_station_screen_is_refused_to_roles_without_it_and_scoped_for_officers(
        site: Site, signed_in_page: PageFactory) -> None:
    moment = datetime.now(UTC)
    publish(site.home.engine(), [
        PortStatus("desk-scope", "", "online", moment, station_unit=NORTH_UNIT,
                   stale_after=moment + timedelta(hours=1)),
        PortStatus("desk-scope", "mine", "transferring", moment, station_unit=NORTH_UNIT,
                   device_serial="ZFY-MINE", officer_no=OFFICER_NO, files_total=4, files_done=1),
        PortStatus("desk-scope", "theirs", "failed", moment, station_unit=NORTH_UNIT,
                   device_serial="ZFY-THEIRS", officer_no=OTHER_OFFICER_NO,
                   problem=Problem("recorder_unplugged")),
    ])
    for role in ("case_officer", "reviewer"):
        page = signed_in_page(role, "zh-CN")
        expect(page.get_by_role("link", name=tr("zh-CN", "Station screen"))).to_have_count(0)
        page.goto(site.url + "/ui/station")
        expect(page.locator("h1")).to_have_text(tr("zh-CN", "You cannot open this page"))
        refused = page.request.get(site.url + "/api/v1/stations")
        assert refused.status == 403, refused.text()
        assert page.request.get(site.url + EVENTS).status == 403

    # An officer sees the docks of their own recorders, and nothing of the station's.
    page = signed_in_page("officer", "en")
    page.get_by_role("link", name="Station screen", exact=True).click()
    expect(tile_of(page, "ZFY-MINE").locator(".files-count")).to_have_text("1 of 4 files")
    expect(page.locator("#station-connection")).to_have_text("Live")
    expect(tile_of(page, "ZFY-THEIRS")).to_have_count(0)
    expect(page.locator('section[data-station="desk-scope"] .station-state')).to_have_count(0)
    # Another zone picked in the header: the screen is drawn again in it, and stays live.
    mine = tile_of(page, "ZFY-MINE")
    expect(mine).to_contain_text("(Asia/Shanghai)")
    page.locator("#time-zone").select_option("Asia/Urumqi")
    expect(mine).to_contain_text("(Asia/Urumqi)")
    expect(mine).not_to_contain_text("(Asia/Shanghai)")
    expect(page.locator("#station-connection")).to_have_text("Live")
    publish(site.home.engine(), [PortStatus(
        "desk-scope", "mine", "transferring", moment, station_unit=NORTH_UNIT,
        device_serial="ZFY-MINE", officer_no=OFFICER_NO, files_total=4, files_done=2)])
    expect(mine.locator(".files-count")).to_have_text("2 of 4 files")


def test_every_problem_code_is_said_in_the_pages_words() -> None:
    """station.js says each code of domain/station.PROBLEMS with the server's own English
    sentence as its message id, so the catalogue translates exactly what the dock means."""
    said = dict(re.findall(r'^  (\w+): \(p\) => t\("((?:[^"\\]|\\.)*)", p\),$',
                           STATION_JS.read_text(encoding="utf-8"), flags=re.M))
    assert said == {code: sentence.replace('"', '\\"') for code, sentence in PROBLEMS.items()}
