"""Bearer tokens expire and can be renewed; failed authentications and event-creating requests are
rate-limited; no answer tells an outsider which user names exist."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.http.app import create_app
from api.http.ratelimit import Rate, RateLimits
from api.http.services import ApiOptions
from cases import tables
from cases.users import Role, add_user, operator
from storage.db import MIGRATIONS, make_engine, migrate
from tests.api_support import (
    NORTH_UNIT,
    SOUTH_UNIT,
    Clock,
    World,
    add_recording,
    clips_fixture,
    make_clip,
    world_fixture,
)
from tests.cli_helpers import run_cli_in_process

_ = (world_fixture, clips_fixture, make_clip)
API = "/api/v1"


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


def _expire(world: World, name: str) -> None:
    with world.home.engine().begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.name == name)
                     .values(token_expires_at=world.clock() - timedelta(seconds=1)))


def test_a_token_expires_after_the_configured_days_and_says_how_to_renew(world: World) -> None:
    made = world.client.post(f"{API}/users", json={"name": "kim", "role": "reviewer",
                                                   "unit": NORTH_UNIT}, headers=world.auth("admin"))
    assert made.status_code == 201, made.text
    expires = datetime.fromisoformat(made.json()["token_expires_at"])
    assert expires == world.clock() + timedelta(days=90)
    kim = {"Authorization": f"Bearer {made.json()['token']}"}
    assert world.client.get(f"{API}/me", headers=kim).status_code == 200
    world.clock.advance(timedelta(days=90))
    error = _error(world.client.get(f"{API}/me", headers=kim), 401, "unauthenticated")
    assert "expired" in error["message"] and "evidence user rotate" in error["hint"]


def test_an_unknown_and_a_revoked_token_get_the_same_answer(world: World) -> None:
    revoked = world.tokens["reviewer"]
    world.client.delete(f"{API}/users/reviewer", headers=world.auth("admin")).raise_for_status()
    _expire(world, "reviewer")  # expired too: revoked still wins, and says nothing more
    answers = [world.client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
               for token in (revoked, "x" * 43)]
    assert answers[0].status_code == answers[1].status_code == 401
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["WWW-Authenticate"] == answers[1].headers["WWW-Authenticate"]


def test_renewing_a_token_through_the_api_ends_the_old_one(world: World) -> None:
    old = world.auth("case_officer")
    renewed = world.client.post(f"{API}/users/case_officer/token", headers=world.auth("admin"))
    assert renewed.status_code == 200, renewed.text
    new = {"Authorization": f"Bearer {renewed.json()['token']}"}
    _error(world.client.get(f"{API}/me", headers=old), 401, "unauthenticated")
    assert world.client.get(f"{API}/me", headers=new).json()["name"] == "case_officer"
    # a user renews their own token (any role); an expiring token can be renewed before it ends
    mine = world.client.post(f"{API}/users/case_officer/token", headers=new)
    assert mine.status_code == 200
    _error(world.client.get(f"{API}/me", headers=new), 401, "unauthenticated")
    [event] = world.events("user:token:rotated")[-1:]
    assert event["actor"] == "user:case_officer"
    assert set(event["details"]) == {"user", "token_expires_at"}  # never the token itself
    assert (datetime.fromisoformat(event["details"]["token_expires_at"])
            == datetime.fromisoformat(mine.json()["token_expires_at"]) == world.clock()
            + timedelta(days=90))


def test_renewing_is_refused_to_others_without_telling_who_exists(world: World) -> None:
    """A non-admin may renew only their own token; an admin of another agency (or of none of
    the user's) gets the same answer for a real name as for a name nobody has."""
    real = world.client.post(f"{API}/users/case_officer/token", headers=world.auth("south-admin"))
    ghost = world.client.post(f"{API}/users/nobody-here/token", headers=world.auth("south-admin"))
    assert real.status_code == ghost.status_code == 403
    assert (real.json()["error"]["message"].replace("case_officer", "X")
            == ghost.json()["error"]["message"].replace("nobody-here", "X"))
    assert real.json()["error"]["hint"] == ghost.json()["error"]["hint"]
    for user in ("officer", "case_officer2", "reviewer"):
        _error(world.client.post(f"{API}/users/case_officer/token", headers=world.auth(user)),
               403, "forbidden")
    # revoking too: not "404 no such user" for a ghost and "403 an admin of north" for a real one
    real = world.client.delete(f"{API}/users/case_officer", headers=world.auth("south-admin"))
    ghost = world.client.delete(f"{API}/users/nobody-here", headers=world.auth("south-admin"))
    assert real.status_code == ghost.status_code == 403
    assert "north" not in real.text
    assert real.json()["error"]["hint"] == ghost.json()["error"]["hint"]
    for user in ("officer", "reviewer"):
        assert world.client.delete(f"{API}/users/nobody-here",
                                   headers=world.auth(user)).status_code == 403
    # a taken name says only that it is taken: not whose, nor whether revoked
    world.client.delete(f"{API}/users/south-reviewer", headers=world.auth("south-admin"))
    taken = world.client.post(f"{API}/users", json={"name": "south-reviewer", "role": "reviewer",
                                                    "unit": NORTH_UNIT}, headers=world.auth("admin"))
    error = _error(taken, 409, "already_exists")
    assert "revoked" not in error["message"] and "south" not in error["message"].replace(
        "south-reviewer", "")


def test_the_cli_renews_a_token(world: World, db_url: str) -> None:
    env = {"EVIDENCE_DATABASE_URL": db_url, "EVIDENCE_TOKEN_DAYS": "7"}
    result = run_cli_in_process(world.home.root, "user", "rotate", "auditor", "--json", env=env)
    assert result.returncode == 0, result.stderr
    renewed = json.loads(result.stdout)
    expires = datetime.fromisoformat(renewed["token_expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)
    _error(world.get("auditor", f"{API}/me"), 401, "unauthenticated")
    me = world.client.get(f"{API}/me", headers={"Authorization": f"Bearer {renewed['token']}"})
    assert me.status_code == 200
    assert world.events("user:token:rotated")[-1]["actor"].startswith("cli:")
    missing = run_cli_in_process(world.home.root, "user", "rotate", "nobody-here", env=env)
    assert missing.returncode == 2 and "evidence user list" in missing.stderr


def test_migration_0010_gives_existing_tokens_ninety_days(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (name, role, token_sha256, created_at, created_by, "
                             "unit_code) VALUES ('old', 'reviewer', 'ab', '2024-01-01 00:00:00', "
                             "'test', 'default')")
    migrate(engine)
    with engine.connect() as conn:
        [until] = conn.exec_driver_sql("SELECT token_expires_at FROM users").one()
    until = until if isinstance(until, datetime) else datetime.fromisoformat(str(until))
    left = until.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(days=89) < left <= timedelta(days=90)
    engine.dispose()


# --- rate limits ------------------------------------------------------------------------------

TIGHT = RateLimits(failed_auth_per_address=Rate(5, 0.5), events_per_user=Rate(4, 0.5),
                   events_per_address=Rate(50, 5.0))


@pytest.fixture
def limited(world: World) -> tuple[World, TestClient, Clock]:
    """The world's home served by a second app with tight limits and its own clock."""
    clock = Clock(world.clock())
    app = create_app(world.home, ApiOptions(clock=clock, rate_limits=TIGHT))
    client = TestClient(app)
    world.closers += [client.close, app.state.services.log.close]
    return world, client, clock


def test_failed_authentications_are_limited_per_address(limited: tuple[World, TestClient, Clock]
                                                        ) -> None:
    world, client, clock = limited
    for _ in range(5):
        _error(client.get(f"{API}/me", headers={"Authorization": "Bearer " + "x" * 43}),
               401, "unauthenticated")
    # the address is refused now, whatever it sends: a guess that is never checked
    good = world.auth("admin")
    error = _error(client.get(f"{API}/me", headers=good), 429, "too_many_requests")
    refused = client.get(f"{API}/me", headers=good)
    assert refused.headers["Retry-After"] == "2" and error["hint"]
    other = TestClient(client.app, client=("192.0.2.7", 5000))  # another address is not
    assert other.get(f"{API}/me", headers=good).status_code == 200
    clock.advance(timedelta(seconds=2))
    assert client.get(f"{API}/me", headers=good).status_code == 200


def test_event_creating_requests_are_limited_per_user(limited: tuple[World, TestClient, Clock]
                                                      ) -> None:
    world, client, clock = limited
    evidence = world.evidence["mine"]
    for i in range(4):
        body = {"reason": f"order {i}"}
        path = f"{API}/evidence/{evidence}/hold"
        response = (client.post(path, json=body, headers=world.auth("admin")) if i % 2 == 0 else
                    client.delete(path, params=body, headers=world.auth("admin")))
        assert response.status_code == 200, response.text
    size = world.home.custody_log().size()
    refused = client.post(f"{API}/evidence/{evidence}/hold", json={"reason": "again"},
                          headers=world.auth("admin"))
    _error(refused, 429, "too_many_requests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert world.home.custody_log().size() == size  # refused before anything was logged
    assert client.get(f"{API}/me", headers=world.auth("admin")).status_code == 200  # reads go on
    other = client.post(f"{API}/cases", json={"title": "Theft", "number": "R-1"},
                        headers=world.auth("case_officer"))
    assert other.status_code == 201  # another user has their own allowance
    clock.advance(timedelta(seconds=2))
    assert client.post(f"{API}/evidence/{evidence}/hold", json={"reason": "again"},
                       headers=world.auth("admin")).status_code == 200


def test_playback_in_many_range_requests_never_trips_the_limit(
        limited: tuple[World, TestClient, Clock], clips: list[bytes]) -> None:
    """One viewing session is one event: 400 Range requests of a recording and of a file cost
    one event each, while new sessions (a new reason each) are counted."""
    world, client, _clock = limited
    recording_id, _segments = add_recording(world, clips)
    headers = world.auth("admin")
    for path in (f"{API}/recordings/{recording_id}/playback", f"{API}/evidence/"
                 f"{world.evidence['mine']}/playback"):
        first = client.get(path, headers={**headers, "Range": "bytes=0-0"})
        assert first.status_code == 206, first.text
        size = int(first.headers["Content-Range"].rsplit("/", 1)[1])
        for i in range(400):
            start = (i * 7919) % size
            response = client.get(path, headers={**headers, "Range": f"bytes={start}-{start}"})
            assert response.status_code == 206, (i, response.text)
            assert response.headers["X-View-Session"] == first.headers["X-View-Session"]
    path = f"{API}/evidence/{world.evidence['mine']}/playback"
    answers = [client.get(path, params={"reason": f"look {i}"}, headers=headers).status_code
               for i in range(4)]
    assert answers[:2] == [200, 200] and answers[-1] == 429, answers  # 2 sessions above + these


def test_the_limits_are_documented_with_429_and_retry_after(world: World) -> None:
    document = world.client.get(f"{API}/openapi.json").json()
    operation = document["paths"][f"{API}/users/{{name}}/token"]["post"]
    assert "429" in operation["responses"]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "EVIDENCE_TOKEN_DAYS" in readme and "Rate limits" in readme


def test_a_user_of_another_unit_is_made_with_a_token_that_expires(world: World) -> None:
    user, _token = add_user(world.home.custody_log(), "sam", Role.REVIEWER, None,
                            by=operator("test"), unit_code=SOUTH_UNIT, token_days=3,
                            now=world.clock())
    assert user.token_expires_at == world.clock() + timedelta(days=3)
