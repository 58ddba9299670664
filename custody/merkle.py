"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and verification.

Hashing (RFC 9162 §2.1.1), SHA-256 throughout:

* leaf hash  = SHA-256(0x00 || entry bytes)
* node hash  = SHA-256(0x01 || left || right)
* empty tree = SHA-256(b"")
* a tree of n > 1 leaves splits at k, the largest power of two smaller than n.

Storage model. The custody log stores the hash of every *complete perfect
subtree*, keyed ``(level, index)``: level 0 index i is leaf hash i, level L
index j covers leaves ``[j * 2**L, (j + 1) * 2**L)``. Proofs and historical
roots are assembled from those stored nodes; the whole tree is never
recomputed. Each proof asks its ``NodeFetcher`` once for every key it needs
(at most about 2·log2(n) keys) and then does at most O(log n) hashing to fold
the right-edge partial subtree. A fetcher is never called when no stored node
is needed (size-1 trees, empty proofs).

Streaming. ``CompactRange`` holds the right frontier of the tree (one hash per
set bit of the size). The log appends through ``append``, which reports the
newly completed nodes to store; a verifier replays millions of leaf hashes
through ``extend`` (no per-leaf allocation beyond the hashes themselves) and
reads ``root()`` at any checkpoint in O(log n).

Errors.

* ``ProofError`` (an ``IntegrityError``): a proof, root or hash handed to a
  ``verify_*`` function does not check out. Well-typed but wrong hashes, sizes,
  indexes or proofs never raise anything else; the message names the check
  that failed.
* ``MerkleArgumentError`` (also a ``ValueError``): a caller asked for something
  that cannot exist, e.g. a proof for index >= size, a negative size, a leaf
  hash that is not 32 bytes.
* ``IntegrityError``: the node store returned a missing or malformed node, or
  a serialised compact range has the wrong shape.

Edge cases
----------
These are the policy decisions; ``tests/test_merkle.py`` tests each one.

* Every hash a verifier receives (leaf hash, each proof element, each root)
  must be exactly 32 bytes, else ``ProofError``. This includes roots that are
  "don't care" placeholders when the sizes are equal: a root that is not a
  SHA-256 digest cannot be the root of any tree.
* Inclusion in a tree of size 0 is impossible: ``verify_inclusion`` raises
  ``ProofError``; ``inclusion_proof`` raises ``MerkleArgumentError``.
* Index outside ``[0, size)``: ``ProofError`` when verifying,
  ``MerkleArgumentError`` when generating.
* An inclusion proof authenticates the leaf against the root, not the size:
  RFC 9162 verification also succeeds for other sizes whose path to the leaf
  has the same shape (leaf 5 in trees of 11, 12 or 16). Take size and root
  together from one signed checkpoint.
* Proof length must be exactly the length RFC 9162 prescribes for the
  (index, size) or (old_size, new_size) pair. Missing, extra, leading or
  trailing elements are rejected with ``ProofError`` before any hashing.
* ``old_size > new_size``: ``ProofError`` when verifying,
  ``MerkleArgumentError`` when generating. Negative sizes likewise.
* ``old_size == new_size``: the proof must be empty and the two roots equal
  (byte for byte, both 32 bytes). The generated proof is empty.
* Consistency from ``old_size == 0``: every tree extends the empty tree, so
  the proof must be empty and is accepted, but only if ``old_root`` is the
  empty-tree root SHA-256(b"") (any other value is a false claim about the
  empty tree) and ``new_root`` is 32 bytes. The Go library accepts any
  ``old_root`` here; we are stricter. The generated proof is empty.
* ``old_size == new_size == 0``: both roots must equal SHA-256(b"").
* A proof is a sequence of hashes; JSON ``null`` for "no elements" must be
  turned into an empty list by the caller (``None`` is a type error, not a
  verification result).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.errors import EvidenceError, IntegrityError
from domain.messages import msg

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeKey = tuple[int, int]
"""``(level, index)`` of a complete perfect subtree."""

NodeFetcher = Callable[[Collection[NodeKey]], Mapping[NodeKey, bytes]]
"""Returns the stored hash for every key asked for; called once per proof."""


class ProofError(IntegrityError):
    """A Merkle proof or root failed verification."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint=msg("Treat the log or the proof as untrustworthy and do not rely on it; re-fetch the "
                     "proof from the log and re-verify, and report it if it fails again."),
        )


class MerkleArgumentError(EvidenceError, ValueError):
    """A Merkle function was asked for something that cannot exist."""


# --- hashing ---------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of the tree over all ``leaf_hashes``, computed level by level.

    Promoting an unpaired last node unchanged to the next level yields exactly
    the RFC 9162 split-at-largest-power-of-two tree. O(n) memory; meant for
    tests and offline verification, not for the log's hot path.
    """
    for position, value in enumerate(leaf_hashes):
        _require_argument_hash(value, f"leaf hash {position}")
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# --- compact range ---------------------------------------------------------


