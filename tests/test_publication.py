"""Publication of decisions (公示), the back office: a decision's record is drafted and masked
with the decision, confirmed by a person, published, updated and revoked with reasons, each a
custody event; deadlines (7 working days for a penalty) make the due, due-soon and overdue
lists and the responsible officers' notices; wrong roles are refused."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from cases.workdays import add_working_days
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"


def call(world: World, method: str, user: str, path: str, body: Any = None) -> Any:
    return world.client.request(method, f"{API}{path}", headers=world.auth(user), json=body)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def decided(world: World, kind: str = "penalty", party: dict[str, str] | None = None,
            number: str = "N-2024-1") -> dict[str, Any]:
    """A decided action on a new case of north's n1, managed by ``case_officer``."""
    case = ok(call(world, "POST", "case_officer", "/cases",
                   {"title": "无证经营", "number": number}), 201)
    matters = ok(call(world, "GET", "admin", "/matters"))["items"]
    matter = matters[0] if matters else ok(call(world, "POST", "admin", "/matters", {
        "agency": "north", "name": "无证经营处罚", "legal_basis": "《无证无照经营查处办法》第十三条",
        "procedure": "一般程序", "time_limit_days": 90, "remedy": "复议、诉讼"}), 201)
    action = ok(call(world, "POST", "case_officer", f"/cases/{case['id']}/actions", {
        "kind": kind, "matter_id": matter["id"], "action_date": "2024-03-15",
        "party": party or {"kind": "person", "name": "张三丰", "id_number": "150102199001011234"}}),
        201)
    draft = ok(call(world, "POST", "case_officer", f"/cases/{case['id']}/documents", {
        "name": "决定书.pdf", "kind": "draft_decision",
        "content_base64": base64.b64encode(b"%PDF-1.7 " + number.encode()).decode()}), 201)
    ok(call(world, "PUT", "case_officer", f"/actions/{action['id']}/materials",
            {"draft": draft["evidence_id"], "cited": [], "facts": {"fine": 500}}))
    ok(call(world, "POST", "case_officer", f"/actions/{action['id']}/decision"), 204)
    record = ok(call(world, "GET", "case_officer", f"/actions/{action['id']}/publication"))
    return {"case": case["id"], "action": action["id"], "record": record}


def test_a_decision_is_drafted_masked_then_confirmed_published_updated_and_revoked(
        world: World) -> None:
    made = decided(world)
    record, pid = made["record"], made["record"]["id"]
    # drafted with the decision, in its transaction: masked, due in 7 working days
    assert record["state"] == "draft" and record["versions"] == []
    assert record["working"]["party"] == "张某"
    assert record["working"]["legal_basis"] == "《无证无照经营查处办法》第十三条"
    assert record["working"]["agency_name"] and record["working"]["kind"] == "penalty"
    assert record["decision_date"] == "2024-03-16"  # the clock's local (Asia/Shanghai) day
    expected = add_working_days(None, date(2024, 3, 16), 7)
    assert (record["due"], record["due_confirmed"]) == (expected.day.isoformat(),
                                                        expected.confirmed)
    [span] = record["masked"]["party"]
    assert (span["original"], span["replacement"], span["kind"]) == ("张三丰", "张某", "name")
    [drafted] = world.events("case:publication:drafted")
    assert drafted["details"]["publication_id"] == pid and drafted["details"]["masked"] == 1
    decided_seq = world.events("case:action:decided")[0]["seq"]
    assert drafted["seq"] == decided_seq + 1  # the decision's own transaction
    assert "张三丰" not in str(drafted) and "1234" not in str(drafted)
    # nothing to confirm before the conclusion and document number are written
    assert call(world, "POST", "case_officer", f"/publications/{pid}/confirm").status_code == 400
    assert call(world, "POST", "case_officer", f"/publications/{pid}/publish").status_code == 409
    # wrong roles and scopes are refused every step
    for user in ("reviewer", "auditor", "officer", "case_officer2", "south-admin",
                 "n2-case_officer"):
        for path, body in ((f"/publications/{pid}", {"conclusion": "x"}),):
            assert call(world, "PATCH", user, path, body).status_code == 403, user
        assert call(world, "POST", user, f"/publications/{pid}/confirm").status_code == 403, user
    # the person edits: the party's name in the conclusion is masked again
    edited = ok(call(world, "PATCH", "case_officer", f"/publications/{pid}", {
        "conclusion": "对张三丰罚款500元", "document_number": "北公（治）罚决字〔2024〕1号"}))
    assert edited["working"]["conclusion"] == "对张某罚款500元"
    [span] = edited["masked"]["conclusion"]
    start, end = span["at"]
    assert edited["working"]["conclusion"][start:end] == "张某"
    assert edited["confirmed_by"] is None
    confirmed = ok(call(world, "POST", "admin", f"/publications/{pid}/confirm"))
    assert (confirmed["state"], confirmed["confirmed_by"]) == ("reviewed", "admin")
    published = ok(call(world, "POST", "case_officer", f"/publications/{pid}/publish"))
    assert published["state"] == "published" and len(published["versions"]) == 1
    assert published["versions"][0]["content"] == published["working"]
    [event] = world.events("case:publication:published")
    assert event["details"]["on_time"] is True and event["details"]["version"] == 1
    assert call(world, "POST", "case_officer", f"/publications/{pid}/publish").status_code == 409
    # an update needs a changed, confirmed working copy and a reason
    reason = {"reason": "决定书文号录入有误"}
    assert call(world, "POST", "case_officer", f"/publications/{pid}/update",
                reason).status_code == 409
    ok(call(world, "PATCH", "case_officer", f"/publications/{pid}",
            {"document_number": "北公（治）罚决字〔2024〕2号"}))
    assert call(world, "POST", "case_officer", f"/publications/{pid}/update",
                reason).status_code == 409  # not confirmed again
    ok(call(world, "POST", "case_officer", f"/publications/{pid}/confirm"))
    updated = ok(call(world, "POST", "case_officer", f"/publications/{pid}/update", reason))
    assert [v["version"] for v in updated["versions"]] == [1, 2]
    assert updated["versions"][1]["reason"] == "决定书文号录入有误"
    assert updated["state"] == "published" and not updated["pending_changes"]
    # revoking, with a reason, is the end
    assert call(world, "POST", "reviewer", f"/publications/{pid}/revoke",
                {"reason": "x"}).status_code == 403
    revoked = ok(call(world, "POST", "admin", f"/publications/{pid}/revoke",
                      {"reason": "行政复议撤销原决定"}))
    assert (revoked["state"], revoked["revoke_reason"]) == ("revoked", "行政复议撤销原决定")
    assert call(world, "PATCH", "case_officer", f"/publications/{pid}",
                {"conclusion": "y"}).status_code == 409
    assert [e["type"].rsplit(":", 1)[1] for e in world.events()
            if e["type"].startswith("case:publication:")] == [
        "drafted", "edited", "confirmed", "published", "edited", "confirmed", "updated",
        "revoked"]
    # readers of the case read the record; others do not
    for user, status in (("auditor", 200), ("north-auditor", 200), ("case_officer2", 403),
                         ("south-case_officer", 403)):
        assert call(world, "GET", user, f"/publications/{pid}").status_code == status, user


