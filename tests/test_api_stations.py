"""The station screen's API: who sees which tiles, and the live stream a screen follows.

The snapshot (GET /stations) is asked of the in-process app. The event stream is read
with httpx2 from a live uvicorn, as a browser would, while a dock (in this process, or
`evidence dock` in another) writes its tiles into the same database. Reads wait for the
expected event with a deadline; nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from api.http.app import create_app
from api.http.ratelimit import RateLimits
from api.http.server import EvidenceServer
from api.http.services import ApiOptions
from cases.users import Role, add_user, operator
from devices.simulated import SimulatedRecorder
from domain.station import PortStatus, Problem, StationInfo
from ingest.pipeline import IngestOptions
from ingest.station import DockPolicy, Station
from ingest.station_feed import StatusFeed
from storage.station_status import publish
from tests.api_support import (
    N2_OFFICER_NO,
    NORTH_UNIT,
    NORTH_UNIT2,
    OFFICER_NO,
    OTHER_OFFICER_NO,
    SOUTH_OFFICER_NO,
    SOUTH_UNIT,
    T0,
    World,
    world_fixture,
)
from tests.cli_helpers import run_cli
from tests.test_dock import SHANGHAI, clips

_ = world_fixture
API = "/api/v1"
DEADLINE = 60.0  # seconds a test waits for an event before it fails


def port(station: str, name: str, unit: str, officer_no: str | None, state: str = "transferring",
         **fields: Any) -> PortStatus:
    return PortStatus(station, name, state, T0, station_unit=unit, officer_no=officer_no,  # type: ignore[arg-type]
                      device_serial=f"ZFY-{name}", **fields)


def stations_of_three_units(world: World) -> None:
    """north-desk (unit n1) docks officer 100234's and 200345's recorders, n2-desk (n2) one
    of unit n2, south-desk (s1) one of south's; each station has its own tile."""
    publish(world.home.engine(), [
        PortStatus("north-desk", "", "online", T0, station_unit=NORTH_UNIT),
        port("north-desk", "A", NORTH_UNIT, OFFICER_NO, files_total=4, files_done=1,
             problem=Problem("file_changed", {"path": "DCIM/0001.MP4"})),
        port("north-desk", "B", NORTH_UNIT, OTHER_OFFICER_NO),
        port("north-desk", "OLD", NORTH_UNIT, OFFICER_NO, state="removed"),
        PortStatus("n2-desk", "", "online", T0, station_unit=NORTH_UNIT2),
        port("n2-desk", "C", NORTH_UNIT2, N2_OFFICER_NO),
        PortStatus("south-desk", "", "offline", T0, station_unit=SOUTH_UNIT),
        port("south-desk", "D", SOUTH_UNIT, SOUTH_OFFICER_NO, state="retrying",
             retry_at=T0 + timedelta(seconds=8),
             problem=Problem("store_unreachable", {"files": 2, "attempt": 3})),
    ])


def shown(world: World, user: str) -> set[str]:
    response = world.get(user, f"{API}/stations")
    assert response.status_code == 200, response.text
    return {f"{t['station']}/{t['port']}" for t in response.json()["tiles"]}


NORTH_DESK = {"north-desk/", "north-desk/A", "north-desk/B"}
N2_DESK = {"n2-desk/", "n2-desk/C"}
SOUTH_DESK = {"south-desk/", "south-desk/D"}


def test_each_role_sees_the_tiles_of_its_scope(world: World) -> None:
    stations_of_three_units(world)
    assert shown(world, "clerk") == NORTH_DESK
    assert shown(world, "n2-clerk") == N2_DESK
    assert shown(world, "south-clerk") == SOUTH_DESK
    assert shown(world, "officer") == {"north-desk/A"}  # their own recorder, no station tile
    assert shown(world, "officer2") == {"north-desk/B"}
    assert shown(world, "n2-officer") == {"n2-desk/C"}
    assert shown(world, "admin") == shown(world, "north-auditor") == NORTH_DESK | N2_DESK
    assert shown(world, "south-admin") == SOUTH_DESK
    assert shown(world, "auditor") == NORTH_DESK | N2_DESK | SOUTH_DESK
    for user in ("case_officer", "reviewer", "south-reviewer"):
        response = world.get(user, f"{API}/stations")
        assert response.status_code == 403, user
        assert response.json()["error"]["code"] == "forbidden" and "clerk" in \
            response.json()["error"]["hint"]


