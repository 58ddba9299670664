"""The per-entry checks of a verify and the tree levels, fast enough for millions of entries.

``scan_entries`` checks entries exactly as ``decode_event`` plus the seq/prev chain
would, and reports the same problems with the same messages. Most entries take a
fast path that proves, with cheaper checks, everything ``decode_event`` would
prove (same canonical round trip, same domain and schema rules); any entry the
fast path cannot prove intact goes through ``decode_event`` itself, so problems
and their messages come from exactly the code the single-entry check uses.

A scan may start in the middle of the log (``start``): a parallel verify checks
each part of the log in its own process and joins the parts. When the hash of
the entry before ``start`` is not known yet (``chain_known=False``), the first
entry's ``prev`` is recorded in ``EntryScan.boundary`` for the caller to check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

# The same patterns decode_event applies to "type" and "time".
from custody.events import (
    EVENT_VERSION,
    MAX_EVENT_BYTES,
    TIME_PATTERN,
    TYPE_PATTERN,
    EventError,
    decode_event,
    json_scalars,
)
from custody.report import Problem
from domain.messages import msg, plain

EventVisitor = Callable[[int, dict[str, Any]], None]
EntryRow = tuple[Any, Any, Any]  # (seq, leaf, stored leaf hash) as the database returns them

_FIELD_COUNT = 8  # decode_event's schema: v, seq, prev, type, actor, subject, time, details
_KNOWN_TYPES_LIMIT = 4096  # event types are few; a hostile log must not grow the cache
# Values that hold no float (orjson.loads makes no other scalar types).
_SCALARS = frozenset({str, int, bool, type(None)})
# OPT_STRICT_INTEGER makes orjson refuse integers outside +/-(2**53 - 1): the range
# decode_event allows, so a successful dump also proves every integer is in range.
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_LEAF_PREFIX = hashlib.sha256(b"\x00")
_NODE_PREFIX = hashlib.sha256(b"\x01")


@dataclass(frozen=True)
class Boundary:
    """The first entry of a scan whose predecessor's hash was not known."""

    prev: str | None  # what the entry names as prev
    problem_at: int  # where in ``EntryScan.problems`` a broken_chain problem belongs


@dataclass
class EntryScan:
    start: int
    count: int = 0
    leaves: bytes | bytearray = b""  # recomputed leaf hashes
    stored: bytes | bytearray = b""  # stored leaf hashes, as stored
    problems: list[Problem] = field(default_factory=list)
    boundary: Boundary | None = None
    in_place: bool = True  # every entry's stored seq was its position


