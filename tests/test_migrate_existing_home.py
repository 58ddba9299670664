"""An existing home migrates: migrations 0008 and 0009 place every user, recorder, item of
footage and case of a home made before agencies existed in the default agency and unit,
keep each file's recorder mtime, and give the auditors of that time their old reach (*)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select, text

from cases import tables
from cases.organisation import list_agencies, list_units
from cases.tables import DEFAULT_AGENCY, DEFAULT_UNIT
from cases.users import operator
from storage import catalog
from storage.db import MIGRATIONS, make_engine, migrate, sqlite_url
from tests.conftest import _pg_schema_url

T = datetime(2026, 11, 27, 9, 47, 21, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0007 (before units) with one row of each kind."""
    url = (sqlite_url(tmp_path / "evidence.db") if request.param == "sqlite"
           else _pg_schema_url(request.getfixturevalue("pg_database_url")))
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    with engine.begin() as conn:
        for role in ("auditor", "case_officer"):
            conn.execute(text(
                "INSERT INTO users (name, role, token_sha256, created_at, created_by) "
                "VALUES (:n, :r, :t, :at, 'cli:root')"), {"n": f"old-{role}", "r": role,
                                                          "t": role * 4, "at": T})
        conn.execute(text("INSERT INTO devices (serial, officer_no, unit, registered_at) "
                          "VALUES ('ZFY0001', '100234', '交警一中队', :at)"), {"at": T})
        conn.execute(text(
            "INSERT INTO evidence (id, sha256, size, object_key, original_name, source_path, kind,"
            " time_source, media_json, flags, retention_category, legal_hold, derivatives_state,"
            " ingested_at) VALUES ('e1', :sha, 4, 'k', 'a.mp4', 'DCIM/a.mp4', 'video', 'file_mtime',"
            " :media, '[]', 'standard', :held, 'done', :at)"),
            {"sha": "ab" * 32, "media": '{"source_mtime": "2026-11-27T09:47:21+00:00"}',
             "held": False, "at": T})
        conn.execute(text("INSERT INTO cases (id, number, title, created_at, created_by) "
                          "VALUES ('c1', '2024-0042', 'Theft', :at, 'old-case_officer')"),
                     {"at": T})
    yield engine
    engine.dispose()


def test_an_existing_home_is_placed_in_the_default_agency_and_unit(old_home: Engine) -> None:
    migrate(old_home)
    with old_home.connect() as conn:
        users = {r.name: (r.unit_code, r.auditor_scope) for r in conn.execute(select(tables.users))}
        device = conn.execute(select(catalog.devices)).one()
        evidence = conn.execute(select(catalog.evidence)).one()
        case = conn.execute(select(tables.cases)).one()
    assert users == {"old-auditor": (DEFAULT_UNIT, "*"), "old-case_officer": (DEFAULT_UNIT, None)}
    assert (device.unit_code, device.unit) == (DEFAULT_UNIT, "交警一中队")  # the old text is kept
    assert evidence.unit_code == DEFAULT_UNIT and case.unit_code == DEFAULT_UNIT
    mtime = evidence.source_mtime
    assert (mtime if mtime.tzinfo else mtime.replace(tzinfo=UTC)) == T
    assert [(a.code, a.name) for a in list_agencies(old_home, operator("t"))] == [
        (DEFAULT_AGENCY, "默认执法机关")]
    assert [(u.code, u.agency_code, u.name) for u in list_units(old_home, operator("t"))] == [
        (DEFAULT_UNIT, DEFAULT_AGENCY, "默认单位")]
