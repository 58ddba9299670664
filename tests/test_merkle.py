"""Tests for custody.merkle: RFC 9162 hashing, proofs from stored nodes, verification.

Proof vectors under tests/data/merkle are the testdata of transparency-dev/merkle
at commit 417fb0c314750d94e53942e9f92e79b6d35915db (Apache-2.0, see the README
and LICENSE there).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleArgumentError,
    NodeKey,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_at,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from domain.errors import EvidenceError, IntegrityError

VECTOR_DIR = Path(__file__).parent / "data" / "merkle"

# Vectors whose expected outcome differs from the Go library because of our documented
# policy ("Edge cases" in custody/merkle.py). Keep this list minimal.
POLICY_DIFFERENCES: dict[str, str] = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": (
        "the Go library accepts equal 12-byte placeholder roots when sizes are equal; "
        "we reject any root that is not a 32-byte SHA-256 digest"
    ),
}

# --- naive RFC 9162 reference, independent of the module under test ----------

TREE_CAPACITY = 2048
LEAVES: list[bytes] = [
    hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(TREE_CAPACITY)
]


def _ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@functools.cache
def ref_mth(start: int, end: int) -> bytes:
    """MTH(D[start:end]) over LEAVES, straight from RFC 9162 §2.1.1."""
    n = end - start
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return LEAVES[start]
    k = _ref_split(n)
    return _ref_node(ref_mth(start, start + k), ref_mth(start + k, end))


def ref_path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) from RFC 9162 §2.1.3.1 (m relative to start)."""
    n = end - start
    if n == 1:
        return []
    k = _ref_split(n)
    if m < k:
        return [*ref_path(m, start, start + k), ref_mth(start + k, end)]
    return [*ref_path(m - k, start + k, end), ref_mth(start, start + k)]


def ref_subproof(m: int, start: int, end: int, known: bool) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) from RFC 9162 §2.1.4.1 (m relative to start)."""
    n = end - start
    if m == n:
        return [] if known else [ref_mth(start, end)]
    k = _ref_split(n)
    if m <= k:
        return [*ref_subproof(m, start, start + k, known), ref_mth(start + k, end)]
    return [*ref_subproof(m - k, start + k, end, False), ref_mth(start, start + k)]


def _build_complete_nodes() -> dict[NodeKey, bytes]:
    nodes: dict[NodeKey, bytes] = {}
    level_hashes = list(LEAVES)
    level = 0
    while level_hashes:
        for index, value in enumerate(level_hashes):
            nodes[(level, index)] = value
        level_hashes = [
            _ref_node(level_hashes[i], level_hashes[i + 1])
            for i in range(0, len(level_hashes) - 1, 2)
        ]
        level += 1
    return nodes


COMPLETE_NODES = _build_complete_nodes()


def complete_nodes_within(size: int) -> dict[NodeKey, bytes]:
    return {key: value for key, value in COMPLETE_NODES.items() if (key[1] + 1) << key[0] <= size}


class RecordingFetcher:
    """Node store as it was when the tree had `size` leaves; records every call."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls: list[list[NodeKey]] = []

    def __call__(self, keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        self.calls.append(list(keys))
        return {
            key: COMPLETE_NODES[key]
            for key in keys
            if key in COMPLETE_NODES and (key[1] + 1) << key[0] <= self.size
        }

    def assert_one_small_call(self, size: int) -> None:
        assert len(self.calls) == 1, f"fetch called {len(self.calls)} times"
        keys = self.calls[0]
        assert len(keys) == len(set(keys))
        assert len(keys) <= 2 * size.bit_length(), f"{len(keys)} keys for size {size}"


def never_fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
    raise AssertionError(f"fetch must not be called, asked for {list(keys)}")


def flip_bit(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- hashing -----------------------------------------------------------------


def test_hash_domain_separation_follows_rfc_9162() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = LEAVES[0], LEAVES[1]
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    # A leaf whose data looks like two hashes must not collide with the interior node.
    assert leaf_hash(left + right) != node_hash(left, right)


def test_root_from_leaf_hashes_matches_reference_at_every_size() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    for size in range(1, 300):
        assert root_from_leaf_hashes(LEAVES[:size]) == ref_mth(0, size), size


def test_root_from_leaf_hashes_rejects_malformed_leaf() -> None:
    with pytest.raises(MerkleArgumentError, match="leaf hash 1"):
        root_from_leaf_hashes([LEAVES[0], b"short"])


# --- RFC 6962 known-answer tree (the leaves behind the vectors' happy paths) --

RFC6962_LEAF_DATA = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]


def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((VECTOR_DIR / relative).read_text())
    return loaded


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(item) for item in vector["proof"] or []]


