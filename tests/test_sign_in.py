"""Signing in to the pages: passwords (argon2id), lockout, browser sessions and their
cookie, CSRF, media played with the cookie alone, and the command line's password and
unlock. No answer tells anyone which user names exist."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.cli_service import api_options
from api.http.app import create_app
from api.http.ratelimit import Rate, RateLimits
from api.http.services import ApiOptions, SignInOptions
from api.settings import Settings
from cases import tables
from cases.passwords import LockoutPolicy, set_password
from cases.users import operator
from cases.web_sessions import SessionPolicy
from domain.errors import ConfigError
from storage.db import MIGRATIONS, make_engine
from tests.api_support import NORTH_UNIT, World, world_fixture

_ = world_fixture
API = "/api/v1"
PASSWORD = "Blue kettle at dawn 42"
OTHER = "a different long passphrase"


def _give_password(world: World, name: str, password: str = PASSWORD) -> None:
    set_password(world.home.custody_log(), name, password, by=operator("test"), now=world.clock())


def _sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    client.cookies.clear()
    return client.post(f"{API}/session", json={"name": name, "password": password})


def _signed_in(world: World, name: str) -> dict[str, str]:
    """Give ``name`` a password (if they have none), sign them in on the world's client;
    the CSRF header for unsafe requests."""
    if _column(world, name, "password_hash") is None:
        _give_password(world, name)
    response = _sign_in(world.client, name)
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def _set_cookie(response: Any) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie")
                if h.startswith("evidence_session=")]
    return str(header)


def _get_as(world: World, path: str, session_id: str) -> Any:
    """A request carrying only the cookie ``session_id`` (a copy of an old cookie)."""
    world.client.cookies.clear()
    world.client.cookies.set("evidence_session", session_id)
    return world.client.get(path)


def _column(world: World, name: str, column: str) -> Any:
    with world.home.engine().connect() as conn:
        return conn.execute(select(tables.users.c[column])
                            .where(tables.users.c.name == name)).scalar()


def test_signing_in_sets_a_strict_session_cookie_and_gives_the_user_and_csrf_token(
        world: World) -> None:
    _give_password(world, "case_officer")
    response = _sign_in(world.client, "case_officer")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"user", "csrf_token"} and len(body["csrf_token"]) >= 32
    assert body["user"] == world.get("case_officer", f"{API}/me").json()  # the /me shape
    cookie = _set_cookie(response)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert "secure" not in attributes  # plain http: a LAN address works too
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # browser session
    again = world.client.get(f"{API}/session")
    assert again.status_code == 200 and again.json() == body
    assert world.client.get(f"{API}/me").json()["name"] == "case_officer"  # the cookie alone
    # stored: the argon2id hash, never the password; the session id only as its SHA-256
    stored = _column(world, "case_officer", "password_hash")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    session_id = world.client.cookies["evidence_session"]
    with world.home.engine().connect() as conn:
        digests = conn.execute(select(tables.user_sessions.c.id_sha256)).scalars().all()
    assert len(digests) == 1 and session_id not in digests[0]
    [event] = world.events("user:session:started")
    assert event["actor"] == "user:case_officer"
    assert event["details"]["method"] == "password" and event["details"]["address"]
    assert event["details"]["session"] == digests[0][:16]
    log_text = repr([e for e in world.events()])
    assert PASSWORD not in log_text and session_id not in log_text


def test_the_cookie_is_secure_over_https_or_when_the_setting_says_so(world: World) -> None:
    _give_password(world, "reviewer")
    with TestClient(world.client.app, base_url="https://testserver") as tls:
        assert "secure" in _set_cookie(_sign_in(tls, "reviewer")).lower()
    app = create_app(world.home, ApiOptions(clock=world.clock, rate_limits=RateLimits.generous(),
                                            sign_in=SignInOptions(cookie_secure=True)))
    try:
        with TestClient(app) as proxied:  # plain HTTP from a TLS proxy
            assert "secure" in _set_cookie(_sign_in(proxied, "reviewer")).lower()
    finally:
        app.state.services.log.close()


def test_with_the_cookie_every_change_needs_the_csrf_token_and_a_bearer_token_none(
        world: World) -> None:
    csrf = _signed_in(world, "case_officer")
    case = {"title": "Theft", "number": "C-1"}
    for headers in ({}, {"X-CSRF-Token": "x" * 43}, {"X-CSRF-Token": csrf["X-CSRF-Token"][:-1]}):
        refused = world.client.post(f"{API}/cases", json=case, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "csrf" and "X-CSRF-Token" in refused.text
    assert world.events("case:record:created") == []
    made = world.client.post(f"{API}/cases", json=case, headers=csrf)
    assert made.status_code == 201, made.text
    # a bearer token decides when both are sent, and needs no CSRF token
    as_bearer = world.client.post(f"{API}/cases", json={"title": "Fraud", "number": "C-2"},
                                  headers=world.auth("admin"))
    assert as_bearer.status_code == 201
    assert world.events("case:record:created")[-1]["actor"] == "user:admin"


def test_playback_works_with_the_cookie_alone_in_range_requests(world: World) -> None:
    """What a <video src> sends: the cookie and a Range, no header of the page's."""
    _signed_in(world, "officer")
    mine, expected = world.evidence["mine"], world.playback["mine"]
    sessions = set()
    for start in (0, 1000, 5000):
        response = world.client.get(f"{API}/evidence/{mine}/playback",
                                    headers={"Range": f"bytes={start}-{start + 99}"})
        assert response.status_code == 206, response.text
        assert response.content == expected[start:start + 100]
        sessions.add(response.headers["X-View-Session"])
    assert len(sessions) == 1
    [viewed] = world.events("evidence:file:viewed")
    assert viewed["actor"] == "user:officer"
    theirs = world.client.get(f"{API}/evidence/{world.evidence['theirs']}/playback")
    assert theirs.status_code == 403  # the cookie carries the same rights as the token


