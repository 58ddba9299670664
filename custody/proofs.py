"""Check proof documents offline: a proof is only as good as the signed root it reaches."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from custody.checkpoint import Checkpoint, open_checkpoint
from custody.merkle import ProofError, verify_consistency, verify_inclusion
from custody.note import Verifier


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofError(f"{what} is not a list of hex hashes")
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ProofError(f"{what} holds a value that is not hex") from None


def check_inclusion_document(doc: Mapping[str, Any], verifier: Verifier) -> Checkpoint:
    """Verify ``evidence log prove --json`` output; returns the signed checkpoint it reaches."""
    checkpoint = open_checkpoint(str(doc.get("checkpoint", "")), verifier)
    index, size = doc.get("index"), doc.get("size")
    if not isinstance(index, int) or not isinstance(size, int) or size != checkpoint.size:
        raise ProofError(f"proof size {size} is not the signed checkpoint's size "
                         f"{checkpoint.size}")
    try:
        leaf = base64.b64decode(str(doc.get("leaf", "")), validate=True)
    except binascii.Error:
        raise ProofError("the entry bytes are not valid base64") from None
    leaf_hash = hashlib.sha256(b"\x00" + leaf).digest()
    if doc.get("leaf_hash") is not None and doc.get("leaf_hash") != leaf_hash.hex():
        raise ProofError("leaf_hash is not the hash of the entry bytes")
    verify_inclusion(leaf_hash, index, size, _hashes(doc.get("proof"), "proof"),
                     checkpoint.root_hash)
    return checkpoint


def check_consistency_document(doc: Mapping[str, Any], verifier: Verifier) -> Checkpoint:
    old = open_checkpoint(str(doc.get("old_checkpoint", "")), verifier)
    new = open_checkpoint(str(doc.get("new_checkpoint", "")), verifier)
    if old.origin != new.origin:
        raise ProofError("the two checkpoints come from different logs")
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash,
                       _hashes(doc.get("proof"), "proof"))
    return new
