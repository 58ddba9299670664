"""`evidence user add/revoke/list`: tokens are shown once, stored hashed, and work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli_service import user_app
from api.http.app import create_app
from cases import tables
from cases.users import token_digest
from domain.errors import AlreadyExists, NotFound
from tests.api_support import make_home


@pytest.fixture
def home_env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "home"
    make_home(root, db_url)
    monkeypatch.setenv("EVIDENCE_HOME", str(root))
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", db_url)
    return root


def test_users_are_added_listed_and_revoked(home_env: Path, db_url: str) -> None:
    runner = CliRunner()
    added = runner.invoke(user_app, ["add", "li.wei", "--role", "reviewer", "--unit", "default", "--json"])
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)
    assert set(created) == {"name", "role", "token", "token_expires_at"} and created["role"] == "reviewer"
    token = created["token"]
    assert len(token) >= 43

    plain = runner.invoke(user_app, ["add", "zhang", "--role", "officer", "--officer-no", "100234",
                                     "--unit", "default"])
    assert plain.exit_code == 0 and plain.stdout.strip().splitlines()[-1]

    from api.home import open_home
    from api.settings import Settings

    home = open_home(Settings())
    with home.engine().connect() as conn:
        stored = conn.execute(select(tables.users.c.token_sha256)
                              .where(tables.users.c.name == "li.wei")).scalar_one()
    assert stored == token_digest(token) and token not in stored

    client = TestClient(create_app(home))
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["name"] == "li.wei"

    listed = runner.invoke(user_app, ["list", "--json"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["name"] for r in rows} == {"li.wei", "zhang"}
    assert token not in listed.stdout

    assert runner.invoke(user_app, ["revoke", "li.wei"]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    again = runner.invoke(user_app, ["revoke", "li.wei"])
    assert isinstance(again.exception, NotFound)
    reused = runner.invoke(user_app, ["add", "li.wei", "--role", "admin", "--unit", "default"])
    assert isinstance(reused.exception, AlreadyExists)  # names are never reused
    no_number = runner.invoke(user_app, ["add", "wang", "--role", "officer", "--unit", "default"])
    assert no_number.exception is not None and "officer number" in str(no_number.exception)

    events = [e for _, leaf in home.custody_log().entries()
              if (e := json.loads(leaf))["type"].startswith("user:")]
    assert [e["type"] for e in events] == ["user:account:created", "user:account:created",
                                           "user:account:revoked"]
    assert all(e["actor"].startswith("cli:") for e in events)