class CompactRange:
    """Right frontier of a tree: hashes of the perfect subtrees covering [0, size).

    ``hashes()[0]`` is the biggest (leftmost) subtree; there is one hash per set
    bit of ``size``.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise MerkleArgumentError(msg("A Merkle tree cannot have negative size {size}.", size=size))
        expected = size.bit_count()
        if len(hashes) != expected:
            raise IntegrityError(
                msg("A compact range for tree size {size} needs {expected} subtree hashes, got "
                    "{hashes_count}.", size=size, expected=expected, hashes_count=len(hashes)),
                hint=msg("The stored frontier is inconsistent with the tree size; rebuild it from the "
                         "stored nodes with CompactRange.keys_for_size."),
            )
        for position, value in enumerate(hashes):
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise IntegrityError(
                    msg("Compact range hash {position} for tree size {size} is not {hash_size} bytes.",
                        position=position, size=size, hash_size=HASH_SIZE),
                    hint=msg("The stored frontier is corrupt; rebuild it from the stored nodes."),
                )
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    def hashes(self) -> list[bytes]:
        """The frontier hashes, biggest subtree first (a copy)."""
        return list(self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the nodes it completed at level >= 1.

        Each returned ``(level, index, hash)`` is a complete perfect subtree the
        log must store. The leaf itself (level 0, index old size) is not listed.
        """
        _require_argument_hash(leaf_hash, "leaf hash")
        completed: list[tuple[int, int, bytes]] = []
        stack = self._hashes
        position = self._size
        value = leaf_hash
        level = 0
        # Each trailing 1 bit of the old size is a left sibling waiting for this leaf.
        while (position >> level) & 1:
            value = hashlib.sha256(_NODE_PREFIX + stack.pop() + value).digest()
            level += 1
            completed.append((level, position >> level, value))
        stack.append(value)
        self._size = position + 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add many leaves fast, without reporting completed nodes (for verifiers)."""
        stack = self._hashes
        pop = stack.pop
        push = stack.append
        sha256 = hashlib.sha256
        prefix = _NODE_PREFIX
        size = self._size
        try:
            for value in leaf_hashes:
                if len(value) != HASH_SIZE:
                    _require_argument_hash(value, f"leaf hash {size}")
                position = size
                while position & 1:
                    value = sha256(prefix + pop() + value).digest()
                    position >>= 1
                push(value)
                size += 1
        finally:
            self._size = size

    def root(self) -> bytes:
        """Root of the tree of ``size`` leaves (SHA-256(b"") when empty)."""
        return _fold_right(self._hashes)

    def to_bytes(self) -> bytes:
        """The frontier hashes concatenated, biggest first."""
        return b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        """Inverse of ``to_bytes`` for a tree of ``size`` leaves."""
        if size < 0:
            raise MerkleArgumentError(msg("A Merkle tree cannot have negative size {size}.", size=size))
        expected = size.bit_count() * HASH_SIZE
        if len(data) != expected:
            raise IntegrityError(
                msg("A serialised compact range for tree size {size} must be {expected} bytes, got "
                    "{data_count}.", size=size, expected=expected, data_count=len(data)),
                hint=msg("The stored frontier is corrupt; rebuild it from the stored nodes."),
            )
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])

    @staticmethod
    def keys_for_size(size: int) -> list[NodeKey]:
        """Stored nodes that make up the frontier of a tree of ``size``, biggest first."""
        if size < 0:
            raise MerkleArgumentError(msg("A Merkle tree cannot have negative size {size}.", size=size))
        return _range_keys(0, size)


# --- proof generation ------------------------------------------------------


def inclusion_proof(index: int, size: int, fetch: NodeFetcher) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof for leaf ``index`` in the tree of ``size``."""
    if size < 0:
        raise MerkleArgumentError(msg("A Merkle tree cannot have negative size {size}.", size=size))
    if not 0 <= index < size:
        raise MerkleArgumentError(
            msg("Leaf {index} is not in a tree of {size} leaves; ask for an index between 0 and {value}.",
                index=index, size=size, value=size - 1)
            if size
            else msg("Leaf {index} is not in the empty tree; an empty tree has no inclusion proofs.",
                     index=index)
        )
    return _assemble(_inclusion_ranges(index, size), fetch)


