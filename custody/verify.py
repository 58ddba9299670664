"""Walk a custody log and report every problem.

The same checks serve the database (``verify_database``) and an offline
tlog-tiles export (``custody.tiles.verify_export``): entries are decoded
canonically and chained by ``seq``/``prev``; the whole tree is recomputed from
the leaf bytes level by level; every checkpoint's signature and root are
checked against it, and consecutive checkpoints are proven consistent.

A large database log is checked in two parts at once, the second by a worker
process (``custody.verify_parts``, ``custody.verify_worker``); the report is the
one a single pass would give. Per-entry checks live in ``custody.verify_scan``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from custody import schema
from custody.checkpoint import Checkpoint, open_checkpoint
from custody.merkle import (
    CompactRange,
    NodeKey,
    ProofError,
    consistency_proof,
    root_at,
    verify_consistency,
)
from custody.note import NoteError, Verifier
from custody.progress import CountingReader, Progress
from custody.report import VerifyReport
from custody.verify_parts import Joined, Split, check_part, join_parts, plan_split, whole
from custody.verify_reader import BulkReader, reader_for
from custody.verify_scan import EventVisitor, as_bytes, scan_entries
from custody.verify_scan import build_levels as build_levels
from custody.verify_worker import database_spec, start_worker
from domain.errors import StorageUnavailable
from domain.messages import msg

MAX_REPORTED_PER_KIND = 50  # a wholesale rewrite should not print a million lines
# Below this many entries a second process costs more than it saves.
PARALLEL_THRESHOLD = 200_000


def check_entries(rows: Iterable[tuple[int, bytes]], report: VerifyReport,
                  visit: EventVisitor | None = None) -> bytes | bytearray:
    """Check entries in log order; return their recomputed leaf hashes, concatenated."""
    scan = scan_entries(((seq, leaf, b"") for seq, leaf in rows), visit=visit,
                        problems=report.problems)
    report.entries = scan.count
    report.checks.append("entries")
    return scan.leaves


def levels_fetcher(levels: Sequence[bytes]) -> Callable[[Collection[NodeKey]], Mapping[NodeKey, bytes]]:
    def fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        return {(lv, ix): levels[lv][32 * ix:32 * ix + 32] for lv, ix in keys}
    return fetch


def open_checkpoints(notes: Sequence[str], verifier: Verifier,
                     origin: str | None) -> list[Checkpoint | NoteError]:
    """Each note's checkpoint, or why its signature or origin does not check out."""
    opened: list[Checkpoint | NoteError] = []
    for note in notes:
        try:
            opened.append(open_checkpoint(note, verifier, expected_origin=origin))
        except NoteError as exc:
            opened.append(exc)
    return opened


