"""The station screen: the tiles of the docking stations a user may see, and what changed.

The docks write their tiles into ``station_status`` (``ingest.station_feed``); this module
reads them through the user's scope (``cases.access.station_scope``). Tiles are operational
state, not evidence: reading them is no custody event.

``ScreenFollower`` is what one open screen (a server-sent event stream) has been told and
what to tell it next, as events:

- ``snapshot``: every tile the user sees now (the screen replaces what it held);
- ``tile``: one tile changed (or appeared);
- ``remove``: a tile the screen holds went away (its recorder was taken out, or it is no
  longer the user's to see: an officer's recorder replaced by another's on that port).

Every event has the sequence number of the change it reflects, which a screen sends back
as ``Last-Event-ID`` to resume. A resumed screen gets the changes after that number; when
it cannot be told exactly which of the tiles it held went away (an officer's tile taken
over by another officer's dock while it was away), it gets a fresh snapshot instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine

from cases import access
from cases.users import User
from domain.station import PortStatus
from storage.station_status import read_all, read_changes

EventKind = Literal["snapshot", "tile", "remove"]
Numbered = tuple[int, PortStatus]


@dataclass(frozen=True)
class ScreenEvent:
    kind: EventKind
    seq: int
    tiles: tuple[Numbered, ...]  # snapshot: every tile seen; tile and remove: the one


@dataclass(frozen=True)
class StationScreen:
    tiles: list[Numbered]
    seq: int  # the number of the last change the tiles reflect


def _showable(scope: access.StationScope, tile: PortStatus) -> bool:
    return tile.state != "removed" and scope.sees(tile)


def station_screen(engine: Engine, user: User) -> StationScreen:
    """Every tile ``user`` sees, by station and port (a recorder taken out is not shown)."""
    with engine.connect() as conn:
        scope = access.station_scope(conn, user)
        tiles, top = read_all(conn)
    return StationScreen([(seq, tile) for seq, tile in tiles if _showable(scope, tile)], top)


def parse_event_id(value: str | None) -> int | None:
    """A ``Last-Event-ID`` as a sequence number; None for anything else (a fresh start)."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())


@dataclass
class ScreenFollower:
    """One open screen of ``user``: ``start`` once, then ``poll`` (and ``rescope`` when the
    user was authenticated again). Not thread-safe; one stream calls it at a time."""

    engine: Engine
    user: User
    scope: access.StationScope | None = None
    last: int = 0  # the last change this screen has been brought past
    shown: set[tuple[str, str]] = field(default_factory=set)

    def start(self, last_event_id: str | None = None) -> list[ScreenEvent]:
        """Check the user may see the screen (403 otherwise), then the first events: a
        snapshot, or the changes after ``last_event_id`` when resuming is exact."""
        with self.engine.connect() as conn:
            self.scope = access.station_scope(conn, self.user)
            tiles, top = read_all(conn)
        resume = parse_event_id(last_event_id)
        if resume is not None and resume <= top:
            changed = sorted((seq, tile) for seq, tile in tiles if seq > resume)
            scope = self.scope
            if not (scope.per_recorder and any(not scope.sees(t) for _, t in changed)):
                # what it may hold: any tile in scope (a remove for a tile it no longer
                # holds is harmless, and tells nothing it may not see)
                self.shown = {tile.key for _, tile in tiles if scope.sees(tile)}
                self.last = resume
                return self._changes(changed, top)
        return [self._snapshot(tiles, top)]

    def poll(self) -> list[ScreenEvent]:
        """The events of what changed since the last call."""
        with self.engine.connect() as conn:
            changed = read_changes(conn, self.last)
        return self._changes(changed, changed[-1][0] if changed else self.last)

    def rescope(self, user: User) -> list[ScreenEvent]:
        """The user was authenticated again: if what they may see changed (a unit added to
        their agency, say), a fresh snapshot."""
        self.user = user
        with self.engine.connect() as conn:
            scope = access.station_scope(conn, user)
            if scope == self.scope:
                return []
            self.scope = scope
            tiles, top = read_all(conn)
        return [self._snapshot(tiles, top)]

    def _snapshot(self, tiles: list[Numbered], top: int) -> ScreenEvent:
        assert self.scope is not None
        seen = tuple((seq, tile) for seq, tile in tiles if _showable(self.scope, tile))
        self.shown = {tile.key for _, tile in seen}
        self.last = top
        return ScreenEvent("snapshot", top, seen)

    def _changes(self, changed: list[Numbered], top: int) -> list[ScreenEvent]:
        assert self.scope is not None
        events = []
        for seq, tile in changed:
            if _showable(self.scope, tile):
                self.shown.add(tile.key)
                events.append(ScreenEvent("tile", seq, ((seq, tile),)))
            elif tile.key in self.shown:  # only a tile the screen holds: nothing else leaks
                self.shown.discard(tile.key)
                events.append(ScreenEvent("remove", seq, ((seq, tile),)))
        self.last = max(self.last, top)
        return events