def test_the_due_lists_and_the_notices_follow_the_deadline(world: World) -> None:
    """A licence to an organisation (published by its name), due in 7 working days: due, then
    due soon (two working days left), then overdue; listed per agency and unit, and noticed
    by the case's officer until it is published."""
    made = decided(world, "licensing", {"kind": "organisation", "name": "某某商贸有限公司"})
    pid = made["record"]["id"]
    assert made["record"]["working"]["party"] == "某某商贸有限公司"
    assert made["record"]["masked"]["party"] == []
    assert call(world, "GET", "officer", "/publications").status_code == 403
    assert call(world, "GET", "admin", "/publications?status=soon").status_code == 422
    for days_later, status in ((0, "due"), (6, "due_soon"), (5, "overdue")):
        world.clock.advance(timedelta(days=days_later))
        listed = ok(call(world, "GET", "admin", "/publications"))["items"]
        assert [(i["publication_id"], i["status"]) for i in listed] == [(pid, status)]
        assert listed[0]["responsible"] == ["case_officer"]
        assert [i["publication_id"] for i in ok(call(
            world, "GET", "admin", f"/publications?status={status}&unit=n1"))["items"]] == [pid]
        notices = ok(call(world, "GET", "case_officer", "/notices"))["items"]
        assert [(n["publication_id"], n["status"]) for n in notices] == [(pid, status)]
    assert ok(call(world, "GET", "admin", "/publications?status=due"))["items"] == []
    assert ok(call(world, "GET", "admin", "/publications?unit=n2"))["items"] == []
    assert ok(call(world, "GET", "south-admin", "/publications"))["items"] == []
    assert ok(call(world, "GET", "case_officer2", "/publications"))["items"] == []
    assert ok(call(world, "GET", "case_officer2", "/notices"))["items"] == []
    # published late: off the due lists and the notices, on the published list as late
    ok(call(world, "PATCH", "case_officer", f"/publications/{pid}", {
        "conclusion": "准予许可", "document_number": "北许字〔2024〕9号"}))
    ok(call(world, "POST", "case_officer", f"/publications/{pid}/confirm"))
    ok(call(world, "POST", "case_officer", f"/publications/{pid}/publish"))
    assert ok(call(world, "GET", "admin", "/publications"))["items"] == []
    assert ok(call(world, "GET", "case_officer", "/notices"))["items"] == []
    [late] = ok(call(world, "GET", "admin", "/publications?status=published"))["items"]
    assert (late["publication_id"], late["on_time"]) == (pid, False)