def check_checkpoints(notes: Sequence[str], verifier: Verifier, origin: str | None,
                      levels: Sequence[bytes], report: VerifyReport,
                      opened: Sequence[Checkpoint | NoteError] | None = None) -> None:
    """Signature, origin and root of each checkpoint; consistency of consecutive ones.

    ``opened`` is ``open_checkpoints(notes, ...)`` when the caller checked the
    signatures already (while waiting for something else).
    """
    log_size = len(levels[0]) // 32
    fetch = levels_fetcher(levels)
    roots_by_size: dict[int, bytes] = {}
    previous: Checkpoint | None = None
    if opened is None:
        opened = open_checkpoints(notes, verifier, origin)
    for number, cp in enumerate(opened):
        if isinstance(cp, NoteError):
            report.add("bad_signature", msg("checkpoint #{number} is not validly signed by {key}: "
                                            "{error}", number=number, key=verifier.name, error=cp))
            continue
        report.checkpoints += 1
        seen = roots_by_size.setdefault(cp.size, cp.root_hash)
        if seen != cp.root_hash:
            report.add("fork", msg("two signed checkpoints of size {size} have different roots: the log "
                                   "was forked or rewritten", size=cp.size), cp.size)
        if cp.size > log_size:
            report.add("truncated", msg("checkpoint #{number} signs {size} entries but the log holds "
                                        "only {log_size}: entries were removed", number=number,
                                        size=cp.size, log_size=log_size), cp.size)
            continue
        if root_at(cp.size, fetch) != cp.root_hash:
            report.add("root_mismatch", msg("the entries do not hash to the root signed in checkpoint "
                                            "#{number} (size {size}): an entry was altered",
                                            number=number, size=cp.size), cp.size)
        elif previous is not None:
            _check_consistent(previous, cp, fetch, report)
        if previous is not None and cp.size < previous.size:
            report.add("checkpoint_order", msg("checkpoint #{number} (size {size}) is smaller than the "
                                               "one before it (size {before})", number=number,
                                               size=cp.size, before=previous.size), cp.size)
        previous = cp
        report.latest_checkpoint_size = max(report.latest_checkpoint_size or 0, cp.size)
    report.checks.append("checkpoints")
    signed = max(roots_by_size, default=0)
    if log_size > signed:
        report.add("unsigned_tail", msg("entries {first} to {last} are covered by no signed checkpoint: "
                                        "they were added outside the log", first=signed,
                                        last=log_size - 1), signed)
    report.root_hash = root_at(log_size, fetch).hex()


def _check_consistent(old: Checkpoint, new: Checkpoint, fetch: Any, report: VerifyReport) -> None:
    if old.size > new.size:
        return
    try:
        proof = consistency_proof(old.size, new.size, fetch)
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        report.add("inconsistent", msg("checkpoints of size {old} and {new} are not consistent: "
                                       "{error}", old=old.size, new=new.size, error=exc), new.size)


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
            report.add(kind, msg("... and {count} more problems of kind {kind}",
                                 count=count - MAX_REPORTED_PER_KIND, kind=kind))


def verify_database(engine: Engine, verifier: Verifier, origin: str | None,
                    visit: EventVisitor | None = None, *,
                    parallel_threshold: int = PARALLEL_THRESHOLD,
                    progress: Progress | None = None) -> VerifyReport:
    """Verify the log as stored, including the derived state proofs are served from.

    A log of ``parallel_threshold`` entries or more is checked in two parts at once,
    one in a second process, unless ``visit`` needs every event in this one.
    ``progress`` hears of each phase and of the entries read (those the second process
    checks count when it is done), and may stop the run (``custody.progress``).
    """
    def phase(name: str, total: int | None = None) -> None:
        if progress is not None:
            progress.phase(name, total)

    report = VerifyReport(source=f"database {engine.url.render_as_string(hide_password=True)}")
    try:
        with engine.connect() as conn:
            # The first statement opens the read transaction: on SQLite, one snapshot
            # for the count and every read after it.
            total = conn.execute(select(func.count()).select_from(schema.entries)).scalar_one()
            notes: list[str] = []
            opened: list[Checkpoint | NoteError] = []

            def check_signatures() -> None:
                notes.extend(note for (note,) in conn.execute(
                    select(schema.checkpoints.c.note).order_by(schema.checkpoints.c.id)))
                opened.extend(open_checkpoints(notes, verifier, origin))

            reader = reader_for(conn)
            if progress is not None:
                phase("entries", total)
                reader = CountingReader(reader, progress)
            split = plan_split(total) if visit is None and total >= parallel_threshold else None
            log = _scan_log(engine, reader, split, visit, meanwhile=check_signatures)
            if progress is not None:
                progress.checked(log.count)
            report.problems.extend(log.problems)
            report.entries = log.count
            report.checks.append("entries")
            _compare_leaf_hashes(log.leaves, log.stored, report)
            phase("nodes")
            _check_nodes(conn, reader, log.levels, log.nodes_ok, report)
            phase("head")
            _check_head(conn, log.leaves, log.levels, report)
            phase("checkpoints", len(notes))
            check_checkpoints(notes, verifier, origin, log.levels, report, opened)
            phase("documents")
            _check_documents(conn, report)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise StorageUnavailable(msg("cannot read the custody database: {reason}", reason=exc),
                                 hint=msg("check EVIDENCE_DATABASE_URL and that the server is up")) from None
    cap_problems(report)
    return report


