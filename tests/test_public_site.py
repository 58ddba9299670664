"""The public site (/public/): anyone may read it without signing in; it shows what an
agency's admin published, as published, and nothing else: nothing unpublished, withdrawn or
removed, and no private field (user names, officer numbers, tokens, password hashes, parties'
id numbers, units). The certificate check answers valid / expired / not yet valid / unknown.
Admins keep the lists through the API and the CLI with the same custody events."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.http.app import create_app
from api.http.ratelimit import Rate, RateLimits
from api.http.services import ApiOptions
from cases import tables
from cases.actions import (
    ActionKind,
    Party,
    PartyKind,
    add_certificate,
    add_matter,
    change_matter,
    open_action,
)
from cases.case_records import create_case
from cases.passwords import set_password
from cases.public_entries import ListKind, publish, withdraw
from cases.public_lists import add_guide, add_inspection, change_inspection, remove_inspection
from cases.users import Role, add_user, operator, revoke_user
from domain.event_types import EventType
from storage.db import sqlite_url
from tests.api_support import NORTH, NORTH_UNIT, SOUTH, World, build_world
from tests.cli_helpers import run_cli_in_process

API = "/api/v1"
OP = operator("test")
# Private values planted in the database: none may ever appear on the public site.
LOGIN = "zhangwei-login"  # the officer's account name
OFFICER_NO = "OFFNO-773311"
PARTY_NAME = "李秘密"
PARTY_ID = "150102198001011234"
PASSWORD = "correct horse battery staple"


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path) -> Iterator[World]:
    world = build_world(tmp_path, sqlite_url(tmp_path / "evidence.db"))
    yield world
    world.close()


def _log(world: World) -> Any:
    return world.home.custody_log()


def seed(world: World) -> dict[str, str]:
    """North publishes one entry of each list; more is written but never published,
    published and then changed, withdrawn or removed, or belongs to a revoked officer."""
    log = _log(world)
    ids: dict[str, str] = {}
    ids["matter"] = add_matter(log, OP, NORTH, "对占道经营的处罚", "《城市市容和环境卫生管理条例》第十七条",
                               "立案、调查、告知、决定、送达", 20, "行政复议、行政诉讼").id
    ids["matter_draft"] = add_matter(log, OP, NORTH, "未公示的事项草稿", "第一条", "简易程序", 5,
                                     "复议").id
    ids["matter_gone"] = add_matter(log, OP, NORTH, "已撤下的事项", "第二条", "简易程序", 5, "复议").id
    add_user(log, LOGIN, Role.OFFICER, OFFICER_NO, by=OP, unit_code=NORTH_UNIT)
    set_password(log, LOGIN, PASSWORD, by=OP, now=world.clock())
    add_user(log, "leaver-login", Role.OFFICER, "OFFNO-LEAVER", by=OP, unit_code=NORTH_UNIT)
    for holder, number, start, end in (
            (LOGIN, "NM-VALID-01", date(2023, 1, 1), date(2027, 12, 31)),
            (LOGIN, "NM-OLD-01", date(2019, 1, 1), date(2023, 12, 31)),
            (LOGIN, "NM-FUTURE-01", date(2025, 1, 1), date(2029, 12, 31)),
            (LOGIN, "NM-UNPUB-01", date(2023, 1, 1), date(2027, 12, 31)),
            ("leaver-login", "NM-LEAVER-01", date(2023, 1, 1), date(2027, 12, 31))):
        add_certificate(log, OP, holder, number, "内蒙古自治区人民政府", start, end)
    for number, name in (("NM-VALID-01", "王伟"), ("NM-OLD-01", "王伟"), ("NM-FUTURE-01", "王伟"),
                         ("NM-LEAVER-01", "赵离职")):
        publish(log, OP, ListKind.OFFICERS, number, public_name=name)
    ids["inspection"] = add_inspection(log, OP, NORTH, name="沿街商户市容检查", basis="条例第十七条",
                                       subject="沿街商户", method="现场检查",
                                       frequency="每年抽查比例不低于5%").id
    ids["inspection_draft"] = add_inspection(log, OP, NORTH, name="未公示的抽查草稿", basis="条例",
                                             subject="商户", method="书面检查", frequency="1%").id
    ids["inspection_removed"] = add_inspection(log, OP, NORTH, name="已删除的抽查事项", basis="条例",
                                               subject="商户", method="书面检查", frequency="1%").id
    for key in ("matter", "matter_gone"):
        publish(log, OP, ListKind.MATTERS, ids[key])
    publish(log, OP, ListKind.INSPECTIONS, ids["inspection"])
    publish(log, OP, ListKind.INSPECTIONS, ids["inspection_removed"])
    ids["guide"] = add_guide(log, OP, NORTH, matter_id=ids["matter"], title="占道经营处罚办事指南",
                             body="受理机构：城管执法大队\n\n办理时限：20个工作日").id
    ids["guide_draft"] = add_guide(log, OP, NORTH, matter_id=ids["matter"], title="未公示的指南草稿",
                                   body="草稿").id
    publish(log, OP, ListKind.GUIDES, ids["guide"])
    # after publication: an unpublished change, a withdrawal, a removal, a revoked officer
    change_matter(log, OP, ids["matter"], legal_basis="尚未公示的新依据")
    change_inspection(log, OP, ids["inspection"], frequency="尚未公示的新频次")
    withdraw(log, OP, ListKind.MATTERS, ids["matter_gone"], "事项已取消")
    remove_inspection(log, OP, ids["inspection_removed"])
    revoke_user(log, "leaver-login", by=OP)
    # a case with a party, on the same agency (never public: that is decisions' business)
    case = create_case(log, OP, "占道经营", "N-2024-001", unit_code=NORTH_UNIT)
    open_action(log, OP, case.id, ActionKind.PENALTY, ids["matter"],
                Party(PartyKind.PERSON, PARTY_NAME, PARTY_ID), True, date(2024, 3, 1))
    return ids


def public_paths(ids: dict[str, str]) -> list[str]:
    paths = ["/public/", "/public/agencies", f"/public/agencies/{NORTH}",
             "/public/api/agencies", "/public/certificates?number=NM-VALID-01",
             "/public/certificates?number=NM-UNPUB-01", "/public/api/certificates/NM-UNPUB-01",
             "/public/api/certificates/NM-LEAVER-01", f"/public/guides/{ids['guide']}",
             f"/public/api/guides/{ids['guide']}"]
    for kind in ListKind:
        base = f"/public/agencies/{NORTH}/{kind.value}"
        paths += [base, base + "/feed.atom", f"/public/api/agencies/{NORTH}/{kind.value}"]
    return paths


def test_the_public_site_shows_only_what_was_published_and_no_private_field(world: World) -> None:
    ids = seed(world)
    anonymous = world.client
    pages: dict[str, str] = {}
    for path in public_paths(ids):
        response = anonymous.get(path)
        assert response.status_code == 200, (path, response.text)
        assert "set-cookie" not in response.headers, path
        assert response.headers["cache-control"] == "public, no-cache", path
        pages[path] = response.text
    everything = "\n".join(pages.values())
    # published, as published
    for shown in ("对占道经营的处罚", "《城市市容和环境卫生管理条例》第十七条", "王伟", "NM-VALID-01",
                  "沿街商户市容检查", "每年抽查比例不低于5%", "占道经营处罚办事指南",
                  "受理机构：城管执法大队"):
        assert shown in everything, shown
    # never published, changed since, withdrawn, removed, or of a revoked account
    for hidden in ("未公示的事项草稿", "尚未公示的新依据", "已撤下的事项", "未公示的抽查草稿",
                   "尚未公示的新频次", "已删除的抽查事项", "未公示的指南草稿", "赵离职"):
        assert hidden not in everything, hidden
    # private fields of the people and parties behind the lists
    user = world.home.engine().connect()
    try:
        row = user.execute(select(tables.users).where(tables.users.c.name == LOGIN)).one()
    finally:
        user.close()
    for private in (LOGIN, "leaver-login", OFFICER_NO, "OFFNO-LEAVER", row.token_sha256,
                    row.password_hash, PASSWORD, PARTY_NAME, PARTY_ID, PARTY_ID[-6:], NORTH_UNIT,
                    f"unit {NORTH_UNIT}", SOUTH, "test.example"):
        assert private not in everything, private
    # the unpublished certificate and the revoked officer's are unknown
    assert anonymous.get("/public/api/certificates/NM-UNPUB-01").json()["status"] == "unknown"
    assert anonymous.get("/public/api/certificates/NM-LEAVER-01").json()["status"] == "unknown"
    # withdrawn and unpublished entries have no page either
    assert anonymous.get(f"/public/guides/{ids['guide_draft']}").status_code == 404
    assert anonymous.get(f"/public/api/guides/{ids['guide_draft']}").status_code == 404
    assert anonymous.get(f"/public/agencies/{SOUTH}").status_code == 404  # publishes nothing
    assert anonymous.get(f"/public/api/agencies/{SOUTH}/matters").status_code == 404
    # the same answer to a signed-in browser, which keeps its cookie; a 304 for an unchanged page
    token = world.tokens["admin"]
    for path in (f"/public/agencies/{NORTH}/matters", "/public/api/agencies"):
        plain = world.client.get(path)
        with_credentials = world.client.get(path, headers={
            "Authorization": f"Bearer {token}", "Cookie": "evidence_session=whatever"})
        assert plain.content == with_credentials.content
        assert "set-cookie" not in with_credentials.headers
        again = world.client.get(path, headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert world.client.head(f"/public/agencies/{NORTH}/matters").status_code == 200
    assert world.client.post(f"/public/api/agencies/{NORTH}/matters").status_code == 405
    assert world.client.get("/public/api/agencies?x=1").status_code == 400


def test_the_feeds_are_atom_a_feed_reader_accepts_and_a_shown_certificate_can_be_checked(
        world: World) -> None:
    ids = seed(world)
    for kind in ListKind:
        response = world.client.get(f"/public/agencies/{NORTH}/{kind.value}/feed.atom")
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(response.content)
        assert not feed.bozo, (kind, feed.get("bozo_exception"))
        assert feed.version == "atom10"
        assert feed.feed.id.startswith("tag:testserver,2026:") and feed.feed.updated
        assert any(link.rel == "self" for link in feed.feed.links)
        assert feed.entries, kind
        for entry in feed.entries:
            assert entry.id.startswith("tag:") and entry.updated and entry.title and entry.link
    matters = feedparser.parse(world.client.get(
        f"/public/agencies/{NORTH}/matters/feed.atom").content)
    assert [e.title for e in matters.entries] == ["对占道经营的处罚"]
    first_id = matters.entries[0].id
    # publishing the change updates the entry under the same id, with a later date
    later = datetime.now(UTC) + timedelta(hours=1)
    publish(_log(world), OP, ListKind.MATTERS, ids["matter"], now=later)
    after = feedparser.parse(world.client.get(f"/public/agencies/{NORTH}/matters/feed.atom").content)
    assert after.entries[0].id == first_id and "尚未公示的新依据" in after.entries[0].summary
    assert after.entries[0].updated_parsed > matters.entries[0].updated_parsed
    # the certificate check (the world's day is 2024-03-16)
    answers = {number: world.client.get(f"/public/api/certificates/{number}").json()
               for number in ("NM-VALID-01", "NM-OLD-01", "NM-FUTURE-01", "NM-NEVER-99", "x" * 300)}
    assert answers["NM-VALID-01"] == {
        "number": "NM-VALID-01", "status": "valid", "status_words": "有效", "name": "王伟",
        "agency": "north agency", "issuing_body": "内蒙古自治区人民政府",
        "valid_from": "2023-01-01", "valid_to": "2027-12-31"}
    assert answers["NM-OLD-01"]["status"] == "expired"
    assert answers["NM-FUTURE-01"]["status"] == "not_yet_valid"
    assert answers["NM-NEVER-99"] == {"number": "NM-NEVER-99", "status": "unknown",
                                      "status_words": "未查到"}
    assert answers["x" * 300]["status"] == "unknown"
    page = world.client.get("/public/certificates", params={"number": " NM-OLD-01 "}).text
    assert "查询结果：已过期" in page and "王伟" in page
    page = world.client.get("/public/certificates", params={"number": "<b>NM</b>"}).text
    assert "查询结果：未查到" in page and "&lt;b&gt;NM&lt;/b&gt;" in page and "<b>NM" not in page


def test_admins_keep_the_lists_with_custody_events_and_others_are_refused(world: World) -> None:
    admin, south_admin = world.auth("admin"), world.auth("south-admin")
    inspection = {"name": "抽查事项", "basis": "条例", "subject": "商户", "method": "现场",
                  "frequency": "5%"}
    made = world.client.post(f"{API}/agencies/{NORTH}/inspections", json=inspection, headers=admin)
    assert made.status_code == 201, made.text
    item = made.json()["id"]
    for who in ("south-admin", "officer", "case_officer", "auditor"):
        refused = world.client.post(f"{API}/agencies/{NORTH}/inspections", json=inspection,
                                    headers=world.auth(who))
        assert refused.status_code == 403, who
        assert world.client.post(f"{API}/publication/inspections/{item}", json={},
                                 headers=world.auth(who)).status_code == 403, who
    assert world.client.patch(f"{API}/inspections/{item}", json={"frequency": "10%"},
                              headers=south_admin).status_code == 403
    assert world.client.patch(f"{API}/inspections/{item}", json={"frequency": "10%"},
                              headers=admin).status_code == 200
    assert world.client.post(f"{API}/publication/inspections/{item}", json={},
                             headers=admin).status_code == 200
    again = world.client.post(f"{API}/publication/inspections/{item}", json={}, headers=admin)
    assert again.status_code == 400 and "already published" in again.json()["error"]["message"]
    status = world.client.get(f"{API}/agencies/{NORTH}/publication/inspections",
                              headers=admin).json()["items"]
    assert [(s["id"], s["current"]) for s in status] == [(item, True)]
    assert world.client.post(f"{API}/publication/inspections/{item}/withdraw",
                             json={"reason": "调整"}, headers=admin).status_code == 204
    assert world.client.delete(f"{API}/inspections/{item}", headers=admin).status_code == 204
    # a guide needs its matter published; an officer needs the public's name for them
    matter = add_matter(_log(world), OP, NORTH, "事项", "依据", "程序", 10, "复议").id
    guide = world.client.post(f"{API}/agencies/{NORTH}/guides", headers=admin, json={
        "matter_id": matter, "title": "指南", "body": "第一行\r\n第二行"}).json()
    assert guide["body"] == "第一行\n第二行"
    refused = world.client.post(f"{API}/publication/guides/{guide['id']}", json={}, headers=admin)
    assert refused.status_code == 400 and "not published" in refused.json()["error"]["message"]
    add_certificate(_log(world), OP, "officer", "NM-A-1", "政府", date(2023, 1, 1), date(2027, 1, 1))
    nameless = world.client.post(f"{API}/publication/officers/NM-A-1", json={}, headers=admin)
    assert nameless.status_code == 400
    assert world.client.post(f"{API}/publication/officers/NM-A-1", json={"public_name": "王伟"},
                             headers=admin).status_code == 200
    kinds = [e["type"] for e in world.events() if e["type"].startswith(("org:inspection",
                                                                         "org:guide",
                                                                         "org:public-entry"))]
    assert kinds == [EventType.INSPECTION_ADDED, EventType.INSPECTION_CHANGED,
                     EventType.PUBLIC_ENTRY_PUBLISHED, EventType.PUBLIC_ENTRY_WITHDRAWN,
                     EventType.INSPECTION_REMOVED, EventType.GUIDE_ADDED,
                     EventType.PUBLIC_ENTRY_PUBLISHED]
    published = world.events(EventType.PUBLIC_ENTRY_PUBLISHED)[-1]
    assert published["actor"] == "user:admin"
    assert published["details"]["content"]["name"] == "王伟"
    assert "officer" not in str(published["details"]["content"])  # the account is not copied


def test_the_cli_writes_the_same_events(world: World, tmp_path: Path) -> None:
    home = world.home.root
    env = {"EVIDENCE_DATABASE_URL": sqlite_url(tmp_path / "evidence.db")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli_in_process(home, *args, env=env)

    added = run("inspection", "add", "--agency", NORTH, "--name", "抽查事项", "--basis", "条例",
                "--subject", "商户", "--method", "现场", "--frequency", "5%")
    assert added.returncode == 0, added.stderr
    item = re.search(r"inspection item (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    assert run("publication", "publish", "inspections", item).returncode == 0
    listed = run("publication", "list", "inspections", "--agency", NORTH, "--json")
    assert f'"id":"{item}"' in listed.stdout.replace(" ", "")
    assert run("publication", "withdraw", "inspections", item, "--reason", "调整").returncode == 0
    body = tmp_path / "guide.txt"
    body.write_text("第一步\n第二步", encoding="utf-8")
    matter = add_matter(_log(world), OP, NORTH, "事项", "依据", "程序", 10, "复议").id
    guide = run("guide", "add", "--agency", NORTH, "--matter", matter, "--title", "指南",
                "--body-file", str(body))
    assert guide.returncode == 0, guide.stderr
    wrong = run("publication", "publish", "nonsense", item)
    assert wrong.returncode != 0
    events = [e for e in world.events() if e["actor"].startswith("cli:")
              and e["type"].startswith(("org:inspection", "org:public-entry", "org:guide"))]
    assert [e["type"] for e in events] == [
        EventType.INSPECTION_ADDED, EventType.PUBLIC_ENTRY_PUBLISHED,
        EventType.PUBLIC_ENTRY_WITHDRAWN, EventType.GUIDE_ADDED]


def test_the_public_site_has_its_own_rate_limit(world: World) -> None:
    app = create_app(world.home, ApiOptions(clock=world.clock, rate_limits=RateLimits(
        public_per_address=Rate(3, 0.001))))
    try:
        with TestClient(app) as client:
            answers = [client.get("/public/api/agencies").status_code for _ in range(4)]
            assert answers == [200, 200, 200, 429]
            for path in ("/public/", "/public/no/such/page"):
                limited = client.get(path)
                assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
            # the signed-in service keeps its own allowance
            assert client.get(f"{API}/me", headers=world.auth("admin")).status_code == 200
    finally:
        app.state.services.exports.shutdown()
        app.state.services.verify_jobs.close()
        app.state.services.log.close()


def test_unknown_addresses_get_the_public_404(world: World) -> None:
    page = world.client.get("/public/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "行政执法信息公示平台" in page.text
    data = world.client.get("/public/api/nothing")
    assert data.status_code == 404 and data.json()["error"]["code"] == "not_found"
    assert world.client.get(f"/public/agencies/{NORTH}/decisionz").status_code == 404
