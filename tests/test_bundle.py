"""Case export bundles: built from a real ingest, verified offline, and every tamper caught."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bundle_cmd import run_verify_bundle
from api.home import Home, init_home
from api.settings import Settings
from cases.bundle import build_bundle
from cases.bundle_verify import proof_document_bytes, verify_bundle
from cases.case_records import attach_evidence, create_case, prepare_export
from cases.review import request_review
from cases.tables import DEFAULT_UNIT
from cases.users import Role, add_user, operator
from cases.viewing import VIEWED, open_session, playback_target, target_drafts
from custody.events import canonical_bytes, decode_event
from custody.note import Ed25519Signer, parse_note, sign_note
from domain.errors import IntegrityError, NotFound
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import make_recorder_image
from storage.objects import ObjectReader, ObjectStore
from tests.cli_helpers import run_cli

TITLE = 'Assault <b>&</b> "Market St"'
ON_CASE = ("segment_1", "cjk_name", "photo")


@dataclass
class Built:
    home: Home
    case_id: str
    card: Path
    ids: dict[str, str]  # original file name -> evidence id
    names: dict[str, str]  # role -> original file name
    bundle: Path
    vkey: str

    def members(self) -> dict[str, bytes]:
        return read_members(self.bundle)


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(members: Mapping[str, bytes], directory: Path, name: str = "t.zip") -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_sample(tmp_path_factory.mktemp("bundle"))


def build_sample(root: Path) -> Built:
    """A real ingest, a case with three items, a viewing and an export: the bundle under
    ``root/out`` (bench/fuzz_decoders.py mutates it too)."""
    roles = make_recorder_image(root / "template")
    card = root / "card"
    card.mkdir()
    names = {}
    for role in (*ON_CASE, "wav"):
        shutil.copy(roles[role], card)
        names[role] = roles[role].name
    home, _ = init_home(Settings(home=root / "home"))
    ingestor = Ingestor(home.custody_log(), home.object_store(), IngestOptions())
    try:
        results = list(ingestor.ingest(card))
    finally:
        ingestor.close()
    ids = {Path(r.to_json()["path"]).name: r.evidence_id for r in results if r.evidence_id}
    log, store = home.custody_log(), home.object_store()
    admin, _ = add_user(log, "admin", Role.ADMIN, None, by=operator("test"), unit_code=DEFAULT_UNIT)
    reviewer, _ = add_user(log, "reviewer", Role.REVIEWER, None, by=operator("test"), unit_code=DEFAULT_UNIT)
    case = create_case(log, admin, TITLE, "2024/XS-17")
    other = create_case(log, admin, "Another matter", "2024/XS-18")
    for role in ON_CASE:
        attach_evidence(log, store, admin, case.id, ids[names[role]])
    attach_evidence(log, store, admin, other.id, ids[names["wav"]])
    request_review(log, admin, case.id)  # so that the reviewer may view and export it
    segment = ids[names["segment_1"]]
    target = playback_target(log, reviewer, segment)
    moment = datetime.now(UTC)
    open_session(log, reviewer, "playback", f"evidence:{segment}", "court review",
                 target_drafts(reviewer, target, VIEWED, "court review", moment), now=moment)
    prepare_export(log, reviewer, case.id, True, "disclosure to the defence")
    bundle = build_bundle(home.engine(), store, log, case.id, include_playback=True,
                          actor=reviewer.actor, out_dir=root / "out")
    return Built(home, case.id, card, ids, names, bundle, home.verifier().vkey())


def manifest_of(members: Mapping[str, bytes]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(members["manifest.json"])
    return value


def entries_of(members: Mapping[str, bytes]) -> dict[int, dict[str, Any]]:
    return {int(name.rsplit("/", 1)[1].removesuffix(".json")): decode_event(data)
            for name, data in members.items() if name.startswith("custody/entries/")}


def seq_of(members: Mapping[str, bytes], event_type: str) -> int:
    return next(seq for seq, e in entries_of(members).items() if e["type"] == event_type)


def kinds(path: Path, vkey: str) -> set[str]:
    report = verify_bundle(path, vkey)
    assert not report.ok
    return {p.kind for p in report.problems}


# -- what a good bundle holds --------------------------------------------------


def test_an_untouched_bundle_verifies_offline(built: Built) -> None:
    report = verify_bundle(built.bundle, built.vkey)
    assert report.ok, report.problems
    assert report.notes == []
    assert set(report.checks) >= {"zip", "checkpoint", "events", "proofs", "files", "custody"}
    assert report.objects == len(ON_CASE) + 2 + 2  # originals, two playback copies, report, README


def test_originals_are_bit_for_bit_with_their_names_in_the_manifest(built: Built) -> None:
    members = built.members()
    manifest = manifest_of(members)
    assert manifest["case"] == {"id": built.case_id, "number": "2024/XS-17", "title": TITLE}
    by_name = {f["original_name"]: f for f in manifest["files"]}
    assert set(by_name) == {built.names[r] for r in ON_CASE}  # not the other case's audio
    for name, item in by_name.items():
        original = (built.card / name).read_bytes()
        assert members[item["path"]] == original
        assert item["sha256"] == hashlib.sha256(original).hexdigest() == item["path"][10:74]
        assert item["evidence_id"] == built.ids[name]
    segment = by_name[built.names["segment_1"]]
    assert segment["metadata"]["kind"] == "video" and segment["metadata"]["duration_ms"] > 0
    assert segment["metadata"]["officer_no"] == "100234"
    playback = next(c for c in segment["derivatives"] if c["name"] == "playback.mp4")
    assert hashlib.sha256(members[playback["path"]]).hexdigest() == playback["sha256"]
    photo = by_name[built.names["photo"]]
    assert all(c["path"] is None for c in photo["derivatives"])  # thumbnails stay out
    assert manifest["created_by"] == "user:reviewer"


def test_custody_events_are_the_logs_exact_bytes_and_nothing_unrelated(built: Built) -> None:
    members = built.members()
    log = built.home.custody_log()
    entries = entries_of(members)
    for seq in entries:
        assert members[f"custody/entries/{seq}.json"] == log.entry(seq)
    types = [e["type"] for e in entries.values()]
    for expected in ("evidence:file:ingested", "evidence:file:verified", "evidence:file:derived",
                     "case:record:created", "case:evidence:attached", "evidence:file:viewed",
                     "case:bundle:requested", "case:bundle:exported"):
        assert expected in types
    case_ids = {e["details"].get("case_id") for e in entries.values()} - {None}
    assert case_ids == {built.case_id}
    subjects = {(e["subject"] or {}).get("evidence_id") for e in entries.values()} - {None}
    assert subjects == {built.ids[built.names[r]] for r in ON_CASE}
    viewed = [e for e in entries.values() if e["type"] == "evidence:file:viewed"]
    assert viewed[0]["details"]["reason"] == "court review"


def test_the_export_event_is_logged_and_seals_the_manifest(built: Built) -> None:
    members = built.members()
    export_seq = seq_of(members, "case:bundle:exported")
    logged = decode_event(built.home.custody_log().entry(export_seq))
    assert logged["details"]["manifest_sha256"] == hashlib.sha256(members["manifest.json"]).hexdigest()
    assert logged["details"]["bundle"] == built.bundle.name
    assert logged["actor"] == "user:reviewer"
    assert export_seq not in manifest_of(members)["events"]  # it names the manifest, not vice versa
    proof = json.loads(members[f"custody/proofs/{export_seq}.json"])
    assert proof["checkpoint"] == members["custody/checkpoint"].decode()
    assert members["custody/vkey"].decode() == built.vkey + "\n"


def test_the_custody_report_reads_as_plain_language_and_escapes_input(built: Built) -> None:
    members = built.members()
    html = members["custody-report.html"].decode()
    assert "Viewed (the playback copy) by user reviewer; reason given: “court review”" in html
    assert "Attached to case 2024/XS-17 by user admin" in html
    assert "Copied off recorder ZFY0001 (officer 100234) by station local" in html
    assert "Export of the case requested by user reviewer" in html
    assert "&lt;b&gt;&amp;&lt;/b&gt; &quot;Market St&quot;" in html and "<b>" not in html
    assert "<script" not in html
    for role in ON_CASE:
        assert built.names[role] in html
    readme = members["README.txt"].decode()
    assert "evidence verify-bundle" in readme and "sha256sum" in readme
    assert built.vkey in readme


def test_a_bundle_without_playback_copies(built: Built, tmp_path: Path) -> None:
    home = built.home
    path = build_bundle(home.engine(), home.object_store(), home.custody_log(), built.case_id,
                        include_playback=False, actor="user:admin", out_dir=tmp_path)
    members = read_members(path)
    assert not any(name.startswith("playback/") for name in members)
    assert verify_bundle(path, built.vkey).ok
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_an_unknown_case_is_refused(built: Built, tmp_path: Path) -> None:
    home = built.home
    with pytest.raises(NotFound):
        build_bundle(home.engine(), home.object_store(), home.custody_log(),
                     "00000000-0000-0000-0000-000000000000", include_playback=False,
                     actor="user:admin", out_dir=tmp_path)


class _CorruptingStore:
    """Hands back one flipped byte on every read: a store that lost a bit."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    def open(self, key: str, version_id: str | None = None, *, start: int = 0,
             end: int | None = None) -> ObjectReader:
        data = bytearray(self.inner.open(key, version_id).read())
        data[len(data) // 2] ^= 0x01
        return ObjectReader(io.BytesIO(bytes(data)), key=key, start=0, end=len(data),
                            total_size=len(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_corrupt_storage_aborts_before_logging_and_leaves_no_file(built: Built,
                                                                  tmp_path: Path) -> None:
    home = built.home
    log = home.custody_log()
    size = log.size()
    store: Any = _CorruptingStore(home.object_store())
    with pytest.raises(IntegrityError, match="reads back as SHA-256"):
        build_bundle(home.engine(), store, log, built.case_id, include_playback=False,
                     actor="user:admin", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert log.size() == size  # no export event for a bundle that was never made


# -- tampering ----------------------------------------------------------------


def _flip(data: bytes, at: int | None = None) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 2 if at is None else at] ^= 0x01
    return bytes(changed)


def _original(members: dict[str, bytes]) -> str:
    return next(n for n in members if n.startswith("originals/"))


def _edit_manifest(members: dict[str, bytes]) -> None:
    manifest = manifest_of(members)
    manifest["case"]["title"] = "Something else"
    members["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode()


def _swap_original_and_manifest(members: dict[str, bytes]) -> None:
    """A careful forger: new bytes for a file and the manifest updated to match."""
    name = _original(members)
    members[name] = _flip(members[name])
    manifest = manifest_of(members)
    for item in manifest["files"]:
        if item["path"] == name:
            item["sha256"] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode()


def _edit_event(members: dict[str, bytes]) -> None:
    """Change who viewed, re-encode canonically, and update the proof's leaf to match."""
    seq = seq_of(members, "evidence:file:viewed")
    event = entries_of(members)[seq]
    event["actor"] = "user:someone-else"
    leaf = canonical_bytes(event)
    members[f"custody/entries/{seq}.json"] = leaf
    proof = json.loads(members[f"custody/proofs/{seq}.json"])
    proof["leaf"] = base64.b64encode(leaf).decode()
    proof["leaf_hash"] = hashlib.sha256(b"\x00" + leaf).hexdigest()
    members[f"custody/proofs/{seq}.json"] = proof_document_bytes(proof)


def _non_canonical_event(members: dict[str, bytes]) -> None:
    seq = seq_of(members, "evidence:file:ingested")
    members[f"custody/entries/{seq}.json"] = members[f"custody/entries/{seq}.json"].replace(
        b'","', b'", "', 1)


def _edit_proof(members: dict[str, bytes]) -> None:
    seq = seq_of(members, "case:evidence:attached")
    proof = json.loads(members[f"custody/proofs/{seq}.json"])
    proof["proof"][0] = hashlib.sha256(b"forged").hexdigest()
    members[f"custody/proofs/{seq}.json"] = proof_document_bytes(proof)


def _edit_checkpoint(members: dict[str, bytes]) -> None:
    lines = members["custody/checkpoint"].decode().split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"other root").digest()).decode()
    members["custody/checkpoint"] = "\n".join(lines).encode()


def _swap_vkey(members: dict[str, bytes]) -> None:
    stranger = Ed25519Signer.generate(parse_note(members["custody/checkpoint"]).signatures[0].name)
    members["custody/vkey"] = (stranger.verifier_key() + "\n").encode()


def _drop_event(members: dict[str, bytes]) -> None:
    seq = seq_of(members, "evidence:file:viewed")
    del members[f"custody/entries/{seq}.json"], members[f"custody/proofs/{seq}.json"]


def _drop_export_event(members: dict[str, bytes]) -> None:
    seq = seq_of(members, "case:bundle:exported")
    del members[f"custody/entries/{seq}.json"], members[f"custody/proofs/{seq}.json"]


def _drop_original(members: dict[str, bytes]) -> None:
    del members[_original(members)]


def _add_file(members: dict[str, bytes]) -> None:
    members["originals/extra.mp4"] = b"not evidence"


def _edit_named(name: str) -> Callable[[dict[str, bytes]], None]:
    def edit(members: dict[str, bytes]) -> None:
        target = next(n for n in members if n.startswith(name))
        members[target] = _flip(members[target])
    return edit


TAMPERS: dict[str, tuple[Callable[[dict[str, bytes]], None], str]] = {
    "a byte of an original": (_edit_named("originals/"), "file_mismatch"),
    "a byte of a playback copy": (_edit_named("playback/"), "file_mismatch"),
    "a byte of the custody report": (_edit_named("custody-report.html"), "file_mismatch"),
    "a byte of the README": (_edit_named("README.txt"), "file_mismatch"),
    "the manifest": (_edit_manifest, "manifest_mismatch"),
    "a file and the manifest together": (_swap_original_and_manifest, "manifest_mismatch"),
    "an event (and its proof's leaf)": (_edit_event, "bad_proof"),
    "an event's encoding": (_non_canonical_event, "non_canonical"),
    "a proof": (_edit_proof, "bad_proof"),
    "the checkpoint": (_edit_checkpoint, "bad_signature"),
    "the key, for another": (_swap_vkey, "key_mismatch"),
    "an event removed": (_drop_event, "missing_event"),
    "the export event removed": (_drop_export_event, "manifest_mismatch"),
    "an original removed": (_drop_original, "missing_file"),
    "a file added": (_add_file, "unexpected_file"),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_every_kind_of_change_is_reported(built: Built, tmp_path: Path, what: str) -> None:
    tamper, kind = TAMPERS[what]
    members = built.members()
    tamper(members)
    path = write_zip(members, tmp_path)
    assert kind in kinds(path, built.vkey)
    assert run_verify_bundle(path, built.vkey, as_json=True) == 1


def _resigned(members: dict[str, bytes]) -> dict[str, bytes]:
    """Key and checkpoint replaced together: the same tree head signed by a stranger's key."""
    changed = dict(members)
    note = parse_note(members["custody/checkpoint"])
    stranger = Ed25519Signer.generate(note.signatures[0].name)
    resigned = sign_note(note.text, [stranger])
    changed["custody/checkpoint"] = resigned.encode()
    changed["custody/vkey"] = (stranger.verifier_key() + "\n").encode()
    for name, data in members.items():
        if name.startswith("custody/proofs/"):
            proof = json.loads(data)
            proof["checkpoint"] = resigned
            changed[name] = proof_document_bytes(proof)
    return changed


def test_a_key_swapped_with_its_checkpoint_is_caught_by_the_trusted_key(built: Built,
                                                                        tmp_path: Path) -> None:
    path = write_zip(_resigned(built.members()), tmp_path)
    assert {"key_mismatch", "bad_signature"} <= kinds(path, built.vkey)


def test_a_truncated_or_garbage_file_is_a_corrupt_bundle(built: Built, tmp_path: Path) -> None:
    data = built.bundle.read_bytes()
    for name, content in (("half.zip", data[: len(data) // 2]), ("short.zip", data[:-1]),
                          ("empty.zip", b""), ("text.zip", b"not a zip at all\n")):
        path = tmp_path / name
        path.write_bytes(content)
        assert "corrupt_bundle" in kinds(path, built.vkey), name


def test_a_flipped_byte_inside_the_zip_itself_is_caught(built: Built, tmp_path: Path) -> None:
    data = built.bundle.read_bytes()
    original = (built.card / built.names["segment_1"]).read_bytes()
    at = data.index(original[:4096]) + 2048  # inside the stored original, CRC and all
    path = tmp_path / "flipped.zip"
    path.write_bytes(_flip(data, at))
    assert not verify_bundle(path, built.vkey).ok


def test_a_duplicated_member_is_reported(built: Built, tmp_path: Path) -> None:
    members = built.members()
    path = write_zip(members, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("manifest.json", b"{}")
    assert "duplicate_member" in kinds(path, built.vkey)


@pytest.fixture(scope="module")
def pristine(built: Built) -> dict[str, bytes]:
    return built.members()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_changed_byte_of_any_member_is_caught(built: Built, pristine: dict[str, bytes],
                                                  data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(n for n, b in pristine.items() if b)), label="member")
    at = data.draw(st.integers(0, len(pristine[name]) - 1), label="offset")
    xor = data.draw(st.integers(1, 255), label="xor")
    members = dict(pristine)
    changed = bytearray(members[name])
    changed[at] ^= xor
    members[name] = bytes(changed)
    with tempfile.TemporaryDirectory() as directory:
        path = write_zip(members, Path(directory))
        assert not verify_bundle(path, built.vkey).ok


# -- the command ----------------------------------------------------------------


def test_the_command_exit_codes(built: Built, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run_verify_bundle(built.bundle, built.vkey, as_json=True) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is True and printed["problems"] == []
    members = built.members()
    _edit_manifest(members)
    assert run_verify_bundle(write_zip(members, tmp_path), built.vkey, as_json=False) == 1
    assert "manifest_mismatch" in capsys.readouterr().out
    assert run_verify_bundle(tmp_path / "missing.zip", built.vkey, as_json=False) == 2
    assert run_verify_bundle(built.bundle, "not-a-key", as_json=False) == 2
    assert "--vkey" in capsys.readouterr().err


FORGED_VERDICT = "\x1b[2J\x1b[H\x1b[32mINTACT\x1b[0m  bundle ok\x1b[8m"


def test_a_zip_member_name_cannot_forge_the_verdict(built: Built, tmp_path: Path) -> None:
    """A member named to clear the screen and print a green INTACT is shown escaped, inert."""
    members = built.members()
    members[FORGED_VERDICT] = b"x"
    members["originals/\u202eevil\u009b2J"] = b"y"  # bidi override and an 8-bit CSI
    path = write_zip(members, tmp_path)
    result = run_cli(tmp_path / "no-home", "verify-bundle", str(path), "--vkey", built.vkey,
                     env={"COLUMNS": "400"})
    assert result.returncode == 1, result.stderr
    printed = result.stdout + result.stderr
    for raw in ("\x1b", "\u202e", "\u009b"):
        assert raw not in printed
    assert result.stdout.startswith("CHANGED OR DAMAGED")
    assert "\\x1b[2J\\x1b[H\\x1b[32mINTACT" in result.stdout  # shown, visibly escaped
    assert "\\u202eevil\\x9b2J" in result.stdout
    as_json = run_cli(tmp_path / "no-home", "verify-bundle", str(path), "--vkey", built.vkey,
                      "--json")
    assert "\u202e" not in as_json.stdout and "\u009b" not in as_json.stdout
    report = json.loads(as_json.stdout)
    assert not report["ok"]
    assert any(FORGED_VERDICT in p["message"] for p in report["problems"])  # JSON keeps it exact


def test_verify_bundle_needs_a_key_the_recipient_trusts(built: Built, tmp_path: Path) -> None:
    nowhere = tmp_path / "no-home"
    unpinned = {"EVIDENCE_TRUSTED_VKEY": ""}
    bare = run_cli(nowhere, "verify-bundle", str(built.bundle), env=unpinned)
    assert bare.returncode == 2 and "INTACT" not in bare.stdout
    for advice in ("--vkey", "EVIDENCE_TRUSTED_VKEY", "evidence log key", "not from the bundle"):
        assert advice in " ".join(bare.stderr.split()), bare.stderr
    assert "Traceback" not in bare.stderr
    pinned = run_cli(nowhere, "verify-bundle", str(built.bundle),
                     env={"EVIDENCE_TRUSTED_VKEY": built.vkey})
    assert pinned.returncode == 0 and pinned.stdout.startswith("INTACT"), pinned.stdout
    # Re-signed by a stranger, wholly consistent with its own key: never intact.
    forged = write_zip(_resigned(built.members()), tmp_path)
    for args, env in (((), {"EVIDENCE_TRUSTED_VKEY": built.vkey}), (("--vkey", built.vkey), unpinned)):
        result = run_cli(nowhere, "verify-bundle", str(forged), *args, env=env)
        assert result.returncode == 1 and result.stdout.startswith("CHANGED OR DAMAGED")
        assert "bad_signature" in result.stdout and "key_mismatch" in result.stdout
    assert run_cli(nowhere, "verify-bundle", str(forged), env=unpinned).returncode == 2


def _iter_members(path: Path) -> Iterator[str]:
    with zipfile.ZipFile(path) as archive:
        yield from archive.namelist()


def test_the_zip_holds_only_what_the_layout_names(built: Built) -> None:
    prefixes = ("originals/", "playback/", "custody/entries/", "custody/proofs/")
    singles = {"manifest.json", "custody-report.html", "README.txt", "custody/checkpoint",
               "custody/vkey"}
    names = list(_iter_members(built.bundle))
    assert singles <= set(names)
    assert all(n in singles or n.startswith(prefixes) for n in names)
    assert len(names) == len(set(names))
