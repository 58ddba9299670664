"""The legal review of a major penalty, and the gate on its decision: refused at each step
before a passed, approved review of exactly the current materials, and again once a cited
document is replaced; a submission refused when a cited item's stored bytes changed."""

from __future__ import annotations

import base64
import json
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cases.legal_review import CHECKLIST
from storage.objects import original_key
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli, run_cli_in_process

_ = world_fixture
API = "/api/v1"
PDF = b"%PDF-1.7\n"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def call(world: World, method: str, user: str, path: str, body: Any = None) -> Any:
    return world.client.request(method, f"{API}{path}", headers=world.auth(user), json=body)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def document(world: World, case_id: str, text: str, kind: str = "transcript") -> str:
    made = ok(call(world, "POST", "case_officer", f"/cases/{case_id}/documents", {
        "name": f"{text}.pdf", "kind": kind,
        "content_base64": base64.b64encode(PDF + text.encode()).decode()}), 201)
    return str(made["evidence_id"])


def checklist(result: str = "pass") -> dict[str, Any]:
    items: dict[str, Any] = {point: {"result": "pass"} for point in CHECKLIST}
    items["facts_and_evidence"] = {"result": result, "note": "询问笔录未签名"}
    return items


def refused_decision(world: World, action_id: str, *words: str) -> str:
    response = call(world, "POST", "case_officer", f"/actions/{action_id}/decision")
    assert response.status_code == 409, response.text
    message = str(response.json()["error"]["message"])
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def penalty(world: World) -> dict[str, Any]:
    """A penalty whose fine makes it major by north's catalogue, with a draft decision, a
    transcript and footage on its case."""
    case = ok(call(world, "POST", "case_officer", "/cases",
                   {"title": "无证经营", "number": "N-2024-9"}), 201)
    matter = ok(call(world, "POST", "admin", "/matters", {
        "agency": "north", "name": "无证经营处罚", "legal_basis": "第十三条",
        "procedure": "一般程序", "time_limit_days": 90, "remedy": "复议、诉讼"}), 201)
    assert ok(call(world, "PUT", "admin", "/agencies/north/major-catalogue", {"rules": [
        {"kind": "penalty", "fine_at_least": 10000},
        {"kind": "penalty", "licence_revoked": True}]}))["version"] == 1
    action = ok(call(world, "POST", "case_officer", f"/cases/{case['id']}/actions", {
        "kind": "penalty", "matter_id": matter["id"], "action_date": "2024-03-16",
        "party": {"kind": "organisation", "name": "某商贸公司"}}), 201)
    ok(call(world, "POST", "case_officer", f"/cases/{case['id']}/evidence",
            {"evidence_id": world.evidence["mine"]}), 201)
    draft = document(world, case["id"], "处罚决定书（草稿）", "draft_decision")
    transcript = document(world, case["id"], "询问笔录")
    required = [document(world, case["id"], name, kind) for name, kind in (
        ("调查终结报告", "investigation_report"), ("事先告知书", "rights_notice"),
        ("陈述申辩笔录", "statement"), ("证据清单", "evidence_list"))]
    return {"case": case["id"], "action": action["id"], "draft": draft,
            "transcript": transcript, "footage": world.evidence["mine"], "required": required}


def set_materials(world: World, p: dict[str, Any], cited: list[str]) -> str:
    """The draft and ``cited``, with the documents a penalty requires cited after them."""
    return str(ok(call(world, "PUT", "case_officer", f"/actions/{p['action']}/materials", {
        "draft": p["draft"], "cited": [*cited, *p["required"]],
        "facts": {"fine": 50000}}))["packet_sha256"])


