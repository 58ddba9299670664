"""An entry's inclusion proof, explained step by step for a person, and the server's verdict.

The step-by-step walk is checked against the RFC 6962 / RFC 9162 vectors in tests/data/merkle
(it must reach the vector's root exactly when the proof is valid), and the route against
the log: the steps a reader recomputes with nothing but SHA-256 reach the root the signed
checkpoint signs; a tampered entry, node or checkpoint gives `verified: false` and says why.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from typing import Any

import pytest
from sqlalchemy import select, update

from custody import schema
from custody.checkpoint import parse_checkpoint_body
from custody.merkle import ProofError, inclusion_steps, verify_inclusion
from custody.note import Verifier
from custody.proofs import check_inclusion_document
from storage.db import make_engine
from tests.api_support import World, world_fixture
from tests.test_merkle import POLICY_DIFFERENCES, VECTOR_FILES, _b64, _load, _proof

_ = world_fixture
API = "/api/v1"
INCLUSION_VECTORS = [name for name in VECTOR_FILES if name.startswith("inclusion/")]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@pytest.mark.parametrize("relative", INCLUSION_VECTORS)
def test_the_walk_reaches_the_root_exactly_when_the_vector_is_valid(relative: str) -> None:
    vector = _load(relative)
    leaf, index, size = _b64(vector["leafHash"]), vector["leafIdx"], vector["treeSize"]
    proof, root = _proof(vector), _b64(vector["root"])
    try:
        verify_inclusion(leaf, index, size, proof, root)
        valid = True
    except ProofError:
        valid = False
    assert valid != bool(vector["wantErr"]) or relative in POLICY_DIFFERENCES
    steps = inclusion_steps(leaf, index, size, proof)
    value = leaf
    for step in steps:  # each step is what it says: the hash of its two inputs
        left, right = (step.sibling, value) if step.side == "left" else (value, step.sibling)
        assert step.result == _node(left, right)
        assert (step.end <= index) == (step.side == "left")
        value = step.result
    complete = 0 <= index < size and len(steps) == len(proof)
    reaches = complete and (steps[-1].result if steps else leaf) == root
    if valid:
        assert reaches
    elif reaches:  # the right root by a proof of the wrong shape (e.g. a wrong size)
        assert vector["wantErr"]


def _recompute(proof: dict[str, Any]) -> bytes:
    """What a reader does with the response and nothing but SHA-256."""
    value = hashlib.sha256(b"\x00" + base64.b64decode(proof["leaf"])).digest()
    assert value.hex() == proof["leaf_hash"]
    for step in proof["steps"]:
        sibling = bytes.fromhex(step["sibling"])
        left, right = (sibling, value) if step["side"] == "left" else (value, sibling)
        assert (step["left"], step["right"]) == (left.hex(), right.hex())
        value = _node(left, right)
        assert value.hex() == step["hash"]
    return value


def _ingest_seq(world: World, label: str = "mine") -> int:
    return int(next(e["seq"] for e in world.events("evidence:file:ingested")
                    if e["subject"]["evidence_id"] == world.evidence[label]))


def test_a_proof_is_explained_so_a_person_can_follow_it(world: World) -> None:
    seq = _ingest_seq(world)
    proof = world.get("officer", f"{API}/custody/entries/{seq}/proof").json()
    assert proof["verified"] is True and proof["problems"] == [] and proof["offline_check"] is None
    assert proof["entry"]["seq"] == seq and proof["entry"]["type"] == "evidence:file:ingested"
    assert proof["entry"]["subject"]["evidence_id"] == world.evidence["mine"]
    root = _recompute(proof)
    assert root.hex() == proof["root"]
    # the root is the one the checkpoint signs, and the signature is the log's
    checkpoint = proof["checkpoint"]
    body = parse_checkpoint_body(checkpoint["note"].split("\n\n")[0] + "\n")
    assert body.root_hash == root and body.size == proof["size"] == checkpoint["size"]
    assert checkpoint["signature_ok"] is True and checkpoint["root_hash"] == root.hex()
    vkey = world.get("officer", f"{API}/custody/key").text.strip()
    assert check_inclusion_document(proof["document"], Verifier.from_vkey(vkey)).size == body.size
    # the siblings and the entry itself cover the whole signed tree, each entry once
    tiles = sorted([(s["first"], s["end"]) for s in proof["steps"]] + [(seq, seq + 1)])
    assert tiles[0][0] == 0 and tiles[-1][1] == proof["size"]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))
    # in an older signed tree too
    older = next(cp.size for cp in world.home.custody_log().checkpoints()
                 if seq < cp.size < proof["size"])
    in_older = world.get("officer", f"{API}/custody/entries/{seq}/proof?size={older}").json()
    assert in_older["verified"] is True and in_older["size"] == older
    assert _recompute(in_older).hex() == in_older["checkpoint"]["root_hash"] != proof["root"]


def test_who_may_read_a_proof(world: World) -> None:
    seq = _ingest_seq(world)
    for user in ("officer", "case_officer", "admin", "north-auditor", "auditor"):
        assert world.get(user, f"{API}/custody/entries/{seq}/proof").status_code == 200, user
    for user in ("officer2", "n2-case_officer", "south-admin", "south-auditor", "reviewer"):
        response = world.get(user, f"{API}/custody/entries/{seq}/proof")
        assert response.status_code == 403 and response.json()["error"]["hint"], user
    # an entry naming no item or case (an account made): auditors of every agency only
    account = world.events("user:account:created")[0]["seq"]
    assert world.get("auditor", f"{API}/custody/entries/{account}/proof").status_code == 200
    assert world.get("north-auditor", f"{API}/custody/entries/{account}/proof").status_code == 403
    size = world.home.custody_log().size()
    assert world.get("auditor", f"{API}/custody/entries/{size + 3}/proof").status_code == 404
    assert world.get("auditor", f"{API}/custody/entries/{seq}/proof?size=999999"
                     ).status_code == 404


def _tamper(world: World, statement: Any) -> None:
    engine = make_engine(world.home.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(statement)
    finally:
        engine.dispose()


def test_a_changed_entry_fails_its_proof_and_says_why(world: World) -> None:
    seq = _ingest_seq(world)
    entries = schema.entries
    engine = make_engine(world.home.database_url)
    with engine.connect() as conn:
        leaf = bytes(conn.execute(select(entries.c.leaf).where(entries.c.seq == seq)).scalar_one())
    engine.dispose()
    _tamper(world, update(entries).where(entries.c.seq == seq).values(
        leaf=leaf.replace(b"station:test", b"station:evil")))
    proof = world.get("auditor", f"{API}/custody/entries/{seq}/proof").json()
    assert proof["verified"] is False
    assert proof["entry"]["actor"] == "station:evil"  # shown as it is stored now
    assert proof["leaf_hash"] != proof["stored_leaf_hash"]
    assert any("altered" in p for p in proof["problems"])
    assert any("signed root" in p for p in proof["problems"])
    assert proof["offline_check"] is not None
    assert _recompute(proof).hex() == proof["root"] != proof["checkpoint"]["root_hash"]


def test_a_changed_node_fails_the_proof(world: World) -> None:
    seq = _ingest_seq(world)
    before = world.get("auditor", f"{API}/custody/entries/{seq}/proof").json()
    sibling = bytes.fromhex(before["steps"][1]["sibling"])
    nodes = schema.nodes
    _tamper(world, update(nodes).where(nodes.c.hash == sibling).values(hash=b"\x07" * 32))
    proof = world.get("auditor", f"{API}/custody/entries/{seq}/proof").json()
    assert proof["verified"] is False and proof["steps"][1]["sibling"] == "07" * 32
    assert proof["root"] != proof["checkpoint"]["root_hash"]
    assert any("signed root" in p for p in proof["problems"])


def test_a_checkpoint_not_signed_by_the_log_fails_the_proof(world: World) -> None:
    seq = _ingest_seq(world)
    latest = world.home.custody_log().latest_checkpoint()
    assert latest is not None
    text, _, signature = latest.note.partition("\n\n")
    name, key_and_sig = signature.removeprefix("— ").split(" ", 1)
    raw = bytearray(base64.b64decode(key_and_sig))
    raw[-1] ^= 1
    forged = f"{text}\n\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    cps = schema.checkpoints
    _tamper(world, update(cps).where(cps.c.note == latest.note).values(note=forged))
    proof = world.get("auditor", f"{API}/custody/entries/{seq}/proof").json()
    assert proof["verified"] is False
    assert proof["checkpoint"]["signature_ok"] is False
    assert "not validly signed" in proof["checkpoint"]["problem"]
    assert proof["root"] == proof["checkpoint"]["root_hash"]  # the tree is intact; the key is not
