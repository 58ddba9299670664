"""What the review pages read (cases/review_lists.py): an action's review state in the
reader's language, one packet with its items named, and the head's approvals, which hold
only passed reviews of the materials as they are now and open contests of the agency."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from cases.legal_review import CHECKLIST
from storage.db import make_engine, migrate, sqlite_url
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the lists are plain joins, tested on both engines by the RBAC matrix."""
    url = sqlite_url(tmp_path / "evidence.db")
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url


def ok(world: World, method: str, user: str, path: str, body: Any = None,
       status: int = 200, lang: str = "en") -> Any:
    response = world.client.request(method, f"{API}{path}", json=body, headers={
        **world.auth(user), "Accept-Language": lang})
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def opinion(world: World, packet: str, verdict: str) -> None:
    result = "pass" if verdict == "pass" else "fail"
    ok(world, "POST", "reviewer", f"/reviews/{packet}/opinion", {
        "opinion": verdict, "reasons": "意见", "checklist": {p: {"result": result} for p in CHECKLIST}})


def test_the_review_state_the_packet_and_the_heads_lists(world: World) -> None:
    case = ok(world, "POST", "case_officer", "/cases", {"title": "占道经营", "number": "N-2024-7"},
              status=201)["id"]
    matter = ok(world, "POST", "admin", "/matters", {
        "agency": "north", "name": "占道经营检查", "legal_basis": "第二十条", "procedure": "一般程序",
        "time_limit_days": 30, "remedy": "复议"}, status=201)["id"]
    docs = {name: ok(world, "POST", "case_officer", f"/cases/{case}/documents", {
        "name": f"{name}.pdf", "kind": kind,
        "content_base64": base64.b64encode(b"%PDF-1.7\n" + name.encode()).decode()},
        status=201)["evidence_id"]
        for name, kind in (("决定书草稿", "draft_decision"), ("检查笔录", "transcript"),
                           ("检查笔录（补）", "scan"))}

    def major_action(party: str) -> str:
        action = ok(world, "POST", "case_officer", f"/cases/{case}/actions", {
            "kind": "inspection", "matter_id": matter, "action_date": "2024-03-16",
            "party": {"kind": "person", "name": party}}, status=201)["id"]
        ok(world, "POST", "case_officer", f"/actions/{action}/major", {"reason": "涉及重大公共利益"},
           status=204)
        ok(world, "PUT", "case_officer", f"/actions/{action}/materials",
           {"draft": docs["决定书草稿"], "cited": [docs["检查笔录"]]})
        return str(action)

    action = major_action("张三")
    state = ok(world, "GET", "case_officer", f"/actions/{action}/review-state", lang="zh-CN")
    assert "人工标记为重大" in state["major"] and "涉及重大公共利益" in state["major"]
    assert "尚未送审" in state["blocking"]
    assert [state["draft"]["name"], *(i["name"] for i in state["cited"])] == [
        "决定书草稿.pdf", "检查笔录.pdf"]
    assert state["cited"][0]["document_kind"] == "transcript"
    english = ok(world, "GET", "case_officer", f"/actions/{action}/review-state")
    assert "none was submitted" in english["blocking"]
    assert [s["type"] for s in english["steps"]] == [
        "case:action:opened", "case:action:marked-major", "case:action:materials-set"]

    packet = ok(world, "POST", "case_officer", f"/actions/{action}/reviews", status=201)["id"]
    view = ok(world, "GET", "reviewer", f"/reviews/{packet}")
    assert view["case_number"] == "N-2024-7" and view["current"]
    assert view["draft"]["sha256"] == view["packet"]["listing"]["draft"]["sha256"]
    opinion(world, packet, "pass")
    assert [v["packet"]["id"] for v in ok(world, "GET", "admin", "/approvals")["to_approve"]] == [
        packet]
    assert ok(world, "GET", "south-admin", "/approvals") == {"to_approve": [], "to_rule": []}

    # new materials after the pass: nothing to approve, and the packet says it no longer counts
    ok(world, "PUT", "case_officer", f"/actions/{action}/materials",
       {"draft": docs["决定书草稿"], "cited": [docs["检查笔录（补）"]]})
    assert ok(world, "GET", "admin", "/approvals")["to_approve"] == []
    assert not ok(world, "GET", "reviewer", f"/reviews/{packet}")["current"]

    # a failed review, contested: waiting for the principal until the ruling
    other = major_action("李四")
    failed = ok(world, "POST", "case_officer", f"/actions/{other}/reviews", status=201)["id"]
    opinion(world, failed, "fail")
    ok(world, "POST", "case_officer", f"/reviews/{failed}/contest", {"reason": "证据充分"})
    waiting = ok(world, "GET", "admin", "/approvals")["to_rule"]
    assert [(v["packet"]["id"], v["contest_reason"]) for v in waiting] == [(failed, "证据充分")]
    ok(world, "POST", "admin", f"/reviews/{failed}/ruling", {"upheld": True, "reason": "维持"})
    assert ok(world, "GET", "admin", "/approvals") == {"to_approve": [], "to_rule": []}
