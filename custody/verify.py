"""Walk a custody log and report every problem.

The same checks serve the database (``verify_database``) and an offline
tlog-tiles export (``custody.tiles.verify_export``): entries are decoded
canonically and chained by ``seq``/``prev``; the whole tree is recomputed from
the leaf bytes level by level; every checkpoint's signature and root are
checked against it, and consecutive checkpoints are proven consistent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from custody import schema
from custody.checkpoint import Checkpoint, open_checkpoint
from custody.events import EventError, decode_event
from custody.merkle import (
    CompactRange,
    NodeKey,
    ProofError,
    consistency_proof,
    root_at,
    verify_consistency,
)
from custody.note import NoteError, Verifier
from custody.report import VerifyReport
from domain.errors import StorageUnavailable

EventVisitor = Callable[[int, dict[str, Any]], None]
MAX_REPORTED_PER_KIND = 50  # a wholesale rewrite should not print a million lines


def check_entries(rows: Iterable[tuple[int, bytes]], report: VerifyReport,
                  visit: EventVisitor | None = None) -> bytearray:
    """Check entries in log order; return their recomputed leaf hashes, concatenated."""
    leaves = bytearray()
    sha256 = hashlib.sha256
    prev: str | None = None
    position = 0
    for stored_seq, leaf in rows:
        if stored_seq != position:
            report.add("missing_entry" if stored_seq > position else "duplicate_entry",
                       f"expected entry {position} but the log holds entry {stored_seq} here",
                       position)
        leaf_hash = sha256(b"\x00" + leaf).digest()
        try:
            event = decode_event(leaf)
        except EventError as exc:
            report.add("non_canonical", f"entry {position}: {exc}", position)
        else:
            if event["seq"] != position:
                report.add("seq_mismatch",
                           f"entry {position} says seq {event['seq']}; events were reordered, "
                           "inserted or deleted", position)
            if event["prev"] != prev:
                report.add("broken_chain",
                           f"entry {position} does not name the hash of entry {position - 1} as "
                           "prev; an entry before it was changed, removed or inserted", position)
            if visit is not None:
                visit(position, event)
        leaves += leaf_hash
        prev = leaf_hash.hex()
        position += 1
    report.entries = position
    report.checks.append("entries")
    return leaves


def build_levels(leaves: bytes | bytearray) -> list[bytes]:
    """Every complete node of the tree: ``levels[l]`` concatenates the level-l hashes."""
    levels = [bytes(leaves)]
    sha256 = hashlib.sha256
    current = levels[0]
    while len(current) >= 64:
        pairs = len(current) // 64
        nxt = b"".join(sha256(b"\x01" + current[64 * i:64 * i + 64]).digest()
                       for i in range(pairs))
        levels.append(nxt)
        current = nxt
    return levels


def levels_fetcher(levels: Sequence[bytes]) -> Callable[[Collection[NodeKey]], Mapping[NodeKey, bytes]]:
    def fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        return {(lv, ix): levels[lv][32 * ix:32 * ix + 32] for lv, ix in keys}
    return fetch


def check_checkpoints(notes: Sequence[str], verifier: Verifier, origin: str | None,
                      levels: Sequence[bytes], report: VerifyReport) -> None:
    """Signature, origin and root of each checkpoint; consistency of consecutive ones."""
    log_size = len(levels[0]) // 32
    fetch = levels_fetcher(levels)
    roots_by_size: dict[int, bytes] = {}
    previous: Checkpoint | None = None
    for number, note in enumerate(notes):
        try:
            cp = open_checkpoint(note, verifier, expected_origin=origin)
        except NoteError as exc:
            report.add("bad_signature", f"checkpoint #{number} is not validly signed by "
                       f"{verifier.name}: {exc}")
            continue
        report.checkpoints += 1
        seen = roots_by_size.setdefault(cp.size, cp.root_hash)
        if seen != cp.root_hash:
            report.add("fork", f"two signed checkpoints of size {cp.size} have different roots: "
                       "the log was forked or rewritten", cp.size)
        if cp.size > log_size:
            report.add("truncated", f"checkpoint #{number} signs {cp.size} entries but the log "
                       f"holds only {log_size}: entries were removed", cp.size)
            continue
        if root_at(cp.size, fetch) != cp.root_hash:
            report.add("root_mismatch", f"the entries do not hash to the root signed in "
                       f"checkpoint #{number} (size {cp.size}): an entry was altered", cp.size)
        elif previous is not None:
            _check_consistent(previous, cp, fetch, report)
        if previous is not None and cp.size < previous.size:
            report.add("checkpoint_order", f"checkpoint #{number} (size {cp.size}) is smaller "
                       f"than the one before it (size {previous.size})", cp.size)
        previous = cp
        report.latest_checkpoint_size = max(report.latest_checkpoint_size or 0, cp.size)
    report.checks.append("checkpoints")
    signed = max(roots_by_size, default=0)
    if log_size > signed:
        report.add("unsigned_tail", f"entries {signed} to {log_size - 1} are covered by no signed "
                   "checkpoint: they were added outside the log", signed)
    report.root_hash = root_at(log_size, fetch).hex()


def _check_consistent(old: Checkpoint, new: Checkpoint, fetch: Any, report: VerifyReport) -> None:
    if old.size > new.size:
        return
    try:
        proof = consistency_proof(old.size, new.size, fetch)
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        report.add("inconsistent", f"checkpoints of size {old.size} and {new.size} are not "
                   f"consistent: {exc}", new.size)


def cap_problems(report: VerifyReport) -> None:
    """Keep the first problems of each kind and say how many more there were."""
    counts: dict[str, int] = {}
    kept = []
    for problem in report.problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
        if counts[problem.kind] <= MAX_REPORTED_PER_KIND:
            kept.append(problem)
    report.problems = kept
    for kind, count in counts.items():
        if count > MAX_REPORTED_PER_KIND:
            report.add(kind, f"... and {count - MAX_REPORTED_PER_KIND} more problems of kind {kind}")


def verify_database(engine: Engine, verifier: Verifier, origin: str | None,
                    visit: EventVisitor | None = None) -> VerifyReport:
    """Verify the log as stored, including the derived state proofs are served from."""
    report = VerifyReport(source=f"database {engine.url.render_as_string(hide_password=True)}")
    try:
        with engine.connect() as conn:
            rows = conn.execution_options(yield_per=5000).execute(
                select(schema.entries.c.seq, schema.entries.c.leaf, schema.entries.c.leaf_hash)
                .order_by(schema.entries.c.seq))
            stored_hashes = bytearray()

            def entry_rows() -> Iterable[tuple[int, bytes]]:
                for seq, leaf, leaf_hash in rows:
                    stored_hashes.extend(_as_bytes(leaf_hash))
                    yield seq, _as_bytes(leaf)

            leaves = check_entries(entry_rows(), report, visit)
            _compare_leaf_hashes(leaves, stored_hashes, report)
            levels = build_levels(leaves)
            _check_nodes(conn, levels, report)
            _check_head(conn, leaves, levels, report)
            notes = [note for (note,) in conn.execute(
                select(schema.checkpoints.c.note).order_by(schema.checkpoints.c.id))]
            check_checkpoints(notes, verifier, origin, levels, report)
            _check_documents(conn, report)
    except SQLAlchemyError as exc:
        raise StorageUnavailable(f"cannot read the custody database: {exc}",
                                 hint="check EVIDENCE_DATABASE_URL and that the server is up") from None
    cap_problems(report)
    return report


def _as_bytes(value: Any) -> bytes:
    """A tampered row may hold text or NULL where bytes belong; compare it, don't crash."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"" if value is None else bytes(value)


