"""The evidence record has one owner: storage/records.py writes the catalogue, nothing else does."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.home import Home
from storage import records
from storage.records import CaptureContext, EvidenceRecord
from tests.api_support import NORTH_UNIT, T0, add_evidence, make_home

ROOT = Path(__file__).parents[1]
OWNER = ROOT / "storage" / "records.py"
MIGRATIONS = ROOT / "storage" / "migrations"
# the application's packages; tests and benchmarks fabricate rows on purpose
PACKAGES = ("api", "cases", "custody", "devices", "domain", "ingest", "media", "storage")
CATALOGUE = frozenset({"evidence", "derivatives"})
WRITES = frozenset({"insert", "update", "delete"})
RAW_SQL = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+[\"'`]?(evidence|derivatives)\b",
                     re.IGNORECASE)


def _catalogue_table(node: ast.AST, aliases: set[str]) -> bool:
    """``catalog.evidence``, ``catalog.derivatives``, a local alias of one, or ``table("evidence")``."""
    if isinstance(node, ast.Attribute) and node.attr in CATALOGUE:
        return isinstance(node.value, ast.Name) and node.value.id == "catalog"
    if isinstance(node, ast.Name):
        return node.id in aliases
    if isinstance(node, ast.Call) and _name(node.func) == "table" and node.args:
        first = node.args[0]
        return isinstance(first, ast.Constant) and first.value in CATALOGUE
    return False


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _aliases(tree: ast.AST) -> set[str]:
    """Names bound to a catalogue table (``ev = catalog.evidence``, ``ev, dv = ...``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = (zip(target.elts, node.value.elts, strict=False)
                     if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                     else [(target, node.value)])
            for name, value in pairs:
                if isinstance(name, ast.Name) and _catalogue_table(value, found):
                    found.add(name.id)
    return found


def catalogue_writes(source: str) -> list[int]:
    """Lines of ``source`` that insert into, update or delete from evidence or derivatives."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            # insert(catalog.evidence), update(ev), delete(dv)
            as_argument = bool(node.args) and _catalogue_table(node.args[0], aliases)
            # catalog.derivatives.delete(), ev.update()
            as_method = isinstance(func, ast.Attribute) and _catalogue_table(func.value, aliases)
            if _name(func) in WRITES and (as_argument or as_method):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and RAW_SQL.search(node.value)):
            lines.append(node.lineno)
    return lines


def test_only_the_record_owner_writes_the_catalogue() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == OWNER or MIGRATIONS in path.parents:
                continue
            for line in catalogue_writes(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, ("only storage/records.py may write the evidence and derivatives "
                           f"tables; move these writes there: {offenders}")
    assert catalogue_writes(OWNER.read_text(encoding="utf-8")), "the owner's writes are not seen"


@pytest.mark.parametrize("snippet", [
    "conn.execute(insert(catalog.evidence).values(id='x'))",
    "conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == 'x'))",
    "ev = catalog.evidence\nconn.execute(update(ev).values(legal_hold=True))",
    "ev, dv = catalog.evidence, catalog.derivatives\nconn.execute(dv.delete())",
    "conn.execute(catalog.derivatives.delete().where(True))",
    "conn.execute(text('UPDATE evidence SET deleted_at = now()'))",
    "conn.execute(text('delete from \"derivatives\"'))",
    "t = table('evidence', column('id'))\nconn.execute(update(t))",
])
def test_the_scan_catches_every_way_of_writing(snippet: str) -> None:
    assert catalogue_writes(snippet), snippet


@pytest.mark.parametrize("snippet", [
    "conn.execute(select(catalog.evidence).where(catalog.evidence.c.id == 'x'))",
    "conn.execute(update(tables.cases).values(title='t'))",
    "conn.execute(text('SELECT 1 FROM evidence'))",
    "conn.execute(insert(catalog.devices).values(serial='s'))",
])
def test_the_scan_leaves_reads_and_other_tables_alone(snippet: str) -> None:
    assert catalogue_writes(snippet) == [], snippet


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Home:
    return make_home(tmp_path / "home", db_url)


def test_a_record_reads_back_typed(home: Home) -> None:
    evidence_id = add_evidence(home, "ZFY0001_100234_20240315093000_0001.MP4", b"clip" * 100,
                               officer_no="100234", device="ZFY0001", start=T0,
                               playback=b"playback copy", sequence=1)
    with home.engine().connect() as conn:
        record = records.find(conn, evidence_id)
        copies = records.derivatives_of(conn, evidence_id)
        by_hash = records.find_by_sha256(conn, record.sha256 if record else "")
        missing = records.find(conn, "00000000-0000-0000-0000-000000000000")
    assert isinstance(record, EvidenceRecord) and by_hash == record and missing is None
    assert record.flags == () and isinstance(record.media, dict)
    assert record.capture == CaptureContext(0, "UTC", T0)
    assert record.unit_code == NORTH_UNIT and record.sequence == 1
    for moment in (record.start_time, record.ingested_at, record.retain_until):
        assert moment is not None and moment.tzinfo is not None
    assert record.start_time == T0 and record.kind == "video" and record.duration_ms == 1000
    assert record.derivatives_state == "done" and not record.legal_hold
    assert [c.name for c in copies] == ["playback.mp4"] and copies[0].created_at.tzinfo


def test_expired_lists_only_what_is_due_and_not_deleted(home: Home) -> None:
    evidence_id = add_evidence(home, "A_100234_0001.MP4", b"x" * 64, officer_no="100234",
                               device="ZFY0001", start=T0)
    soon = datetime.now(UTC) + timedelta(days=400)
    with home.engine().connect() as conn:
        assert records.expired(conn, datetime.now(UTC)) == []
        assert [r.id for r in records.expired(conn, soon)] == [evidence_id]
    with home.engine().begin() as conn:
        records.mark_deleted(conn, evidence_id, datetime.now(UTC))
    with home.engine().connect() as conn:
        assert records.expired(conn, soon) == []
        deleted = records.find(conn, evidence_id)
    assert deleted is not None and deleted.deleted_at is not None