def test_signing_out_ends_the_session_on_the_server(world: World) -> None:
    csrf = _signed_in(world, "reviewer")
    session_id = world.client.cookies["evidence_session"]
    refused = world.client.delete(f"{API}/session")  # no CSRF token: still signed in
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert world.client.get(f"{API}/session").status_code == 200
    out = world.client.delete(f"{API}/session", headers=csrf)
    assert out.status_code == 204
    assert "max-age=0" in _set_cookie(out).lower()
    [event] = world.events("user:session:ended")
    assert event["actor"] == "user:reviewer" and event["details"]["reason"] == "signed out"
    # a copy of the old cookie opens nothing, and is cleared from the browser
    world.client.cookies.clear()
    stale = _get_as(world, f"{API}/me", session_id)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "unauthenticated"
    assert "max-age=0" in _set_cookie(stale).lower()
    assert _get_as(world, f"{API}/session", session_id).status_code == 401
    # signing out again, or without a session, is no error
    assert world.client.delete(f"{API}/session").status_code == 204


def test_a_session_ends_when_idle_and_at_its_absolute_end(world: World) -> None:
    _signed_in(world, "reviewer")
    for _ in range(24):  # used every 29 minutes: alive for 11 h 36 min ...
        world.clock.advance(timedelta(minutes=29))
        assert world.client.get(f"{API}/me").status_code == 200
    world.clock.advance(timedelta(minutes=29))  # ... but not past 12 h
    assert world.client.get(f"{API}/me").status_code == 401
    _signed_in(world, "reviewer")
    world.clock.advance(timedelta(minutes=30))  # 30 idle minutes end it
    assert world.client.get(f"{API}/me").status_code == 401


def test_a_session_in_use_stays_alive_even_with_a_short_idle_period(world: World) -> None:
    _give_password(world, "reviewer")
    app = create_app(world.home, ApiOptions(
        clock=world.clock, rate_limits=RateLimits.generous(),
        sign_in=SignInOptions(sessions=SessionPolicy(idle=timedelta(minutes=1)))))
    try:
        with TestClient(app) as client:
            assert _sign_in(client, "reviewer").status_code == 200
            for _ in range(10):  # a request every 50 s
                world.clock.advance(timedelta(seconds=50))
                assert client.get(f"{API}/me").status_code == 200
            world.clock.advance(timedelta(seconds=61))
            assert client.get(f"{API}/me").status_code == 401
    finally:
        app.state.services.log.close()