def _compare_leaf_hashes(leaves: bytes | bytearray, stored: bytes | bytearray,
                         report: VerifyReport) -> None:
    if leaves == stored:
        return
    for index in range(min(len(leaves), len(stored)) // 32):
        if leaves[32 * index:32 * index + 32] != stored[32 * index:32 * index + 32]:
            report.add("leaf_hash_mismatch", f"the stored hash of entry {index} is not the hash "
                       "of its bytes; proofs served for it would fail", index)


def _check_nodes(conn: Any, levels: Sequence[bytes], report: VerifyReport) -> None:
    nodes = schema.nodes
    expected = {lv: levels[lv] for lv in range(1, len(levels))}
    stored: dict[int, bytearray] = {}
    for level, idx, node in conn.execution_options(yield_per=20000).execute(
            select(nodes.c.level, nodes.c.idx, nodes.c.hash).order_by(nodes.c.level, nodes.c.idx)):
        data = stored.setdefault(level, bytearray())
        if len(data) != 32 * idx:
            report.add("node_mismatch", f"Merkle node ({level}, {idx}) is out of place")
            data.extend(b"\x00" * max(0, 32 * idx - len(data)))
        data.extend(node)
    for level in sorted(expected.keys() | stored.keys()):
        if bytes(stored.get(level, b"")) != expected.get(level, b""):
            report.add("node_mismatch", f"stored Merkle nodes at level {level} differ from the "
                       "tree recomputed from the entries; proofs would be wrong")
    report.checks.append("nodes")


def _check_head(conn: Any, leaves: bytes | bytearray, levels: Sequence[bytes], report: VerifyReport) -> None:
    size, frontier, last = conn.execute(select(schema.head.c.size, schema.head.c.frontier,
                                               schema.head.c.last_leaf_hash)).one()
    log_size = len(leaves) // 32
    keys = CompactRange.keys_for_size(log_size)
    fetch = levels_fetcher(levels)
    expected_frontier = b"".join(fetch(keys)[key] for key in keys)
    expected_last = leaves[-32:] if leaves else None
    if size != log_size or bytes(frontier) != expected_frontier or (
            (bytes(last) if last is not None else None) != expected_last):
        report.add("head_mismatch", f"the log head says {size} entries but {log_size} are "
                   "stored, or its frontier is wrong; new appends would fork")
    report.checks.append("head")


def _check_documents(conn: Any, report: VerifyReport) -> None:
    for digest, body in conn.execute(select(schema.documents.c.sha256, schema.documents.c.body)):
        if hashlib.sha256(bytes(body)).hexdigest() != digest:
            report.add("document_mismatch", f"custody document {digest} was altered")
    report.checks.append("documents")
