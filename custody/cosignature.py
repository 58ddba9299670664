"""C2SP tlog-cosignature, the Ed25519 `cosignature/v1` type (c2sp.org/tlog-cosignature).

A cosignature is a note signature line on a checkpoint whose key id is
SHA-256(name || "\\n" || 0x04 || public key)[:4] and whose signature is a
``timestamped_signature``: an 8-byte big-endian POSIX time, then the Ed25519 signature of

    cosignature/v1
    time <timestamp>
    <the checkpoint's note text, final newline included>

It says: as of that time, this is the largest consistent tree the cosigner has observed
for the log named by the origin line.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from custody.note import (
    NoteError,
    NoteKeyError,
    NoteSignature,
    is_valid_key_name,
    parse_note,
)
from domain.messages import msg

COSIGNATURE_V1 = 0x04
HEADER = b"cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
SIGNATURE_SIZE = 8 + 64
PRIVATE_PREFIX = "PRIVATE+KEY+"


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_V1]) + public_key).digest()[:4]


def signed_message(note_text: str, timestamp: int) -> bytes:
    """The bytes a cosigner signs for the checkpoint note text ``note_text``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(msg("cosignature time {timestamp} is out of range", timestamp=timestamp))
    return HEADER + f"time {timestamp}\n".encode() + note_text.encode("utf-8")


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key: name and Ed25519 key, as a vkey with type 0x04."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name) or len(self.public_key) != 32:
            raise NoteKeyError(msg("cosigner key {name!r} is not a name and an Ed25519 key", name=self.name))

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, self.public_key)

    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignerKey:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteKeyError(msg("a witness key is <name>+<hex key id>+<base64 key>"),
                               hint=msg("copy the whole key `evidence witness key` printed"))
        name, key_id_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
            raise NoteKeyError(msg("witness key {name!r} is not an Ed25519 cosignature/v1 key (type 0x04)",
                                   name=name),
                               hint=msg("copy the key `evidence witness key` printed"))
        key = cls(name, raw[1:])
        if key.key_id.hex() != key_id_hex:
            raise NoteKeyError(msg("witness key {name!r}: key id {key_id_hex} does not match the key",
                                   name=name, key_id_hex=key_id_hex),
                               hint=msg("the key string is corrupt or was edited; obtain it again"))
        return key

    def timestamp_of(self, note_text: str, signature: NoteSignature) -> int | None:
        """The time of ``signature`` if it is this key's valid cosignature of the note text;
        None if the line is another key's; NoteError if it is this key's and does not verify."""
        if signature.name != self.name or signature.key_id != self.key_id:
            return None
        if len(signature.signature) != SIGNATURE_SIZE:
            raise NoteError(msg("the cosignature by {name!r} is not a timestamped signature",
                                name=self.name))
        (timestamp,) = struct.unpack(">Q", signature.signature[:8])
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature.signature[8:], signed_message(note_text, timestamp))
        except InvalidSignature:
            raise NoteError(msg("the cosignature by {name!r} does not verify: the checkpoint or the "
                                "cosignature was altered", name=self.name),
                            hint=msg("do not rely on this checkpoint")) from None
        return int(timestamp)


class Cosigner:
    """A witness's signing key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.key = CosignerKey(name, private_key.public_key().public_bytes_raw())
        self._private = private_key

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    def sign(self, note_text: str, timestamp: int) -> NoteSignature:
        signature = self._private.sign(signed_message(note_text, timestamp))
        return NoteSignature(self.key.name, self.key.key_id, struct.pack(">Q", timestamp) + signature)

    def secret(self) -> str:
        """``PRIVATE+KEY+<name>+<key id>+base64(0x04 || seed)``; keep it in a 0600 file."""
        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
        return f"{PRIVATE_PREFIX}{self.key.name}+{self.key.key_id.hex()}+{encoded}"

    @classmethod
    def from_secret(cls, text: str) -> Cosigner:
        if not text.startswith(PRIVATE_PREFIX):
            raise NoteKeyError(msg("not a witness signing key"))
        name, key_id_hex, encoded = text[len(PRIVATE_PREFIX):].strip().split("+", 2)
        raw = base64.b64decode(encoded)
        if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
            raise NoteKeyError(msg("witness signing key {name!r} is not an Ed25519 cosigner key", name=name))
        cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if cosigner.key.key_id.hex() != key_id_hex:
            raise NoteKeyError(msg("witness signing key {name!r}: the key id does not match", name=name))
        return cosigner


def cosignatures(note: str, keys: Sequence[CosignerKey]) -> dict[str, int]:
    """Witness name -> cosignature time, for every line of ``note`` by one of ``keys``.
    Lines of other keys are ignored; a line of a known key that does not verify is a
    NoteError (the note was altered)."""
    parsed = parse_note(note)
    found: dict[str, int] = {}
    for signature in parsed.signatures:
        for key in keys:
            timestamp = key.timestamp_of(parsed.text, signature)
            if timestamp is not None:
                found[key.name] = timestamp
    return found

