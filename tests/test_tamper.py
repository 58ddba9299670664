"""The tamper catalogue: each way of changing a stored log is caught by verify."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable

import orjson
import pytest
from sqlalchemy import Engine, text

from custody.checkpoint import Checkpoint, sign_checkpoint
from custody.events import EventDraft, Subject
from custody.log import CustodyLog
from custody.merkle import CompactRange
from custody.note import Ed25519Signer
from custody.verify import verify_database
from tests.conftest import ORIGIN
from tests.custody_tamper import leaf, put_leaf

SIZE = 12


@pytest.fixture
def filled(log: CustodyLog) -> CustodyLog:
    for start in range(0, SIZE, 4):
        log.append([EventDraft("evidence:file:ingested", "station:test",
                               Subject(f"ev{i}", "ab" * 32), {"n": i, "name": "café"})
                    for i in range(start, start + 4)])
    return log


def kinds(log: CustodyLog, signer: Ed25519Signer) -> set[str]:
    report = verify_database(log.engine, signer.verifier(), ORIGIN)
    return {p.kind for p in report.problems}


def rebuild_derived_state(engine: Engine) -> None:
    """Recompute nodes and head from the (tampered) entries: only signatures remain."""
    with engine.begin() as conn:
        hashes = [bytes(h) for (h,) in conn.execute(
            text("SELECT leaf_hash FROM custody_entries ORDER BY seq"))]
        conn.execute(text("DELETE FROM custody_nodes"))
        frontier = CompactRange()
        for h in hashes:
            for level, idx, node in frontier.append(h):
                conn.execute(text("INSERT INTO custody_nodes VALUES (:l, :i, :h)"),
                             {"l": level, "i": idx, "h": node})
        conn.execute(text("UPDATE custody_head SET size=:s, frontier=:f, last_leaf_hash=:h"),
                     {"s": frontier.size, "f": frontier.to_bytes(),
                      "h": hashes[-1] if hashes else None})


def rechain(engine: Engine, start: int) -> None:
    """Rewrite prev links from ``start`` on so the hash chain looks unbroken."""
    with engine.connect() as conn:
        rows = [(int(s), bytes(b)) for s, b in conn.execute(
            text("SELECT seq, leaf FROM custody_entries ORDER BY seq"))]
    prev = hashlib.sha256(b"\x00" + rows[start - 1][1]).hexdigest() if start else None
    for position, (seq, data) in enumerate(rows):
        if position < start:
            continue
        event = orjson.loads(data)
        event["seq"], event["prev"] = position, prev
        new = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
        put_leaf(engine, seq, new)
        prev = hashlib.sha256(b"\x00" + new).hexdigest()


def test_untouched_log_verifies(filled: CustodyLog, signer: Ed25519Signer) -> None:
    report = verify_database(filled.engine, signer.verifier(), ORIGIN)
    assert report.ok, report.problems
    assert report.entries == SIZE and report.checkpoints == 3


def test_flipped_byte_in_an_event(filled: CustodyLog, signer: Ed25519Signer) -> None:
    data = bytearray(leaf(filled.engine, 5))
    data[data.index(b"station") + 2] ^= 0x01  # still valid JSON, different actor
    with filled.engine.begin() as conn:  # leave the stored hash alone
        conn.execute(text("UPDATE custody_entries SET leaf=:l WHERE seq=5"), {"l": bytes(data)})
    assert {"root_mismatch", "broken_chain", "leaf_hash_mismatch"} <= kinds(filled, signer)


def test_flipped_byte_that_breaks_json(filled: CustodyLog, signer: Ed25519Signer) -> None:
    data = bytearray(leaf(filled.engine, 2))
    data[0] ^= 0x40
    put_leaf(filled.engine, 2, bytes(data))
    assert {"non_canonical", "root_mismatch"} <= kinds(filled, signer)


def test_edited_field_with_rechained_and_rehashed_tree(filled: CustodyLog,
                                                       signer: Ed25519Signer) -> None:
    event = orjson.loads(leaf(filled.engine, 3))
    event["details"]["n"] = 999
    put_leaf(filled.engine, 3, orjson.dumps(event, option=orjson.OPT_SORT_KEYS))
    rechain(filled.engine, 4)
    rebuild_derived_state(filled.engine)
    # chain, stored hashes, nodes and head all agree: only the signatures catch it
    assert kinds(filled, signer) == {"root_mismatch"}


def test_deleted_event(filled: CustodyLog, signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_entries WHERE seq=6"))
    assert {"missing_entry", "broken_chain", "truncated"} <= kinds(filled, signer)


def test_reordered_events(filled: CustodyLog, signer: Ed25519Signer) -> None:
    a, b = leaf(filled.engine, 7), leaf(filled.engine, 8)
    put_leaf(filled.engine, 7, b)
    put_leaf(filled.engine, 8, a)
    assert {"seq_mismatch", "broken_chain", "root_mismatch"} <= kinds(filled, signer)


def test_inserted_event(filled: CustodyLog, signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_entries SET seq = seq + 1000 WHERE seq >= 5"))
        conn.execute(text("UPDATE custody_entries SET seq = seq - 999 WHERE seq >= 1000"))
    forged = orjson.loads(leaf(filled.engine, 4))
    forged["seq"], forged["details"]["n"] = 5, -1
    with filled.engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_entries (seq, leaf, leaf_hash) VALUES (5, :l, :h)"),
                     {"l": orjson.dumps(forged, option=orjson.OPT_SORT_KEYS), "h": b"\0" * 32})
    rechain(filled.engine, 5)
    rebuild_derived_state(filled.engine)
    assert {"root_mismatch", "unsigned_tail"} <= kinds(filled, signer)


def test_rehashed_but_unsigned_tail(filled: CustodyLog, signer: Ed25519Signer) -> None:
    forged = orjson.loads(leaf(filled.engine, SIZE - 1))
    forged["seq"], forged["details"]["n"] = SIZE, 12345
    with filled.engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_entries (seq, leaf, leaf_hash) VALUES (:s, :l, :h)"),
                     {"s": SIZE, "l": orjson.dumps(forged, option=orjson.OPT_SORT_KEYS),
                      "h": b"\0" * 32})
    rechain(filled.engine, SIZE)
    rebuild_derived_state(filled.engine)
    assert kinds(filled, signer) == {"unsigned_tail"}


def test_truncation_below_the_latest_checkpoint(filled: CustodyLog,
                                                signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_entries WHERE seq >= 10"))
    rebuild_derived_state(filled.engine)
    assert kinds(filled, signer) == {"truncated"}


def test_fork_two_signed_checkpoints_of_one_size(filled: CustodyLog,
                                                 signer: Ed25519Signer) -> None:
    # Someone with the key signs an alternative history of the same size.
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, b"\x42" * 32), signer)
    with filled.engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_checkpoints (size, root_hash, note, created_at) "
                          "VALUES (8, :r, :n, CURRENT_TIMESTAMP)"), {"r": b"\x42" * 32, "n": note})
    assert {"fork", "root_mismatch"} <= kinds(filled, signer)


def test_checkpoint_signed_by_an_unknown_key(filled: CustodyLog, signer: Ed25519Signer) -> None:
    stranger = Ed25519Signer.generate(ORIGIN)
    with filled.engine.connect() as conn:
        root = bytes(conn.execute(text("SELECT root_hash FROM custody_checkpoints "
                                       "WHERE size = 12")).scalar_one())
    note = sign_checkpoint(Checkpoint(ORIGIN, SIZE, root), stranger)
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_checkpoints SET note=:n WHERE size = 12"), {"n": note})
    assert kinds(filled, signer) == {"bad_signature", "unsigned_tail"}


NON_CANONICAL: dict[str, Callable[[bytes], bytes]] = {
    "key order": lambda d: orjson.dumps(dict(reversed(list(orjson.loads(d).items())))),
    "duplicate key": lambda d: d.replace(b'"details":{', b'"details":{"n":0,', 1),
    "NFD text": lambda d: d.replace("café".encode(), unicodedata.normalize("NFD", "café").encode()),
}


@pytest.mark.parametrize("variant", NON_CANONICAL)
def test_non_canonical_bytes(filled: CustodyLog, signer: Ed25519Signer, variant: str) -> None:
    original = leaf(filled.engine, 9)
    mutated = NON_CANONICAL[variant](original)
    assert mutated != original
    put_leaf(filled.engine, 9, mutated)
    rechain(filled.engine, 10)
    assert "non_canonical" in kinds(filled, signer)


def test_tampered_nodes_and_head_are_reported(filled: CustodyLog,
                                              signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_nodes SET hash=:h WHERE level=1 AND idx=0"),
                     {"h": b"\x01" * 32})
        conn.execute(text("UPDATE custody_head SET size = 11"))
    assert kinds(filled, signer) == {"node_mismatch", "head_mismatch"}


def test_tampered_document_is_reported(filled: CustodyLog, signer: Ed25519Signer) -> None:
    digest = filled.store_document(b"witness statement")
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_documents SET body=:b WHERE sha256=:s"),
                     {"b": b"witness statemenT", "s": digest})
    assert kinds(filled, signer) == {"document_mismatch"}