def _scan_log(engine: Engine, reader: BulkReader, split: Split | None,
              visit: EventVisitor | None, meanwhile: Callable[[], None]) -> Joined:
    """Entries, levels and stored nodes: in two processes when ``split`` says where.

    ``meanwhile`` runs in this process while the other one finishes.
    """
    spec = database_spec(engine) if split is not None else None
    worker = start_worker(spec, split) if spec is not None and split is not None else None
    if worker is None or split is None:
        log = whole(check_part(reader, 0, None, None, visit=visit))
        meanwhile()
        return log
    with worker:
        first = check_part(reader, 0, split.at, split.depth)
        meanwhile()
        second = worker.result()
    if first.scan.count != split.at:  # entries vanished since they were counted
        return whole(check_part(reader, 0, None, None))
    rest = split.total - split.at
    # The worker read the entries from seq split.at on: the second part only if the
    # first part held seqs 0.. in place; else (a tampered log), or if it failed or saw
    # another log, this process reads the second part by position.
    if second is None or second.scan.count != rest or not first.scan.in_place:
        second = check_part(reader, split.at, rest, split.depth, chain_known=False)
    return join_parts(first, second, split, reader)


def _compare_leaf_hashes(leaves: bytes | bytearray, stored: bytes | bytearray,
                         report: VerifyReport) -> None:
    if leaves == stored:
        return
    for index in range(min(len(leaves), len(stored)) // 32):
        if leaves[32 * index:32 * index + 32] != stored[32 * index:32 * index + 32]:
            report.add("leaf_hash_mismatch", msg("the stored hash of entry {index} is not the hash of "
                                                "its bytes; proofs served for it would fail",
                                                index=index), index)


def _check_nodes(conn: Connection, reader: BulkReader, levels: Sequence[bytes], ranges_ok: bool,
                 report: VerifyReport) -> None:
    """Intact when every expected node was found in place and the table holds no others."""
    expected = sum(len(level) // 32 for level in levels[1:])
    if not ranges_ok or conn.execute(
            select(func.count()).select_from(schema.nodes)).scalar_one() != expected:
        _report_node_differences(reader, levels, report)
    report.checks.append("nodes")


def _report_node_differences(reader: BulkReader, levels: Sequence[bytes],
                             report: VerifyReport) -> None:
    expected = {lv: levels[lv] for lv in range(1, len(levels))}
    stored: dict[int, bytearray] = {}
    for level, idx, node in reader.all_nodes():
        data = stored.setdefault(level, bytearray())
        if len(data) != 32 * idx:
            report.add("node_mismatch", msg("Merkle node ({level}, {index}) is out of place", level=level,
                                              index=idx))
            data.extend(b"\x00" * max(0, 32 * idx - len(data)))
        data.extend(as_bytes(node))
    for level in sorted(expected.keys() | stored.keys()):
        if bytes(stored.get(level, b"")) != expected.get(level, b""):
            report.add("node_mismatch", msg("stored Merkle nodes at level {level} differ from the tree "
                                           "recomputed from the entries; proofs would be wrong",
                                           level=level))


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
        report.add("head_mismatch", msg("the log head says {size} entries but {log_size} are stored, "
                                        "or its frontier is wrong; new appends would fork",
                                        size=size, log_size=log_size))
    report.checks.append("head")


def _check_documents(conn: Any, report: VerifyReport) -> None:
    for digest, body in conn.execute(select(schema.documents.c.sha256, schema.documents.c.body)):
        if hashlib.sha256(bytes(body)).hexdigest() != digest:
            report.add("document_mismatch", msg("custody document {digest} was altered", digest=digest))
    report.checks.append("documents")
