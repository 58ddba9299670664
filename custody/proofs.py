"""Check proof documents offline: a proof is only as good as the signed root it reaches."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from custody.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from custody.merkle import InclusionStep, ProofError, inclusion_steps, verify_consistency, verify_inclusion
from custody.note import NoteError, Verifier
from domain.messages import msg


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofError(msg("{what} is not a list of hex hashes", what=what))
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ProofError(msg("{what} holds a value that is not hex", what=what)) from None


def check_inclusion_document(doc: Mapping[str, Any], verifier: Verifier) -> Checkpoint:
    """Verify ``evidence log prove --json`` output; returns the signed checkpoint it reaches."""
    checkpoint = open_checkpoint(str(doc.get("checkpoint", "")), verifier)
    index, size = doc.get("index"), doc.get("size")
    if not isinstance(index, int) or not isinstance(size, int) or size != checkpoint.size:
        raise ProofError(msg("proof size {size} is not the signed checkpoint's size {size2}", size=size,
                             size2=checkpoint.size))
    try:
        leaf = base64.b64decode(str(doc.get("leaf", "")), validate=True)
    except binascii.Error:
        raise ProofError(msg("the entry bytes are not valid base64")) from None
    leaf_hash = hashlib.sha256(b"\x00" + leaf).digest()
    if doc.get("leaf_hash") is not None and doc.get("leaf_hash") != leaf_hash.hex():
        raise ProofError(msg("leaf_hash is not the hash of the entry bytes"))
    verify_inclusion(leaf_hash, index, size, _hashes(doc.get("proof"), "proof"),
                     checkpoint.root_hash)
    return checkpoint


def check_consistency_document(doc: Mapping[str, Any], verifier: Verifier) -> Checkpoint:
    old = open_checkpoint(str(doc.get("old_checkpoint", "")), verifier)
    new = open_checkpoint(str(doc.get("new_checkpoint", "")), verifier)
    if old.origin != new.origin:
        raise ProofError(msg("the two checkpoints come from different logs"))
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash,
                       _hashes(doc.get("proof"), "proof"))
    return new


# --- proofs explained for a person, with the server's own verdict -----------------------

@dataclass(frozen=True)
class CheckpointCheck:
    """A signed checkpoint as stored, read as far as it can be, and whether its signature
    verifies with the log's key for the log's origin."""

    note: str
    origin: str | None
    size: int | None
    root_hash: bytes | None
    signature_ok: bool
    problem: str | None


def check_checkpoint(note: str, verifier: Verifier, origin: str | None) -> CheckpointCheck:
    try:
        cp = open_checkpoint(note, verifier, expected_origin=origin)
    except NoteError as exc:
        body = _unverified_body(note)
        return CheckpointCheck(note, body.origin if body else None, body.size if body else None,
                               body.root_hash if body else None, False,
                               f"the checkpoint is not validly signed by {verifier.name}: "
                               f"{exc.message}")
    return CheckpointCheck(note, cp.origin, cp.size, cp.root_hash, True, None)


def _unverified_body(note: str) -> Checkpoint | None:
    """What a note whose signature fails says, to show it (never to trust it)."""
    text, _, _ = note.partition("\n\n")
    try:
        return parse_checkpoint_body(text + "\n")
    except NoteError:
        return None


@dataclass(frozen=True)
class InclusionWalk:
    """An inclusion proof as a person follows it: the entry's bytes and their leaf hash, each
    step up to the root, the signed checkpoint that root must equal, and the verdict."""

    index: int
    size: int
    leaf: bytes
    leaf_hash: bytes  # SHA-256(0x00 || leaf), computed here from the bytes
    stored_leaf_hash: bytes  # what the log's table holds for the entry
    proof: tuple[bytes, ...]
    steps: tuple[InclusionStep, ...]
    root: bytes  # where the steps lead
    checkpoint: CheckpointCheck
    verified: bool  # every check below passed
    problems: tuple[str, ...]  # each check that failed, in words
    offline_check: str | None  # None: `evidence log check-proof` accepts the document

    def document(self) -> dict[str, Any]:
        """The proof as `evidence log prove --json` writes it (for the offline check)."""
        return {"index": self.index, "size": self.size,
                "leaf": base64.b64encode(self.leaf).decode(), "leaf_hash": self.leaf_hash.hex(),
                "proof": [node.hex() for node in self.proof], "checkpoint": self.checkpoint.note}


def explain_inclusion(index: int, size: int, leaf: bytes, stored_leaf_hash: bytes,
                      proof: Sequence[bytes], note: str, verifier: Verifier,
                      origin: str | None) -> InclusionWalk:
    """Walk an inclusion proof step by step and check it twice: as the steps show it, and as
    the offline checker (``check_inclusion_document``) does."""
    computed = hashlib.sha256(b"\x00" + leaf).digest()
    steps = tuple(inclusion_steps(computed, index, size, proof))
    root = steps[-1].result if steps else computed
    checkpoint = check_checkpoint(note, verifier, origin)
    problems: list[str] = []
    if computed != stored_leaf_hash:
        problems.append(f"the log's table holds leaf hash {stored_leaf_hash.hex()} for entry "
                        f"{index}, not the hash of its bytes ({computed.hex()}): the entry or its "
                        "hash was altered")
    if checkpoint.problem is not None:
        problems.append(checkpoint.problem)
    elif checkpoint.size != size:
        problems.append(f"the proof is for a tree of {size} entries but the checkpoint signs "
                        f"{checkpoint.size}")
    if checkpoint.root_hash is not None:
        try:
            verify_inclusion(computed, index, size, list(proof), checkpoint.root_hash)
        except ProofError as exc:
            problems.append(f"the steps do not reach the signed root: {exc.message}")
    walk = InclusionWalk(index, size, leaf, computed, stored_leaf_hash, tuple(proof), steps, root,
                         checkpoint, False, (), None)
    try:
        check_inclusion_document(walk.document(), verifier)
        offline: str | None = None
    except (ProofError, NoteError) as exc:
        offline = exc.message
    verified = not problems and offline is None
    if offline is not None and not problems:  # the two checks disagree: fail closed, say so
        problems.append(f"the offline check refuses the proof: {offline}")
    return replace(walk, verified=verified, problems=tuple(problems), offline_check=offline)


@dataclass(frozen=True)
class ConsistencyCheck:
    """Whether the signed tree of ``new`` extends the one of ``old``, and why not."""

    old: CheckpointCheck
    new: CheckpointCheck
    proof: tuple[bytes, ...]
    verified: bool
    problem: str | None


def check_consistency(old: CheckpointCheck, new: CheckpointCheck,
                      proof: Sequence[bytes]) -> ConsistencyCheck:
    """Verify ``proof`` between two checkpoints as stored (their signatures included)."""
    for which, cp in (("older", old), ("newer", new)):
        if cp.problem is not None:
            return ConsistencyCheck(old, new, tuple(proof), False, f"the {which} {cp.problem}")
    assert old.size is not None and new.size is not None  # signed: parsed
    assert old.root_hash is not None and new.root_hash is not None
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, list(proof))
    except ProofError as exc:
        return ConsistencyCheck(old, new, tuple(proof), False, exc.message)
    return ConsistencyCheck(old, new, tuple(proof), True, None)
