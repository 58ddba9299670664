"""Retention: expired footage is deleted only by the job, logged first; holds block it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.home import Home, init_home
from api.settings import Settings
from cases.evidence import change_legal_hold
from cases.retention import run_retention
from cases.users import operator
from custody.events import decode_event
from custody.verify import verify_database
from domain.errors import RetentionLocked
from ingest.fixity import ObjectCollector, check_objects
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import make_recorder_image
from storage import catalog

PAST = datetime(2020, 1, 1, tzinfo=UTC)
JOB = operator("test")


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Home, list[str]]:
    roles = make_recorder_image(tmp_path / "template")
    card = tmp_path / "card"
    card.mkdir()
    for role in ("segment_1", "photo", "wav"):
        shutil.copy(roles[role], card)
    home, _ = init_home(Settings(home=tmp_path / "home"))
    ingestor = Ingestor(home.custody_log(), home.object_store(), IngestOptions())
    try:
        ids = [r.evidence_id for r in ingestor.ingest(card) if r.evidence_id]
    finally:
        ingestor.close()
    return home, [i for i in ids if i]


def let_time_pass(home: Home, evidence_id: str) -> None:
    """Age one item's retention: the catalogue and the local store's own record."""
    engine = home.engine()
    with engine.begin() as conn:
        conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == evidence_id)
                     .values(retain_until=PAST))
        keys = [conn.execute(select(catalog.evidence.c.object_key).where(
            catalog.evidence.c.id == evidence_id)).scalar_one()]
        keys += list(conn.execute(select(catalog.derivatives.c.object_key).where(
            catalog.derivatives.c.evidence_id == evidence_id)).scalars())
    for key in keys:
        meta = home.objects / "meta" / f"{key}.json"
        record = json.loads(meta.read_text())
        record["retain_until"] = PAST.isoformat()
        meta.chmod(0o644)
        meta.write_text(json.dumps(record))


def full_verify(home: Home) -> set[str]:
    collector = ObjectCollector()
    report = verify_database(home.engine(), home.verifier(), home.origin, visit=collector)
    check_objects(home.object_store(), collector, report)
    return {p.kind for p in report.problems}


def test_nothing_is_deleted_before_its_time(ingested: tuple[Home, list[str]]) -> None:
    home, _ = ingested
    actions = run_retention(home.custody_log(), home.object_store(), JOB)
    assert actions == []
    with pytest.raises(RetentionLocked):  # and the store refuses on its own too
        with home.engine().connect() as conn:
            key = conn.execute(select(catalog.evidence.c.object_key)).scalars().first()
        home.object_store().delete(str(key))


def test_expired_footage_is_deleted_and_logged_and_verify_stays_clean(
        ingested: tuple[Home, list[str]]) -> None:
    home, ids = ingested
    victim, held = ids[0], ids[1]
    let_time_pass(home, victim)
    let_time_pass(home, held)
    change_legal_hold(home.custody_log(), home.object_store(), JOB, held, True,
                      "court order 2026-17")
    actions = {a.evidence_id: a for a in run_retention(home.custody_log(), home.object_store(), JOB)}
    assert actions[victim].action == "deleted"
    assert actions[held].action == "kept" and "legal hold" in actions[held].reason
    events = [decode_event(leaf) for _, leaf in home.custody_log().entries()]
    deleted = [e for e in events if e["type"] == "evidence:file:deleted"]
    assert [e["subject"]["evidence_id"] for e in deleted] == [victim]
    assert any(e["type"] == "evidence:hold:placed" for e in events)
    with home.engine().connect() as conn:
        key = conn.execute(select(catalog.evidence.c.object_key).where(
            catalog.evidence.c.id == victim)).scalar_one()
    assert not home.object_store().exists(key)
    assert full_verify(home) == set()
    # released, the held item goes on the next run
    change_legal_hold(home.custody_log(), home.object_store(), JOB, held, False, "order lifted",
                      datetime.now(UTC) + timedelta(seconds=1))
    again = run_retention(home.custody_log(), home.object_store(), JOB)
    assert [(a.evidence_id, a.action) for a in again] == [(held, "deleted")]
    assert full_verify(home) == set()
