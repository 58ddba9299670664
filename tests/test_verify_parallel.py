"""The parallel verify: a second process checks part of the log; the report is unchanged.

``parallel_threshold=1`` forces two processes on a small log; a threshold above the
log's size keeps it in one. Every tampering must be reported identically by both,
wherever it lands relative to the split.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

import custody.verify_reader
from custody.events import EventDraft, EventError, Subject, decode_event
from custody.log import CustodyLog
from custody.note import Ed25519Signer
from custody.report import Problem, VerifyReport
from custody.verify import verify_database
from custody.verify_parts import check_part, plan_split
from custody.verify_reader import reader_for
from custody.verify_scan import build_levels, scan_entries
from custody.verify_worker import database_spec, start_worker
from tests.conftest import ORIGIN
from tests.custody_tamper import leaf, put_leaf

SIZE = 40
_PLAN = plan_split(SIZE)
assert _PLAN is not None
SPLIT = _PLAN.at  # the worker's first entry


@pytest.fixture
def filled(log: CustodyLog) -> CustodyLog:
    for start in range(0, SIZE, 8):
        log.append([EventDraft("evidence:file:ingested", "station:test",
                               Subject(f"ev{i}", "ab" * 32),
                               {"n": i, "name": "café" if i % 5 == 0 else "cafe"})
                    for i in range(start, start + 8)])
    return log


@pytest.fixture(autouse=True)
def no_worker_fallback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A failed worker is replaced by this process silently but for a warning: none allowed."""
    with caplog.at_level(logging.WARNING, logger="evidence.verify"):
        yield
    assert not [r for r in caplog.records if r.name == "evidence.verify"]


