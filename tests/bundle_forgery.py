"""A forger's case bundle: its events re-logged in a fresh custody log under the forger's key.

Verified without a trusted key, such a bundle's proofs and checkpoint hold, so the manifest
and custody cross-checks of ``cases.bundle_verify`` see whatever events and manifest the
forger chose. Used by tests/test_bundle_forged.py and bench/fuzz_decoders.py.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cases.bundle_verify import (
    CHECKPOINT,
    ENTRIES_DIR,
    EXPORT_EVENT,
    MANIFEST,
    PROOFS_DIR,
    VKEY,
    entry_member,
    proof_document_bytes,
    proof_member,
)
from custody.events import EventDraft, Subject, decode_event
from custody.log import CustodyLog
from custody.note import Ed25519Signer
from storage.db import make_engine, migrate, sqlite_url


def logged_drafts(members: Mapping[str, bytes]) -> list[EventDraft]:
    """The bundle's events in log order, as drafts a forger can edit (the export left out)."""
    events = {int(name[len(ENTRIES_DIR):-len(".json")]): decode_event(data)
              for name, data in members.items() if name.startswith(ENTRIES_DIR)}
    return [EventDraft(e["type"], e["actor"], Subject(**e["subject"]) if e["subject"] else None,
                       e["details"])
            for _, e in sorted(events.items()) if e["type"] != EXPORT_EVENT]


def origin_of(members: Mapping[str, bytes]) -> str:
    origin: str = json.loads(members[MANIFEST])["log"]["origin"]
    return origin


def forge(members: Mapping[str, bytes], drafts: list[EventDraft], manifest: Any,
          signer: Ed25519Signer, scratch: Path) -> dict[str, bytes]:
    """``members`` with ``drafts`` logged by ``signer`` as entries 0.., then an export event
    sealing ``manifest`` (JSON-encoded as given), with their proofs and checkpoint."""
    manifest_bytes = json.dumps(manifest, indent=1).encode()
    case = manifest.get("case") if isinstance(manifest, dict) else None
    case_id = case.get("id") if isinstance(case, dict) else None
    export = EventDraft(EXPORT_EVENT, "forger", None, {
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "case_id": case_id if isinstance(case_id, str) else "x"})
    forged = {name: data for name, data in members.items()
              if not name.startswith((ENTRIES_DIR, PROOFS_DIR)) and name not in (MANIFEST, CHECKPOINT, VKEY)}
    database = scratch / "forged-log.db"
    database.unlink(missing_ok=True)
    engine = make_engine(sqlite_url(database))
    try:
        migrate(engine)
        log = CustodyLog(engine, signer, signer.name)
        log.append([*drafts, export])
        signed = log.checkpoint()
        for seq in range(signed.size):
            proof = log.inclusion_proof(seq, signed.size)
            forged[entry_member(seq)] = proof.leaf
            forged[proof_member(seq)] = proof_document_bytes(proof.to_json())
    finally:
        engine.dispose()
        database.unlink(missing_ok=True)
    forged[MANIFEST] = manifest_bytes
    forged[CHECKPOINT] = signed.note.encode()
    forged[VKEY] = (signer.verifier_key() + "\n").encode()
    return forged


def forger_manifest(members: Mapping[str, bytes], signer: Ed25519Signer, events: int) -> dict[str, Any]:
    """The bundle's manifest naming the forger's key and its ``events`` entries 0.. ."""
    manifest: dict[str, Any] = json.loads(members[MANIFEST])
    return {**manifest, "log": {**manifest["log"], "vkey": signer.verifier_key()},
            "events": list(range(events))}


def own_vkey(path: Path) -> str:
    """The verifier key a bundle carries, as a recipient who wrongly trusted it would use it."""
    with zipfile.ZipFile(path) as bundle:
        return bundle.read(VKEY).decode("utf-8", "replace").strip()