def _rfc6962_fetcher() -> Any:
    nodes: dict[NodeKey, bytes] = {}
    frontier = CompactRange()
    for index, data in enumerate(RFC6962_LEAF_DATA):
        nodes[(0, index)] = leaf_hash(data)
        for level, node_index, value in frontier.append(leaf_hash(data)):
            nodes[(level, node_index)] = value

    def fetch(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        return {key: nodes[key] for key in keys}

    return fetch


@pytest.mark.parametrize("folder", ["0", "1", "2", "3", "4"])
def test_generated_inclusion_proof_reproduces_happy_path_vector(folder: str) -> None:
    vector = _load(f"inclusion/{folder}/happy-path.json")
    fetch = _rfc6962_fetcher()
    index, size = vector["leafIdx"], vector["treeSize"]
    assert leaf_hash(RFC6962_LEAF_DATA[index]) == _b64(vector["leafHash"])
    assert inclusion_proof(index, size, fetch) == _proof(vector)
    assert root_at(size, fetch) == _b64(vector["root"])


@pytest.mark.parametrize("folder", ["0", "1", "2", "3", "4"])
def test_generated_consistency_proof_reproduces_happy_path_vector(folder: str) -> None:
    vector = _load(f"consistency/{folder}/happy-path.json")
    fetch = _rfc6962_fetcher()
    old_size, new_size = vector["size1"], vector["size2"]
    assert consistency_proof(old_size, new_size, fetch) == _proof(vector)
    assert root_at(old_size, fetch) == _b64(vector["root1"])
    assert root_at(new_size, fetch) == _b64(vector["root2"])


# --- upstream vectors --------------------------------------------------------

VECTOR_FILES = sorted(
    path.relative_to(VECTOR_DIR).as_posix() for path in VECTOR_DIR.rglob("*.json")
)


def test_all_vector_files_are_present() -> None:
    # 196 files at the pinned upstream commit; a missing folder must not pass silently.
    assert len(VECTOR_FILES) == 196
    assert sum(name.startswith("inclusion/") for name in VECTOR_FILES) > 0
    assert sum(name.startswith("consistency/") for name in VECTOR_FILES) > 0
    for listed in POLICY_DIFFERENCES:
        assert listed in VECTOR_FILES, f"policy exception for missing vector {listed}"


@pytest.mark.parametrize("relative", VECTOR_FILES)
def test_vector(relative: str) -> None:
    vector = _load(relative)
    want_error = bool(vector["wantErr"]) != (relative in POLICY_DIFFERENCES)
    if relative.startswith("inclusion/"):

        def check() -> None:
            verify_inclusion(
                _b64(vector["leafHash"]),
                vector["leafIdx"],
                vector["treeSize"],
                _proof(vector),
                _b64(vector["root"]),
            )
    else:

        def check() -> None:
            verify_consistency(
                vector["size1"],
                vector["size2"],
                _b64(vector["root1"]),
                _b64(vector["root2"]),
                _proof(vector),
            )

    if want_error:
        with pytest.raises(ProofError):
            check()
    else:
        check()


# --- generated proofs against the naive reference -----------------------------

SMALL_LIMIT = 70


def test_inclusion_proofs_match_reference_for_all_small_trees() -> None:
    for size in range(1, SMALL_LIMIT + 1):
        root = ref_mth(0, size)
        for index in range(size):
            fetch = RecordingFetcher(size)
            proof = inclusion_proof(index, size, fetch)
            assert proof == ref_path(index, 0, size), (index, size)
            if proof:
                fetch.assert_one_small_call(size)
            else:
                assert fetch.calls == []
            verify_inclusion(LEAVES[index], index, size, proof, root)


def test_consistency_proofs_match_reference_for_all_small_trees() -> None:
    for new_size in range(1, SMALL_LIMIT + 1):
        new_root = ref_mth(0, new_size)
        for old_size in range(1, new_size):
            fetch = RecordingFetcher(new_size)
            proof = consistency_proof(old_size, new_size, fetch)
            assert proof == ref_subproof(old_size, 0, new_size, True), (old_size, new_size)
            fetch.assert_one_small_call(new_size)
            verify_consistency(old_size, new_size, ref_mth(0, old_size), new_root, proof)


def test_root_at_matches_reference_and_reads_only_the_frontier() -> None:
    assert root_at(0, never_fetch) == EMPTY_ROOT
    for size in range(1, 600):
        fetch = RecordingFetcher(size)
        assert root_at(size, fetch) == ref_mth(0, size)
        assert len(fetch.calls) == 1
        assert len(fetch.calls[0]) == size.bit_count()


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=2000))
def test_inclusion_property_and_single_bit_tamper(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    fetch = RecordingFetcher(size)
    proof = inclusion_proof(index, size, fetch)
    assert proof == ref_path(index, 0, size)
    root = ref_mth(0, size)
    verify_inclusion(LEAVES[index], index, size, proof, root)

    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1), label="target")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    leaf, bad_proof, bad_root = LEAVES[index], list(proof), root
    if target == -2:
        leaf = flip_bit(leaf, bit)
    elif target == -1:
        bad_root = flip_bit(root, bit)
    else:
        bad_proof[target] = flip_bit(proof[target], bit)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, bad_proof, bad_root)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), new_size=st.integers(min_value=1, max_value=2000))