def test_a_major_penalty_walks_through_review_to_its_decision(
        world: World, penalty: dict[str, Any], db_url: str) -> None:
    p, action = penalty, penalty["action"]
    refused_decision(world, action, "no draft decision")
    first = set_materials(world, p, [p["transcript"], p["footage"]])
    refused_decision(world, action, "rule 1 of the major-decision catalogue, version 1",
                     "none was submitted")
    # the reviewer cannot see the case before it is submitted
    assert call(world, "GET", "reviewer", f"/actions/{action}/reviews").status_code == 403
    packet = ok(call(world, "POST", "case_officer", f"/actions/{action}/reviews"), 201)
    assert packet["sha256"] == first and packet["due"] == "2024-03-22"  # 5 working days
    assert [i["evidence_id"] for i in packet["listing"]["cited"]] == [
        p["transcript"], p["footage"], *p["required"]]
    assert packet["due_confirmed"] is True  # 2024 is on the official calendar (cases.workdays)
    refused_decision(world, action, "waiting for the reviewer (due 2024-03-22)")
    # wrong role and wrong agency give no opinion
    for user in ("case_officer", "south-reviewer"):
        response = call(world, "POST", user, f"/reviews/{packet['id']}/opinion", {
            "opinion": "pass", "reasons": "同意", "checklist": checklist()})
        assert response.status_code == 403, (user, response.text)
    # a pass with a point not passed is refused; the reviewer returns it for material
    assert call(world, "POST", "reviewer", f"/reviews/{packet['id']}/opinion", {
        "opinion": "pass", "reasons": "同意", "checklist": checklist("material")}
                ).status_code == 400
    ok(call(world, "POST", "reviewer", f"/reviews/{packet['id']}/opinion", {
        "opinion": "return", "reasons": "补充签名的询问笔录", "checklist": checklist("material")}))
    refused_decision(world, action, "the review of the current materials is: return")
    assert call(world, "POST", "admin", f"/reviews/{packet['id']}/approval").status_code == 409

    # the handling unit adds the signed transcript and submits again
    signed = document(world, p["case"], "询问笔录（签名）", "scan")
    second = set_materials(world, p, [signed, p["footage"]])
    assert second != first
    refused_decision(world, action, "none was submitted", "changing them voided it")
    packet2 = ok(call(world, "POST", "case_officer", f"/actions/{action}/reviews"), 201)
    ok(call(world, "POST", "reviewer", f"/reviews/{packet2['id']}/opinion", {
        "opinion": "pass", "reasons": "事实清楚，证据充分", "checklist": checklist()}))
    refused_decision(world, action, "sign-off is missing")
    # the head of another agency cannot approve it
    assert call(world, "POST", "south-admin", f"/reviews/{packet2['id']}/approval"
                ).status_code == 403
    ok(call(world, "POST", "admin", f"/reviews/{packet2['id']}/approval"))

    # a cited document replaced after the review voids it
    rewritten = document(world, p["case"], "询问笔录（改）", "scan")
    set_materials(world, p, [rewritten, p["footage"]])
    message = refused_decision(world, action, "none was submitted", "voided")
    result = run_cli(world.home.root, "action", "decide", action,
                     env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 1 and " ".join(message.split()) in " ".join(
        (result.stderr + result.stdout).split())
    # back to exactly the reviewed materials: the same hash, but the review stays void
    assert set_materials(world, p, [signed, p["footage"]]) == second
    refused_decision(world, action, "none was submitted since they last changed", "voided")
    reviews = ok(call(world, "GET", "case_officer", f"/actions/{action}/reviews"))["items"]
    assert [(r["sha256"], r["voided_at"] is not None) for r in reviews] == [
        (first, True), (second, True)]
    assert "changed after the submission" in reviews[1]["voided_reason"]
    assert call(world, "POST", "admin", f"/reviews/{packet2['id']}/approval").status_code == 409
    assert ok(call(world, "GET", "reviewer", "/reviews"))["items"] == []
    # the same materials submitted again: a new packet, reviewed (with a lawyer's opinion)
    packet3 = ok(call(world, "POST", "case_officer", f"/actions/{action}/reviews"), 201)
    assert packet3["sha256"] == second and packet3["id"] != packet2["id"]
    asked = ok(call(world, "POST", "reviewer", f"/reviews/{packet3['id']}/advice", {
        "adviser_kind": "government_lawyer", "question": "裁量是否适当？"}), 201)
    ok(call(world, "PUT", "reviewer", f"/reviews/{packet3['id']}/advice/{asked['id']}", {
        "adviser": "王律师", "opinion": "裁量适当", "given_on": "2024-03-16"}))
    reviewed = ok(call(world, "POST", "reviewer", f"/reviews/{packet3['id']}/opinion", {
        "opinion": "pass", "reasons": "事实清楚，证据充分", "checklist": checklist()}))
    [advice] = reviewed["advice"]
    assert (advice["adviser_kind"], advice["adviser"], advice["opinion"], advice["given_on"]) == (
        "government_lawyer", "王律师", "裁量适当", "2024-03-16")
    ok(call(world, "POST", "admin", f"/reviews/{packet3['id']}/approval"))
    # not served before the decision
    service = {"served_on": "2024-03-16", "method": "direct", "recipient": "某商贸公司"}
    assert call(world, "POST", "case_officer", f"/actions/{action}/service", service
                ).status_code == 409
    ok(call(world, "POST", "case_officer", f"/actions/{action}/decision"), 204)
    assert ok(call(world, "GET", "case_officer", f"/actions/{action}"))["state"] == "decided"
    ok(call(world, "POST", "case_officer", f"/actions/{action}/service", service), 201)
    [served] = ok(call(world, "GET", "reviewer", f"/actions/{action}/service"))["items"]
    assert (served["method"], served["recipient"]) == ("direct", "某商贸公司")

    # the chain of responsibility, from the log
    steps = [(e["type"], e["actor"]) for e in world.events()
             if e["type"].startswith(("case:review:", "case:action:decided",
                                      "case:action:decision-served"))]
    officer, reviewer, admin = "user:case_officer", "user:reviewer", "user:admin"
    assert steps == [
        ("case:review:submitted", officer), ("case:review:opinion", reviewer),
        ("case:review:voided", officer),
        ("case:review:submitted", officer), ("case:review:opinion", reviewer),
        ("case:review:approved", admin), ("case:review:voided", officer),
        ("case:review:submitted", officer), ("case:review:advice-requested", reviewer),
        ("case:review:advice-recorded", reviewer), ("case:review:opinion", reviewer),
        ("case:review:approved", admin), ("case:action:decided", officer),
        ("case:action:decision-served", officer)]
    [decided] = world.events("case:action:decided")
    assert decided["details"]["packet_sha256"] == second
    voided = world.events("case:review:voided")
    assert [v["details"]["packet_id"] for v in voided] == [packet["id"], packet2["id"]]


def test_a_contested_fail_goes_to_the_principal(world: World, penalty: dict[str, Any]) -> None:
    p = penalty
    set_materials(world, p, [p["transcript"]])
    packet = ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews"), 201)
    ok(call(world, "POST", "reviewer", f"/reviews/{packet['id']}/opinion", {
        "opinion": "fail", "reasons": "裁量不当", "checklist": checklist("fail")}))
    refused_decision(world, p["action"], "is: fail")
    ok(call(world, "POST", "case_officer", f"/reviews/{packet['id']}/contest",
            {"reason": "裁量符合基准"}))
    assert call(world, "POST", "reviewer", f"/reviews/{packet['id']}/ruling",
                {"upheld": False, "reason": "x"}).status_code == 403
    ruled = ok(call(world, "POST", "admin", f"/reviews/{packet['id']}/ruling",
                    {"upheld": False, "reason": "裁量适当"}))
    assert ruled["ruling"] == "overturned"
    refused_decision(world, p["action"], "sign-off is missing")
    ok(call(world, "POST", "admin", f"/reviews/{packet['id']}/approval"))
    ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/decision"), 204)


def test_a_submission_is_refused_when_a_cited_items_bytes_changed(
        world: World, penalty: dict[str, Any]) -> None:
    p = penalty
    set_materials(world, p, [p["transcript"], p["footage"]])
    detail = ok(call(world, "GET", "case_officer", f"/evidence/{p['transcript']}"))
    store = world.home.object_store()
    path = Path(store.root) / "objects" / original_key(detail["sha256"])  # type: ignore[attr-defined]
    path.chmod(0o644)
    path.write_bytes(PDF + b"forged")
    before = len(world.events())
    response = call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews")
    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    assert p["transcript"] in message and "stored bytes hash to" in message
    assert p["footage"] not in message  # the untouched item verifies
    assert [e for e in world.events()[before:] if e["type"] == "case:review:submitted"] == []
    refused_decision(world, p["action"], "none was submitted")


def test_an_action_not_major_needs_no_review_and_one_marked_by_hand_does(
        world: World, penalty: dict[str, Any]) -> None:
    p = penalty
    ok(call(world, "PUT", "case_officer", f"/actions/{p['action']}/materials", {
        "draft": p["draft"], "cited": [p["transcript"], *p["required"]], "facts": {"fine": 500}}))
    ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/major",
            {"reason": "涉及重大公共利益"}), 204)
    refused_decision(world, p["action"], "marked major by hand: 涉及重大公共利益")
    # a small fine, not marked: decided at once (another action on the case)
    action = ok(call(world, "GET", "case_officer", f"/actions/{p['action']}"))
    other = ok(call(world, "POST", "case_officer", f"/cases/{p['case']}/actions", {
        "kind": "penalty", "matter_id": action["matter_id"], "action_date": "2024-03-16",
        "party": {"kind": "person", "name": "李四"}}), 201)
    ok(call(world, "PUT", "case_officer", f"/actions/{other['id']}/materials", {
        "draft": p["draft"], "cited": [], "facts": {"fine": 200}}))
    assert call(world, "POST", "n2-case_officer", f"/actions/{other['id']}/decision"
                ).status_code == 403
    ok(call(world, "POST", "case_officer", f"/actions/{other['id']}/decision"), 204)