def consistency_proof(old_size: int, new_size: int, fetch: NodeFetcher) -> list[bytes]:
    """RFC 9162 §2.1.4.1 proof that the tree of ``new_size`` extends that of ``old_size``.

    Empty when ``old_size`` is 0 or equal to ``new_size`` (see "Edge cases").
    """
    if old_size < 0 or new_size < 0:
        raise MerkleArgumentError(
            msg("Tree sizes cannot be negative (old {old_size}, new {new_size}).", old_size=old_size,
                new_size=new_size)
        )
    if old_size > new_size:
        raise MerkleArgumentError(
            msg("Old tree size {old_size} is larger than new tree size {new_size}; a consistency proof "
                "goes from a smaller tree to a larger one.", old_size=old_size, new_size=new_size)
        )
    if old_size in (0, new_size):
        return []
    return _assemble(_consistency_ranges(old_size, new_size), fetch)


def root_at(size: int, fetch: NodeFetcher) -> bytes:
    """Root of the tree of ``size`` leaves, from the stored frontier nodes."""
    keys = CompactRange.keys_for_size(size)
    if not keys:
        return EMPTY_ROOT
    nodes = _fetch_all(keys, fetch)
    return _fold_right([nodes[key] for key in keys])


def _largest_power_of_two_below(n: int) -> int:
    """RFC 9162 split point k for n > 1."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_keys(start: int, end: int) -> list[NodeKey]:
    """Perfect subtrees covering [start, end), biggest first.

    Only valid for ranges the RFC recursion produces: a perfect aligned subtree,
    or a right-edge range [start, size) with start aligned to a power of two at
    least end - start, so the pieces shrink left to right and fold from the right.
    """
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose roots form PATH(index, D[0:size]), leaf end first."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose roots form SUBPROOF(old_size, D[0:new_size], true)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, new_size
    known_to_verifier = True  # the b flag of RFC 9162 SUBPROOF
    while old_size - start != end - start:
        split = start + _largest_power_of_two_below(end - start)
        if old_size <= split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
            known_to_verifier = False
    if not known_to_verifier:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _assemble(ranges: list[tuple[int, int]], fetch: NodeFetcher) -> list[bytes]:
    keys_per_range = [_range_keys(start, end) for start, end in ranges]
    wanted = [key for keys in keys_per_range for key in keys]
    if not wanted:
        return []
    nodes = _fetch_all(wanted, fetch)
    return [_fold_right([nodes[key] for key in keys]) for keys in keys_per_range]


def _fetch_all(keys: list[NodeKey], fetch: NodeFetcher) -> dict[NodeKey, bytes]:
    found = fetch(keys)
    nodes: dict[NodeKey, bytes] = {}
    for key in keys:
        value = found.get(key)
        if value is None:
            raise IntegrityError(
                msg("The Merkle node store has no hash for subtree (level {key}, index {key2}).",
                    key=key[0], key2=key[1]),
                hint=msg("The log's node table is incomplete; run a full log verification."),
            )
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise IntegrityError(
                msg("The stored hash for subtree (level {key}, index {key2}) is not {hash_size} bytes.",
                    key=key[0], key2=key[1], hash_size=HASH_SIZE),
                hint=msg("The log's node table is corrupt; run a full log verification."),
            )
        nodes[key] = value
    return nodes


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Root over perfect subtrees that shrink left to right (biggest first)."""
    if not hashes:
        return EMPTY_ROOT
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = hashlib.sha256(_NODE_PREFIX + left + value).digest()
    return value


def _require_argument_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        length = len(value) if isinstance(value, bytes | bytearray) else "non-bytes"
        raise MerkleArgumentError(
            msg("The {what} must be a {hash_size}-byte SHA-256 digest, got {length}.", what=what,
                hash_size=HASH_SIZE, length=length)
        )


# --- explanation -----------------------------------------------------------


@dataclass(frozen=True)
class InclusionStep:
    """One step from a leaf towards the root: the sibling subtree's hash, where it sits, the
    leaves it covers ``[first, end)``, and the hash of the two, SHA-256(0x01 || left || right)."""

    sibling: bytes
    side: str  # "left" or "right": where the sibling sits
    first: int
    end: int
    result: bytes


def inclusion_steps(leaf_hash: bytes, index: int, size: int,
                    proof: Sequence[bytes]) -> list[InclusionStep]:
    """The walk ``verify_inclusion`` makes, step by step, for a person to follow.

    Takes as many steps as both the proof and the path have; whether the proof holds
    (its length, and the root it reaches) is ``verify_inclusion``'s to say.
    """
    if not 0 <= index < size:
        return []
    steps: list[InclusionStep] = []
    value = leaf_hash
    for (first, end), sibling in zip(_inclusion_ranges(index, size), proof, strict=False):
        if end <= index:
            value, side = node_hash(sibling, value), "left"
        else:
            value, side = node_hash(value, sibling), "right"
        steps.append(InclusionStep(sibling, side, first, end, value))
    return steps