def test_a_tile_says_its_problem_by_code_and_in_words(world: World) -> None:
    stations_of_three_units(world)
    body = world.get("south-clerk", f"{API}/stations").json()
    tile = next(t for t in body["tiles"] if t["port"] == "D")
    assert tile["state"] == "retrying" and tile["kind"] == "port"
    assert tile["retry_at"].startswith("2024-03-15T01:30:08")
    assert tile["problem"]["code"] == "store_unreachable"
    assert tile["problem"]["params"] == {"files": 2, "attempt": 3}
    assert tile["problem"]["message"].startswith("The evidence store or the database cannot be "
                                                 "reached. 2 file(s) will be tried again "
                                                 "(attempt 3)")
    station = next(t for t in body["tiles"] if t["port"] == "")
    assert station["kind"] == "station" and station["state"] == "offline"
    assert body["sequence"] == max(t["sequence"] for t in
                                   world.get("auditor", f"{API}/stations").json()["tiles"])


def test_a_clerk_reaches_nothing_but_the_station_screen(world: World) -> None:
    for path in ("/evidence", "/recordings", "/cases", "/devices", "/users",
                 f"/evidence/{world.evidence['mine']}"):
        response = world.get("clerk", f"{API}{path}")
        assert response.status_code == 403, (path, response.text)
    assert world.get("clerk", f"{API}/me").json()["role"] == "clerk"