def test_a_revoked_user_or_a_new_password_ends_sessions(world: World) -> None:
    _signed_in(world, "case_officer2")
    session_id = world.client.cookies["evidence_session"]
    assert world.client.delete(f"{API}/users/case_officer2",
                               headers=world.auth("admin")).status_code == 200
    world.client.cookies.clear()
    assert _get_as(world, f"{API}/me", session_id).status_code == 401
    _signed_in(world, "reviewer")
    reviewer_session = world.client.cookies["evidence_session"]
    world.client.cookies.clear()
    reset = world.client.put(f"{API}/users/reviewer/password", json={"password": OTHER},
                             headers=world.auth("admin"))
    assert reset.status_code == 200, reset.text
    assert _get_as(world, f"{API}/me", reviewer_session).status_code == 401
    [event] = world.events("user:password:set")[-1:]
    assert event["details"] == {"user": "reviewer", "reset": True, "unlocked": False,
                                "sessions_ended": 1}
    assert _sign_in(world.client, "reviewer", OTHER).status_code == 200


def _answers(world: World, attempts: list[tuple[str, str]]) -> list[Any]:
    return [_sign_in(world.client, name, password) for name, password in attempts]


def test_no_sign_in_answer_tells_which_names_exist(world: World) -> None:
    """An unknown name, a wrong password, a revoked, a locked and a password-less account:
    the same 401, word for word."""
    for name in ("reviewer", "auditor", "case_officer2"):
        _give_password(world, name)
    world.client.delete(f"{API}/users/auditor", headers=world.auth("admin")).raise_for_status()
    with world.home.engine().begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.name == "case_officer2")
                     .values(locked_until=world.clock() + timedelta(minutes=5)))
    answers = _answers(world, [("nobody-here", PASSWORD), ("reviewer", OTHER),
                               ("auditor", PASSWORD), ("case_officer2", PASSWORD),
                               ("officer", PASSWORD), ("李娜", PASSWORD)])
    first = answers[0]
    assert first.status_code == 401 and first.json()["error"]["code"] == "unauthenticated"
    for answer in answers:
        assert (answer.status_code, answer.json(), answer.headers.get("www-authenticate")) == (
            first.status_code, first.json(), first.headers.get("www-authenticate"))
        assert "evidence_session" not in answer.cookies
    assert world.events("user:session:started") == []


def test_repeated_failures_lock_the_account_until_an_admin_unlocks_it(world: World) -> None:
    _give_password(world, "reviewer")
    refused = _answers(world, [("reviewer", OTHER)] * 5)
    assert {r.status_code for r in refused} == {401}
    [locked] = world.events("user:account:locked")
    assert locked["actor"] == "service:sign-in"
    assert locked["details"]["user"] == "reviewer" and locked["details"]["failures"] == 5
    assert locked["details"]["locked_until"] == "2024-03-16T01:45:00Z"  # 15 minutes
    right = _sign_in(world.client, "reviewer")  # even the right password, and the same answer
    assert right.status_code == 401 and right.json() == refused[0].json()
    listed = {u["name"]: u for u in world.get("admin", f"{API}/users").json()["items"]}
    assert listed["reviewer"]["locked_until"] is not None and listed["reviewer"]["has_password"]
    # an admin of another agency cannot unlock it, and is told nothing about it
    real = world.client.post(f"{API}/users/reviewer/unlock", headers=world.auth("south-admin"))
    ghost = world.client.post(f"{API}/users/nobody-here/unlock",
                              headers=world.auth("south-admin"))
    assert real.status_code == ghost.status_code == 403
    assert real.json()["error"]["hint"] == ghost.json()["error"]["hint"]
    unlocked = world.client.post(f"{API}/users/reviewer/unlock", headers=world.auth("admin"))
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    [event] = world.events("user:account:unlocked")
    assert event["actor"] == "user:admin" and event["details"]["user"] == "reviewer"
    again = world.client.post(f"{API}/users/reviewer/unlock", headers=world.auth("admin"))
    assert again.status_code == 409  # not locked
    assert _sign_in(world.client, "reviewer").status_code == 200


