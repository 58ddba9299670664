"""A case's documents are evidence: stored bit for bit under their hash with the ingest's
custody events, put on the case and listed with its footage; the same from the CLI and the
HTTP API; refused when not a document, and outside the user's role and unit."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from api.verify_run import run_verify
from cases.bundle_verify import verify_bundle
from storage.objects import original_key
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli

_ = world_fixture
API = "/api/v1"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256))


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>询问笔录</w:document>")
    return buffer.getvalue()


def upload(world: World, user: str, case_id: str, data: bytes, kind: str = "transcript",
           name: str = "询问笔录.pdf") -> Any:
    return world.client.post(f"{API}/cases/{case_id}/documents", headers=world.auth(user), json={
        "name": name, "kind": kind, "content_base64": base64.b64encode(data).decode()})


@pytest.fixture
def case_id(world: World) -> str:
    response = world.client.post(f"{API}/cases", headers=world.auth("case_officer"),
                                 json={"title": "无证经营", "number": "N-2024-7"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_document_is_kept_bit_for_bit_and_listed_with_the_footage(world: World,
                                                                     case_id: str) -> None:
    response = upload(world, "case_officer", case_id, PDF)
    assert response.status_code == 201, response.text
    doc = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (doc["sha256"], doc["size"], doc["media_type"], doc["kind"]) == (
        digest, len(PDF), "application/pdf", "transcript")
    with world.home.object_store().open(original_key(digest)) as reader:
        assert reader.read() == PDF
    ingested = [e for e in world.events("evidence:file:ingested")
                if e["subject"]["evidence_id"] == doc["evidence_id"]]
    assert len(ingested) == 1 and ingested[0]["actor"] == "user:case_officer"
    [added] = world.events("case:document:added")
    assert added["subject"] == {"evidence_id": doc["evidence_id"], "sha256": digest}
    assert added["details"]["kind"] == "transcript" and added["details"]["case_id"] == case_id
    assert added["details"]["retention"]["category"] == "case"
    detail = world.get("case_officer", f"{API}/cases/{case_id}").json()
    assert [e["evidence_id"] for e in detail["evidence"]] == [doc["evidence_id"]]
    assert "case:document:added" in {e["type"] for e in detail["custody_events"]}
    listed = world.get("reviewer", f"{API}/cases/{case_id}/documents")
    assert listed.status_code == 403  # not sent for review
    listed = world.get("admin", f"{API}/cases/{case_id}/documents").json()["items"]
    assert [d["evidence_id"] for d in listed] == [doc["evidence_id"]]
    # a DOCX and a photo of signed paper are documents too
    assert upload(world, "case_officer", case_id, docx(), "form", "表.docx").json()[
        "media_type"].endswith("wordprocessingml.document")
    assert upload(world, "case_officer", case_id, b"\xff\xd8\xff\xe0" + b"x" * 100, "scan",
                  "告知书.jpg").json()["media_type"] == "image/jpeg"
    # the same file twice on the same case: refused, nothing stored again
    again = upload(world, "case_officer", case_id, PDF)
    assert again.status_code == 409, again.text
    # verify finds the catalogue as the events say: a document is kept permanently
    report = run_verify(world.home.engine(), world.home.object_store(), world.home.verifier(),
                        world.home.custody_log().origin, objects=True)
    assert report.ok, report.problems


def test_a_scanned_document_of_megabytes_is_taken_and_a_json_route_still_refuses_one(
        world: World, case_id: str) -> None:
    # A phone photo of a signed decision or a scanned PDF is megabytes: the document route's
    # own limit (20 MiB) applies, not the 64 KiB every JSON route keeps.
    scan = PDF + bytes(3 * 1024 * 1024)
    response = upload(world, "case_officer", case_id, scan, "scan", "处罚决定书（签收）.pdf")
    assert response.status_code == 201, response.text[:300]
    assert response.json()["size"] == len(scan)
    refused = world.client.post(f"{API}/cases", headers=world.auth("case_officer"),
                                json={"title": "x" * (100 * 1024), "number": "N-2024-8"})
    assert refused.status_code == 413, refused.text[:300]


def test_what_is_not_a_document_or_not_the_users_is_refused(world: World, case_id: str) -> None:
    before = len(world.events())
    for data in (b"MZ\x90\x00 an executable", b"PK\x03\x04 not a zip", b"<html>"):
        response = upload(world, "case_officer", case_id, data)
        assert response.status_code == 400, response.text
        assert "PDF, DOCX, JPEG or PNG" in response.json()["error"]["message"]
    assert upload(world, "case_officer", case_id, PDF, kind="poem").status_code == 422
    for user in ("n2-case_officer", "south-admin", "reviewer", "officer", "auditor"):
        response = upload(world, user, case_id, PDF)
        assert response.status_code == 403, (user, response.text)
    assert len(world.events()) == before  # nothing refused was stored or logged
    assert not world.home.object_store().exists(original_key(hashlib.sha256(PDF).hexdigest()))


def test_the_cli_adds_a_document_with_the_same_events(world: World, case_id: str, db_url: str,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "决定书.pdf"
    path.write_bytes(PDF + b"cli")
    result = run_cli(world.home.root, "document", "add", case_id, str(path), "--kind",
                     "decision", env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert upload(world, "case_officer", case_id, PDF, "decision", "决定书.pdf").status_code == 201
    by_cli, by_api = world.events("case:document:added")
    assert by_cli["actor"].startswith("cli:") and by_api["actor"] == "user:case_officer"
    assert set(by_cli["details"]) == set(by_api["details"])
    same = {"size": 0, "objects": [], "retention": None}  # their own bytes, clocks and copies
    assert {**by_cli["details"], **same} == {**by_api["details"], **same}
    assert by_cli["details"]["retention"]["category"] == by_api["details"]["retention"][
        "category"] == "case"
    listed = [json.loads(line) for line in run_cli(
        world.home.root, "document", "list", case_id, "--json",
        env={"EVIDENCE_DATABASE_URL": db_url}).stdout.splitlines()]
    assert {d["sha256"] for d in listed} == {hashlib.sha256(PDF + b"cli").hexdigest(),
                                             hashlib.sha256(PDF).hexdigest()}


def test_a_case_bundle_with_documents_verifies_offline(world: World, case_id: str,
                                                       tmp_path: Path) -> None:
    assert upload(world, "case_officer", case_id, PDF).status_code == 201
    response = world.get("case_officer", f"{API}/cases/{case_id}/export?reason=court")
    assert response.status_code == 200, response.text
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.content)
    with zipfile.ZipFile(path) as bundle:
        assert PDF in [bundle.read(name) for name in bundle.namelist()]
    report = verify_bundle(path, world.home.verifier().vkey())
    assert report.ok, report