def reports(log: CustodyLog, signer: Ed25519Signer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(single-process report, two-process report) of the same log."""
    single = verify_database(log.engine, signer.verifier(), ORIGIN, parallel_threshold=10**9)
    parallel = verify_database(log.engine, signer.verifier(), ORIGIN, parallel_threshold=1)
    return single.to_json(), parallel.to_json()


def kinds_at(report: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(p["kind"], p["index"]) for p in report["problems"]}


def edit_event(engine: Engine, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    event = orjson.loads(leaf(engine, seq))
    change(event)
    put_leaf(engine, seq, orjson.dumps(event, option=orjson.OPT_SORT_KEYS))


def test_the_split_falls_where_these_tests_assume() -> None:
    assert 4 < SPLIT < SIZE - 4  # tampering on either side of it is tested
    one_fewer = plan_split(SIZE - 1)  # after a deletion
    assert one_fewer is not None and one_fewer.at == SPLIT
    assert plan_split(3) is None  # too small to split


def test_intact_log_gives_the_same_report(filled: CustodyLog, signer: Ed25519Signer) -> None:
    single, parallel = reports(filled, signer)
    assert single["ok"] and single["entries"] == SIZE and single["checkpoints"] == SIZE // 8
    assert parallel == single


def test_worker_checks_its_part_as_this_process_would(filled: CustodyLog) -> None:
    split = plan_split(SIZE)
    spec = database_spec(filled.engine)
    assert split is not None and spec is not None
    worker = start_worker(spec, split)
    assert worker is not None
    with worker:
        remote = worker.result()
    assert remote is not None
    with filled.engine.connect() as conn:
        local = check_part(reader_for(conn), split.at, SIZE - split.at, split.depth,
                           chain_known=False)
    assert remote.scan.count == local.scan.count == SIZE - SPLIT
    assert remote.levels == local.levels and remote.nodes_ok and local.nodes_ok
    assert bytes(remote.scan.stored) == bytes(local.scan.stored)
    assert remote.scan.boundary == local.scan.boundary and remote.scan.boundary is not None


@pytest.mark.parametrize("seq", [3, SPLIT - 1, SPLIT, SPLIT + 1, SIZE - 1])
def test_flipped_byte(filled: CustodyLog, signer: Ed25519Signer, seq: int) -> None:
    data = bytearray(leaf(filled.engine, seq))
    data[data.index(b"station") + 2] ^= 0x01  # still valid JSON, different actor
    with filled.engine.begin() as conn:  # leave the stored hash alone
        conn.execute(text("UPDATE custody_entries SET leaf=:l WHERE seq=:s"),
                     {"l": bytes(data), "s": seq})
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert {("leaf_hash_mismatch", seq), ("root_mismatch", SIZE)} <= kinds_at(parallel)
    if seq + 1 < SIZE:
        assert ("broken_chain", seq + 1) in kinds_at(parallel)


@pytest.mark.parametrize("seq", [SPLIT - 1, SPLIT, SPLIT + 1])
def test_prev_chain_broken_at_the_split(filled: CustodyLog, signer: Ed25519Signer,
                                        seq: int) -> None:
    edit_event(filled.engine, seq, lambda event: event.update(prev="cd" * 32))
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert {("broken_chain", seq), ("broken_chain", seq + 1)} <= kinds_at(parallel)


def test_first_entry_of_the_worker_naming_no_prev(filled: CustodyLog,
                                                  signer: Ed25519Signer) -> None:
    edit_event(filled.engine, SPLIT, lambda event: event.update(prev=None))
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert ("broken_chain", SPLIT) in kinds_at(parallel)


@pytest.mark.parametrize("seq", [2, SPLIT - 1, SPLIT, SIZE - 5])
def test_deleted_entry(filled: CustodyLog, signer: Ed25519Signer, seq: int) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_entries WHERE seq=:s"), {"s": seq})
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert {("missing_entry", seq), ("broken_chain", seq)} <= kinds_at(parallel)
    assert "truncated" in {kind for kind, _ in kinds_at(parallel)}


@pytest.mark.parametrize("seq", [SPLIT - 1, SPLIT, SIZE - 3])
def test_non_canonical_entry(filled: CustodyLog, signer: Ed25519Signer, seq: int) -> None:
    event = orjson.loads(leaf(filled.engine, seq))
    put_leaf(filled.engine, seq, orjson.dumps(dict(reversed(list(event.items())))))
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert ("non_canonical", seq) in kinds_at(parallel)


def test_stored_node_changed_in_the_worker_part(filled: CustodyLog,
                                                signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_nodes SET hash=:h WHERE level=2 AND idx=:i"),
                     {"h": b"\x07" * 32, "i": (SPLIT >> 2) + 1})
        conn.execute(text("INSERT INTO custody_nodes VALUES (1, 999, :h)"), {"h": b"\x01" * 32})
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert [p["kind"] for p in parallel["problems"]] == ["node_mismatch"] * 3


@pytest.mark.parametrize("tampered", [False, True])
def test_nodes_compared_a_few_per_statement(filled: CustodyLog, signer: Ed25519Signer,
                                            monkeypatch: pytest.MonkeyPatch,
                                            tampered: bool) -> None:
    monkeypatch.setattr(custody.verify_reader, "NODES_PER_QUERY", 2)  # as for a huge log
    if tampered:
        with filled.engine.begin() as conn:
            conn.execute(text("UPDATE custody_nodes SET hash=:h WHERE level=1 AND idx=13"),
                         {"h": b"\x05" * 32})
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert [p["kind"] for p in single["problems"]] == ["node_mismatch"] * tampered


def test_problems_of_both_parts_keep_their_order(filled: CustodyLog,
                                                 signer: Ed25519Signer) -> None:
    with filled.engine.begin() as conn:
        conn.execute(text("UPDATE custody_entries SET leaf_hash = :h"), {"h": b"\x00" * 32})
    single, parallel = reports(filled, signer)
    assert parallel == single
    assert len([p for p in parallel["problems"] if p["kind"] == "leaf_hash_mismatch"]) == SIZE


# -- the fast per-entry check against decode_event -------------------------


def reference_problems(leaves: list[bytes]) -> list[Problem]:
    """The per-entry checks as written before the fast path: decode_event on every entry."""
    report = VerifyReport("reference")
    prev: str | None = None
    for position, data in enumerate(leaves):
        try:
            event = decode_event(data)
        except EventError as exc:
            report.add("non_canonical", f"entry {position}: {exc}", position)
        else:
            if event["seq"] != position:
                report.add("seq_mismatch", f"entry {position} says seq {event['seq']}; events "
                           "were reordered, inserted or deleted", position)
            if event["prev"] != prev:
                report.add("broken_chain", f"entry {position} does not name the hash of entry "
                           f"{position - 1} as prev; an entry before it was changed, removed "
                           "or inserted", position)
        prev = hashlib.sha256(b"\x00" + data).hexdigest()
    return report.problems


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda event: event.update({key: value})


def _set_detail(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda event: event["details"].update({key: value})


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "float detail": _set_detail("n", 1.5),
    "whole float": _set_detail("n", 2.0),
    "nested float": _set_detail("deep", {"a": [1, {"b": 0.25}]}),
    "largest safe integer": _set_detail("n", 2**53 - 1),
    "unsafe integer": _set_detail("n", 2**53),
    "unsafe negative integer": _set_detail("n", -(2**53)),
    "nested unsafe integer": _set_detail("deep", [2**60]),
    "bool seq": _set("seq", True),
    "negative seq": _set("seq", -1),
    "string seq": _set("seq", "3"),
    "upper-case prev": lambda event: event.update(prev=(event["prev"] or "ab" * 32).upper()),
    "wrong version": _set("v", "evidence-custody/v2"),
    "empty actor": _set("actor", ""),
    "actor not text": _set("actor", 7),
    "type not namespaced": _set("type", "ingested"),
    "type a list": _set("type", ["evidence:file:ingested"]),
    "time not UTC": _set("time", "2026-11-27 09:47"),
    "time a number": _set("time", 20261127),
    "time with a trailing newline": lambda event: event.update(time=event["time"] + "\n"),
    "time in Arabic-Indic digits": lambda event: event.update(
        time="\u0662\u0660\u0662\u0666" + event["time"][4:]),
    "type with a trailing newline": _set("type", "evidence:file:ingested\n"),
    "subject with an extra float": lambda event: event["subject"].update(extra=0.5),
    "subject with a number id": lambda event: event["subject"].update(evidence_id=5),
    "subject a string": _set("subject", "ev1"),
    "no subject": _set("subject", None),
    "details a list": _set("details", [1, 2]),
    "extra field": _set("extra", 1),
    "missing field": lambda event: event.pop("time"),
    "non-ASCII key": _set_detail("clé", 1),
    "NFD text": _set_detail("name", "cafe\u0301"),
}


@pytest.mark.parametrize("edit", EDITS)
def test_fast_path_reports_exactly_what_decode_event_does(filled: CustodyLog, edit: str) -> None:
    with filled.engine.connect() as conn:
        leaves = [bytes(b) for (b,) in conn.execute(
            text("SELECT leaf FROM custody_entries ORDER BY seq"))]
    for seq in (0, 1, 7):  # the first entry (no prev), one after it, one later
        event = orjson.loads(leaves[seq])
        EDITS[edit](event)
        leaves[seq] = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    scan = scan_entries((seq, data, b"") for seq, data in enumerate(leaves))
    assert scan.problems == reference_problems(leaves)
    assert scan.count == SIZE


def test_levels_of_two_parts_join_into_the_whole_tree(filled: CustodyLog) -> None:
    with filled.engine.connect() as conn:
        reader = reader_for(conn)
        whole = check_part(reader, 0, None, None)
        split = plan_split(SIZE)
        assert split is not None
        first = check_part(reader, 0, split.at, split.depth)
        second = check_part(reader, split.at, SIZE - split.at, split.depth, chain_known=False)
    assert whole.levels == build_levels(whole.scan.leaves)
    assert [a + b for a, b in zip(first.levels, second.levels, strict=True)] \
        == whole.levels[:split.depth + 1]
    assert whole.nodes_ok and first.nodes_ok and second.nodes_ok
