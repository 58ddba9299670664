"""A bundle whose log a forger re-signed: verified without a trusted key, its proofs hold,
and its hostile events and manifest must end in a report, never an exception.

The derive-event case was found by bench/fuzz_decoders.py (target bundle-forged) on the old
reader; the ingest-event case by reading the same function afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cases.bundle_verify import DERIVED_EVENT, INGESTED_EVENT, verify_bundle
from custody.events import EventDraft
from custody.note import Ed25519Signer
from tests.bundle_forgery import forge, forger_manifest, logged_drafts, origin_of, own_vkey
from tests.test_bundle import Built, built, write_zip

__all__ = ["built"]  # the module-scoped fixture of tests/test_bundle.py


def _forged(built: Built, tmp_path: Path, edit: Callable[[EventDraft], EventDraft],
            edit_manifest: Callable[[dict[str, Any]], dict[str, Any]] = lambda m: m) -> Path:
    members = built.members()
    signer = Ed25519Signer.generate(origin_of(members))
    drafts = [edit(d) for d in logged_drafts(members)]
    manifest = edit_manifest(forger_manifest(members, signer, len(drafts)))
    return write_zip(forge(members, drafts, manifest, signer, tmp_path), tmp_path)


def test_a_re_signed_but_unchanged_log_verifies_with_its_own_key_only(built: Built,
                                                                       tmp_path: Path) -> None:
    path = _forged(built, tmp_path, lambda d: d)
    assert verify_bundle(path, own_vkey(path)).ok  # the note says so: only a trusted key tells
    assert {"key_mismatch", "bad_signature"} <= {p.kind for p in verify_bundle(path, built.vkey).problems}


def _no_evidence_id(manifest: dict[str, Any]) -> dict[str, Any]:
    files = [dict(item) for item in manifest["files"]]
    del files[0]["evidence_id"]
    return {**manifest, "files": files}


def _ingest_without_subject(draft: EventDraft) -> EventDraft:
    return dataclasses.replace(draft, subject=None) if draft.type == INGESTED_EVENT else draft


def _derive_naming_object_as_text(draft: EventDraft) -> EventDraft:
    if draft.type != DERIVED_EVENT:
        return draft
    return dataclasses.replace(draft, details={**draft.details, "object": "not an object"})


@pytest.mark.parametrize(("edit", "edit_manifest"), [
    pytest.param(_ingest_without_subject, _no_evidence_id, id="ingest-event-without-subject"),
    pytest.param(_derive_naming_object_as_text, lambda m: m, id="derive-event-object-is-text"),
])
def test_hostile_custody_events_are_reported_not_raised(
        built: Built, tmp_path: Path, edit: Callable[[EventDraft], EventDraft],
        edit_manifest: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    path = _forged(built, tmp_path, edit, edit_manifest)
    report = verify_bundle(path, own_vkey(path))  # raised TypeError / AttributeError before
    assert not report.ok
    assert {p.kind for p in report.problems} & {"no_ingest_event", "no_derive_event"}
