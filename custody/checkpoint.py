"""C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed head of the custody log.

The checkpoint is a signed note whose text is exactly::

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n]...
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from custody.note import NoteError, Signer, Verifier, open_note, sign_note
from domain.messages import msg

ROOT_HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1  # interoperable with uint64 tree sizes elsewhere
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(NoteError):
    """A checkpoint body is malformed or is not the checkpoint that was expected."""


def _check_line(value: str, what: str) -> None:
    if not value:
        raise CheckpointError(msg("Checkpoint {what} is empty.", what=what))
    if any(ord(character) < 0x20 for character in value):
        raise CheckpointError(
            msg("Checkpoint {what} {value!r} contains a newline or control character.", what=what,
                value=value[:80])
        )


@dataclass(frozen=True)
class Checkpoint:
    """A Merkle tree head: the log's origin, its size, and its RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(msg("Checkpoint size {size!r} is not an integer.", size=self.size))
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(msg("Checkpoint size {size} is outside 0..2^64-1.", size=self.size))
        if len(self.root_hash) != ROOT_HASH_SIZE:
            raise CheckpointError(
                msg("Checkpoint root hash is {root_hash_count} bytes; it must be {root_hash_size} "
                    "(SHA-256).", root_hash_count=len(self.root_hash), root_hash_size=ROOT_HASH_SIZE)
            )
        for extension in self.extensions:
            _check_line(extension, "extension line")

    def body(self) -> str:
        """The note text: origin, size, base64 root, then any extension lines."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly; any deviation raises :class:`CheckpointError`."""
    if not text.endswith("\n"):
        raise CheckpointError(msg("Checkpoint body does not end with a newline."))
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            msg("Checkpoint body has {lines_count} line(s); it needs origin, tree size and root hash.",
                lines_count=len(lines))
        )
    origin, size_text, root_text, *extensions = lines
    if not _TREE_SIZE.fullmatch(size_text):
        raise CheckpointError(
            msg("Checkpoint tree size {size_text!r} is not a decimal number without sign or leading zeros.",
                size_text=size_text[:40])
        )
    try:
        root_hash = base64.b64decode(root_text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise CheckpointError(msg("Checkpoint root hash {root_text!r} is not base64.",
                                  root_text=root_text[:80])) from None
    if base64.b64encode(root_hash).decode("ascii") != root_text:
        raise CheckpointError(msg("Checkpoint root hash {root_text!r} is not canonical base64.",
                                  root_text=root_text[:80]))
    return Checkpoint(
        origin=origin, size=int(size_text), root_hash=root_hash, extensions=tuple(extensions)
    )


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(
    note: str | bytes, verifier: Verifier, expected_origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and return it; reject a checkpoint for another log."""
    checkpoint = parse_checkpoint_body(open_note(note, [verifier]))
    if expected_origin is not None and checkpoint.origin != expected_origin:
        raise CheckpointError(
            msg("Checkpoint is for log {origin!r}, not the expected {expected_origin!r}.",
                origin=checkpoint.origin, expected_origin=expected_origin),
            hint=msg("Check that the checkpoint was fetched from the right log."),
        )
    return checkpoint
