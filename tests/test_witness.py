"""Witnesses (c2sp.org/tlog-witness, tlog-cosignature): the protocol's status codes, a
cosignature checked against the spec's message built here by hand, the log asking a
witness served over HTTP, and the insider's rollback and a fork caught by verify."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.home import Home, dispose_engines, init_home, open_home
from api.settings import Settings
from api.verify_run import check_witnesses_now, run_verify
from api.witness_home import WitnessHome, init_witness
from api.witness_http import witness_app
from api.witnessing import Witnesser, WitnessPeer, WitnessTrouble, ask_to_cosign
from custody.checkpoint import open_checkpoint
from custody.cosignature import CosignerKey, cosignatures
from custody.cosigned import add_checkpoint_request, cosigned_checkpoint, last_cosigned
from custody.events import EventDraft
from custody.log import CustodyLog
from custody.note import parse_note
from custody.witness import SIZE_TYPE, Witness
from tests.browser_support import serve
from tests.cli_helpers import run_cli
from tests.custody_tamper import roll_back

ORIGIN = "evidence.test/station-7"


@dataclass
class RunningWitness:
    home: WitnessHome
    witness: Witness
    url: str

    @property
    def key(self) -> CosignerKey:
        return self.witness.cosigner.key

    @property
    def peer(self) -> WitnessPeer:
        return WitnessPeer(self.url, self.key)


@pytest.fixture
def log_home(tmp_path: Path) -> Iterator[Home]:
    home, _ = init_home(Settings(home=tmp_path / "log", s3_endpoint=None, log_origin=ORIGIN))
    yield home
    dispose_engines()


@pytest.fixture
def witnesses(tmp_path: Path, log_home: Home) -> Iterator[list[RunningWitness]]:
    with ExitStack() as stack:
        running = []
        for number in (1, 2):
            home = init_witness(tmp_path / f"witness-{number}", f"supervision.test/w{number}")
            home.add_log(log_home.verifier().vkey())
            engine = home.engine()
            stack.callback(engine.dispose)
            witness = home.witness(engine)
            running.append(RunningWitness(home, witness, stack.enter_context(serve(witness_app(witness)))))
        yield running


def _grow(log: CustodyLog, count: int, what: str = "viewed") -> int:
    log.append([EventDraft(f"test:{what}", "tester", None, {"n": n}) for n in range(count)])
    return log.checkpoint().size


def _request(log: CustodyLog, old: int, size: int | None = None) -> bytes:
    new = log.checkpoint_at(size) if size is not None else log.latest_checkpoint()
    assert new is not None
    proof = list(log.consistency_proof(old, new.size).path) if 0 < old <= new.size else []
    return add_checkpoint_request(old, proof, new.note)


# ---------------------------------------------------------------- the protocol


def test_a_first_checkpoint_is_cosigned_as_the_spec_says(log_home: Home,
                                                         witnesses: list[RunningWitness]) -> None:
    log, witness = log_home.custody_log(), witnesses[0].witness
    _grow(log, 3)
    answer = witness.add_checkpoint(_request(log, 0))
    assert answer.status == 200, answer.body
    assert answer.body.startswith("\u2014 supervision.test/w1 ") and answer.body.endswith("\n")

    # the cosignature, checked here from the spec's text, not through the project's code
    raw = base64.b64decode(answer.body.split(" ", 2)[2])
    key = witness.cosigner.key
    assert raw[:4] == hashlib.sha256(
        b"supervision.test/w1\n\x04" + key.public_key).digest()[:4]
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    note_text = parse_note(log.latest_checkpoint().note).text  # type: ignore[union-attr]
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(
        raw[12:], b"cosignature/v1\n" + f"time {timestamp}\n".encode() + note_text.encode())
    assert CosignerKey.from_vkey(key.vkey()) == key
    assert witness.latest(ORIGIN) == log.latest_checkpoint().note + answer.body  # type: ignore[union-attr]


def test_every_refusal_has_the_documented_status(log_home: Home,
                                                 witnesses: list[RunningWitness],
                                                 tmp_path: Path) -> None:
    log, witness = log_home.custody_log(), witnesses[0].witness
    first = _grow(log, 4)
    assert witness.add_checkpoint(_request(log, 0)).status == 200
    second = _grow(log, 3)

    stale = witness.add_checkpoint(_request(log, 0, second))
    assert (stale.status, stale.body, stale.content_type) == (409, f"{first}\n", SIZE_TYPE)
    assert witness.add_checkpoint(_request(log, second, first)).status == 400  # old > size
    assert witness.add_checkpoint(b"old 01\n\n" + log.latest_checkpoint().note.encode()).status == 400  # type: ignore[union-attr]
    assert witness.add_checkpoint(b"old 4\n" + b"AAAA\n" * 64 + b"\n").status == 400

    broken = bytearray(_request(log, first, second))
    proof_start = broken.index(b"\n") + 1
    broken[proof_start] = ord("A") if broken[proof_start] != ord("A") else ord("B")
    refused = witness.add_checkpoint(bytes(broken))
    assert refused.status == 422

    other, _ = init_home(Settings(home=tmp_path / "other", s3_endpoint=None,
                                  log_origin="evidence.test/unknown"))
    other_log = other.custody_log()
    _grow(other_log, 1)
    assert witness.add_checkpoint(_request(other_log, 0)).status == 404

    forged = _request(log, first, second).decode().replace(f"\n{second}\n", f"\n{second + 1}\n")
    assert witness.add_checkpoint(forged.encode()).status == 403  # its signature no longer holds

    assert witness.add_checkpoint(_request(log, first, second)).status == 200
    kept = witness.refusals(ORIGIN)
    assert [r.status for r in kept] == [422], "the refused proof is kept as evidence"


def test_a_fork_and_a_rollback_are_refused_and_kept_as_evidence(
        log_home: Home, witnesses: list[RunningWitness], tmp_path: Path) -> None:
    log, witness = log_home.custody_log(), witnesses[0].witness
    base = _grow(log, 2)
    shutil.copytree(log_home.root, tmp_path / "twin")  # the same key, another history
    twin = open_home(Settings(home=tmp_path / "twin", s3_endpoint=None, log_origin=ORIGIN))
    size = _grow(log, 3, "viewed")
    assert _grow(twin.custody_log(), 3, "deleted") == size
    assert witness.add_checkpoint(_request(log, 0)).status == 200

    beside = witness.add_checkpoint(_request(twin.custody_log(), size))
    assert (beside.status, beside.body) == (409, f"{size}\n")
    behind = witness.add_checkpoint(_request(log, size, base))
    assert behind.status == 400
    older = witness.add_checkpoint(_request(log, 0, base))
    assert (older.status, older.body) == (409, f"{size}\n")
    assert [(r.status, r.known_size) for r in witness.refusals(ORIGIN)] == [(409, size), (409, size)]


# ---------------------------------------------------------------- the log and its witnesses


def test_the_log_gets_cosignatures_over_http_and_catches_up_after_an_outage(
        log_home: Home, witnesses: list[RunningWitness]) -> None:
    log = log_home.custody_log()
    _grow(log, 2)
    down = WitnessPeer("http://127.0.0.1:9/unreachable", witnesses[0].key)
    with pytest.raises(WitnessTrouble, match="did not answer"):
        ask_to_cosign(log, down)
    size = _grow(log, 3)  # appends go on while the witness is out
    stamper = Witnesser(log, [w.peer for w in witnesses], every=60)
    stamper.run_once()
    assert stamper.troubles == {}
    assert [last_cosigned(log.engine, w.key.name) for w in witnesses] == [size, size]
    note = cosigned_checkpoint(log.engine)
    assert note is not None
    assert set(cosignatures(note, [w.key for w in witnesses])) == {w.key.name for w in witnesses}
    open_checkpoint(note, log_home.verifier(), ORIGIN)  # unknown keys' lines are ignored

    later = _grow(log, 4)
    stamper.run_once()
    assert last_cosigned(log.engine, witnesses[0].key.name) == later
    assert witnesses[0].witness.refusals() == []


def test_a_log_that_forgot_its_cosignatures_resumes_from_the_witness_size(
        log_home: Home, witnesses: list[RunningWitness]) -> None:
    log = log_home.custody_log()
    _grow(log, 3)
    ask_to_cosign(log, witnesses[0].peer)
    with log.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM custody_cosignatures")
    size = _grow(log, 2)
    assert ask_to_cosign(log, witnesses[0].peer) == size  # 409 with the size, then from there


def test_the_insiders_rollback_is_caught_by_verify_with_a_witness(
        log_home: Home, witnesses: list[RunningWitness], tmp_path: Path) -> None:
    log = log_home.custody_log()
    kept = _grow(log, 6)
    witnessed = _grow(log, 4, "downloaded")  # a reviewer's download, then witnessed
    for witness in witnesses:
        ask_to_cosign(log, witness.peer)
    roll_back(log.engine, kept)

    vkey = log_home.verifier().vkey()
    plain = run_cli(log_home.root, "verify", "--objects", "--vkey", vkey,
                    env={"EVIDENCE_S3_ENDPOINT": ""})
    assert plain.returncode == 0 and "INTACT" in plain.stdout, "the attack fools a verify without witnesses"

    peers = tmp_path / "witnesses"
    peers.write_text("".join(f"{w.url} {w.key.vkey()}\n" for w in witnesses), encoding="utf-8")
    caught = run_cli(log_home.root, "verify", "--objects", "--vkey", vkey,
                     "--witness", witnesses[0].key.vkey(), "--witness", witnesses[1].key.vkey(),
                     env={"EVIDENCE_S3_ENDPOINT": "", "EVIDENCE_WITNESSES_FILE": str(peers)})
    assert caught.returncode == 1, caught.stdout + caught.stderr
    said = " ".join(caught.stdout.split())
    assert f"cosigned a log of {witnessed} entries, but this log holds {kept}" in said


def test_a_fork_shown_to_two_witnesses_is_caught(log_home: Home, witnesses: list[RunningWitness],
                                                 tmp_path: Path) -> None:
    log = log_home.custody_log()
    _grow(log, 2)
    shutil.copytree(log_home.root, tmp_path / "twin")
    twin = open_home(Settings(home=tmp_path / "twin", s3_endpoint=None, log_origin=ORIGIN))
    _grow(log, 3, "viewed")
    _grow(twin.custody_log(), 3, "deleted")
    ask_to_cosign(log, witnesses[0].peer)  # the first witness sees one history,
    ask_to_cosign(twin.custody_log(), witnesses[1].peer)  # the second another

    peers = tmp_path / "witnesses"
    peers.write_text("".join(f"{w.url} {w.key.vkey()}\n" for w in witnesses), encoding="utf-8")
    keys = [w.key.vkey() for w in witnesses]
    for home in (log_home, twin):
        report = run_verify(home.engine(), None, home.verifier(), ORIGIN, objects=False)
        assert report.ok, "each history is intact on its own"
        check_witnesses_now(home.engine(), report, home.verifier(), ORIGIN, keys, None, peers)
        assert any("another root" in p.message for p in report.problems), report.problems


def test_a_quorum_needs_enough_witnesses_that_answer(log_home: Home,
                                                     witnesses: list[RunningWitness],
                                                     tmp_path: Path) -> None:
    log = log_home.custody_log()
    _grow(log, 2)
    ask_to_cosign(log, witnesses[0].peer)
    peers = tmp_path / "witnesses"
    peers.write_text(f"{witnesses[0].url} {witnesses[0].key.vkey()}\n"
                     f"http://127.0.0.1:9/gone {witnesses[1].key.vkey()}\n", encoding="utf-8")
    keys = [w.key.vkey() for w in witnesses]
    one = run_verify(log.engine, None, log_home.verifier(), ORIGIN, objects=False)
    check_witnesses_now(log.engine, one, log_home.verifier(), ORIGIN, keys, 1, peers)
    assert one.ok, one.problems
    both = run_verify(log.engine, None, log_home.verifier(), ORIGIN, objects=False)
    check_witnesses_now(log.engine, both, log_home.verifier(), ORIGIN, keys, 2, peers)
    assert [p.message for p in both.problems] == ["1 of the 2 witnesses required vouch for this log"]


def test_the_witness_command_makes_a_home_and_names_its_key(tmp_path: Path, log_home: Home) -> None:
    made = run_cli(tmp_path, "witness", "init", "--name", "procuratorate.test/w", "--home",
                   str(tmp_path / "w"))
    assert made.returncode == 0, made.stderr
    vkey = " ".join(made.stdout.split()).split("witness key ")[1].split()[0]
    assert CosignerKey.from_vkey(vkey).name == "procuratorate.test/w"
    added = run_cli(tmp_path, "witness", "add-log", log_home.verifier().vkey(), "--home",
                    str(tmp_path / "w"))
    assert added.returncode == 0 and ORIGIN in added.stdout
    assert (tmp_path / "w" / "witness.key").stat().st_mode & 0o077 == 0


def test_a_bundle_carries_the_witnessed_checkpoint_and_verify_bundle_checks_it(
        log_home: Home, witnesses: list[RunningWitness], tmp_path: Path) -> None:
    from cases.bundle import build_bundle
    from cases.bundle_verify import COSIGNED, verify_bundle
    from cases.case_records import create_case, prepare_export
    from cases.tables import DEFAULT_UNIT
    from cases.users import Role, add_user, operator

    log, store = log_home.custody_log(), log_home.object_store()
    admin, _ = add_user(log, "admin", Role.ADMIN, None, by=operator("test"), unit_code=DEFAULT_UNIT)
    case = create_case(log, admin, "A witnessed matter", "2024/W-1")
    unwitnessed = build_bundle(log_home.engine(), store, log, case.id, include_playback=False,
                               actor=admin.actor, out_dir=tmp_path / "before")
    vkey, keys = log_home.verifier().vkey(), [w.key for w in witnesses]
    assert [p.message for p in verify_bundle(unwitnessed, vkey, keys[:1]).problems] == [
        "the bundle carries no checkpoint cosigned by a witness"]

    ask_to_cosign(log, witnesses[0].peer)
    _grow(log, 2)  # the bundle's own checkpoint is later than the one witnessed
    prepare_export(log, admin, case.id, False, "to the court")
    path = build_bundle(log_home.engine(), store, log, case.id, include_playback=False,
                        actor=admin.actor, out_dir=tmp_path / "after")
    one = verify_bundle(path, vkey, keys[:1])
    assert one.ok and "witnesses" in one.checks, one.problems
    assert [p.message for p in verify_bundle(path, vkey, keys).problems] == [
        "1 of the 2 witnesses required cosigned the bundle's witnessed checkpoint"]
    assert verify_bundle(path, vkey, keys, 1).ok
    assert verify_bundle(path, vkey).ok, "without --witness it is only noted"

    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(altered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == COSIGNED:
                text = data.decode()
                cut = text.rindex(" ") + 30  # inside the signature, past the key id
                data = (text[:cut] + ("A" if text[cut] != "A" else "B") + text[cut + 1:]).encode()
            target.writestr(info, data)
    problems = verify_bundle(altered, vkey, keys[:1]).problems
    assert any("does not hold" in p.message for p in problems), problems


def test_a_tiles_export_carries_the_witnessed_checkpoint(
        log_home: Home, witnesses: list[RunningWitness], tmp_path: Path) -> None:
    from custody.tiles import export_tiles, verify_export

    log = log_home.custody_log()
    first = _grow(log, 5)
    ask_to_cosign(log, witnesses[0].peer)
    _grow(log, 3)
    ask_to_cosign(log, witnesses[0].peer)
    _grow(log, 2)  # the export's checkpoint is later than the one witnessed
    vkey, key = log_home.verifier().vkey(), witnesses[0].key
    export_tiles(log.engine, vkey, tmp_path / "tiles")
    report = verify_export(tmp_path / "tiles", vkey, [key])
    assert report.ok and "witnesses" in report.checks, report.problems

    roll_back(log.engine, first)  # behind the witnessed size: the export cannot carry it
    export_tiles(log.engine, vkey, tmp_path / "rolled-back")
    assert verify_export(tmp_path / "rolled-back", vkey).ok, "on its own it looks intact"
    caught = verify_export(tmp_path / "rolled-back", vkey, [key])
    assert [p.message for p in caught.problems] == [
        "the export has no readable checkpoint.cosigned"]