def test_a_lock_ends_by_itself_and_a_success_resets_the_count(world: World) -> None:
    _give_password(world, "reviewer")
    _answers(world, [("reviewer", OTHER)] * 4)
    assert _sign_in(world.client, "reviewer").status_code == 200  # the count starts again
    _answers(world, [("reviewer", OTHER)] * 4)
    assert world.events("user:account:locked") == []
    _answers(world, [("reviewer", OTHER)])
    assert len(world.events("user:account:locked")) == 1
    _answers(world, [("reviewer", OTHER)] * 10)  # guesses during a lock do not lengthen it
    assert len(world.events("user:account:locked")) == 1
    world.clock.advance(timedelta(minutes=14, seconds=59))
    assert _sign_in(world.client, "reviewer").status_code == 401
    world.clock.advance(timedelta(seconds=1))
    assert _sign_in(world.client, "reviewer").status_code == 200


def test_failed_sign_ins_are_limited_per_address(world: World) -> None:
    _give_password(world, "reviewer")
    app = create_app(world.home, ApiOptions(clock=world.clock, rate_limits=RateLimits(
        failed_auth_per_address=Rate(3, 0.1))))
    try:
        with TestClient(app) as client:
            for name in ("nobody", "someone", "reviewer"):
                assert _sign_in(client, name, OTHER).status_code == 401
            limited = _sign_in(client, "reviewer")  # the right password is not even looked at
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
            assert limited.json()["error"]["code"] == "too_many_requests"
            world.clock.advance(timedelta(seconds=10))
            assert _sign_in(client, "reviewer").status_code == 200
    finally:
        app.state.services.log.close()
    assert world.events("user:account:locked") == []  # 2 of 5 failures on the account


def test_who_may_set_a_password_and_what_a_password_must_be(world: World) -> None:
    url = f"{API}/users/reviewer/password"
    first = world.client.put(url, json={"password": PASSWORD}, headers=world.auth("admin"))
    assert first.status_code == 200, first.text
    assert first.json()["has_password"] is True and PASSWORD not in first.text
    [event] = world.events("user:password:set")
    assert event["actor"] == "user:admin"
    assert event["details"] == {"user": "reviewer", "reset": False, "unlocked": False,
                                "sessions_ended": 0}
    # another agency's admin: the same refusal for a real name as for a name nobody has
    real = world.client.put(url, json={"password": OTHER}, headers=world.auth("south-admin"))
    ghost = world.client.put(f"{API}/users/nobody-here/password", json={"password": OTHER},
                             headers=world.auth("south-admin"))
    assert real.status_code == ghost.status_code == 403
    assert real.json()["error"]["hint"] == ghost.json()["error"]["hint"]
    for user in ("officer", "case_officer"):  # not an admin: only their own
        assert world.client.put(url, json={"password": OTHER},
                                headers=world.auth(user)).status_code == 403
    for bad, status, words in (("short", 422, "at least 10"), ("x" * 257, 422, "at most 256"),
                               ("my name is reviewer!", 400, "user name")):
        response = world.client.put(url, json={"password": bad}, headers=world.auth("admin"))
        assert response.status_code == status, response.text
        assert words in response.json()["error"]["message"]
    # the user changes their own with the old one; their other sessions end, this one stays
    csrf = _signed_in(world, "reviewer")
    mine = world.client.cookies["evidence_session"]
    with TestClient(world.client.app) as elsewhere:  # the same user in another browser
        other_id = _sign_in(elsewhere, "reviewer").cookies["evidence_session"]
    world.client.cookies.set("evidence_session", mine)
    missing = world.client.put(url, json={"password": OTHER}, headers=csrf)
    assert missing.status_code == 400 and "current password" in missing.text
    wrong = world.client.put(url, json={"password": OTHER, "old_password": "not it at all"},
                             headers=csrf)
    assert wrong.status_code == 403
    changed = world.client.put(url, json={"password": OTHER, "old_password": PASSWORD},
                               headers=csrf)
    assert changed.status_code == 200, changed.text
    [own] = world.events("user:password:changed")
    assert own["actor"] == "user:reviewer" and own["details"]["sessions_ended"] == 1
    assert _get_as(world, f"{API}/me", mine).status_code == 200
    assert _get_as(world, f"{API}/me", other_id).status_code == 401
    assert _sign_in(world.client, "reviewer", PASSWORD).status_code == 401
    assert _sign_in(world.client, "reviewer", OTHER).status_code == 200
    # an admin changing their own password gives the old one too
    _give_password(world, "admin")
    own_admin = world.client.put(f"{API}/users/admin/password", json={"password": PASSWORD + "!"},
                                 headers=world.auth("admin"))
    assert own_admin.status_code == 400
    # a revoked user gets no password
    world.client.delete(f"{API}/users/case_officer2", headers=world.auth("admin"))
    revoked = world.client.put(f"{API}/users/case_officer2/password", json={"password": OTHER},
                               headers=world.auth("admin"))
    assert revoked.status_code == 409


