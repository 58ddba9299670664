"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A signed note is UTF-8 text ending in a newline, a blank line, then one or
more lines ``— <key name> <base64(key id || signature)>``. The key id is the
first four bytes of SHA-256(name || 0x0A || 0x01 || public key). Parsing is
strict (canonical base64, no stray control characters) so that no edit of a
note's bytes can leave it verifying as the original text.

Key strings follow golang.org/x/mod/sumdb/note:
verifier ``<name>+<hex key id>+<base64(0x01 || public key)>`` and signer
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from domain.errors import AlreadyExists, ConfigError, IntegrityError
from domain.messages import listing, msg

ED25519_ALGORITHM = 0x01
KEY_ID_SIZE = 4
ED25519_PUBLIC_KEY_SIZE = 32
ED25519_SEED_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
# The spec asks verifiers to cap signatures and to accept at least 16.
MAX_SIGNATURES = 100

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"


class NoteError(IntegrityError):
    """A signed note is malformed, carries a bad signature, or no trusted key signed it."""


class NoteKeyError(NoteError):
    """A signer or verifier key string is malformed or its key id does not match its key."""


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and contain no '+', no Unicode space and no control character."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in name)
    )


def compute_key_id(name: str, public_key: bytes) -> bytes:
    """First four bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_ALGORITHM]) + public_key
    ).digest()
    return digest[:KEY_ID_SIZE]


def _decode_canonical_base64(encoded: str) -> bytes | None:
    """Strict standard base64: the only accepted spelling of the bytes, else None."""
    try:
        decoded = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return None
    # Non-zero padding bits decode to the same bytes; refuse them so that a
    # bit flip in a signature line can never leave the note verifying.
    if base64.b64encode(decoded).decode("ascii") != encoded:
        return None
    return decoded


def _parse_key_id_hex(key_id_hex: str) -> bytes | None:
    if len(key_id_hex) != 2 * KEY_ID_SIZE or key_id_hex != key_id_hex.lower():
        return None
    try:
        return bytes.fromhex(key_id_hex)
    except ValueError:
        return None


@runtime_checkable
class Signer(Protocol):
    """Something that signs note text with an Ed25519 key (a file key, an HSM, a KMS)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        ...

    def verifier_key(self) -> str:
        """Return the public verifier key string ``<name>+<hex key id>+<base64>``."""
        ...


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 public key under a key name."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteKeyError(
                msg("Verifier key name {name!r} is not a valid note key name.", name=self.name),
                hint=msg("Use a non-empty name without '+', spaces or control characters."),
            )
        if len(self.public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise NoteKeyError(
                msg("Verifier key {name!r} has a {public_key_count}-byte public key; Ed25519 public keys "
                    "are {ed25519_public_key_size} bytes.", name=self.name,
                    public_key_count=len(self.public_key), ed25519_public_key_size=ED25519_PUBLIC_KEY_SIZE)
            )
        if self.key_id != compute_key_id(self.name, self.public_key):
            raise NoteKeyError(
                msg("Verifier key {name!r}: key id {key_id} does not match the name and public key.",
                    name=self.name, key_id=self.key_id.hex()),
                hint=msg("The verifier key string is corrupt or was edited; obtain it again."),
            )

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Verifier:
        """Build a verifier, computing the key id from the name and public key."""
        return cls(name=name, key_id=compute_key_id(name, public_key), public_key=public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteKeyError(
                msg("Verifier key is not of the form <name>+<hex key id>+<base64 key>."),
                hint=msg("Copy the whole verifier key string printed when the key was created."),
            )
        name, key_id_hex, key_b64 = parts
        key_id = _parse_key_id_hex(key_id_hex)
        if key_id is None:
            raise NoteKeyError(
                msg("Verifier key {name!r}: key id {key_id_hex!r} is not 8 lowercase hex digits.",
                    name=name, key_id_hex=key_id_hex)
            )
        key = _decode_canonical_base64(key_b64)
        if key is None or len(key) != 1 + ED25519_PUBLIC_KEY_SIZE:
            raise NoteKeyError(
                msg("Verifier key {name!r}: the key part is not base64 of 33 bytes (algorithm byte and "
                    "Ed25519 public key).", name=name)
            )
        if key[0] != ED25519_ALGORITHM:
            raise NoteKeyError(
                msg("Verifier key {name!r} uses algorithm {key:#04x}; only Ed25519 (0x01) is supported.",
                    name=name, key=key[0])
            )
        return cls(name=name, key_id=key_id, public_key=key[1:])

    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer:
    """A signer holding an Ed25519 private key in memory. Never prints the key."""

    __slots__ = ("_key_id", "_name", "_private_key", "_public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise NoteKeyError(
                msg("Signer key name {name!r} is not a valid note key name.", name=name),
                hint=msg("Use a non-empty name without '+', spaces or control characters, for example "
                         "'example.org/custody-log'."),
            )
        self._name = name
        self._private_key = private_key
        self._public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = compute_key_id(name, self._public_key)
        # The key pair is checked once here, so sign_note need not verify every
        # signature of this in-process key (it still does for HSM/KMS signers).
        probe = b"evidence custody signer self-test\n"
        if not self.verifier().verify(probe, self.sign(probe)):
            raise NoteKeyError(msg("Signer key {name!r} does not verify its own signature.", name=name),
                               hint=msg("The key material is corrupt; restore it from a backup."))

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        """A new signer with a fresh random key."""
        if not is_valid_key_name(name):
            raise ConfigError(
                msg("Key name {name!r} is not a valid note key name.", name=name),
                hint=msg("Use a non-empty name without '+', spaces or control characters, for example "
                         "'example.org/custody-log'."),
            )
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(cls, signer_key: str) -> Ed25519Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``.

        Error messages never repeat the key material.
        """
        text = signer_key.strip()
        if not text.startswith(PRIVATE_KEY_PREFIX):
            raise NoteKeyError(
                msg("Signer key does not start with PRIVATE+KEY+."),
                hint=msg("Use the signer key string written when the key was generated."),
            )
        parts = text[len(PRIVATE_KEY_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteKeyError(
                msg("Signer key is not of the form PRIVATE+KEY+<name>+<hex key id>+<base64 key>.")
            )
        name, key_id_hex, key_b64 = parts
        key_id = _parse_key_id_hex(key_id_hex)
        if key_id is None:
            raise NoteKeyError(
                msg("Signer key {name!r}: key id {key_id_hex!r} is not 8 lowercase hex digits.", name=name,
                    key_id_hex=key_id_hex)
            )
        key = _decode_canonical_base64(key_b64)
        if key is None or len(key) != 1 + ED25519_SEED_SIZE:
            raise NoteKeyError(
                msg("Signer key {name!r}: the key part is not base64 of 33 bytes (algorithm byte and "
                    "Ed25519 seed).", name=name)
            )
        if key[0] != ED25519_ALGORITHM:
            raise NoteKeyError(
                msg("Signer key {name!r} uses algorithm {key:#04x}; only Ed25519 (0x01) is supported.",
                    name=name, key=key[0])
            )
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
        if signer.key_id != key_id:
            raise NoteKeyError(
                msg("Signer key {name!r}: key id {key_id_hex} does not match the name and key.", name=name,
                    key_id_hex=key_id_hex),
                hint=msg("The signer key is corrupt or was edited; restore it from a backup."),
            )
        return signer

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def verifier(self) -> Verifier:
        return Verifier(name=self._name, key_id=self._key_id, public_key=self._public_key)

    def verifier_key(self) -> str:
        return self.verifier().vkey()

    def signer_key(self) -> str:
        """The secret ``PRIVATE+KEY+...`` string; store it only in a 0600 file."""
        seed = self._private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + seed).decode("ascii")
        return f"{PRIVATE_KEY_PREFIX}{self._name}+{self._key_id.hex()}+{encoded}"

    def __repr__(self) -> str:
        return f"Ed25519Signer(name={self._name!r}, key_id={self._key_id.hex()!r})"


def write_signer_key_file(path: Path, signer: Ed25519Signer) -> None:
    """Write the signer key to a new file readable only by its owner (mode 0600).

    The file appears complete or not at all, and an existing file is never
    replaced: losing a log key would orphan every checkpoint it signed.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # umask cannot widen it, but may narrow it oddly
            os.write(descriptor, (signer.signer_key() + "\n").encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            # link() fails if the target exists, unlike rename(): no overwrite race.
            os.link(temporary, path)
        except FileExistsError:
            raise AlreadyExists(
                msg("Signer key file {path} already exists; refusing to overwrite it.", path=path),
                hint=msg("Move the existing key aside deliberately, or choose another path."),
            ) from None
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        raise ConfigError(
            msg("Could not write signer key file {path}: {strerror}.", path=path, strerror=error.strerror),
            hint=msg("Check that the directory exists and is writable."),
        ) from error
    finally:
        temporary.unlink(missing_ok=True)


def load_signer_key_file(path: Path) -> Ed25519Signer:
    """Read a signer key file, refusing one that group or others can access."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise ConfigError(msg("Could not open signer key file {path}: {strerror}.", path=path,
                              strerror=error.strerror)) from error
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ConfigError(msg("Signer key file {path} is not a regular file.", path=path))
        permissions = stat.S_IMODE(status.st_mode)
        if permissions & 0o077:
            raise ConfigError(
                msg("Signer key file {path} has mode {permissions:04o}: group or others can access the "
                    "private key.", path=path, permissions=permissions),
                hint=msg("Run 'chmod 600 {path}' and consider rotating the key if others read it.",
                         path=path),
            )
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            content = handle.read(64 * 1024)
    finally:
        os.close(descriptor)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteKeyError(msg("Signer key file {path} is not UTF-8 text.", path=path)) from None
    return Ed25519Signer.from_signer_key(text)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id, signature bytes (without the id)."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class SignedNote:
    """A parsed, not yet verified, signed note."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def serialize(self) -> str:
        """The note in wire form: text, blank line, signature lines."""
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def _check_characters(note: str, what: str) -> None:
    found = _CONTROL.search(note)
    if found:
        raise NoteError(
            msg("{what} contains control character {ord:#04x}; only newline is allowed.", what=what,
                ord=ord(found.group()))
        )


def _check_text(text: str) -> None:
    if not text:
        raise NoteError(msg("Note text is empty; a signed note needs at least one line of text."))
    if not text.endswith("\n"):
        raise NoteError(msg("Note text does not end with a newline."))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(msg("Note text is not valid UTF-8 (it contains a lone surrogate).")) from None
    _check_characters(text, "Note text")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` with every signer and return the complete signed note.

    Each external signer's signature (HSM, KMS) is checked against its own
    verifier key before it is returned, so a faulty device or a mismatched key
    cannot publish a note that nobody can verify; an in-process
    :class:`Ed25519Signer` checked its key pair when it was made.
    """
    _check_text(text)
    if not signers:
        raise NoteError(msg("No signer given; a signed note needs at least one signature."))
    message = text.encode("utf-8")
    seen: set[tuple[str, bytes]] = set()
    signatures: list[NoteSignature] = []
    for signer in signers:
        name, key_id = signer.name, bytes(signer.key_id)
        if (name, key_id) in seen:
            raise NoteError(msg("Signer {name!r} ({key_id}) was given twice.", name=name,
                                key_id=key_id.hex()))
        seen.add((name, key_id))
        if isinstance(signer, Ed25519Signer):  # name and key pair checked when it was made
            signature = signer.sign(message)
        else:
            signature = _sign_checked(signer, message)
        signatures.append(NoteSignature(name=name, key_id=key_id, signature=signature))
    return SignedNote(text=text, signatures=tuple(signatures)).serialize()


def _sign_checked(signer: Signer, message: bytes) -> bytes:
    """Sign with an external signer and check its signature with its own verifier key."""
    name, key_id = signer.name, bytes(signer.key_id)
    if not is_valid_key_name(name):
        raise NoteError(msg("Signer key name {name!r} is not a valid note key name.", name=name))
    verifier = Verifier.from_vkey(signer.verifier_key())
    if (verifier.name, verifier.key_id) != (name, key_id):
        raise NoteError(
            msg("Signer {name!r} reports key id {key_id} but its verifier key is {verifier!r} ({key_id2}).",
                name=name, key_id=key_id.hex(), verifier=verifier.name, key_id2=verifier.key_id.hex()),
            hint=msg("The signer is misconfigured; check its key name and key."),
        )
    signature = bytes(signer.sign(message))
    if not verifier.verify(message, signature):
        raise NoteError(
            msg("Signer {name!r} ({key_id}) produced a signature that does not verify with its own public "
                "key.", name=name, key_id=key_id.hex()),
            hint=msg("The signing key or device is faulty; do not publish with it."),
        )
    return signature


def _as_text(note: str | bytes) -> str:
    if isinstance(note, bytes):
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError(msg("Signed note is not valid UTF-8.")) from None
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(msg("Signed note is not valid UTF-8 (it contains a lone surrogate).")) from None
    return note


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(
            msg("Signature line {line!r} does not start with an em dash (U+2014) and a space.",
                line=line[:80])
        )
    name, separator, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not separator:
        raise NoteError(
            msg("Signature line {line!r} has no space between key name and signature.", line=line[:80])
        )
    if not is_valid_key_name(name):
        raise NoteError(msg("Signature line key name {name!r} is not a valid note key name.",
                            name=name[:80]))
    decoded = _decode_canonical_base64(encoded)
    if decoded is None:
        raise NoteError(msg("Signature by {name!r} is not canonical standard base64.", name=name))
    if len(decoded) <= KEY_ID_SIZE:
        raise NoteError(
            msg("Signature by {name!r} is {decoded_count} bytes; it must hold a 4-byte key id and a "
                "signature.", name=name, decoded_count=len(decoded))
        )
    return NoteSignature(name=name, key_id=decoded[:KEY_ID_SIZE], signature=decoded[KEY_ID_SIZE:])


def parse_note(note: str | bytes) -> SignedNote:
    """Split a signed note into text and signature lines, checking the format strictly.

    Signatures are not verified here; use :func:`open_note`.
    """
    content = _as_text(note)
    _check_characters(content, "Signed note")
    if not content.endswith("\n"):
        raise NoteError(msg("Signed note does not end with a newline."))
    # The text ends at the last blank line; signature lines are never empty.
    separator = content.rfind("\n\n")
    if separator < 0:
        raise NoteError(msg("Signed note has no blank line between the text and the signatures."))
    text = content[: separator + 1]
    signature_block = content[separator + 2 :]
    if not signature_block:
        raise NoteError(msg("Signed note has no signature lines after the blank line."))
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(
            msg("Signed note has {lines_count} signature lines; at most {max_signatures} are accepted.",
                lines_count=len(lines), max_signatures=MAX_SIGNATURES)
        )
    signatures = tuple(_parse_signature_line(line) for line in lines)
    return SignedNote(text=text, signatures=signatures)


def _index_verifiers(verifiers: Sequence[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        identity = (verifier.name, verifier.key_id)
        existing = known.get(identity)
        if existing is not None and existing.public_key != verifier.public_key:
            raise NoteKeyError(
                msg("Two trusted keys share the name {verifier!r} and key id {key_id}.",
                    verifier=verifier.name, key_id=verifier.key_id.hex()),
                hint=msg("Remove one of them from the trusted verifier keys."),
            )
        known[identity] = verifier
    return known


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> str:
    """Return the note text if a trusted key signed it.

    Signatures from unknown keys (name and key id not both matching a trusted
    key) are ignored, as the spec requires. Every signature from a trusted key
    must verify; a single failure rejects the whole note.
    """
    parsed = parse_note(note)
    known = _index_verifiers(verifiers)
    message = parsed.text.encode("utf-8")
    verified_by: list[str] = []
    for signature in parsed.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, signature.signature):
            raise NoteError(
                msg("Signature by trusted key {signature!r} ({key_id}) does not verify: the note was "
                    "altered or forged.", signature=signature.name, key_id=signature.key_id.hex()),
                hint=msg("Do not rely on this note; fetch it again from the source."),
            )
        verified_by.append(signature.name)
    if not verified_by:
        names = listing(sorted({f"{s.name} ({s.key_id.hex()})" for s in parsed.signatures}))
        raise NoteError(
            msg("Signed note is signed by no known key (signers: {names}).", names=names),
            hint=msg("Check that the right verifier key is configured."),
        )
    return parsed.text