def test_consistency_property_and_single_bit_tamper(data: st.DataObject, new_size: int) -> None:
    old_size = data.draw(st.integers(min_value=1, max_value=new_size), label="old_size")
    fetch = RecordingFetcher(new_size)
    proof = consistency_proof(old_size, new_size, fetch)
    assert proof == ref_subproof(old_size, 0, new_size, True)
    old_root, new_root = ref_mth(0, old_size), ref_mth(0, new_size)
    verify_consistency(old_size, new_size, old_root, new_root, proof)

    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1), label="target")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    bad_old, bad_new, bad_proof = old_root, new_root, list(proof)
    if target == -2:
        bad_old = flip_bit(old_root, bit)
    elif target == -1:
        bad_new = flip_bit(new_root, bit)
    else:
        bad_proof[target] = flip_bit(proof[target], bit)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, bad_old, bad_new, bad_proof)


# --- compact range -----------------------------------------------------------


def test_append_reports_exactly_the_newly_completed_nodes() -> None:
    frontier = CompactRange()
    reported: dict[NodeKey, bytes] = {}
    for index in range(600):
        completed = frontier.append(LEAVES[index])
        size = index + 1
        expected = [
            (level, index >> level, COMPLETE_NODES[(level, index >> level)])
            for level in range(1, size.bit_length())
            if size % (1 << level) == 0
        ]
        assert completed == expected, size
        for level, node_index, value in completed:
            assert (level, node_index) not in reported
            reported[(level, node_index)] = value
        assert frontier.size == size
        assert frontier.root() == ref_mth(0, size) == root_from_leaf_hashes(LEAVES[:size])
        keys = CompactRange.keys_for_size(size)
        assert frontier.hashes() == [COMPLETE_NODES[key] for key in keys]
    upper_levels = {k: v for k, v in complete_nodes_within(600).items() if k[0] >= 1}
    assert reported == upper_levels


def test_empty_compact_range_has_the_empty_root() -> None:
    frontier = CompactRange()
    assert frontier.size == 0
    assert frontier.root() == EMPTY_ROOT
    assert frontier.hashes() == []
    assert frontier.to_bytes() == b""
    assert CompactRange.keys_for_size(0) == []