def test_the_command_line_adds_a_clerk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    added = run_cli(home, "user", "add", "wang.clerk", "--role", "clerk", "--unit", "default",
                    "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["role"] == "clerk"
    listed = run_cli(home, "user", "list", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["role"] == "clerk"


# --- the event stream on a live server ---------------------------------------------------

@dataclass
class Sse:
    event: str  # "comment" for a keep-alive
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class Screen:
    """One open event stream, read as a browser's EventSource would."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()
        self.seen: list[Sse] = []

    def next(self) -> Sse | None:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    break
                continue
            name, _, value = line.partition(":")
            if name == "":
                return self._keep(Sse("comment", value.strip(), None))
            fields[name] = value.removeprefix(" ")
        else:
            return None  # the server ended the stream
        if "event" not in fields and "data" not in fields:
            return self.next()  # the retry: field alone
        return self._keep(Sse(fields.get("event", "message"), fields.get("data", ""),
                              fields.get("id")))

    def _keep(self, sse: Sse) -> Sse:
        self.seen.append(sse)
        return sse

    def until(self, wanted: Callable[[Sse], bool], what: str) -> Sse:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            sse = self.next()
            if sse is None:
                pytest.fail(f"the stream ended before {what}; seen {self.events()}")
            if wanted(sse):
                return sse
        pytest.fail(f"no {what} in {DEADLINE} s; seen {self.events()}")

    def events(self) -> list[Sse]:
        return [sse for sse in self.seen if sse.event != "comment"]


@contextmanager
def live(world: World, *, server: type[uvicorn.Server] = EvidenceServer,
         **options: Any) -> Iterator[tuple[str, uvicorn.Server, threading.Thread]]:
    """The world's home served by uvicorn in a thread (a short poll and keep-alive)."""
    settings = {"station_poll_seconds": 0.05, "station_heartbeat_seconds": 0.2,
                "rate_limits": RateLimits.generous(), **options}
    app = create_app(world.home, ApiOptions(**settings))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    running = (EvidenceServer(app, config) if server is EvidenceServer else server(config))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", running, thread
    finally:
        running.should_exit = True
        thread.join(timeout=30)
        sock.close()
        app.state.services.log.close()
    assert not thread.is_alive(), "the server did not stop"


@contextmanager
def screen(world: World, base: str, user: str, last_event_id: str | None = None,
           ) -> Iterator[Screen]:
    headers = world.auth(user) | ({"Last-Event-ID": last_event_id} if last_event_id else {})
    with httpx2.Client(timeout=DEADLINE) as client, client.stream(
            "GET", f"{base}{API}/stations/events", headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Screen(response)


def dock_one(world: World, tmp_path: Path, serial: str, officer_no: str,
             info: StationInfo) -> None:
    """A real dock of a simulated recorder at ``info``'s station, its tiles fed as in
    `evidence dock`."""
    mount = tmp_path / f"media-{serial}"
    mount.mkdir()
    recorder = SimulatedRecorder(mount, serial, officer_no, clips(2, 9))
    recorder.dock()
    home = world.home
    feed = StatusFeed(home.engine(), info).start()
    try:
        options = IngestOptions(actor="station:test", station_tz=SHANGHAI, derive=False,
                                unit_code=info.unit)
        outcome = Station(home.custody_log(), home.object_store(), options,
                          DockPolicy(wipe=True), info=info,
                          on_status=feed.update).dock(recorder, serial)
        assert outcome.complete, outcome
    finally:
        assert feed.close()


def is_done(port_name: str) -> Callable[[Sse], bool]:
    return lambda sse: (sse.event == "tile" and sse.json()["port"] == port_name
                        and sse.json()["state"] == "done")


def test_a_screen_follows_a_dock_as_it_happens(world: World, tmp_path: Path) -> None:
    desk = StationInfo("north-desk", NORTH_UNIT)
    with live(world) as (base, _, _), screen(world, base, "clerk") as clerk, \
            screen(world, base, "officer") as officer, \
            screen(world, base, "south-clerk") as south:
        first = clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        assert first.json()["tiles"] == [] and first.id == "0"
        assert officer.until(lambda s: s.event == "snapshot", "a snapshot").json()["tiles"] == []
        south.until(lambda s: s.event == "snapshot", "a snapshot")
        dock = threading.Thread(target=dock_one, args=(world, tmp_path, "ZFY0101", OFFICER_NO,
                                                        desk))
        dock.start()
        try:
            done = clerk.until(is_done("ZFY0101"), "the dock's last tile").json()
            mine = officer.until(is_done("ZFY0101"), "the officer's own tile").json()
        finally:
            dock.join()

        def station_tile(sse: Sse) -> bool:
            return sse.event == "tile" and sse.json()["kind"] == "station"

        if not any(station_tile(s) for s in clerk.seen):  # written at most every half second:
            clerk.until(station_tile, "the station's own tile")  # it may follow the last port's
        # the south clerk's screen, kept alive past the dock's end, was told nothing of it
        south.until(lambda s: s.event == "comment", "a keep-alive")
        south.until(lambda s: s.event == "comment", "a second keep-alive")
    assert (done["files_done"], done["files_total"], done["files_wiped"]) == (2, 2, 2)
    assert done["officer_no"] == OFFICER_NO and done["wipe"] == "done"
    assert done["problem"] is None and mine == done
    states = [s.json()["state"] for s in clerk.seen
              if s.event == "tile" and s.json()["port"] == "ZFY0101"]
    assert states[-1] == "done"  # the feed writes the newest tile every half second at most
    ids = [int(s.id) for s in clerk.seen if s.id is not None]
    assert ids == sorted(ids) and len(set(ids[1:])) == len(ids) - 1
    assert not [s for s in officer.seen if s.event == "tile" and s.json()["kind"] == "station"]
    assert not [s for s in south.seen if s.event in ("tile", "remove")]


def test_a_screen_resumes_after_its_last_event_id(world: World) -> None:
    stations_of_three_units(world)
    with live(world) as (base, _, _):
        with screen(world, base, "clerk") as clerk:
            snapshot = clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        assert {t["port"] for t in snapshot.json()["tiles"]} == {"", "A", "B"}
        publish(world.home.engine(), [
            port("north-desk", "B", NORTH_UNIT, OTHER_OFFICER_NO, state="done"),
            port("south-desk", "D", SOUTH_UNIT, SOUTH_OFFICER_NO, state="done"),
            port("north-desk", "A", NORTH_UNIT, OFFICER_NO, state="removed")])
        with screen(world, base, "clerk", last_event_id=snapshot.id) as clerk:
            changed = clerk.until(lambda s: s.event == "remove", "the removed tile")
            first = [s for s in clerk.seen if s.event != "comment"]
        with screen(world, base, "clerk", last_event_id="not a number") as fresh:
            again = fresh.until(lambda s: s.event != "comment", "the first event")
    assert [s.event for s in first] == ["tile", "remove"]  # B changed, A taken out; not D
    assert first[0].json()["port"] == "B" and first[0].json()["state"] == "done"
    assert changed.json() == {"station": "north-desk", "port": "A",
                              "sequence": int(changed.id or 0)}
    assert int(first[0].id or 0) > int(snapshot.id or 0)
    assert again.event == "snapshot" and {t["port"] for t in again.json()["tiles"]} == {"", "B"}


def test_an_officer_loses_a_port_taken_over_by_another_officer(world: World) -> None:
    stations_of_three_units(world)
    with live(world) as (base, _, _):
        with screen(world, base, "officer") as officer:
            snapshot = officer.until(lambda s: s.event == "snapshot", "a snapshot")
            assert [t["port"] for t in snapshot.json()["tiles"]] == ["A"]
            publish(world.home.engine(), [port("north-desk", "A", NORTH_UNIT, OTHER_OFFICER_NO,
                                               state="docked")])
            gone = officer.until(lambda s: s.event == "remove", "the lost tile")
        assert gone.json()["port"] == "A"
        assert not [s for s in officer.seen if s.event == "tile"]  # never the other's tile
        # resuming from before the takeover cannot say "remove A" without telling whose
        # dock changed: a fresh snapshot is the exact answer
        with screen(world, base, "officer", last_event_id=snapshot.id) as officer:
            resumed = officer.until(lambda s: s.event != "comment", "the first event")
        assert resumed.event == "snapshot" and resumed.json()["tiles"] == []
        publish(world.home.engine(), [port("north-desk", "A", NORTH_UNIT, OFFICER_NO,
                                           state="docked")])
        # the officer docks there again: resuming after the removal gets just that tile
        with screen(world, base, "officer", last_event_id=gone.id) as officer:
            again = officer.until(lambda s: s.event != "comment", "the first event")
    assert again.event == "tile" and again.json()["officer_no"] == OFFICER_NO


def test_the_stream_ends_when_the_server_shuts_down(world: World) -> None:
    with live(world, station_stream_seconds=3600) as (base, server, thread), \
            screen(world, base, "clerk") as clerk:
        clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        stopped = time.monotonic()
        server.should_exit = True
        end = clerk.until(lambda s: s.event == "end", "the end event")
        thread.join(timeout=30)
        took = time.monotonic() - stopped
    assert end.json() == {"reason": "shutdown"}
    assert not thread.is_alive() and took < 10, took


def test_a_screen_closed_by_its_client_holds_no_server_up(world: World) -> None:
    """Plain uvicorn (which does not tell the app it stops) waits for open responses: the
    stream must notice its client went away and end."""
    with live(world, server=uvicorn.Server, station_stream_seconds=3600,
              station_heartbeat_seconds=3600) as (base, server, thread):
        with screen(world, base, "clerk") as clerk:
            clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        stopped = time.monotonic()
        server.should_exit = True
        thread.join(timeout=30)
        took = time.monotonic() - stopped
    assert not thread.is_alive() and took < 10, took


def test_a_revoked_token_ends_the_stream(world: World) -> None:
    add_user(world.home.custody_log(), "li.clerk", Role.CLERK, None, by=operator("test"),
             unit_code=NORTH_UNIT)
    from cases.users import rotate_token

    _, token = rotate_token(world.home.custody_log(), "li.clerk", by=operator("test"))
    world.tokens["li.clerk"] = token
    with live(world, station_reauth_seconds=0.1) as (base, _, _), \
            screen(world, base, "li.clerk") as clerk:
        clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        world.client.delete(f"{API}/users/li.clerk", headers=world.auth("admin")).raise_for_status()
        end = clerk.until(lambda s: s.event == "end", "the end event")
    assert end.json() == {"reason": "signed_out"}


def test_a_dock_in_another_process_reaches_the_screen(world: World, tmp_path: Path,
                                                      db_url: str) -> None:
    """`evidence dock` and the server share nothing but the database."""
    mount = tmp_path / "media"
    mount.mkdir()
    SimulatedRecorder(mount, "ZFY0202", OFFICER_NO, clips(3, 22)).dock()
    env = {"EVIDENCE_DATABASE_URL": db_url, "EVIDENCE_STATION_NAME": "north-desk",
           "EVIDENCE_STATION_UNIT": NORTH_UNIT, "EVIDENCE_LOG_ORIGIN": world.home.origin}
    with live(world) as (base, _, _), screen(world, base, "clerk") as clerk:
        clerk.until(lambda s: s.event == "snapshot", "a snapshot")
        result = run_cli(world.home.root, "dock", "--watch", str(mount), "--once", "--wipe",
                         "--json", "--no-udev", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        done = clerk.until(is_done("ZFY0202"), "the other process's tile").json()
        offline = clerk.until(lambda s: s.event == "tile" and s.json()["kind"] == "station"
                              and s.json()["state"] == "offline", "the station going offline")
    assert (done["files_done"], done["files_total"], done["station"]) == (3, 3, "north-desk")
    assert offline.json()["station_unit"] == NORTH_UNIT


def test_a_screen_signed_in_on_the_pages_stays_until_its_session_ends(world: World) -> None:
    """A browser's screen authenticates with its session cookie: checked again while it is
    open (not as a missing bearer token), it goes on; signing out ends it."""
    from datetime import UTC, datetime

    from cases.passwords import set_password

    set_password(world.home.custody_log(), "clerk", "Blue kettle at dawn 42", by=operator("test"),
                 now=datetime.now(UTC))
    with live(world, station_reauth_seconds=0.1) as (base, _, _), \
            httpx2.Client(base_url=base, timeout=DEADLINE) as browser:
        signed_in = browser.post(f"{API}/session", json={"name": "clerk",
                                                         "password": "Blue kettle at dawn 42"})
        assert signed_in.status_code == 200, signed_in.text
        with browser.stream("GET", f"{API}/stations/events") as response:
            assert response.status_code == 200, response.read()
            clerk = Screen(response)
            clerk.until(lambda s: s.event == "snapshot", "a snapshot")
            # keep-alives come every 0.2 s, checks every 0.1 s: the session was checked
            clerk.until(lambda s: s.event == "comment", "a keep-alive")
            clerk.until(lambda s: s.event == "comment", "a second keep-alive")
            publish(world.home.engine(), [port("north-desk", "A", NORTH_UNIT, OFFICER_NO)])
            assert clerk.until(lambda s: s.event == "tile", "the tile").json()["port"] == "A"
            out = httpx2.delete(f"{base}{API}/session", cookies=dict(browser.cookies),
                                headers={"X-CSRF-Token": signed_in.json()["csrf_token"]})
            assert out.status_code == 204, out.text
            end = clerk.until(lambda s: s.event == "end", "the end event")
    assert end.json() == {"reason": "signed_out"}
