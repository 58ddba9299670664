"""Appending, checkpoints and proofs on both databases."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from custody.checkpoint import open_checkpoint
from custody.events import EventDraft, Subject, decode_event
from custody.log import CustodyLog
from custody.merkle import ProofError, leaf_hash, root_from_leaf_hashes, verify_inclusion
from custody.note import Ed25519Signer, NoteError
from custody.proofs import check_consistency_document, check_inclusion_document
from domain.errors import IntegrityError, NotFound
from tests.conftest import ORIGIN


def drafts(n: int, start: int = 0) -> list[EventDraft]:
    return [EventDraft("evidence:file:ingested", "station:test",
                       Subject(f"ev{i}", hashlib.sha256(str(i).encode()).hexdigest()),
                       {"n": i}) for i in range(start, start + n)]


def test_append_chains_entries_and_signs_each_commit(log: CustodyLog,
                                                     signer: Ed25519Signer) -> None:
    first = log.append(drafts(3))
    second = log.append(drafts(2, 3))
    assert [e.seq for e in first.entries + second.entries] == [0, 1, 2, 3, 4]
    leaves = [log.entry(i) for i in range(5)]
    assert decode_event(leaves[0])["prev"] is None
    for i in range(1, 5):
        assert decode_event(leaves[i])["prev"] == leaf_hash(leaves[i - 1]).hex()
    cp = open_checkpoint(second.checkpoint.note, signer.verifier(), expected_origin=ORIGIN)
    assert cp.size == 5
    assert cp.root_hash == root_from_leaf_hashes([leaf_hash(x) for x in leaves])
    assert [c.size for c in log.checkpoints()] == [3, 5]


def test_checkpoint_command_does_not_duplicate_an_unchanged_size(log: CustodyLog) -> None:
    log.append(drafts(2))
    assert log.checkpoint().size == 2
    assert len(log.checkpoints()) == 1


def test_inclusion_and_consistency_proofs_verify_offline(log: CustodyLog,
                                                         signer: Ed25519Signer) -> None:
    for batch in (1, 4, 2, 9):
        log.append(drafts(batch, log.size()))
    verifier = signer.verifier()
    for index in range(16):
        doc = log.inclusion_proof(index).to_json()
        assert check_inclusion_document(doc, verifier).size == 16
    older = log.inclusion_proof(2, size=5).to_json()
    assert check_inclusion_document(older, verifier).size == 5
    for old in (1, 5, 7):
        assert check_consistency_document(log.consistency_proof(old).to_json(), verifier).size == 16


def test_proofs_are_refused_for_unsigned_sizes_and_missing_entries(log: CustodyLog) -> None:
    with pytest.raises(NotFound, match="no checkpoint"):
        log.inclusion_proof(0)
    log.append(drafts(4))
    with pytest.raises(NotFound, match="no signed checkpoint has size 3"):
        log.inclusion_proof(0, size=3)
    with pytest.raises(NotFound, match="not in the tree"):
        log.inclusion_proof(4)


def test_inclusion_proof_against_an_unsigned_root_is_rejected(log: CustodyLog,
                                                              signer: Ed25519Signer) -> None:
    log.append(drafts(6))
    doc = log.inclusion_proof(3).to_json()
    lines = doc["checkpoint"].split("\n")
    lines[2] = "A" * 43 + "="  # a root the log never signed
    with pytest.raises(NoteError):
        check_inclusion_document({**doc, "checkpoint": "\n".join(lines)}, signer.verifier())
    stranger = Ed25519Signer.generate(ORIGIN)
    with pytest.raises(NoteError):
        check_inclusion_document(doc, stranger.verifier())


def test_documents_keep_bulky_details_by_hash(log: CustodyLog) -> None:
    body = b"x" * 200_000
    digest = log.store_document(body)
    assert digest == hashlib.sha256(body).hexdigest()
    assert log.store_document(body) == digest
    assert log.document(digest) == body
    log.append([EventDraft("evidence:report:attached", "me", details={"document": digest})])
    with pytest.raises(NotFound):
        log.document("0" * 64)


def test_append_refuses_to_sign_over_a_truncated_log(log: CustodyLog, engine: Engine) -> None:
    from sqlalchemy import text
    log.append(drafts(3))
    with engine.connect() as conn:
        saved = conn.execute(text("SELECT size, frontier, last_leaf_hash FROM custody_head")).one()
    log.append(drafts(1, 3))
    with engine.begin() as conn:  # roll the log back to size 3 behind the log's back
        conn.execute(text("DELETE FROM custody_entries WHERE seq = 3"))
        conn.execute(text("UPDATE custody_head SET size = :s, frontier = :f, last_leaf_hash = :l"),
                     {"s": saved[0], "f": saved[1], "l": saved[2]})
    with pytest.raises(IntegrityError, match="truncated"):
        log.append(drafts(1))
    assert log.size() == 3


def test_append_refuses_to_sign_a_fork(log: CustodyLog, engine: Engine) -> None:
    from sqlalchemy import text
    log.append(drafts(2))
    with engine.begin() as conn:  # a forged frontier would fork the next checkpoint
        conn.execute(text("UPDATE custody_head SET frontier = :f"), {"f": b"\x07" * 32})
    with pytest.raises(IntegrityError, match="fork"):
        log.append(drafts(1))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.integers(1, 7), min_size=1, max_size=6), data=st.data())
def test_random_append_sequences_prove_and_any_bit_flip_fails(
        tmp_path_factory: pytest.TempPathFactory, signer: Ed25519Signer,
        batches: list[int], data: st.DataObject) -> None:
    from storage.db import make_engine, migrate, sqlite_url
    engine = make_engine(sqlite_url(tmp_path_factory.mktemp("prop") / "e.db"))
    migrate(engine)
    # A fixed clock: entry lengths must not depend on the time, or hypothesis sees
    # the bit-index bounds change between runs of the same example.
    log = CustodyLog(engine, signer, ORIGIN, clock=lambda: datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    for n in batches:
        log.append(drafts(n, log.size()))
    size = log.size()
    index = data.draw(st.integers(0, size - 1))
    proof = log.inclusion_proof(index)
    cp = check_inclusion_document(proof.to_json(), signer.verifier())
    target = data.draw(st.sampled_from(["leaf", "proof", "checkpoint"]))
    if target == "leaf":
        leaf = bytearray(proof.leaf)
        bit = data.draw(st.integers(0, len(leaf) * 8 - 1))
        leaf[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(bytes(leaf)), index, size, proof.path, cp.root_hash)
    elif target == "proof" and proof.path:
        path = [bytearray(p) for p in proof.path]
        k = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        path[k][bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProofError):
            verify_inclusion(proof.leaf_hash, index, size, [bytes(p) for p in path], cp.root_hash)
    else:
        note = bytearray(proof.checkpoint.encode())
        bit = data.draw(st.integers(0, len(note) * 8 - 1))
        note[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((IntegrityError, UnicodeDecodeError)):
            check_inclusion_document({**proof.to_json(), "checkpoint": note.decode("utf-8")},
                                     signer.verifier())
    engine.dispose()
