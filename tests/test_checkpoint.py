"""Checkpoints: exact body format, strict parsing, signing and verification."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint_body,
    sign_checkpoint,
)
from custody.note import Ed25519Signer, NoteError, open_note, sign_note

ORIGIN = "custody.example/log"
SIGNER = Ed25519Signer.generate(ORIGIN)
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode("ascii")


def test_body_is_exactly_three_lines() -> None:
    checkpoint = Checkpoint(origin=ORIGIN, size=20852163, root_hash=ROOT)
    assert checkpoint.body() == f"{ORIGIN}\n20852163\n{ROOT_B64}\n"


def test_body_appends_extension_lines() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, ROOT, extensions=("ext one", "ext two"))
    assert checkpoint.body() == f"{ORIGIN}\n0\n{ROOT_B64}\next one\next two\n"


def test_parses_spec_example_body() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint_body(body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.body() == body


line_text = st.text(alphabet=st.characters(codec="utf-8", min_codepoint=0x20), min_size=1)
checkpoints = st.builds(
    Checkpoint,
    origin=line_text,
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(line_text, max_size=3).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(checkpoint=checkpoints)
def test_body_round_trips(checkpoint: Checkpoint) -> None:
    body = checkpoint.body()
    assert parse_checkpoint_body(body) == checkpoint
    assert parse_checkpoint_body(body).body() == body


@settings(max_examples=50, deadline=None)
@given(checkpoint=checkpoints)
def test_signed_checkpoint_round_trips(checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, SIGNER)
    assert open_checkpoint(note, SIGNER.verifier()) == checkpoint


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"{ORIGIN}\n007\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "sign"),
        (f"{ORIGIN}\n+1\n{ROOT_B64}\n", "sign"),
        (f"{ORIGIN}\n 1\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n\u0661\n{ROOT_B64}\n", "decimal"),  # Arabic-Indic digit one
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", "outside"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
        (f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n", "base64"),
        (f"{ORIGIN}\n5\n{ROOT_B64[:10]}-{ROOT_B64[11:]}\n", "base64"),  # URL-safe alphabet
        (f"{ORIGIN}\n5\n{ROOT_B64[:-2]}B=\n", "canonical"),
        (f"{ORIGIN}\n5\n", "needs origin"),
        (f"{ORIGIN}\n", "needs origin"),
        (f"{ORIGIN}\n5\n{ROOT_B64}", "newline"),
        (f"\n5\n{ROOT_B64}\n", "origin is empty"),
        (f"{ORIGIN}\n5\n{ROOT_B64}\n\n", "extension line is empty"),
        (f"{ORIGIN}\n5\n{ROOT_B64}\nok\n\nafter\n", "extension line is empty"),
        (f"{ORIGIN}\r\n5\n{ROOT_B64}\n", "control"),
    ],
)
def test_strict_parse_rejects(body: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        parse_checkpoint_body(body)


@pytest.mark.parametrize(
    "arguments",
    [
        {"origin": "", "size": 1, "root_hash": ROOT},
        {"origin": "a\nb", "size": 1, "root_hash": ROOT},
        {"origin": ORIGIN, "size": -1, "root_hash": ROOT},
        {"origin": ORIGIN, "size": True, "root_hash": ROOT},
        {"origin": ORIGIN, "size": 1, "root_hash": ROOT[:16]},
        {"origin": ORIGIN, "size": 1, "root_hash": ROOT, "extensions": ("",)},
    ],
)
def test_invalid_checkpoints_cannot_be_built(arguments: dict[str, object]) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(**arguments)  # type: ignore[arg-type]


def test_signed_checkpoint_is_a_signed_note_under_the_signer_name() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(checkpoint, SIGNER)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert open_note(note, [SIGNER.verifier()]) == checkpoint.body()


def test_open_checkpoint_checks_expected_origin() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), SIGNER)
    assert open_checkpoint(note, SIGNER.verifier(), expected_origin=ORIGIN).size == 42
    with pytest.raises(CheckpointError, match="not the expected"):
        open_checkpoint(note, SIGNER.verifier(), expected_origin="custody.example/other-log")


def test_tampered_size_is_rejected() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), SIGNER)
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(note.replace("\n42\n", "\n43\n", 1), SIGNER.verifier())


def test_checkpoint_signed_by_other_key_is_rejected() -> None:
    impostor = Ed25519Signer.generate(ORIGIN)
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), impostor)
    with pytest.raises(NoteError, match="signed by no known key"):
        open_checkpoint(note, SIGNER.verifier())


def test_validly_signed_but_malformed_body_is_rejected() -> None:
    note = sign_note(f"{ORIGIN}\n042\n{ROOT_B64}\n", [SIGNER])
    with pytest.raises(CheckpointError, match="leading zeros"):
        open_checkpoint(note, SIGNER.verifier())