def as_bytes(value: Any) -> bytes:
    """A tampered row may hold text or NULL where bytes belong; compare it, don't crash."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"" if value is None else bytes(value)


def broken_chain(position: int) -> Problem:
    return Problem("broken_chain", msg("entry {index} does not name the hash of entry {previous} "
                                       "as prev; an entry before it was changed, removed or "
                                       "inserted", index=position, previous=position - 1),
                   position)


def _misplaced(stored_seq: Any, position: int) -> Problem:
    return Problem("missing_entry" if stored_seq > position else "duplicate_entry",
                   msg("expected entry {index} but the log holds entry {stored} here",
                       index=position, stored=plain(str(stored_seq))), position)


def _decoded(leaf: bytes, position: int, problems: list[Problem]) -> dict[str, Any] | None:
    """decode_event and the seq check, for an entry the fast path could not prove intact."""
    try:
        event = decode_event(leaf)
    except EventError as exc:
        problems.append(Problem("non_canonical", msg("entry {index}: {error}", index=position,
                                                      error=exc), position))
        return None
    if event["seq"] != position:
        problems.append(Problem("seq_mismatch", msg("entry {index} says seq {seq}; events were "
                                                    "reordered, inserted or deleted", index=position,
                                                    seq=plain(str(event["seq"]))), position))
    return event


def _contains_float(value: Any) -> bool:
    return any(type(item) is float for item in json_scalars(value))


def scan_entries(rows: Iterable[EntryRow], *, start: int = 0, prev: str | None = None,
                 chain_known: bool = True, visit: EventVisitor | None = None,
                 problems: list[Problem] | None = None) -> EntryScan:
    """Check entries in log order from position ``start``; ``prev`` names the entry before it.

    Problems are appended to ``problems`` if given (a report's list, so they interleave
    with problems the row source reports while it is read).
    """
    scan = EntryScan(start) if problems is None else EntryScan(start, problems=problems)
    leaves, stored, problems = bytearray(), bytearray(), scan.problems
    position = start
    loads, dumps, canonical, scalars = orjson.loads, orjson.dumps, _CANONICAL, _SCALARS
    new_leaf_hash = _LEAF_PREFIX.copy
    known_types: set[str] = set()  # "type" values proven valid
    time_ok: object = object()  # the last "time" value proven valid (none yet)
    for seq, raw_leaf, raw_stored in rows:
        leaf = raw_leaf if type(raw_leaf) is bytes else as_bytes(raw_leaf)
        stored += raw_stored if type(raw_stored) is bytes else as_bytes(raw_stored)
        if seq != position:
            problems.append(_misplaced(seq, position))
            scan.in_place = False
        hasher = new_leaf_hash()
        hasher.update(leaf)
        leaf_hash = hasher.digest()
        leaves += leaf_hash
        here, chain, prev = position, prev, leaf_hash.hex()
        position += 1
        if not chain_known:  # the first entry: the caller checks its prev
            chain_known = True
            event = _decoded(leaf, here, problems)
            if event is not None:
                scan.boundary = Boundary(event["prev"], len(problems))
                if visit is not None:
                    visit(here, event)
            continue
        # Fast path: each check decode_event makes, for ASCII entries (so NFC already).
        # An entry it cannot prove intact falls through to decode_event below.
        if len(leaf) <= MAX_EVENT_BYTES and leaf.isascii():
            try:
                obj = loads(leaf)
                if (len(obj) == _FIELD_COUNT and (number := obj["seq"]) == here
                        and type(number) is int and obj["prev"] == chain
                        and obj["v"] == EVENT_VERSION and dumps(obj, option=canonical) == leaf):
                    kind, moment, actor = obj["type"], obj["time"], obj["actor"]
                    subject, details = obj["subject"], obj["details"]
                    if kind not in known_types and type(kind) is str and TYPE_PATTERN.fullmatch(kind):
                        if len(known_types) >= _KNOWN_TYPES_LIMIT:
                            known_types.clear()
                        known_types.add(kind)
                    if moment != time_ok and type(moment) is str and TIME_PATTERN.fullmatch(moment):
                        time_ok = moment
                    if (kind in known_types and moment == time_ok and type(actor) is str and actor
                            and (subject is None or (type(subject) is dict and len(subject) == 2
                                                     and type(subject.get("evidence_id")) is str
                                                     and type(subject.get("sha256")) is str))
                            and type(details) is dict
                            and (scalars.issuperset(map(type, details.values()))
                                 or not _contains_float(details))):
                        if visit is not None:
                            visit(here, obj)
                        continue
            except (orjson.JSONDecodeError, TypeError, KeyError):
                # Not a JSON object with these keys; an unsafe integer (JSONEncodeError
                # is a TypeError) or an unhashable "type": decode_event says what is wrong.
                pass
        event = _decoded(leaf, here, problems)
        if event is not None:
            if event["prev"] != chain:
                problems.append(broken_chain(here))
            if visit is not None:
                visit(here, event)
    scan.count = position - start
    scan.leaves, scan.stored = leaves, stored
    return scan


def next_level(level: bytes | bytearray) -> bytes:
    """The parents of consecutive pairs of hashes (an odd last hash has none yet)."""
    new_node_hash = _NODE_PREFIX.copy
    view = memoryview(level)
    out = bytearray()
    for offset in range(0, len(level) - 63, 64):
        hasher = new_node_hash()
        hasher.update(view[offset:offset + 64])
        out += hasher.digest()
    return bytes(out)


def build_levels(leaves: bytes | bytearray) -> list[bytes]:
    """Every complete node of the tree: ``levels[l]`` concatenates the level-l hashes."""
    levels = [bytes(leaves)]
    while len(levels[-1]) >= 64:
        levels.append(next_level(levels[-1]))
    return levels


def range_levels(leaves: bytes | bytearray, depth: int) -> list[bytes]:
    """Levels 0..depth of the subtrees within a part of the leaves that starts at a
    multiple of ``2**depth``; a level may be empty when the part is short."""
    levels = [bytes(leaves)]
    for _ in range(depth):
        levels.append(next_level(levels[-1]))
    return levels