def test_keys_for_size_rebuilds_the_frontier_from_stored_nodes() -> None:
    assert CompactRange.keys_for_size(13) == [(3, 0), (2, 2), (0, 12)]
    for size in range(0, 700):
        keys = CompactRange.keys_for_size(size)
        rebuilt = CompactRange(size, [COMPLETE_NODES[key] for key in keys])
        assert rebuilt.root() == ref_mth(0, size)
        # Continuing from a rebuilt frontier gives the same tree as never stopping.
        rebuilt.extend(LEAVES[size : size + 5])
        assert rebuilt.root() == ref_mth(0, size + 5)


def test_compact_range_serialisation_round_trips() -> None:
    frontier = CompactRange()
    frontier.extend(LEAVES[:1023])
    data = frontier.to_bytes()
    assert len(data) == 10 * 32
    restored = CompactRange.from_bytes(1023, data)
    assert restored.size == 1023
    assert restored.hashes() == frontier.hashes()
    assert restored.root() == ref_mth(0, 1023)


def test_extend_matches_append_and_root_at_checkpoints() -> None:
    streamed = CompactRange()
    for checkpoint in (1, 2, 3, 64, 65, 500, 1000, 2048):
        streamed.extend(iter(LEAVES[streamed.size : checkpoint]))
        assert streamed.size == checkpoint
        assert streamed.root() == ref_mth(0, checkpoint)


def test_hashes_returns_a_copy() -> None:
    frontier = CompactRange()
    frontier.extend(LEAVES[:3])
    frontier.hashes().clear()
    assert frontier.root() == ref_mth(0, 3)


@pytest.mark.parametrize(
    ("size", "hashes"),
    [
        (3, [LEAVES[0]]),  # popcount(3) == 2
        (2, [LEAVES[0], LEAVES[1]]),
        (1, [b"\x00" * 31]),
        (1, [b"\x00" * 33]),
    ],
)
def test_compact_range_rejects_inconsistent_frontier(size: int, hashes: list[bytes]) -> None:
    with pytest.raises(IntegrityError):
        CompactRange(size, hashes)


def test_compact_range_rejects_bad_serialisation_and_arguments() -> None:
    with pytest.raises(IntegrityError, match="must be 64 bytes"):
        CompactRange.from_bytes(3, b"\x00" * 63)
    with pytest.raises(IntegrityError):
        CompactRange.from_bytes(4, b"\x00" * 64)
    with pytest.raises(MerkleArgumentError):
        CompactRange(-1)
    with pytest.raises(MerkleArgumentError):
        CompactRange.keys_for_size(-1)
    frontier = CompactRange()
    with pytest.raises(MerkleArgumentError, match="32-byte"):
        frontier.append(b"\x00" * 31)
    assert frontier.size == 0


def test_extend_stops_at_a_malformed_leaf_and_keeps_a_consistent_state() -> None:
    frontier = CompactRange()
    with pytest.raises(MerkleArgumentError, match="leaf hash 5"):
        frontier.extend([*LEAVES[:5], b"bad", LEAVES[5]])
    assert frontier.size == 5
    assert frontier.root() == ref_mth(0, 5)
    frontier.extend(LEAVES[5:9])
    assert frontier.root() == ref_mth(0, 9)


def test_streaming_in_batches_gives_the_reference_root() -> None:
    # Speed is measured in bench/custody.py, not here; this checks the batched path.
    leaves = LEAVES * 49
    frontier = CompactRange()
    for start in range(0, len(leaves), 1000):
        frontier.extend(leaves[start : start + 1000])
    assert frontier.size == len(leaves)
    assert frontier.root() == root_from_leaf_hashes(leaves)


# --- edge-case policy (see "Edge cases" in custody/merkle.py) -----------------