def test_providers_say_whether_single_sign_on_is_set_up(world: World) -> None:
    assert world.client.get(f"{API}/session/providers").json() == {"oidc": False}
    login = world.client.get("/auth/oidc/login", headers={"accept": "text/html"},
                             follow_redirects=False)
    assert login.status_code == 404 and "not set up" in login.text
    assert login.headers["content-type"].startswith("text/html")
    assert world.client.get("/auth/oidc/login").json()["error"]["code"] == "sso_not_configured"


def test_a_second_sign_in_in_the_same_browser_ends_the_first_session(world: World) -> None:
    for name in ("reviewer", "case_officer"):
        _give_password(world, name)
    _signed_in(world, "reviewer")
    first = world.client.cookies["evidence_session"]
    response = world.client.post(f"{API}/session", json={"name": "case_officer",
                                                         "password": PASSWORD})
    assert response.status_code == 200
    [ended] = world.events("user:session:ended")
    assert ended["details"]["user"] == "reviewer"
    world.client.cookies.clear()
    assert _get_as(world, f"{API}/me", first).status_code == 401


# --- the command line --------------------------------------------------------------------

def _cli(world: World, db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_HOME": str(world.home.root), "EVIDENCE_DATABASE_URL": db_url,
           "COLUMNS": "200", "LC_ALL": "C.UTF-8"}  # English messages (Chinese: test_i18n)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_cli_sets_a_password_and_unlocks(world: World, db_url: str) -> None:
    result = _cli(world, db_url, "user", "password", "reviewer", "--password-stdin",
                  stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert _sign_in(world.client, "reviewer").status_code == 200
    [event] = world.events("user:password:set")
    assert event["actor"].startswith("cli:")
    # asked twice (here read without a terminal): a mismatch is asked again
    prompted = _cli(world, db_url, "user", "password", "case_officer",
                    stdin=f"{OTHER}\n{OTHER}x\n{OTHER}\n{OTHER}\n")
    assert prompted.returncode == 0, prompted.stderr
    assert _sign_in(world.client, "case_officer", OTHER).status_code == 200
    short = _cli(world, db_url, "user", "password", "reviewer", "--password-stdin",
                 stdin="short\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    missing = _cli(world, db_url, "user", "password", "nobody-here", "--password-stdin",
                   stdin=PASSWORD + "\n")
    assert missing.returncode == 2 and "evidence user list" in missing.stderr
    # unlock (the command line runs on the real clock)
    with world.home.engine().begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.name == "reviewer")
                     .values(locked_until=datetime.now(UTC) + timedelta(hours=1)))
    unlocked = _cli(world, db_url, "user", "unlock", "reviewer")
    assert unlocked.returncode == 0, unlocked.stderr
    assert _column(world, "reviewer", "locked_until") is None
    assert world.events("user:account:unlocked")[-1]["actor"].startswith("cli:")
    assert _cli(world, db_url, "user", "unlock", "reviewer").returncode == 1


