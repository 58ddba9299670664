"""Shared fixtures: databases (SQLite and a throwaway PostgreSQL database), logs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from custody.log import CustodyLog
from custody.note import Ed25519Signer
from storage.db import make_engine, migrate, sqlite_url

PG_ADMIN_URL = os.environ.get("EVIDENCE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"
ORIGIN = "test.example/custody"


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a skipped PostgreSQL test is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A database created for this run and dropped after it."""
    given = os.environ.get("EVIDENCE_TEST_PG_URL")
    if given:
        yield given
        return
    name = f"evidence_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        _skip_or_fail(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.orig}); start it or "
                      "set EVIDENCE_TEST_PG_ADMIN_URL / EVIDENCE_TEST_PG_URL to enable these tests")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_schema_url(database_url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    setup = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    setup.dispose()
    return f"{database_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "evidence.db")
    else:
        url = _pg_schema_url(request.getfixturevalue("pg_database_url"))
    migrate(make_engine(url))
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate(ORIGIN)


@pytest.fixture
def log(engine: Engine, signer: Ed25519Signer) -> CustodyLog:
    return CustodyLog(engine, signer, ORIGIN)
