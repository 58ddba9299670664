"""The station feed: a dock's tiles, written into the catalogue database for the station screen.

The dock (``ingest.station``) tells every change of a dock port as a ``PortStatus``; the
terminal table of `evidence dock` shows those objects, and ``StatusFeed`` writes the same
objects into ``station_status`` (``storage.station_status``), where the web server reads
them (``GET /api/v1/stations/events``). It works wherever the dock can reach the catalogue
database — SQLite on the same machine, PostgreSQL across a network — and needs nothing else.

This is operational state, not evidence: a tile is not a custody event, is overwritten at
the next change and is never hashed or signed; the custody events the dock writes
(``station:recorder:docked``, ``evidence:file:ingested``, ``evidence:file:wiped``, ...)
stay the record of what happened, and nothing is decided from a tile.

The dock never waits for its screen. ``update`` files the tile and returns; one thread
writes what changed, the newest tile of each port, at most every ``interval`` seconds, so
a slow or metered link costs the screen freshness and the dock nothing. When the database
cannot be reached the tiles wait (a newer one replacing an older) and are written when it
is back. The station's own tile (port ``""``) says ``online`` every ``heartbeat`` seconds,
with a ``stale_after`` past which a screen should say the station is not reporting, and
``offline`` when the feed is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from domain.station import STATION_PORT, PortState, PortStatus, StationInfo
from storage.station_status import publish

HEARTBEAT_SECONDS = 30.0
INTERVAL_SECONDS = 0.5
RETRY_SECONDS = 5.0
STALE_HEARTBEATS = 3  # a station that missed this many heartbeats is not reporting


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StatusFeed:
    """Writes tiles into ``station_status`` from its own thread (``start``, ``update``,
    ``flush``, ``close``). ``on_trouble`` hears, once per outage, why tiles are waiting, and
    ``None`` when they are written again."""

    def __init__(self, engine: Engine, info: StationInfo, *,
                 interval: float = INTERVAL_SECONDS, heartbeat: float = HEARTBEAT_SECONDS,
                 retry: float = RETRY_SECONDS, clock: Callable[[], datetime] = _utc_now,
                 on_trouble: Callable[[str | None], None] = lambda _: None) -> None:
        self.engine, self.info = engine, info
        self.interval, self.heartbeat, self.retry = interval, heartbeat, retry
        self.clock, self.on_trouble = clock, on_trouble
        self._pending: dict[tuple[str, str], PortStatus] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._hurry = False
        self._busy = False
        self._troubled = False
        self._thread = threading.Thread(target=self._run, name="station-feed", daemon=True)

    def station_tile(self, state: PortState) -> PortStatus:
        now = self.clock()
        return PortStatus(station=self.info.name, port=STATION_PORT, state=state, updated_at=now,
                          station_unit=self.info.unit, started_at=now,
                          stale_after=now + timedelta(seconds=self.heartbeat * STALE_HEARTBEATS)
                          if state == "online" else None)

    def start(self) -> StatusFeed:
        self.update(self.station_tile("online"))
        self._thread.start()
        return self

    def update(self, status: PortStatus) -> None:
        """File ``status``; it replaces a tile of the same port not yet written."""
        with self._cond:
            self._pending[status.key] = status
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write what is filed now, without the interval's wait; False if not written in
        ``timeout`` seconds (the database is unreachable)."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            done = self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)
            self._hurry = False
            return done

    def close(self, timeout: float = 10.0) -> bool:
        """Say the station is offline, write what is left, and stop; gives up after
        ``timeout`` seconds when the database cannot be reached (the station must be able
        to stop). True when everything was written."""
        if not self._thread.is_alive():
            return not self._pending
        with self._cond:  # together, so that no heartbeat says "online" after "offline"
            self._pending[(self.info.name, STATION_PORT)] = self.station_tile("offline")
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            return not self._pending and not self._thread.is_alive()

    def _run(self) -> None:
        beat = time.monotonic() + self.heartbeat
        while True:
            with self._cond:
                while True:
                    if time.monotonic() >= beat and not self._closing:
                        self._pending[(self.info.name, STATION_PORT)] = self.station_tile("online")
                    if self._pending or self._closing:
                        break
                    self._cond.wait(max(beat - time.monotonic(), 0.0))
                if not self._pending:
                    return  # closing, and everything is written
                batch, self._pending = self._pending, {}
                self._busy = True
            written = self._write(batch)
            with self._cond:
                self._busy = False
                if not written:
                    for key, status in batch.items():
                        self._pending.setdefault(key, status)  # a newer tile stays newer
                self._cond.notify_all()
                if not written and self._closing:
                    return  # the database is unreachable and the station stops: give up
                if written and (self.info.name, STATION_PORT) in batch:
                    beat = time.monotonic() + self.heartbeat
                # the interval (or the retry wait) passes unless a flush or close hurries it
                self._cond.wait_for(lambda: self._closing or self._hurry,
                                    self.interval if written else self.retry)

    def _write(self, batch: dict[tuple[str, str], PortStatus]) -> bool:
        try:
            publish(self.engine, list(batch.values()))
        except Exception as exc:  # any failure: the screen waits, the dock goes on
            if not self._troubled:
                self._troubled = True
                self.on_trouble(f"station screen not updated ({type(exc).__name__}: {exc}); "
                                "its tiles are written when the database is back")
            return False
        if self._troubled:
            self._troubled = False
            self.on_trouble(None)
        return True
