"""The custody log over HTTP: exact entries, proofs an auditor checks offline, verify."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import update

from custody import schema
from custody.note import Verifier
from custody.proofs import check_consistency_document, check_inclusion_document
from storage.db import make_engine
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"


def test_entries_are_the_logs_exact_bytes_page_by_page(world: World) -> None:
    log = world.home.custody_log()
    stored = [leaf for _, leaf in log.entries()]
    seen: list[bytes] = []
    start: int | None = 0
    while start is not None:
        page = world.get("auditor", f"{API}/custody/entries?start={start}&limit=4").json()
        assert page["size"] == len(stored)
        for entry in page["entries"]:
            leaf = base64.b64decode(entry["leaf"])
            assert entry["leaf_hash"] == hashlib.sha256(b"\x00" + leaf).hexdigest()
            assert entry["seq"] == len(seen)
            seen.append(leaf)
        start = page["next_start"]
    assert seen == stored
    past = world.get("auditor", f"{API}/custody/entries?start={len(stored) + 5}").json()
    assert past["entries"] == [] and past["next_start"] is None


def test_proofs_check_out_offline_against_the_published_key(world: World) -> None:
    vkey = world.get("auditor", f"{API}/custody/key").text.strip()
    verifier = Verifier.from_vkey(vkey)
    checkpoint = world.get("reviewer", f"{API}/custody/checkpoint")
    assert checkpoint.headers["Content-Type"].startswith("text/plain")
    latest = world.home.custody_log().latest_checkpoint()
    assert latest is not None and checkpoint.text == latest.note
    first_size = world.home.custody_log().checkpoints()[0].size
    for index in (0, first_size - 1):
        proof = world.get("auditor", f"{API}/custody/proof/inclusion?index={index}").json()
        assert check_inclusion_document(proof, verifier).size == proof["size"]
    consistency = world.get("auditor", f"{API}/custody/proof/consistency?old={first_size}").json()
    assert check_consistency_document(consistency, verifier)
    # a proof for a size that was never signed, or past the end, is a 404 in the error shape
    size = world.home.custody_log().size()
    missing = world.get("auditor", f"{API}/custody/proof/inclusion?index={size}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_verify_reports_intact_and_then_tampering(world: World) -> None:
    report = world.get("auditor", f"{API}/verify?objects=true").json()
    assert report["ok"] is True and report["problems"] == []
    assert report["objects"] > 0 and "objects" in report["checks"]
    engine = make_engine(world.home.database_url)
    with engine.begin() as conn:
        leaf = conn.execute(schema.entries.select().where(schema.entries.c.seq == 3)).one().leaf
        conn.execute(update(schema.entries).where(schema.entries.c.seq == 3).values(
            leaf=bytes(leaf).replace(b"cli:test", b"cli:evil")))
    engine.dispose()
    report = world.get("auditor", f"{API}/verify").json()
    assert report["ok"] is False
    assert {"root_mismatch", "leaf_hash_mismatch"} <= {p["kind"] for p in report["problems"]}
