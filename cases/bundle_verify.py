"""Verify a case export bundle offline: only the ZIP and the recipient's trusted verifier key.

Imports nothing that needs a database or a server: ``custody`` and the standard library.

Bundle layout (format ``evidence-bundle/v1``)::

    manifest.json                  case, files with SHA-256 and size, event list, who and when
    originals/<sha256><.ext>       each original, named by its hash (the manifest keeps its name)
    playback/<sha256>.<name>       playback copies, when asked for
    custody-report.html            the chain of custody in plain language
    README.txt                     how to check all this, with the tool and by hand
    custody/entries/<seq>.json     each custody event: its exact leaf bytes
    custody/proofs/<seq>.json      its RFC 9162 inclusion proof (`evidence log prove --json`)
    custody/checkpoint             the C2SP signed checkpoint every proof reaches
    custody/vkey                   the log's C2SP verifier key

How the manifest is bound into the log: the builder writes every file, the report
and the README, then the manifest (which lists each of them with its SHA-256 and
size, and the ``seq`` of every custody event in the bundle), and only then appends
``case:bundle:exported`` whose details carry the manifest's SHA-256. That event is
in ``custody/entries`` with its proof but is not listed in the manifest, since it
names the manifest. So: key → checkpoint signature → inclusion proof → export event
→ manifest SHA-256 → each file's SHA-256; changing any of them breaks a link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cases.packet_verify import PACKET_EXPORT_EVENT, packet_problems
from custody.checkpoint import Checkpoint, CheckpointError, open_checkpoint, parse_checkpoint_body
from custody.cosignature import CosignerKey, cosignatures
from custody.events import EventError, decode_event
from custody.merkle import ProofError, verify_consistency
from custody.note import NoteError, Verifier, parse_note
from custody.proofs import check_inclusion_document
from custody.report import VerifyReport
from domain.errors import ConfigError, EvidenceError
from domain.event_types import EventType
from domain.messages import Message, listing, msg, plain

BUNDLE_FORMAT = "evidence-bundle/v1"
EXPORT_EVENT = EventType.CASE_BUNDLE_EXPORTED
SEALING_EVENTS = (EXPORT_EVENT, PACKET_EXPORT_EVENT)  # a case bundle, or a review packet's
INGESTED_EVENT = EventType.FILE_INGESTED
DERIVED_EVENT = EventType.FILE_DERIVED
MANIFEST = "manifest.json"
REPORT = "custody-report.html"
README = "README.txt"
CHECKPOINT = "custody/checkpoint"
VKEY = "custody/vkey"
COSIGNED = "custody/cosigned-checkpoint"  # optional: the witnesses' newest cosigned checkpoint
COSIGNED_PROOF = "custody/cosigned-consistency.json"  # from it to CHECKPOINT
ENTRIES_DIR = "custody/entries/"
PROOFS_DIR = "custody/proofs/"
ORIGINALS_DIR = "originals/"
PLAYBACK_DIR = "playback/"

_SEQ_MEMBER = re.compile(r"custody/(entries|proofs)/(0|[1-9][0-9]{0,15})\.json")
_SMALL_LIMIT = 1 << 20  # checkpoints, keys, proofs: far smaller in practice
_MANIFEST_LIMIT = 256 << 20
_CHUNK = 1 << 20
# What a damaged or hostile ZIP can raise while being read.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
               NotImplementedError, RuntimeError, ValueError)


def proof_document_bytes(doc: Mapping[str, Any]) -> bytes:
    """The one accepted spelling of a proof file: ``evidence log prove --json`` output."""
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def entry_member(seq: int) -> str:
    return f"{ENTRIES_DIR}{seq}.json"


def proof_member(seq: int) -> str:
    return f"{PROOFS_DIR}{seq}.json"


def verify_bundle(path: Path, trusted_vkey: str, witnesses: Sequence[CosignerKey] = (),
                  quorum: int | None = None) -> VerifyReport:
    """Check a bundle with no database or server; problems are in the report, never raised.

    ``trusted_vkey`` is the key the recipient trusts, never the bundle's own: a bundle
    altered and re-signed with another key is reported, never intact.
    ``witnesses``: the bundle's cosigned checkpoint must carry valid cosignatures of at
    least ``quorum`` of them (default all) and be consistent with its checkpoint.
    ``ConfigError`` only for usage mistakes: no such file, or a malformed ``trusted_vkey``.
    """
    wanted = len(witnesses) if quorum is None else quorum
    if witnesses and not 1 <= wanted <= len(witnesses):
        raise ConfigError(msg("--quorum {quorum} is not between 1 and the {witnesses_count} witnesses given",
                              quorum=quorum, witnesses_count=len(witnesses)))
    if not path.is_file():
        raise ConfigError(msg("{path} is not a file", path=path),
                          hint=msg("pass the path of a case bundle ZIP"))
    try:
        trusted = Verifier.from_vkey(trusted_vkey)
    except NoteError as exc:
        raise ConfigError(msg("the trusted verifier key (--vkey) cannot be used: {reason}",
                              reason=exc.message),
                          hint=msg("copy the whole key string published by the evidence office")
                          ) from None
    report = VerifyReport(source=f"bundle {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            _BundleCheck(archive, report, trusted, tuple(witnesses), wanted).run()
    except _ZIP_ERRORS as exc:
        report.add("corrupt_bundle", msg("the bundle is not a complete, readable ZIP file ({error}); it "
                                         "was truncated or altered", error=exc))
    return report


class _BundleCheck:
    def __init__(self, archive: zipfile.ZipFile, report: VerifyReport,
                 trusted: Verifier, witnesses: tuple[CosignerKey, ...] = (),
                 quorum: int = 0) -> None:
        self.archive = archive
        self.report = report
        self.trusted = trusted
        self.witnesses = witnesses
        self.quorum = quorum
        self.expected: set[str] = {MANIFEST, CHECKPOINT, VKEY}
        self.own_vkey: str | None = None
        self.leaves: dict[int, bytes] = {}
        self.events: dict[int, dict[str, Any]] = {}  # decoded, and proven unless reported
        self.exports: set[int] = set()  # entries claiming to be an export event, proven or not

    def problem(self, kind: str, message: Message, index: int | None = None) -> None:
        self.report.add(kind, message, index)

    # -- reading members ----------------------------------------------------

    def read(self, name: str, limit: int) -> bytes | None:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            self.problem("missing_file", msg("{name} is missing from the bundle", name=name))
            return None
        if info.file_size > limit:
            self.problem("file_mismatch", msg("{name} is {size} bytes, more than this kind of file can "
                                              "be ({limit})", name=name, size=info.file_size,
                                              limit=limit))
            return None
        try:
            return self.archive.read(info)
        except _ZIP_ERRORS as exc:
            self.problem("corrupt_bundle", msg("{name} cannot be read from the ZIP ({error}): its bytes "
                                               "were altered", name=name, error=exc))
            return None

    def digest(self, name: str) -> tuple[str, int] | None:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            self.problem("missing_file", msg("{name} is listed in the manifest but missing", name=name))
            return None
        hasher, size = hashlib.sha256(), 0
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except _ZIP_ERRORS as exc:
            self.problem("file_mismatch", msg("{name} cannot be read back intact ({error}): its bytes "
                                              "were altered", name=name, error=exc))
            return None
        return hasher.hexdigest(), size

    # -- the checks, in dependency order -------------------------------------

    def run(self) -> None:
        self.check_members()
        verifier = self.verifier()
        checkpoint = self.checkpoint(verifier)
        self.load_entries()
        self.check_proofs(verifier, checkpoint)
        self.check_cosigned(verifier, checkpoint)
        manifest, manifest_sha256 = self.manifest()
        if manifest is not None and self.check_manifest(manifest, manifest_sha256, checkpoint):
            self.check_unexpected()

    def check_members(self) -> None:
        names = [info.filename for info in self.archive.infolist()]
        for name, count in Counter(names).items():
            if count > 1:
                self.problem("duplicate_member", msg("{name} appears {count} times in the ZIP; a reader "
                                                    "would see only one of them", name=name,
                                                    count=count))
        self.report.checks.append("zip")

    def verifier(self) -> Verifier:
        """Always the trusted key; the bundle's own is only compared with it."""
        raw = self.read(VKEY, _SMALL_LIMIT)
        own = raw.decode("utf-8", "replace").strip() if raw is not None else None
        self.own_vkey = own
        if raw is not None and raw != f"{own}\n".encode():
            self.problem("bad_key", msg("{name} is not exactly one key string and a newline", name=VKEY))
        if own is not None and own != self.trusted.vkey():
            self.problem("key_mismatch", msg("the bundle's verifier key is not the trusted key: the key "
                                             "(and probably the checkpoint) was swapped, or the "
                                             "bundle comes from another log"))
        return self.trusted

    def checkpoint(self, verifier: Verifier) -> tuple[Checkpoint, str] | None:
        raw = self.read(CHECKPOINT, _SMALL_LIMIT)
        if raw is None:
            return None
        try:
            note = raw.decode("utf-8")
            parsed = parse_checkpoint_body(parse_note(note).text)
        except (UnicodeDecodeError, NoteError) as exc:
            self.problem("bad_checkpoint", msg("{name} is not a signed checkpoint: {error}",
                                               name=CHECKPOINT, error=exc))
            return None
        self.report.checkpoints = 1
        self.report.latest_checkpoint_size = parsed.size
        self.report.root_hash = parsed.root_hash.hex()
        try:
            checkpoint = open_checkpoint(note, verifier)
        except NoteError as exc:
            self.problem("bad_signature", msg("the checkpoint is not validly signed by {key}: {error}",
                                              key=verifier.name, error=exc.message))
            return None
        self.report.checks.append("checkpoint")
        return checkpoint, note

    def load_entries(self) -> None:
        for info in self.archive.infolist():
            match = _SEQ_MEMBER.fullmatch(info.filename)
            if match is None or match.group(1) != "entries":
                continue
            seq = int(match.group(2))
            leaf = self.read(info.filename, _SMALL_LIMIT)
            if leaf is None:
                continue
            try:
                event = decode_event(leaf)
            except EventError as exc:
                self.problem("non_canonical", msg("{name} is not a canonical custody event: {error}",
                                                  name=info.filename, error=exc.message), seq)
                continue
            if event["seq"] != seq:
                self.problem("event_mismatch", msg("{name} holds entry {entry}", name=info.filename,
                                                   entry=plain(str(event["seq"]))), seq)
                continue
            self.leaves[seq] = leaf
            self.events[seq] = event
            if event["type"] in SEALING_EVENTS:
                self.exports.add(seq)
        self.report.entries = len(self.events)
        self.report.checks.append("events")

    def check_proofs(self, verifier: Verifier,
                     signed: tuple[Checkpoint, str] | None) -> None:
        for seq in sorted(self.events):
            raw = self.read(proof_member(seq), _SMALL_LIMIT)
            problem = (None if raw is None
                       else _proof_problem(raw, seq, self.leaves[seq], signed, verifier))
            if problem is not None:
                self.problem("bad_proof", msg("{name}: {problem}", name=proof_member(seq), problem=problem),
                             seq)
            if raw is None or problem is not None:
                self.events.pop(seq)  # unproven: it vouches for nothing below
        self.report.checks.append("proofs")

    def manifest(self) -> tuple[dict[str, Any] | None, str]:
        raw = self.read(MANIFEST, _MANIFEST_LIMIT)
        if raw is None:
            return None, ""
        digest = hashlib.sha256(raw).hexdigest()
        try:
            manifest = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            self.problem("bad_manifest", msg("{name} is not JSON: {error}", name=MANIFEST, error=exc))
            return None, digest
        if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
            self.problem("bad_manifest", msg("{name} is not an {format} manifest", name=MANIFEST,
                                             format=BUNDLE_FORMAT))
            return None, digest
        return manifest, digest

    def check_manifest(self, manifest: dict[str, Any], digest: str,
                       signed: tuple[Checkpoint, str] | None) -> bool:
        """False when the manifest is too malformed to say which files belong."""
        try:
            files = _files(manifest)
            listed = _int_list(manifest.get("events"), "events")
            case_id = str(manifest["case"]["id"])
            log = dict(manifest["log"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.problem("bad_manifest", msg("{name} lacks a required field or has a wrong type ({error})",
                                             name=MANIFEST, error=exc))
            return False
        self.check_sealed(digest, case_id, manifest)
        self.check_events_listed(listed)
        if signed is not None and log.get("origin") != signed[0].origin:
            self.problem("origin_mismatch", msg("the checkpoint is for log {origin!r}, the manifest names "
                                                "{named!r}", origin=signed[0].origin,
                                                named=log.get("origin")))
        if self.own_vkey is not None and log.get("vkey") != self.own_vkey:
            self.problem("key_mismatch", msg("{name} is not the key the manifest names", name=VKEY))
        self.check_files(files)
        self.check_custody(manifest)
        self.report.checks.append("manifest")
        return True

    def check_sealed(self, digest: str, case_id: str, manifest: dict[str, Any]) -> None:
        exports = {seq: e for seq, e in self.events.items() if e["type"] in SEALING_EVENTS}
        sealing = [seq for seq, e in exports.items()
                   if e["details"].get("manifest_sha256") == digest]
        if not sealing:
            claimed = [str(e["details"].get("manifest_sha256")) for e in exports.values()]
            self.problem("manifest_mismatch", msg(
                "the manifest's SHA-256 {digest} is not the one logged when the bundle was "
                "exported ({claimed}): the manifest was altered or the export event is missing",
                digest=digest, claimed=listing(claimed) if claimed else msg("no export event")))
            return
        seq = sealing[0]
        if exports[seq]["details"].get("case_id") != case_id:
            self.problem("manifest_mismatch", msg("the export event names case {named}, the manifest "
                                                  "{case_id}", named=plain(str(exports[seq]["details"]
                                                                              .get("case_id"))),
                                                  case_id=case_id), seq)
        for problem in packet_problems(manifest, exports[seq], self.events,
                                       lambda name: self.read(name, _MANIFEST_LIMIT)):
            self.problem("packet_mismatch", problem, seq)

    def check_events_listed(self, listed: list[int]) -> None:
        for seq in listed:
            if entry_member(seq) not in self.archive.NameToInfo:
                self.problem("missing_event", msg("custody event {entry} is listed in the manifest "
                                                  "but missing from the bundle", entry=seq), seq)
        # An export event that fails its proof or names another manifest is reported as
        # such, not again as an unexpected file.
        for seq in {*listed, *self.exports}:
            self.expected.update({entry_member(seq), proof_member(seq)})

    def check_files(self, files: list[tuple[str, str, int]]) -> None:
        for name, sha256, size in files:
            self.expected.add(name)
            found = self.digest(name)
            if found is None:
                continue
            if found != (sha256, size):
                self.problem("file_mismatch", msg("{name} has SHA-256 {sha256} and {size} bytes; the "
                                                  "manifest records {recorded} and {recorded_size} "
                                                  "bytes",
                                                  name=name, sha256=found[0], size=found[1],
                                                  recorded=sha256, recorded_size=size))
            self.report.objects += 1
        self.report.checks.append("files")

    def check_custody(self, manifest: dict[str, Any]) -> None:
        """Each file must be the one the log says was ingested (or derived) for that item."""
        for item in manifest.get("files", []):
            about = [e for e in self.events.values()
                     if (e["subject"] or {}).get("evidence_id") == item.get("evidence_id")]
            if not any(e["type"] == INGESTED_EVENT
                       and (e["subject"] or {}).get("sha256") == item.get("sha256")
                       and e["details"].get("size") == item.get("size") for e in about):
                self.problem("no_ingest_event", msg("{path} ({name}) has no proven ingest event with its "
                                                    "SHA-256 and size", path=plain(str(item.get("path"))),
                                                    name=plain(str(item.get("original_name")))))
            for copy in item.get("derivatives") or []:
                if copy.get("path") and not any(
                        e["type"] == DERIVED_EVENT and e["details"].get("name") == copy.get("name")
                        and _object_sha256(e["details"]) == copy.get("sha256")
                        for e in about):
                    self.problem("no_derive_event", msg("{path} has no proven event recording that copy "
                                                        "being made", path=plain(str(copy.get("path")))))
        self.report.checks.append("custody")

    def check_cosigned(self, verifier: Verifier, signed: tuple[Checkpoint, str] | None) -> None:
        """The witnesses' checkpoint, and that the bundle's checkpoint extends it."""
        present = COSIGNED in self.archive.namelist()
        if not present:
            if self.witnesses:
                self.problem("witness", msg("the bundle carries no checkpoint cosigned by a witness"))
            return
        self.expected.update({COSIGNED, COSIGNED_PROOF})
        if not self.witnesses:
            self.report.notes.append(msg("the bundle has a cosigned checkpoint; give the witnesses' keys "
                                         "(--witness) to check it"))
            return
        raw, proof_raw = self.read(COSIGNED, _SMALL_LIMIT), self.read(COSIGNED_PROOF, _SMALL_LIMIT)
        if raw is None or proof_raw is None or signed is None:
            return
        try:
            note = raw.decode("utf-8")
            witnessed = open_checkpoint(note, verifier)
            vouching = cosignatures(note, self.witnesses)
            doc = json.loads(proof_raw)
            proof = [base64.b64decode(step, validate=True) for step in doc["proof"]]
            if (doc["old_size"], doc["new_size"]) != (witnessed.size, signed[0].size):
                raise ProofError(msg("the proof is not between the two checkpoints' sizes"))
            verify_consistency(witnessed.size, signed[0].size, witnessed.root_hash,
                               signed[0].root_hash, proof)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error,
                NoteError, CheckpointError, ProofError) as exc:
            self.problem("witness", msg("the cosigned checkpoint does not hold: {error}", error=exc))
            return
        if len(vouching) < self.quorum:
            self.problem("witness", msg("{vouching} of the {quorum} witnesses required cosigned the "
                                        "bundle's witnessed checkpoint", vouching=len(vouching),
                                        quorum=self.quorum))
            return
        self.report.checks.append("witnesses")
        self.report.notes.append(msg("witnessed at size {size} by {names}; the bundle's checkpoint "
                                     "extends it", size=witnessed.size, names=listing(sorted(vouching))))

    def check_unexpected(self) -> None:
        for name in dict.fromkeys(self.archive.namelist()):
            if name not in self.expected:
                self.problem("unexpected_file", msg("{name} is in the bundle but not in its manifest or "
                                                    "custody records", name=name))


def _proof_problem(raw: bytes, seq: int, leaf: bytes, signed: tuple[Checkpoint, str] | None,
                   verifier: Verifier) -> Message | None:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        return msg("not JSON ({error})", error=exc)
    if not isinstance(doc, dict) or doc.get("index") != seq:
        return msg("not an inclusion proof of entry {entry}", entry=seq)
    try:
        proven_leaf = base64.b64decode(str(doc.get("leaf", "")), validate=True)
    except binascii.Error:
        return msg("the entry bytes are not base64")
    if proven_leaf != leaf:
        return msg("proves other bytes than {name}", name=entry_member(seq))
    if signed is None:
        return None  # the checkpoint problem is reported already
    if doc.get("checkpoint") != signed[1]:
        return msg("reaches another checkpoint than {name}", name=CHECKPOINT)
    try:
        check_inclusion_document(doc, verifier)
    except EvidenceError as exc:
        return exc.message
    canonical = {"index": seq, "size": doc["size"], "leaf": base64.b64encode(leaf).decode(),
                 "leaf_hash": hashlib.sha256(b"\x00" + leaf).hexdigest(),
                 "proof": [bytes.fromhex(h).hex() for h in doc["proof"]], "checkpoint": signed[1]}
    if raw != proof_document_bytes(canonical):
        return msg("the proof verifies but its bytes are not in the canonical form this tool "
                   "writes")
    return None


def _object_sha256(details: Mapping[str, Any]) -> Any:
    """The SHA-256 a derive event records for its copy; None when it records no such object
    (only the log's key vouches for an event's details, and a forger's key is a key too)."""
    made = details.get("object")
    return made.get("sha256") if isinstance(made, dict) else None


def _files(manifest: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(member name, SHA-256, size) of every file the manifest lists, copies and documents too."""
    found: list[tuple[str, str, int]] = []

    def take(entry: Mapping[str, Any]) -> None:
        name, sha256, size = entry["path"], entry["sha256"], entry["size"]
        if not isinstance(name, str) or not isinstance(sha256, str) or type(size) is not int:
            raise TypeError(f"file entry {entry!r}")
        found.append((name, sha256, size))

    for item in manifest["files"]:
        take(item)
        for copy in item.get("derivatives") or []:
            if copy.get("path") is not None:
                take(copy)
    for document in manifest["documents"]:
        take(document)
    return found


def _int_list(values: Any, what: str) -> list[int]:
    if not isinstance(values, list) or not all(type(v) is int for v in values):
        raise TypeError(f"{what} is not a list of integers")
    return list(values)