def test_the_queue_flags_overdue_reviews_and_the_cli_submits_alike(
        world: World, penalty: dict[str, Any], db_url: str) -> None:
    p = penalty
    set_materials(world, p, [p["transcript"]])
    result = run_cli(world.home.root, "action", "submit", p["action"],
                     env={"EVIDENCE_DATABASE_URL": db_url, "EVIDENCE_REVIEW_DAYS": "5"})
    assert result.returncode == 0, result.stderr
    ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews"), 201)
    by_cli, by_api = world.events("case:review:submitted")
    assert by_cli["actor"].startswith("cli:") and by_api["actor"] == "user:case_officer"
    different = {"packet_id": "", "due": ""}  # each its own id; the CLI's clock is the wall's
    assert {**by_cli["details"], **different} == {**by_api["details"], **different}
    assert by_api["details"]["due"] == "2024-03-22"
    queue = ok(call(world, "GET", "reviewer", "/reviews"))["items"]
    assert len(queue) == 2 and not next(q for q in queue if q["due"] == "2024-03-22")["overdue"]
    assert ok(call(world, "GET", "south-reviewer", "/reviews"))["items"] == []
    assert call(world, "GET", "case_officer", "/reviews").status_code == 403
    world.clock.advance(timedelta(days=8))  # past the due date
    queue = ok(call(world, "GET", "reviewer", "/reviews"))["items"]
    assert next(q for q in queue if q["due"] == "2024-03-22")["overdue"]