def _inclusion_case(index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    return LEAVES[index], ref_path(index, 0, size), ref_mth(0, size)


def test_errors_are_project_errors() -> None:
    assert issubclass(ProofError, IntegrityError)
    assert issubclass(MerkleArgumentError, EvidenceError)
    assert issubclass(MerkleArgumentError, ValueError)


def test_inclusion_in_empty_tree_is_impossible() -> None:
    with pytest.raises(ProofError, match="size 0"):
        verify_inclusion(LEAVES[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(MerkleArgumentError, match="empty tree"):
        inclusion_proof(0, 0, never_fetch)


@pytest.mark.parametrize("index", [-1, 7, 8, 2**64 - 1])
def test_inclusion_index_outside_tree(index: int) -> None:
    leaf, proof, root = _inclusion_case(3, 7)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(leaf, index, 7, proof, root)
    with pytest.raises(MerkleArgumentError, match="not in a tree of 7"):
        inclusion_proof(index, 7, never_fetch)


def test_single_leaf_tree_has_empty_inclusion_proof() -> None:
    assert inclusion_proof(0, 1, never_fetch) == []
    verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    with pytest.raises(ProofError, match="requires exactly 0"):
        verify_inclusion(LEAVES[0], 0, 1, [LEAVES[0]], LEAVES[0])


@pytest.mark.parametrize("where", ["leaf", "root", "proof"])
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_inclusion_rejects_hashes_that_are_not_32_bytes(where: str, length: int) -> None:
    leaf, proof, root = _inclusion_case(5, 11)
    bad = b"\x00" * length
    if where == "leaf":
        leaf = bad
    elif where == "root":
        root = bad
    else:
        proof[1] = bad
    with pytest.raises(ProofError, match="32-byte"):
        verify_inclusion(leaf, 5, 11, proof, root)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p[:-1],  # truncated
        lambda p: [*p, p[-1]],  # trailing element
        lambda p: [EMPTY_ROOT, *p],  # leading element
        lambda p: [],
    ],
    ids=["truncated", "trailing", "leading", "empty"],
)
def test_inclusion_rejects_wrong_proof_length(mutate: Any) -> None:
    leaf, proof, root = _inclusion_case(5, 11)
    with pytest.raises(ProofError, match="requires exactly"):
        verify_inclusion(leaf, 5, 11, mutate(proof), root)


def test_inclusion_rejects_wrong_index_or_size_with_a_valid_proof() -> None:
    leaf, proof, root = _inclusion_case(5, 11)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, 4, 11, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, 5, 7, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, 5, 6, proof, root)


def test_inclusion_proof_binds_the_root_not_the_size() -> None:
    # Documented limitation: leaf 5's path has the same shape in trees of 11, 12 and
    # 16 leaves, so the size must come from the same signed checkpoint as the root.
    leaf, proof, root = _inclusion_case(5, 11)
    for same_shape_size in (12, 16):
        verify_inclusion(leaf, 5, same_shape_size, proof, root)


def test_inclusion_root_mismatch_names_the_failed_check() -> None:
    leaf, proof, _ = _inclusion_case(5, 11)
    with pytest.raises(ProofError, match="does not lead to the given root"):
        verify_inclusion(leaf, 5, 11, proof, ref_mth(0, 10))


def test_consistency_old_larger_than_new() -> None:
    with pytest.raises(ProofError, match="larger than new tree size"):
        verify_consistency(5, 4, ref_mth(0, 5), ref_mth(0, 4), [])
    with pytest.raises(MerkleArgumentError, match="larger than new tree size"):
        consistency_proof(5, 4, never_fetch)


def test_consistency_negative_sizes() -> None:
    with pytest.raises(ProofError, match="negative"):
        verify_consistency(-1, 4, EMPTY_ROOT, ref_mth(0, 4), [])
    with pytest.raises(MerkleArgumentError, match="negative"):
        consistency_proof(-1, 4, never_fetch)


