"""Signed notes: the Go sumdb reference vector, tamper rejection, strict parsing, key files."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.note import (
    Ed25519Signer,
    NoteError,
    NoteKeyError,
    NoteSignature,
    SignedNote,
    Signer,
    Verifier,
    compute_key_id,
    load_signer_key_file,
    open_note,
    parse_note,
    sign_note,
    write_signer_key_file,
)
from domain.errors import AlreadyExists, ConfigError

# Source: golang.org/x/mod/sumdb/note package documentation (BSD-3-Clause); see "source".
VECTOR = json.loads(
    (Path(__file__).parent / "data" / "signed-note" / "go-sumdb-note-example.json").read_text(
        encoding="utf-8"
    )
)
SIGNER_KEY: str = VECTOR["signer_key"]
VERIFIER_KEY: str = VECTOR["verifier_key"]
TEXT: str = VECTOR["text"]
SIGNED_NOTE: str = VECTOR["signed_note"]
SEED_B64 = SIGNER_KEY.split("+", 4)[4]

OTHER = Ed25519Signer.generate("example.org/other")


def vector_verifier() -> Verifier:
    return Verifier.from_vkey(VERIFIER_KEY)


# --- the reference vector -------------------------------------------------------------


def test_signer_reproduces_go_vector_byte_for_byte() -> None:
    signer = Ed25519Signer.from_signer_key(SIGNER_KEY)
    assert sign_note(TEXT, [signer]) == SIGNED_NOTE


def test_key_strings_round_trip_and_match_vector() -> None:
    signer = Ed25519Signer.from_signer_key(SIGNER_KEY)
    assert signer.signer_key() == SIGNER_KEY
    assert signer.verifier_key() == VERIFIER_KEY
    assert vector_verifier().vkey() == VERIFIER_KEY
    assert signer.name == "PeterNeumann"
    assert signer.key_id == bytes.fromhex("c74f20a3")


def test_key_id_is_truncated_sha256_of_name_newline_alg_pubkey() -> None:
    verifier = vector_verifier()
    assert compute_key_id(verifier.name, verifier.public_key) == bytes.fromhex("c74f20a3")


def test_vector_opens_with_verifier_key() -> None:
    assert open_note(SIGNED_NOTE, [vector_verifier()]) == TEXT
    assert open_note(SIGNED_NOTE.encode("utf-8"), [vector_verifier()]) == TEXT


def test_parse_vector_exposes_signature_and_reserializes() -> None:
    parsed = parse_note(SIGNED_NOTE)
    assert parsed.text == TEXT
    assert len(parsed.signatures) == 1
    (signature,) = parsed.signatures
    assert (signature.name, signature.key_id.hex(), len(signature.signature)) == (
        "PeterNeumann",
        "c74f20a3",
        64,
    )
    assert parsed.serialize() == SIGNED_NOTE


def test_ed25519_signer_satisfies_signer_protocol() -> None:
    assert isinstance(Ed25519Signer.from_signer_key(SIGNER_KEY), Signer)


# --- tampering ----------------------------------------------------------------------------


def test_every_single_bit_flip_of_the_vector_is_rejected() -> None:
    original = SIGNED_NOTE.encode("utf-8")
    verifiers = [vector_verifier()]
    for index in range(len(original)):
        for bit in range(8):
            tampered = bytearray(original)
            tampered[index] ^= 1 << bit
            with pytest.raises(NoteError):
                open_note(bytes(tampered), verifiers)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_byte_replacement_insertion_or_deletion_is_rejected(data: st.DataObject) -> None:
    original = SIGNED_NOTE.encode("utf-8")
    index = data.draw(st.integers(0, len(original) - 1))
    edit = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    if edit == "replace":
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[index]))
        tampered = original[:index] + bytes([byte]) + original[index + 1 :]
    elif edit == "insert":
        byte = data.draw(st.integers(0, 255))
        tampered = original[:index] + bytes([byte]) + original[index:]
    else:
        tampered = original[:index] + original[index + 1 :]
    with pytest.raises(NoteError):
        open_note(tampered, [vector_verifier()])


def test_edited_text_with_original_signature_is_rejected_as_altered() -> None:
    forged = SIGNED_NOTE.replace("don't know", "do know")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(forged, [vector_verifier()])


def test_signature_by_wrong_key_under_trusted_name_and_id_is_rejected() -> None:
    relabelled = SignedNote(
        text=TEXT,
        signatures=(
            NoteSignature(
                name="PeterNeumann",
                key_id=bytes.fromhex("c74f20a3"),
                signature=OTHER.sign(TEXT.encode("utf-8")),
            ),
        ),
    )
    with pytest.raises(NoteError, match="does not verify"):
        open_note(relabelled.serialize(), [vector_verifier()])


def test_verifier_for_another_key_does_not_accept_the_vector() -> None:
    with pytest.raises(NoteError, match="signed by no known key"):
        open_note(SIGNED_NOTE, [Ed25519Signer.generate("PeterNeumann").verifier()])


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(NoteError, match="signed by no known key"):
        open_note(SIGNED_NOTE, [OTHER.verifier()])


def test_no_verifiers_rejects() -> None:
    with pytest.raises(NoteError, match="signed by no known key"):
        open_note(SIGNED_NOTE, [])


def test_signature_from_known_name_but_other_key_id_is_ignored() -> None:
    same_name = Ed25519Signer.generate("PeterNeumann")
    note = sign_note(TEXT, [same_name, Ed25519Signer.from_signer_key(SIGNER_KEY)])
    assert open_note(note, [vector_verifier()]) == TEXT
    only_other = sign_note(TEXT, [same_name])
    with pytest.raises(NoteError, match="signed by no known key"):
        open_note(only_other, [vector_verifier()])


def test_one_bad_signature_from_known_key_rejects_whole_note() -> None:
    good = parse_note(sign_note(TEXT, [OTHER, Ed25519Signer.from_signer_key(SIGNER_KEY)]))
    other_sig, vector_sig = good.signatures
    broken = NoteSignature(other_sig.name, other_sig.key_id, bytes(64))
    note = SignedNote(TEXT, (broken, vector_sig)).serialize()
    assert open_note(note, [vector_verifier()]) == TEXT  # broken one is from an unknown key
    with pytest.raises(NoteError, match=re.escape("example.org/other")):
        open_note(note, [vector_verifier(), OTHER.verifier()])


# --- signing and round trips ----------------------------------------------------------

note_text = st.lists(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\n", min_codepoint=0x20),
        max_size=40,
    ),
    min_size=1,
    max_size=6,
).map(lambda lines: "".join(f"{line}\n" for line in lines))


@settings(max_examples=150, deadline=None)
@given(text=note_text)
def test_sign_then_open_returns_the_text(text: str) -> None:
    note = sign_note(text, [OTHER])
    assert open_note(note, [OTHER.verifier()]) == text
    assert parse_note(note).text == text


def test_multiple_signers_each_verify_alone() -> None:
    first, second = Ed25519Signer.generate("a.example/1"), Ed25519Signer.generate("b.example/2")
    note = sign_note(TEXT, [first, second])
    assert open_note(note, [first.verifier()]) == TEXT
    assert open_note(note, [second.verifier()]) == TEXT


def test_text_with_blank_lines_splits_at_last_blank_line() -> None:
    text = "first\n\nsecond\n\n"
    note = sign_note(text, [OTHER])
    assert open_note(note, [OTHER.verifier()]) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("no final newline", "newline"),
        ("tab\there\n", "control character"),
        ("carriage\r\n", "control character"),
        ("surrogate \udc80\n", "UTF-8"),
    ],
)
def test_sign_note_refuses_invalid_text(text: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        sign_note(text, [OTHER])


def test_sign_note_refuses_no_signers_and_duplicates() -> None:
    with pytest.raises(NoteError, match="No signer"):
        sign_note(TEXT, [])
    with pytest.raises(NoteError, match="twice"):
        sign_note(TEXT, [OTHER, OTHER])


class _FaultySigner:
    """An HSM stand-in that returns a signature from the wrong key."""

    name = OTHER.name
    key_id = OTHER.key_id

    def sign(self, message: bytes) -> bytes:
        return Ed25519Signer.generate(OTHER.name).sign(message)

    def verifier_key(self) -> str:
        return OTHER.verifier_key()


def test_sign_note_refuses_signature_that_does_not_verify() -> None:
    with pytest.raises(NoteError, match="does not verify with its own public key"):
        sign_note(TEXT, [_FaultySigner()])


# --- strict parsing -----------------------------------------------------------------------

SIG_B64 = SIGNED_NOTE.rsplit(" ", 1)[1].rstrip("\n")


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (TEXT + f"\u2014 PeterNeumann {SIG_B64}\n", "no blank line"),
        (SIGNED_NOTE.rstrip("\n"), "does not end with a newline"),
        (TEXT + "\n", "no signature lines"),
        (TEXT + f"\n\u2014 PeterNeumann {SIG_B64[:-2]}!=\n", "base64"),
        (TEXT + f"\n\u2014 PeterNeumann {SIG_B64.rstrip('=')}\n", "base64"),
        (TEXT + f"\n\u2014 PeterNeumann {SIG_B64[:-4]}AAB=\n", "base64"),  # non-canonical
        (TEXT + "\n\u2014 PeterNeumann x08gow==\n", "4-byte key id"),
        (TEXT + f"\n- PeterNeumann {SIG_B64}\n", "em dash"),
        (TEXT + f"\n\u2013 PeterNeumann {SIG_B64}\n", "em dash"),
        (TEXT + f"\n\u2014PeterNeumann {SIG_B64}\n", "em dash"),
        (TEXT + f"\n\u2014 PeterNeumann+c74f20a3+{'A' * 200} {SIG_B64}\n", "key name"),
        (TEXT + f"\n\u2014 Peter\u00a0Neumann {SIG_B64}\n", "key name"),
        (TEXT + f"\n\u2014  {SIG_B64}\n", "key name"),
        (TEXT + f"\n\u2014 PeterNeumann{SIG_B64}\n", "space between"),
        (TEXT + f"\n\u2014 PeterNeumann  {SIG_B64}\n", "base64"),
        (TEXT + f"\n\u2014 PeterNeumann {SIG_B64}\n\n", "no signature lines"),
        (TEXT.replace("\n", "\r\n") + f"\n\u2014 PeterNeumann {SIG_B64}\n", "control"),
        (TEXT + "\n" + f"\u2014 a {SIG_B64}\n" * 101, "at most 100"),
    ],
)
def test_malformed_notes_are_rejected(note: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        open_note(note, [vector_verifier()])


def test_invalid_utf8_note_is_rejected() -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(SIGNED_NOTE.encode("utf-8").replace(b"\xe2\x80\x94", b"\xe2\x80"))


def test_short_signature_from_known_key_is_rejected() -> None:
    short = base64.b64encode(bytes.fromhex("c74f20a3") + bytes(32)).decode("ascii")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(TEXT + f"\n\u2014 PeterNeumann {short}\n", [vector_verifier()])


def test_sixteen_signatures_are_accepted() -> None:
    signers = [Ed25519Signer.generate(f"witness.example/{i}") for i in range(16)]
    note = sign_note(TEXT, signers)
    assert open_note(note, [signers[15].verifier()]) == TEXT


# --- key strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper hex
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # length
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # alg 0x02
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteKeyError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize(
    "signer_key",
    [
        SIGNER_KEY.replace("PRIVATE+KEY+", "PRIVATE+"),
        SIGNER_KEY.replace("c74f20a3", "c74f20a4"),
        SIGNER_KEY.replace("PeterNeumann", "PeterNeumann2"),  # id no longer matches
        SIGNER_KEY[:-1] + "0",  # different seed: id no longer matches
        SIGNER_KEY[:-4],
    ],
)
def test_malformed_signer_keys_are_rejected_without_echoing_the_seed(signer_key: str) -> None:
    with pytest.raises(NoteKeyError) as caught:
        Ed25519Signer.from_signer_key(signer_key)
    assert SEED_B64[:20] not in str(caught.value)
    assert isinstance(caught.value, NoteError)


def test_invalid_signer_names_are_refused() -> None:
    for name in ["", "a+b", "a b", "a\u2003b", "a\tb"]:
        with pytest.raises(ConfigError):
            Ed25519Signer.generate(name)
        with pytest.raises(NoteKeyError):
            Verifier.from_public_key(name, OTHER.public_key)


def test_repr_of_signer_hides_the_seed() -> None:
    signer = Ed25519Signer.from_signer_key(SIGNER_KEY)
    seed = base64.b64decode(SEED_B64)[1:]
    for rendering in (repr(signer), str(signer), f"{signer!r} {signer}"):
        assert "PRIVATE" not in rendering
        assert SEED_B64 not in rendering
        assert seed.hex() not in rendering
        assert "PeterNeumann" in rendering


# --- key files ---------------------------------------------------------------------------


def test_key_file_is_created_0600_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    signer = Ed25519Signer.from_signer_key(SIGNER_KEY)
    write_signer_key_file(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_signer_key_file(path)
    assert loaded.signer_key() == SIGNER_KEY
    assert sign_note(TEXT, [loaded]) == SIGNED_NOTE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.key"]  # no temp file left


def test_key_file_is_0600_even_with_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_signer_key_file(tmp_path / "log.key", OTHER)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "log.key").stat().st_mode) == 0o600


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    write_signer_key_file(path, Ed25519Signer.from_signer_key(SIGNER_KEY))
    with pytest.raises(AlreadyExists):
        write_signer_key_file(path, OTHER)
    assert load_signer_key_file(path).signer_key() == SIGNER_KEY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.key"]


def test_key_file_write_into_missing_directory_reports_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Could not write"):
        write_signer_key_file(tmp_path / "missing" / "log.key", OTHER)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_loading_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "log.key"
    write_signer_key_file(path, OTHER)
    path.chmod(mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_signer_key_file(path)


def test_loading_missing_or_garbled_key_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Could not open"):
        load_signer_key_file(tmp_path / "absent.key")
    garbled = tmp_path / "garbled.key"
    garbled.write_bytes(b"\xff\xfe not a key")
    garbled.chmod(0o600)
    with pytest.raises(NoteKeyError, match="UTF-8"):
        load_signer_key_file(garbled)


def test_two_trusted_keys_with_same_name_and_id_are_refused() -> None:
    real = vector_verifier()
    # Bypass __post_init__ to model a colliding key id, which an attacker can compute.
    colliding = object.__new__(Verifier)
    object.__setattr__(colliding, "name", real.name)
    object.__setattr__(colliding, "key_id", real.key_id)
    object.__setattr__(colliding, "public_key", OTHER.public_key)
    with pytest.raises(NoteKeyError, match="share the name"):
        open_note(SIGNED_NOTE, [real, colliding])
