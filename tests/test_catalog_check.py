"""`evidence verify` covers the catalogue (issue 12, item 12).

Every catalogue fact an event records is compared with the event: a row edited in
the database is reported as ``catalog_mismatch``, a row no event made as
``catalog_orphan``, a logged item whose row is gone as ``catalog_missing``.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, update

from cases.case_records import attach_evidence, create_case
from cases.catalog_check import check_catalog
from cases.evidence import change_legal_hold
from cases.users import authenticate
from custody.report import VerifyReport
from storage import catalog
from tests.api_support import SOUTH_UNIT, T0, World, world_fixture
from tests.cli_helpers import run_cli

_ = (world_fixture,)
API = "/api/v1"
PLAYBACK = "playback.mp4"
ev, der = catalog.evidence, catalog.derivatives


@pytest.fixture(name="lived")
def lived_fixture(world: World) -> World:
    """The world after a case attach (retention) and a hold placed and released and placed."""
    log, store = world.home.custody_log(), world.home.object_store()
    manager = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(log, manager, "Robbery", "R-1")
    attach_evidence(log, store, manager, case.id, world.evidence["mine"])
    admin = authenticate(world.home.engine(), world.tokens["admin"])
    for on in (True, False, True):
        change_legal_hold(log, store, admin, world.evidence["theirs"], on, "court order", world.clock())
    return world


def _kinds(world: World) -> list[tuple[str, str]]:
    report = VerifyReport(source="test")
    check_catalog(world.home.engine(), report)
    assert "catalog" in report.checks
    return [(p.kind, p.message) for p in report.problems]


def _edit(world: World, table: Any, where: Any, **values: Any) -> None:
    with world.home.engine().begin() as conn:
        conn.execute(update(table).where(where).values(**values))


def test_a_lived_in_catalogue_is_intact(lived: World) -> None:
    assert _kinds(lived) == []
    report = lived.get("auditor", f"{API}/verify").json()
    assert report["ok"] is True and "catalog" in report["checks"]


EDITS: dict[str, tuple[str, dict[str, Any]]] = {
    "sha256": ("mine", {"sha256": "0" * 64}),
    "size": ("mine", {"size": 12345}),
    "object_key": ("mine", {"object_key": "originals/elsewhere"}),
    "officer_no": ("mine", {"officer_no": "999999"}),
    "device_serial": ("mine", {"device_serial": "ZFY9999"}),
    "unit_code": ("mine", {"unit_code": SOUTH_UNIT}),
    "start_time": ("mine", {"start_time": T0 - timedelta(days=3)}),
    "retain_until": ("mine", {"retain_until": T0 + timedelta(days=1)}),
    "retention_category": ("mine", {"retention_category": "standard"}),
    "legal_hold": ("theirs", {"legal_hold": False}),
    "kind": ("mine", {"kind": "image"}),
    "flags": ("mine", {"flags": '["clock_adjusted"]'}),
    "deleted": ("mine", {"deleted_at": T0 + timedelta(days=2)}),
}


@pytest.mark.parametrize("field", sorted(EDITS))
def test_each_edited_field_is_a_catalog_mismatch(lived: World, field: str) -> None:
    label, values = EDITS[field]
    _edit(lived, ev, ev.c.id == lived.evidence[label], **values)
    [(kind, message)] = _kinds(lived)
    assert kind == "catalog_mismatch"
    assert lived.evidence[label] in message and f"{field} is" in message


def test_a_hold_lifted_in_the_database_is_reported_over_http(lived: World) -> None:
    _edit(lived, ev, ev.c.id == lived.evidence["theirs"], legal_hold=False)
    report = lived.get("auditor", f"{API}/verify").json()
    assert report["ok"] is False
    assert [p["kind"] for p in report["problems"]] == ["catalog_mismatch"]


@pytest.mark.parametrize("column", ["sha256", "object_key", "size"])
def test_an_edited_derivative_is_a_catalog_mismatch(lived: World, column: str) -> None:
    values = {"sha256": "f" * 64, "object_key": "derived/elsewhere.mp4", "size": 7}[column]
    _edit(lived, der, (der.c.evidence_id == lived.evidence["mine"]) & (der.c.name == PLAYBACK),
          **{column: values})
    [(kind, message)] = _kinds(lived)
    assert kind == "catalog_mismatch" and f"derivative {PLAYBACK}" in message


def test_a_derivative_removed_or_added_is_a_catalog_mismatch(lived: World) -> None:
    with lived.home.engine().begin() as conn:
        conn.execute(delete(der).where(der.c.evidence_id == lived.evidence["mine"]))
        conn.execute(insert(der).values(evidence_id=lived.evidence["photo"], name=PLAYBACK,
                                        object_key="derived/x.mp4", sha256="a" * 64, size=1,
                                        method="remux", created_at=T0))
    problems = _kinds(lived)
    assert sorted(kind for kind, _ in problems) == ["catalog_mismatch", "catalog_mismatch"]
    assert any("has no catalogue row" in m for _, m in problems)
    assert any("no event derived it" in m for _, m in problems)


def test_a_row_no_event_made_is_a_catalog_orphan(lived: World) -> None:
    with lived.home.engine().begin() as conn:
        row = conn.execute(ev.select().where(ev.c.id == lived.evidence["photo"])).one()._asdict()
        conn.execute(insert(ev).values({**row, "id": str(uuid.uuid4()), "sha256": "b" * 64}))
    [(kind, message)] = _kinds(lived)
    assert kind == "catalog_orphan" and "no custody event ingested it" in message


def test_a_row_removed_is_catalog_missing(lived: World) -> None:
    with lived.home.engine().begin() as conn:
        conn.execute(delete(ev).where(ev.c.id == lived.evidence["n2"]))
    [(kind, message)] = _kinds(lived)
    assert kind == "catalog_missing" and lived.evidence["n2"] in message


def test_demo_home_verifies_intact_and_an_edit_fails_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init", "--origin", "test.example/demo").returncode == 0
    demo = run_cli(home, "demo")
    assert demo.returncode == 0, demo.stderr
    ok = run_cli(home, "verify", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "catalog" in json.loads(ok.stdout)["checks"]
    from api.home import open_home
    from api.settings import Settings

    engine = open_home(Settings(home=home)).engine()
    with engine.begin() as conn:
        victim = conn.execute(ev.select().limit(1)).one()
        conn.execute(update(ev).where(ev.c.id == victim.id).values(officer_no="000000"))
    engine.dispose()
    bad = run_cli(home, "verify", "--json")
    assert bad.returncode == 1
    assert [p["kind"] for p in json.loads(bad.stdout)["problems"]] == ["catalog_mismatch"]
