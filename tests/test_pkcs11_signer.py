"""The checkpoint signer in a PKCS#11 token: SoftHSM2 from Debian's packages, for real.

The key is made inside the token, sensitive and never extractable; the log's checkpoints
verify with the verifier key `evidence init` published, and no file holds the private key
(a scanner that does find the key of a file-signer home shows the search is real)."""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.home import Home, dispose_engines, init_home, open_home
from api.settings import Settings
from api.signing import Pkcs11Setup, close_token_signers, token_signer
from custody.checkpoint import open_checkpoint
from custody.events import EventDraft
from domain.errors import ConfigError
from tests.cli_helpers import run_cli

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "246810"
TOKENS = ("station-a", "station-b", "station-c", "station-d")


def _require_softhsm() -> None:
    if MODULE.exists() and shutil.which("softhsm2-util"):
        return
    problem = "SoftHSM2 is missing: run scripts/install-system-deps"
    if os.environ.get("CI") == "true":
        pytest.fail(problem + " (CI=true: the HSM tests must run)")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SoftHSM2 configuration with fresh tokens, read by this process's first load of the
    module (so every token is made before it) and by the `evidence` subprocesses."""
    _require_softhsm()
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n", encoding="utf-8")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in TOKENS:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                        "--pin", PIN, "--so-pin", "135791"], check=True, capture_output=True)
    pin_file = root / "pin"
    pin_file.write_text(PIN + "\n", encoding="utf-8")
    pin_file.chmod(0o600)
    yield root
    close_token_signers()
    dispose_engines()
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


def _settings(home: Path, softhsm: Path, token: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "home": home, "signer": "pkcs11", "pkcs11_module": MODULE, "pkcs11_token": token,
        "pkcs11_pin_file": softhsm / "pin", "log_origin": f"evidence.test/{token}",
        "s3_endpoint": None, **changes}
    return Settings(**values)  # type: ignore[arg-type]


def _sign_some(home: Home) -> str:
    log = home.custody_log()
    try:
        log.append([EventDraft("test:signed", "tester", None, {"n": n}) for n in range(3)])
        return log.checkpoint().note
    finally:
        log.close()


def test_a_home_whose_key_is_in_the_token_signs_checkpoints_its_verifier_key_checks(
        tmp_path: Path, softhsm: Path) -> None:
    settings = _settings(tmp_path / "home", softhsm, "station-a")
    home, created = init_home(settings)
    assert created and home.pkcs11 is not None
    assert not home.key_path.exists(), "a token home writes no key file"
    note = _sign_some(home)
    checkpoint = open_checkpoint(note, home.verifier(), home.origin)
    assert checkpoint.size == 3

    env = {"SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"], "EVIDENCE_SIGNER": "pkcs11",
           "EVIDENCE_PKCS11_MODULE": str(MODULE), "EVIDENCE_PKCS11_TOKEN": "station-a",
           "EVIDENCE_PKCS11_PIN_FILE": str(softhsm / "pin"), "EVIDENCE_S3_ENDPOINT": ""}
    shown = run_cli(home.root, "init", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "PKCS#11 token 'station-a'" in shown.stdout
    assert "cannot be copied out of the token" in shown.stdout
    verified = run_cli(home.root, "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "INTACT" in verified.stdout


def test_the_token_refuses_to_give_out_the_private_key(tmp_path: Path, softhsm: Path) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    init_home(_settings(tmp_path / "home", softhsm, "station-b"))
    close_token_signers()  # the token allows one login per process: end the signer's
    lib = pkcs11.lib(str(MODULE))
    with lib.get_token(token_label="station-b").open(user_pin=PIN) as session:
        (private,) = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.AttributeSensitive):
            private[Attribute.VALUE]


RAW_SCAN_LIMIT = 64 * 1024  # every 32-byte window of files up to this size; larger ones
# (the database, footage) are searched for the key's text encodings (base64, hex) and PEM


def _seed_candidates(data: bytes) -> Iterator[bytes]:
    """The bytes of a small file, and what the base64 and hex runs of any file decode to."""
    assert b"PRIVATE KEY-----" not in data, "a PEM private key is on disk"
    if len(data) <= RAW_SCAN_LIMIT:
        yield data
    for run in re.findall(rb"[A-Za-z0-9+/]{43,}={0,2}", data):
        # a key string joins fields with "+", itself a base64 letter: try each field's start
        for start in [0, *(m.end() for m in re.finditer(rb"\+", run))]:
            part = run[start:].rstrip(b"=")
            try:
                decoded = base64.b64decode(part[: len(part) // 4 * 4])
            except binascii.Error:
                continue
            yield decoded
    for run in re.findall(rb"[0-9a-fA-F]{64,}", data):
        yield bytes.fromhex(run.decode()[: len(run) // 2 * 2])


def _files_holding_key(public_key: bytes, *roots: Path) -> list[Path]:
    """Every file under ``roots`` in which some 32 bytes are the seed of ``public_key``."""
    found = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            data = path.read_bytes()
            for blob in _seed_candidates(data):
                if any(Ed25519PrivateKey.from_private_bytes(blob[i:i + 32]).public_key()
                       .public_bytes_raw() == public_key for i in range(len(blob) - 31)):
                    found.append(path)
                    break
    return found


def test_no_file_holds_the_private_key_of_a_token_home(tmp_path: Path, softhsm: Path) -> None:
    token_home, _ = init_home(_settings(tmp_path / "token-home", softhsm, "station-c"))
    _sign_some(token_home)
    token_public = token_signer(token_home.pkcs11, token_home.origin).public_key  # type: ignore[arg-type]
    assert _files_holding_key(token_public, token_home.root, softhsm) == []

    # the same search finds the key of a file-signer home: the scan is not vacuous
    file_home, _ = init_home(Settings(home=tmp_path / "file-home", s3_endpoint=None,
                                      log_origin="evidence.test/file"))
    _sign_some(file_home)
    file_public = file_home.verifier().public_key
    assert _files_holding_key(file_public, file_home.root) == [file_home.key_path]


@pytest.mark.parametrize(("changes", "says"), [
    ({"pkcs11_pin_file": "wrong"}, "PIN of PKCS#11 token 'station-a' is wrong"),
    ({"pkcs11_token": "no-such-token"}, "no PKCS#11 token is labelled 'no-such-token'"),
    ({"pkcs11_key_label": "another-key"}, "holds no key pair labelled 'another-key'"),
    ({"pkcs11_module": Path("/nonexistent/libhsm.so")},
     "PKCS#11 module /nonexistent/libhsm.so does not exist"),
    ({"pkcs11_token": None}, "EVIDENCE_SIGNER=pkcs11 needs EVIDENCE_PKCS11_TOKEN"),
    ({"signer": "kms"}, "unknown EVIDENCE_SIGNER='kms'"),
])
def test_a_token_that_cannot_be_used_is_a_configuration_error_that_says_why(
        tmp_path: Path, softhsm: Path, changes: dict[str, object], says: str) -> None:
    made = _settings(tmp_path / "home", softhsm, "station-a")
    home, _ = init_home(made) if not (made.home / "evidence.json").exists() else (open_home(made), False)
    if changes.get("pkcs11_pin_file") == "wrong":
        wrong = tmp_path / "wrong-pin"
        wrong.write_text("000000\n", encoding="utf-8")
        changes = {"pkcs11_pin_file": wrong}
    close_token_signers()  # a fresh session, as a new process would open
    with pytest.raises(ConfigError) as refused:
        open_home(_settings(home.root, softhsm, "station-a", **changes)).signer()
    assert says in str(refused.value)
    assert refused.value.hint


def test_a_token_key_that_did_not_sign_this_log_is_refused(tmp_path: Path, softhsm: Path) -> None:
    home_a, _ = init_home(_settings(tmp_path / "a", softhsm, "station-d", pkcs11_key_label="a"))
    init_home(_settings(tmp_path / "b", softhsm, "station-d", pkcs11_key_label="b"))
    swapped = open_home(_settings(home_a.root, softhsm, "station-d", pkcs11_key_label="b",
                                  log_origin=home_a.origin))
    with pytest.raises(ConfigError, match="is not the key of"):
        swapped.signer()


def test_a_key_file_is_refused_where_evidence_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "home"
    with pytest.raises(ConfigError, match="where evidence is kept"):
        init_home(Settings(home=root, s3_endpoint=None, key_file=root / "objects" / "log.key"))
    outside = tmp_path / "etc" / "log.key"
    home, _ = init_home(Settings(home=root, s3_endpoint=None, key_file=outside))
    assert home.key_path == outside.resolve() and outside.exists()
    assert not (root / "keys" / "log.key").exists()
    open_checkpoint(_sign_some(home), home.verifier(), home.origin)


def test_an_extractable_key_under_the_log_label_is_refused(tmp_path: Path, softhsm: Path) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    close_token_signers()  # the token allows one login per process: end the signers'
    lib = pkcs11.lib(str(MODULE))
    with lib.get_token(token_label="station-d").open(user_pin=PIN, rw=True) as session:
        params = session.create_domain_parameters(
            KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: encode_named_curve_parameters("1.3.101.112")},
            local=True)
        params.generate_keypair(store=True, label="copyable",
                                private_template={Attribute.EXTRACTABLE: True})
    with pytest.raises(ConfigError, match="can be copied out of the token"):
        token_signer(Pkcs11Setup(MODULE, "station-d", "copyable", PIN), "evidence.test/copy")