# --- verification ----------------------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an RFC 9162 §2.1.3.2 inclusion proof; raise ``ProofError`` if it fails."""
    _require_proof_hash(leaf_hash, "leaf hash")
    _require_proof_hash(root, "root")
    for position, element in enumerate(proof):
        _require_proof_hash(element, f"inclusion proof element {position}")
    if size <= 0:
        raise ProofError(msg("No leaf can be included in a tree of size {size}.", size=size))
    if not 0 <= index < size:
        raise ProofError(msg("Leaf index {index} is outside a tree of {size} leaves.", index=index,
                             size=size))
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            msg("Inclusion proof for leaf {index} of {size} has {proof_count} hashes; RFC 9162 requires "
                "exactly {expected}.", index=index, size=size, proof_count=len(proof), expected=expected)
        )
    computed = _root_from_inclusion_path(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            msg("Inclusion proof for leaf {index} of {size} does not lead to the given root (computed "
                "{computed}, expected {root}).", index=index, size=size, computed=computed.hex(),
                root=root.hex())
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check an RFC 9162 §2.1.4.2 consistency proof; raise ``ProofError`` if it fails."""
    _require_proof_hash(old_root, "old root")
    _require_proof_hash(new_root, "new root")
    for position, element in enumerate(proof):
        _require_proof_hash(element, f"consistency proof element {position}")
    if old_size < 0 or new_size < 0:
        raise ProofError(msg("Tree sizes cannot be negative (old {old_size}, new {new_size}).",
                             old_size=old_size, new_size=new_size))
    if old_size > new_size:
        raise ProofError(
            msg("Old tree size {old_size} is larger than new tree size {new_size}: the log shrank, which "
                "an append-only log never does.", old_size=old_size, new_size=new_size)
        )
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ProofError(
            msg("The old root claimed for the empty tree is not SHA-256 of the empty string.")
        )
    if old_size in (0, new_size):
        if proof:
            raise ProofError(
                msg("Consistency proof from size {old_size} to {new_size} must be empty, got {proof_count} "
                    "hashes.", old_size=old_size, new_size=new_size, proof_count=len(proof))
            )
        if old_size == new_size and old_root != new_root:
            raise ProofError(
                msg("Two different roots were given for the same tree size {old_size}: the log presented a "
                    "forked history.", old_size=old_size)
            )
        return
    expected = _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(
            msg("Consistency proof from {old_size} to {new_size} has {proof_count} hashes; RFC 9162 "
                "requires exactly {expected}.", old_size=old_size, new_size=new_size,
                proof_count=len(proof), expected=expected)
        )
    computed_old, computed_new = _roots_from_consistency_path(old_size, new_size, old_root, proof)
    if computed_old != old_root:
        raise ProofError(
            msg("Consistency proof from {old_size} to {new_size} does not reproduce the old root.",
                old_size=old_size, new_size=new_size)
        )
    if computed_new != new_root:
        raise ProofError(
            msg("Consistency proof from {old_size} to {new_size} does not reproduce the new root.",
                old_size=old_size, new_size=new_size)
        )


def _require_proof_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        length = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ProofError(msg("The {what} is not a {hash_size}-byte SHA-256 digest (got {length}).",
                             what=what, hash_size=HASH_SIZE, length=length))


def _inclusion_proof_length(index: int, size: int) -> int:
    # Levels where the paths to `index` and to the last leaf diverge each need a
    # sibling; above that, one sibling per left subtree on the shared right edge.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    # The old tree's last perfect subtree is a leaf-like node at `shift` levels
    # up; the proof is that node's inclusion path, plus the node itself unless
    # it is the whole old tree (old_size a power of two).
    shift = (old_size & -old_size).bit_length() - 1
    node_index = (old_size - 1) >> shift
    node_count = ((new_size - 1) >> shift) + 1
    seed = 0 if node_index == 0 else 1
    return seed + _inclusion_proof_length(node_index, node_count)


def _root_from_inclusion_path(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps; the caller has already checked the proof length."""
    fn, sn = index, size - 1
    result = leaf
    for element in proof:
        if sn == 0:
            raise ProofError(msg("Inclusion proof for leaf {index} of {size} has too many hashes.",
                                 index=index, size=size))
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(msg("Inclusion proof for leaf {index} of {size} is too short.", index=index,
                             size=size))
    return result


def _roots_from_consistency_path(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps; the caller has already checked the proof length."""
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError(
                msg("Consistency proof from {old_size} to {new_size} has too many hashes.",
                    old_size=old_size, new_size=new_size)
            )
        if fn & 1 or fn == sn:
            old_result = node_hash(element, old_result)
            new_result = node_hash(element, new_result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_result = node_hash(new_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(msg("Consistency proof from {old_size} to {new_size} is too short.",
                             old_size=old_size, new_size=new_size))
    return old_result, new_result