@pytest.mark.parametrize("size", [0, 1, 6, 8])
def test_consistency_equal_sizes(size: int) -> None:
    root = ref_mth(0, size)
    assert consistency_proof(size, size, never_fetch) == []
    verify_consistency(size, size, root, root, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(size, size, root, root, [root])
    other = flip_bit(root, 0)
    with pytest.raises(ProofError):
        verify_consistency(size, size, root, other, [])
    with pytest.raises(ProofError):
        verify_consistency(size, size, other, root, [])


def test_consistency_equal_sizes_rejects_placeholder_roots() -> None:
    placeholder = b"don't care 2"
    with pytest.raises(ProofError, match="32-byte"):
        verify_consistency(1, 1, placeholder, placeholder, [])


def test_consistency_equal_nonzero_sizes_different_roots_is_a_fork() -> None:
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(3, 3, ref_mth(0, 3), node_hash(LEAVES[9], LEAVES[9]), [])


def test_consistency_from_empty_tree() -> None:
    assert consistency_proof(0, 9, never_fetch) == []
    # Every tree extends the empty tree, so any well-formed new root is accepted...
    verify_consistency(0, 9, EMPTY_ROOT, ref_mth(0, 9), [])
    verify_consistency(0, 9, EMPTY_ROOT, b"\x07" * 32, [])
    # ...but only with the true empty-tree root and no proof elements.
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 9, ref_mth(0, 1), ref_mth(0, 9), [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(0, 9, EMPTY_ROOT, ref_mth(0, 9), [EMPTY_ROOT])
    with pytest.raises(ProofError, match="32-byte"):
        verify_consistency(0, 9, EMPTY_ROOT, b"short", [])


@pytest.mark.parametrize("where", ["old", "new", "proof"])
@pytest.mark.parametrize("length", [0, 31, 33])
def test_consistency_rejects_hashes_that_are_not_32_bytes(where: str, length: int) -> None:
    old_root, new_root = ref_mth(0, 6), ref_mth(0, 13)
    proof = ref_subproof(6, 0, 13, True)
    bad = b"\x01" * length
    if where == "old":
        old_root = bad
    elif where == "new":
        new_root = bad
    else:
        proof[0] = bad
    with pytest.raises(ProofError, match="32-byte"):
        verify_consistency(6, 13, old_root, new_root, proof)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p[:-1],
        lambda p: [*p, p[0]],
        lambda p: [EMPTY_ROOT, *p],
        lambda p: [],
    ],
    ids=["truncated", "trailing", "leading", "empty"],
)
@pytest.mark.parametrize(("old_size", "new_size"), [(6, 13), (4, 13), (1, 2), (7, 8)])
def test_consistency_rejects_wrong_proof_length(mutate: Any, old_size: int, new_size: int) -> None:
    proof = ref_subproof(old_size, 0, new_size, True)
    with pytest.raises(ProofError, match="requires exactly"):
        verify_consistency(
            old_size, new_size, ref_mth(0, old_size), ref_mth(0, new_size), mutate(proof)
        )


def test_consistency_swapped_roots_fail() -> None:
    proof = ref_subproof(6, 0, 13, True)
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(6, 13, ref_mth(0, 13), ref_mth(0, 6), proof)


def test_consistency_detects_rewritten_history() -> None:
    # A log that changed leaf 2 after publishing the size-6 root cannot prove consistency.
    forged_leaves = list(LEAVES[:13])
    forged_leaves[2] = leaf_hash(b"forged")
    forged_new_root = root_from_leaf_hashes(forged_leaves)
    forged_nodes = {(0, i): h for i, h in enumerate(forged_leaves)}
    frontier = CompactRange()
    for value in forged_leaves:
        forged_nodes.update({(lvl, idx): h for lvl, idx, h in frontier.append(value)})
    proof = consistency_proof(6, 13, lambda keys: {k: forged_nodes[k] for k in keys})
    with pytest.raises(ProofError):
        verify_consistency(6, 13, ref_mth(0, 6), forged_new_root, proof)


# --- node store failures -----------------------------------------------------


def test_missing_stored_node_is_an_integrity_error_not_a_proof_error() -> None:
    def incomplete(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        return {key: COMPLETE_NODES[key] for key in keys if key != (0, 10)}

    with pytest.raises(IntegrityError, match=r"no hash for subtree \(level 0, index 10\)") as err:
        inclusion_proof(3, 11, incomplete)
    assert not isinstance(err.value, ProofError)
    with pytest.raises(IntegrityError):
        root_at(11, incomplete)


def test_malformed_stored_node_is_an_integrity_error() -> None:
    def truncated(keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        return {key: COMPLETE_NODES[key][:16] for key in keys}

    with pytest.raises(IntegrityError, match="not 32 bytes"):
        consistency_proof(6, 13, truncated)