def test_the_catalogue_is_the_agency_admins_and_versioned(world: World,
                                                          penalty: dict[str, Any]) -> None:
    rules = {"rules": [{"kind": "compulsory", "business_closed": True}]}
    for user in ("case_officer", "reviewer", "south-admin"):
        assert call(world, "PUT", user, "/agencies/north/major-catalogue", rules
                    ).status_code == 403, user
    for bad in ([{"kind": ["penalty"]}], [{"kind": "inspection"}], [{"kind": "penalty",
                                                                       "fine_at_least": -1}],
                [{"kind": "penalty", "licence_revoked": "yes"}], [{"kind": "penalty", "x": 1}]):
        assert call(world, "PUT", "admin", "/agencies/north/major-catalogue", {"rules": bad}
                    ).status_code == 400, bad
    assert ok(call(world, "PUT", "admin", "/agencies/north/major-catalogue", rules))[
        "version"] == 2
    versions = [e["details"]["version"] for e in world.events("org:major-catalogue:set")]
    assert versions == [1, 2]
    # version 2 no longer makes a large fine major: the penalty is decided without review
    set_materials(world, penalty, [penalty["transcript"]])
    ok(call(world, "POST", "case_officer", f"/actions/{penalty['action']}/decision"), 204)


@SQLITE_ONLY  # the database does not matter here
def test_a_submission_names_each_missing_material_by_the_agencys_setting(
        world: World, penalty: dict[str, Any], tmp_path: Path, db_url: str) -> None:
    p = penalty
    ok(call(world, "PUT", "case_officer", f"/actions/{p['action']}/materials", {
        "draft": p["draft"], "cited": [p["transcript"], p["required"][0]],
        "facts": {"fine": 50000, "after_hearing": True}}))
    response = call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews")
    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    for missing in ("事先告知书", "当事人陈述申辩笔录或听证笔录", "听证笔录 (hearing_record)", "证据清单"):
        assert missing in message, message
    assert "案件调查终结报告" not in message and "决定书（草稿）" not in message
    # the agency's admin asks for less; the reviewer cannot change it
    setting = {"requirements": {"penalty": [
        {"name": "决定书（草稿）", "kinds": ["draft_decision"]},
        {"name": "调查报告", "kinds": ["investigation_report"]}]}}
    assert call(world, "PUT", "reviewer", "/agencies/north/review-materials", setting
                ).status_code == 403
    assert call(world, "PUT", "admin", "/agencies/north/review-materials", {
        "requirements": {"penalty": [{"name": "x", "kinds": ["nothing"]}]}}).status_code == 400
    assert ok(call(world, "GET", "case_officer", "/agencies/north/review-materials"))[
        "version"] == 0
    assert ok(call(world, "PUT", "admin", "/agencies/north/review-materials", setting))[
        "version"] == 1
    read = ok(call(world, "GET", "case_officer", "/agencies/north/review-materials"))
    assert read["version"] == 1 and read["requirements"]["penalty"] == setting[
        "requirements"]["penalty"]
    assert read["requirements"]["levy"]  # the other kinds keep their defaults
    ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews"), 201)
    # the CLI sets the next version alike
    setting_file = tmp_path / "materials.json"
    setting_file.write_text(json.dumps(setting["requirements"], ensure_ascii=False),
                            encoding="utf-8")
    result = run_cli_in_process(world.home.root, "matter", "review-materials", "--agency",
                                "north", "--requirements", str(setting_file),
                                env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    by_api, by_cli = world.events("org:review-materials:set")
    assert (by_api["details"]["version"], by_api["actor"]) == (1, "user:admin")
    assert by_cli["details"]["version"] == 2 and by_cli["actor"].startswith("cli:")
    assert by_cli["details"]["requirements"] == by_api["details"]["requirements"]


@SQLITE_ONLY  # the database does not matter here
def test_the_due_date_comes_from_the_official_calendar(
        world: World, penalty: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import legal_review
    from cases.workdays import Due

    asked: list[tuple[date, int]] = []

    def calendar(conn: Any, start: date, days: int) -> Due:
        asked.append((start, days))
        return Due(date(2024, 3, 25), confirmed=True)

    monkeypatch.setattr(legal_review, "add_working_days", calendar)
    set_materials(world, penalty, [penalty["transcript"]])
    world.clock.now = datetime(2024, 3, 16, 17, 0, tzinfo=UTC)  # already the 17th in Shanghai
    packet = ok(call(world, "POST", "case_officer", f"/actions/{penalty['action']}/reviews"), 201)
    assert asked == [(date(2024, 3, 17), 5)]
    assert (packet["due"], packet["due_confirmed"]) == ("2024-03-25", True)
    world.clock.now = datetime(2024, 3, 25, 15, 59, tzinfo=UTC)  # the 25th, 23:59 in Shanghai
    [queued] = ok(call(world, "GET", "reviewer", "/reviews"))["items"]
    assert not queued["overdue"]
    world.clock.now = datetime(2024, 3, 25, 16, 0, tzinfo=UTC)  # the 26th in Shanghai
    [queued] = ok(call(world, "GET", "reviewer", "/reviews"))["items"]
    assert queued["overdue"]


@SQLITE_ONLY  # the database does not matter here
def test_in_a_witnessed_log_the_witnesses_quorum_must_cosign_first(
        world: World, penalty: dict[str, Any], tmp_path: Path) -> None:
    from api.witness_home import init_witness
    from api.witness_http import witness_app
    from api.witnessing import WitnessPeer, ask_to_cosign
    from cases.legal_review import submit
    from cases.packet_checks import ReviewError
    from cases.users import operator
    from custody.cosigned import WitnessQuorum
    from tests.browser_support import serve

    set_materials(world, penalty, [penalty["transcript"]])
    log = world.home.custody_log()
    with ExitStack() as stack:
        peers = []
        for number in (1, 2):
            home = init_witness(tmp_path / f"witness-{number}", f"supervision.test/w{number}")
            home.add_log(world.home.verifier().vkey())
            engine = home.engine()
            stack.callback(engine.dispose)
            witness = home.witness(engine)
            peers.append(WitnessPeer(stack.enter_context(serve(witness_app(witness))),
                                     witness.cosigner.key))
        both = WitnessQuorum(tuple(peer.key for peer in peers), 2)

        def submitted() -> Any:
            return submit(log, world.home.object_store(), world.home.verifier(),
                          operator("test"), penalty["action"], witnesses=both)

        with pytest.raises(ReviewError, match="witnesses have not cosigned yet") as refused:
            submitted()  # nothing cosigned; the submission signed a checkpoint
        assert penalty["transcript"] in refused.value.message and "2 of the 2" in \
            refused.value.message
        ask_to_cosign(log, peers[0])
        with pytest.raises(ReviewError, match="witnesses have not cosigned yet"):
            submitted()  # one of two: a signed checkpoint, not a cosigned one
        ask_to_cosign(log, peers[1])
        assert submitted().sha256
        assert len(world.events("case:review:submitted")) == 1


@SQLITE_ONLY  # the database does not matter here
def test_the_packet_exports_and_verifies_offline_and_tampering_is_caught(
        world: World, penalty: dict[str, Any], tmp_path: Path, db_url: str) -> None:

    import json
    import zipfile

    from cases.bundle_verify import MANIFEST, verify_bundle
    from cases.packet_verify import PACKET_LISTING

    p = penalty
    set_materials(world, p, [p["transcript"], p["footage"]])
    packet = ok(call(world, "POST", "case_officer", f"/actions/{p['action']}/reviews"), 201)
    ok(call(world, "POST", "reviewer", f"/reviews/{packet['id']}/opinion", {
        "opinion": "pass", "reasons": "同意", "checklist": checklist()}))
    assert call(world, "GET", "south-reviewer", f"/reviews/{packet['id']}/bundle"
                ).status_code == 403
    response = call(world, "GET", "reviewer", f"/reviews/{packet['id']}/bundle")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    good = tmp_path / "packet.zip"
    good.write_bytes(response.content)
    vkey = world.home.verifier().vkey()
    report = verify_bundle(good, vkey)
    assert report.ok, report.problems
    with zipfile.ZipFile(good) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        events = [json.loads(archive.read(n)) for n in archive.namelist()
                  if n.startswith("custody/entries/")]
        assert archive.read(PACKET_LISTING) and len(manifest["files"]) == 7
    types = {e["type"] for e in events}
    assert {"evidence:file:ingested", "case:review:submitted", "case:review:opinion",
            "case:review:packet-exported"} <= types
    [exported] = world.events("case:review:packet-exported")
    assert exported["actor"] == "user:reviewer" and exported["details"]["packet_id"] == packet["id"]
    # the CLI writes the same kind of bundle
    result = run_cli_in_process(world.home.root, "action", "packet-export", packet["id"],
                                "--out", str(tmp_path / "cli"),
                                env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert verify_bundle(next((tmp_path / "cli").glob("*.zip")), vkey).ok

    def altered(name: str, change: Any) -> list[str]:
        target = tmp_path / f"altered-{len(list(tmp_path.glob('altered-*')))}.zip"
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(target, "w") as out:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == name or (name.endswith("/") and info.filename.startswith(
                        name)):
                    data = change(data)
                    if data is None:
                        continue
                out.writestr(info, data)
        return [problem.message for problem in verify_bundle(target, vkey).problems]

    original = next(f for f in manifest["files"] if f["evidence_id"] == p["transcript"])
    flipped = altered(original["path"], lambda d: d[:-1] + bytes([d[-1] ^ 1]))
    assert any(original["path"] in m and "the manifest records" in m for m in flipped), flipped
    listing = altered(PACKET_LISTING, lambda d: d.replace(b'"fine":50000', b'"fine":500'))
    assert any("the listing was altered" in m for m in listing), listing
    missing = altered(original["path"], lambda d: None)
    assert any("listed in the manifest but missing" in m for m in missing), missing
    # the item dropped from the manifest too: the manifest no longer is the exported one
    def without_item(data: bytes) -> bytes:
        doc = json.loads(data)
        doc["files"] = [f for f in doc["files"] if f["evidence_id"] != p["transcript"]]
        return json.dumps(doc).encode()
    dropped = altered(MANIFEST, without_item)
    assert any("manifest was altered" in m for m in dropped), dropped