def test_the_settings_make_the_options_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIGNIN_MAX_FAILURES", "SESSION_IDLE_MINUTES", "OIDC_ISSUER"):
        monkeypatch.delenv(f"EVIDENCE_{name}", raising=False)
    options = api_options(Settings(signin_max_failures=3, signin_lock_minutes=60,
                                   session_idle_minutes=10, session_hours=2, cookie_secure=True))
    assert options.sign_in.lockout == LockoutPolicy(3, timedelta(hours=1))
    assert options.sign_in.sessions.idle == timedelta(minutes=10)
    assert options.sign_in.sessions.absolute == timedelta(hours=2)
    assert options.sign_in.cookie_secure and options.sign_in.oidc is None
    for bad in ({"signin_max_failures": 0}, {"session_idle_minutes": 0}, {"session_hours": 500},
                {"oidc_issuer": "https://sso.example"}):
        with pytest.raises(ConfigError):
            api_options(Settings(**bad))


def test_migration_0011_keeps_existing_users_without_passwords(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0010")
            now = datetime.now(UTC)
            conn.execute(tables.agencies.insert().values(code="a", name="A", level="region",
                                                         created_at=now, created_by="t"))
            conn.execute(tables.units.insert().values(code=NORTH_UNIT, agency_code="a", name="U",
                                                      created_at=now, created_by="t"))
            conn.exec_driver_sql(
                "INSERT INTO users (name, role, token_sha256, created_at, created_by, unit_code, "
                "token_expires_at) VALUES ('old', 'reviewer', 'ab', '2024-01-01', 't', 'n1', "
                "'2030-01-01')")
            command.upgrade(config, "0011")
            row = conn.execute(select(tables.users).where(tables.users.c.name == "old")).one()
            assert row.password_hash is None and row.failed_sign_ins == 0
            assert row.locked_until is None
            command.downgrade(config, "0010")
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_evidence_serve_over_tls_signs_in_with_a_secure_cookie(tmp_path: Path) -> None:
    """The README's TLS setup, for real: `evidence serve --tls-cert --tls-key` under uvicorn,
    a sign-in over HTTPS (the certificate trusted as a CA), a Secure cookie that works."""
    import re
    import ssl

    import httpx2

    from api.home import dispose_engines
    from cases.users import Role, add_user
    from storage.db import sqlite_url
    from tests.api_support import make_home, make_organisation

    home = make_home(tmp_path / "home", sqlite_url(tmp_path / "home" / "evidence.db"))
    make_organisation(home)
    log = home.custody_log()
    add_user(log, "kim", Role.REVIEWER, None, by=operator("test"), unit_code=NORTH_UNIT)
    set_password(log, "kim", PASSWORD, by=operator("test"), now=datetime.now(UTC))
    dispose_engines()
    cert, key = _self_signed(tmp_path)
    env = {**os.environ, "EVIDENCE_HOME": str(home.root), "EVIDENCE_DATABASE_URL": home.database_url}
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", "0",
                               "--tls-cert", str(cert), "--tls-key", str(key)],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        port = None
        for line in server.stderr:  # uvicorn says where it listens (port 0: the system chose)
            found = re.search(r"running on https://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "evidence serve never said it was listening"
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx2.Client(base_url=f"https://127.0.0.1:{port}", verify=trusted,
                           timeout=30) as browser:
            response = browser.post(f"{API}/session", json={"name": "kim", "password": PASSWORD})
            assert response.status_code == 200, response.text
            assert "secure" in _set_cookie(response).lower()
            assert browser.get(f"{API}/session").json()["user"]["name"] == "kim"
    finally:
        server.terminate()
        server.wait(timeout=30)
