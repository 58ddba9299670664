"""Streaming serves only what the custody log recorded (issue 12, item 11).

The catalogue row says which object to stream; the ``ingested`` or ``derived`` event
says which object that must be. A row edited to point at other bytes serves nothing
(500, integrity_error, no viewing event), and bytes altered in the store cut the
whole-file stream short before its last chunk.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import update

from domain.errors import IntegrityError
from storage import catalog
from tests.api_support import World, add_recording, clips_fixture, world_fixture

_ = (world_fixture, clips_fixture)
API = "/api/v1"
PLAYBACK = "playback.mp4"


def _edit(world: World, table: Any, where: Any, **values: Any) -> None:
    with world.home.engine().begin() as conn:
        conn.execute(update(table).where(where).values(**values))


def _row(world: World, table: Any, where: Any) -> Any:
    with world.home.engine().connect() as conn:
        return conn.execute(table.select().where(where)).one()


def _playback_row(world: World, label: str) -> Any:
    der = catalog.derivatives
    return der, (der.c.evidence_id == world.evidence[label]) & (der.c.name == PLAYBACK)


def _refused(response: Any) -> None:
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "integrity_error"
    assert "evidence verify" in response.json()["error"]["hint"]


def test_a_playback_row_pointing_at_another_object_serves_nothing(world: World) -> None:
    der, mine = _playback_row(world, "mine")
    _, theirs = _playback_row(world, "theirs")
    other = _row(world, der, theirs)
    _edit(world, der, mine, object_key=other.object_key, sha256=other.sha256, size=other.size,
          object_version=other.object_version)
    _refused(world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback"))
    _refused(world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback",
                       headers={"Range": "bytes=0-9"}))
    assert world.events("evidence:file:viewed") == []


def test_a_playback_row_with_only_its_key_changed_serves_nothing(world: World) -> None:
    der, mine = _playback_row(world, "mine")
    _, theirs = _playback_row(world, "theirs")
    _edit(world, der, mine, object_key=_row(world, der, theirs).object_key)
    _refused(world.get("admin", f"{API}/evidence/{world.evidence['mine']}/playback"))
    assert world.events("evidence:file:viewed") == []


def test_an_original_row_pointing_at_another_object_serves_nothing(world: World) -> None:
    from cases.case_records import attach_evidence, create_case
    from cases.users import authenticate

    log = world.home.custody_log()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "Robbery", "R-1")
    attach_evidence(log, world.home.object_store(), manager, case.id, world.evidence["mine"])
    ev = catalog.evidence
    other = _row(world, ev, ev.c.id == world.evidence["theirs"])
    _edit(world, ev, ev.c.id == world.evidence["mine"], object_key=other.object_key,
          object_version=other.object_version, size=other.size)
    _refused(world.get("case_officer",
                       f"{API}/evidence/{world.evidence['mine']}/original?reason=court"))
    assert world.events("evidence:file:downloaded") == []


def test_a_recording_with_a_segment_row_edited_serves_nothing(world: World,
                                                              clips: list[bytes]) -> None:
    recording_id, ids = add_recording(world, clips)
    der = catalog.derivatives
    first = (der.c.evidence_id == ids[0]) & (der.c.name == PLAYBACK)
    second = _row(world, der, (der.c.evidence_id == ids[1]) & (der.c.name == PLAYBACK))
    _edit(world, der, first, object_key=second.object_key, sha256=second.sha256, size=second.size)
    _refused(world.get("officer", f"{API}/recordings/{recording_id}/playback"))
    assert world.events("evidence:file:viewed") == []


def test_bytes_altered_in_the_store_cut_the_whole_file_short(world: World) -> None:
    der, mine = _playback_row(world, "mine")
    key = _row(world, der, mine).object_key
    path = world.home.object_store().root / "objects" / key  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    body = bytearray(path.read_bytes())
    body[-1] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(body))
    # The status line has gone out; the test client re-raises what cut the stream.
    with pytest.raises(RuntimeError) as raised:
        world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback")
    assert isinstance(raised.value.__cause__, IntegrityError)
    assert "hashes to" in str(raised.value.__cause__)
    # a part cannot be hashed; it is the logged object, so it is served
    part = world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback",
                     headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == bytes(body[:10])


def test_an_untouched_catalogue_still_plays(world: World) -> None:
    response = world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback")
    assert response.status_code == 200 and response.content == world.playback["mine"]
