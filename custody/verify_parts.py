"""A verify in two parts of the log, one per process, joined into one result.

The log is split at a position that is a multiple of ``2**depth``, so every
node of levels 1..depth lies wholly inside one part: each part hashes its own
subtrees and compares them with the stored nodes under it, and only the few
levels above ``depth`` are built after the join. The second part starts without
the hash of the entry before it; the join checks that entry's ``prev`` and puts
the problem, if any, where a single scan would have reported it.
"""

from __future__ import annotations

from dataclasses import dataclass

from custody.report import Problem
from custody.verify_reader import BulkReader, stored_nodes_match
from custody.verify_scan import (
    EntryScan,
    EventVisitor,
    broken_chain,
    build_levels,
    next_level,
    range_levels,
    scan_entries,
)

MAX_PART_DEPTH = 12  # levels above it hold total / 8192 nodes: built after the join
MAIN_SHARE = 0.5  # of the entries, checked by the process that also joins the parts


@dataclass(frozen=True)
class Split:
    at: int  # position of the first entry of the second part
    depth: int  # levels 1..depth are built and checked within each part
    total: int  # entries in the log


@dataclass
class PartResult:
    scan: EntryScan
    levels: list[bytes]  # levels[0] is the part's leaf hashes; deeper levels its subtrees
    nodes_ok: bool  # the stored nodes under the part are exactly ``levels[1:]``


def plan_split(total: int, main_share: float = MAIN_SHARE) -> Split | None:
    """Where to split a log of ``total`` entries (None: too small to split)."""
    if total < 4:
        return None
    depth = min(MAX_PART_DEPTH, (total // 2).bit_length() - 1)  # 2**depth <= total / 2
    unit = 1 << depth
    units = max(1, min(round(total * main_share / unit), (total - 1) // unit))
    return Split(units * unit, depth, total)


def check_part(reader: BulkReader, offset: int, limit: int | None, depth: int | None, *,
               chain_known: bool = True, by_seq: bool = False,
               visit: EventVisitor | None = None) -> PartResult:
    """Entries, levels and stored nodes of one part; ``depth`` None: the whole log.

    ``by_seq`` reads the part as the entries from seq ``offset`` on, which are the
    entries from position ``offset`` on when the entries before them are in place:
    the caller checks that, and a seek by seq is quicker than skipping rows.
    """
    if by_seq and limit is not None:
        rows = reader.entries_from(offset, limit)
    else:
        rows = reader.entries(offset, limit)
    scan = scan_entries(rows, start=offset, chain_known=chain_known, visit=visit)
    levels = build_levels(scan.leaves) if depth is None else range_levels(scan.leaves, depth)
    return PartResult(scan, levels, stored_nodes_match(reader, levels, offset))


@dataclass
class Joined:
    count: int
    problems: list[Problem]
    leaves: bytes
    stored: bytes | bytearray
    levels: list[bytes]
    nodes_ok: bool


def whole(part: PartResult) -> Joined:
    return Joined(part.scan.count, part.scan.problems, part.levels[0], part.scan.stored,
                  part.levels, part.nodes_ok)


def join_parts(first: PartResult, second: PartResult, split: Split, reader: BulkReader) -> Joined:
    """One result for the log, as a single scan of it would have found."""
    problems = list(second.scan.problems)
    boundary = second.scan.boundary
    if boundary is not None and boundary.prev != first.levels[0][-32:].hex():
        problems.insert(boundary.problem_at, broken_chain(split.at))
    levels = [a + b for a, b in zip(first.levels, second.levels, strict=True)]
    while len(levels[-1]) >= 64:
        levels.append(next_level(levels[-1]))
    nodes_ok = (first.nodes_ok and second.nodes_ok
                and stored_nodes_match(reader, levels, 0, from_level=split.depth + 1))
    stored: bytes | bytearray = levels[0]  # as recomputed, unless a part says otherwise
    if first.scan.stored != first.levels[0] or second.scan.stored != second.levels[0]:
        stored = bytearray(first.scan.stored) + second.scan.stored
    return Joined(first.scan.count + second.scan.count, first.scan.problems + problems,
                  levels[0], stored, levels, nodes_ok)
