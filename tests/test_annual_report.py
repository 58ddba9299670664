"""The annual statistics (统计年报): a seeded year's figures match counts computed here by plain
Python over the seed; the CSV says the same; publishing freezes them with an event; the
public site shows published reports only; wrong roles are refused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from cases import tables
from cases.annual_report import canonical
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"
YEAR = 2024
REPORT = f"{API}/agencies/north/annual-reports/{YEAR}"
T = datetime(2024, 1, 2, tzinfo=UTC)


@dataclass
class Seed:
    """One decided action, as the test means it (the expected figures come from these)."""
    agency: str
    kind: str
    decided: date
    due: date
    on_site: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    published: date | None = None  # local date of version 1
    updated: list[date] = field(default_factory=list)  # local dates of versions 2, 3, ...
    revoked: date | None = None
    footage: str | None = None  # evidence label attached to the case as footage
    document: str | None = None  # evidence label attached as a written document only
    reviews: list[tuple[date, str | None]] = field(default_factory=list)  # (submitted, opinion)


SEEDS = [
    Seed("north", "penalty", date(2024, 3, 1), date(2024, 3, 12), on_site=True,
         facts={"fine": 500}, published=date(2024, 3, 11), footage="mine"),
    Seed("north", "penalty", date(2024, 4, 1), date(2024, 4, 11), on_site=True,
         facts={"licence_revoked": True}, published=date(2024, 4, 20), document="theirs"),
    Seed("north", "licensing", date(2024, 5, 6), date(2024, 5, 15), facts={"fine": 0},
         published=date(2024, 5, 10), updated=[date(2024, 6, 1), date(2024, 7, 1)]),
    Seed("north", "compulsory", date(2024, 6, 3), date(2024, 7, 1), on_site=True,
         facts={"business_closed": True}, published=date(2024, 6, 20), revoked=date(2024, 9, 2),
         footage="photo", reviews=[(date(2024, 5, 20), "return"), (date(2024, 5, 27), "pass")]),
    Seed("north", "inspection", date(2024, 11, 25), date(2024, 12, 20), on_site=True),
    Seed("north", "levy", date(2024, 12, 30), date(2025, 2, 20)),
    # not counted: another year, another agency
    Seed("north", "penalty", date(2023, 12, 29), date(2024, 1, 10), on_site=True,
         published=date(2024, 1, 5), reviews=[(date(2023, 12, 20), "fail")]),
    Seed("south", "penalty", date(2024, 3, 1), date(2024, 3, 12), on_site=True,
         published=date(2024, 3, 20), reviews=[(date(2024, 2, 20), "pass")]),
]


def _at(day: date) -> datetime:  # 10:00 in Shanghai
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


def seed(world: World, seeds: list[Seed]) -> None:
    unit = {"north": "n1", "south": "s1"}
    with world.home.engine().begin() as conn:
        matters: dict[str, str] = {}
        for agency in ("north", "south"):
            matters[agency] = str(uuid.uuid4())
            conn.execute(insert(tables.enforcement_matters).values(
                id=matters[agency], agency_code=agency, name="事项", legal_basis="依据",
                procedure="程序", time_limit_days=20, remedy="复议", updated_at=T,
                updated_by="test"))
        for s in seeds:
            case_id, action_id, record = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
            conn.execute(insert(tables.cases).values(
                id=case_id, number=f"C-{case_id[:8]}", title="案件", created_at=T,
                created_by="test", unit_code=unit[s.agency]))
            conn.execute(insert(tables.enforcement_actions).values(
                id=action_id, case_id=case_id, kind=s.kind, matter_id=matters[s.agency],
                party_kind="person", party_name="张三", on_site=s.on_site,
                action_date=s.decided, state="decided", facts=json.dumps(s.facts),
                created_at=T, created_by="test"))
            for label, document in ((s.footage, False), (s.document, True)):
                if label is None:
                    continue
                evidence = world.evidence[label]
                conn.execute(insert(tables.case_evidence).values(
                    case_id=case_id, evidence_id=evidence, attached_at=T, attached_by="test"))
                if document:
                    conn.execute(insert(tables.case_documents).values(
                        case_id=case_id, evidence_id=evidence, kind="form",
                        media_type="application/pdf", added_at=T, added_by="test"))
            for submitted, opinion in s.reviews:
                conn.execute(insert(tables.review_packets).values(
                    id=str(uuid.uuid4()), action_id=action_id, sha256="0" * 64, listing="{}",
                    submitted_at=_at(submitted), submitted_by="test", due=submitted,
                    opinion=opinion, due_confirmed=True))
            versions = [s.published, *s.updated] if s.published else []
            state = "revoked" if s.revoked else "published" if s.published else "draft"
            conn.execute(insert(tables.publications).values(
                id=record, action_id=action_id, case_id=case_id, agency_code=s.agency,
                unit_code=unit[s.agency], kind=s.kind, decision_date=s.decided, due=s.due,
                due_confirmed=True, state=state, party_kind="person", party="张某",
                conclusion="", legal_basis="", document_number="", masked="{}",
                version=len(versions), published_at=s.published and _at(s.published),
                revoked_at=s.revoked and _at(s.revoked), drafted_at=_at(s.decided),
                updated_at=_at(s.decided)))
            for number, day in enumerate(versions, 1):
                conn.execute(insert(tables.publication_versions).values(
                    publication_id=record, version=number, content="{}", published_at=_at(day),
                    published_by="test", agency_code=s.agency, kind=s.kind, party="张某",
                    decision_date=s.decided, live=number == len(versions) and not s.revoked))


def expected(seeds: list[Seed], as_of: date) -> dict[str, Any]:
    """The figures, counted by plain Python over the seed."""
    mine = [s for s in seeds if s.agency == "north" and s.decided.year == YEAR]
    ours = [s for s in seeds if s.agency == "north"]
    kinds = ("licensing", "penalty", "compulsory", "levy", "inspection")

    def outcome(s: Seed) -> str:
        if s.facts.get("licence_revoked"):
            return "licence_revoked"
        if s.facts.get("business_closed"):
            return "business_closed"
        return "fine" if s.facts.get("fine", 0) > 0 else "other"

    packets = [o for s in ours for d, o in s.reviews if d.year == YEAR]
    on_site = [s for s in mine if s.on_site]
    with_footage = [s for s in on_site if s.footage]
    return {
        "decisions": len(mine),
        "by_kind": {k: sum(s.kind == k for s in mine) for k in kinds},
        "by_kind_outcome": {k: {o: sum(s.kind == k and outcome(s) == o for s in mine)
                                for o in ("licence_revoked", "business_closed", "fine", "other")}
                            for k in kinds},
        "major_decisions": sum(bool(s.reviews) for s in mine),
        "reviews": {"submitted": len(packets), "passed": packets.count("pass"),
                    "returned": packets.count("return"), "failed": packets.count("fail"),
                    "pending": packets.count(None), "voided": 0},
        "deadlines": {
            "on_time": sum(s.published is not None and s.published <= s.due for s in mine),
            "late": sum(s.published is not None and s.published > s.due for s in mine),
            "overdue_unpublished": sum(s.published is None and as_of > s.due for s in mine),
            "not_yet_due": sum(s.published is None and as_of <= s.due for s in mine)},
        "revoked": sum(s.revoked is not None and s.revoked.year == YEAR for s in ours),
        "updated": sum(any(d.year == YEAR for d in s.updated) for s in ours),
        "updates": sum(d.year == YEAR for s in ours for d in s.updated),
        "on_site": len(on_site), "on_site_with_footage": len(with_footage),
        "footage_share": round(100 * len(with_footage) / len(on_site), 1),
    }


def get(world: World, user: str, path: str) -> Any:
    return world.client.get(path, headers=world.auth(user))


def post(world: World, user: str, path: str) -> Any:
    return world.client.post(path, headers=world.auth(user))


def test_a_seeded_year_matches_counts_made_here_and_publishing_freezes_it(world: World,
                                                                          db_url: str) -> None:
    seed(world, SEEDS)
    world.clock.now = datetime(2025, 1, 5, 4, tzinfo=UTC)
    due = get(world, "admin", f"{API}/annual-reports/due").json()["items"]
    assert due == [{"agency": "north", "year": YEAR, "due": "2025-01-31", "overdue": False}]

    world.clock.now = datetime(2025, 2, 10, 4, tzinfo=UTC)
    want = expected(SEEDS, date(2025, 2, 10))
    assert want["deadlines"]["overdue_unpublished"] == 1 and want["reviews"]["returned"] == 1
    answer = get(world, "admin", REPORT)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert {k: report[k] for k in want} == want
    assert report["sha256"] is None and report["as_of"] == "2025-02-10"

    csv_answer = get(world, "admin", f"{REPORT}/csv")
    assert csv_answer.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    figures = {(section, item): value for section, item, value in table[1:]}
    assert figures[("执法决定", "合计")] == str(want["decisions"])
    assert figures[("执法决定（按类别）", "行政处罚")] == str(want["by_kind"]["penalty"])
    assert figures[("执法决定（按类别和结果）", "行政处罚/吊销许可证照")] == "1"
    assert figures[("法制审核", "退回补充")] == str(want["reviews"]["returned"])
    assert figures[("公示期限", "逾期公示")] == str(want["deadlines"]["late"])
    assert figures[("公示期限", "逾期未公示")] == str(want["deadlines"]["overdue_unpublished"])
    assert figures[("公示撤销和更正", "撤销")] == str(want["revoked"])
    assert figures[("音视频记录", "覆盖率（%）")] == f"{want['footage_share']:.1f}"
    pdf = get(world, "admin", f"{REPORT}/pdf").content
    assert pdf.startswith(b"%PDF") and b"/OpenType" in pdf  # a font (Noto CJK) is embedded

    # wrong roles: reading and publishing
    assert get(world, "north-auditor", REPORT).status_code == 200
    for user in ("case_officer", "reviewer", "officer", "south-admin", "south-auditor"):
        assert get(world, user, REPORT).status_code == 403, user
    for user in ("north-auditor", "case_officer", "south-admin"):
        assert post(world, user, f"{REPORT}/publish").status_code == 403, user
    assert world.client.get(f"/public/api/agencies/north/annual-reports/{YEAR}").status_code == 404
    assert world.client.get(f"/public/agencies/north/annual-reports/{YEAR}").status_code == 404
    assert post(world, "admin", f"{API}/agencies/north/annual-reports/2025/publish"
                ).status_code == 409  # the year has not ended

    published = post(world, "admin", f"{REPORT}/publish")
    assert published.status_code == 200, published.text
    frozen = published.json()
    (event,) = world.events("org:annual-report:published")
    assert (event["details"]["sha256"], event["actor"]) == (frozen["sha256"], frozen["published_by"])
    stored = {k: v for k, v in frozen.items() if k not in ("published_at", "published_by",
                                                           "sha256")}
    assert hashlib.sha256(canonical({**stored, "notes": {}})).hexdigest() == frozen["sha256"]
    assert post(world, "admin", f"{REPORT}/publish").status_code == 409
    assert get(world, "admin", f"{API}/annual-reports/due").json()["items"] == []

    # a decision recorded later does not change the published figures
    seed(world, [Seed("north", "penalty", date(2024, 8, 1), date(2024, 8, 12))])
    world.clock.advance(timedelta(days=3))
    assert {k: get(world, "admin", REPORT).json()[k] for k in want} == want
    public = world.client.get(f"/public/api/agencies/north/annual-reports/{YEAR}")
    assert public.status_code == 200 and public.json()["decisions"] == want["decisions"]
    page = world.client.get(f"/public/agencies/north/annual-reports/{YEAR}")
    assert page.status_code == 200 and "行政执法统计年报" in page.text
    assert str(YEAR) in world.client.get("/public/agencies/north/annual-reports").text
    env = {"EVIDENCE_DATABASE_URL": db_url}
    shown = run_cli_in_process(world.home.root, "annual-report", "show", "north", str(YEAR),
                               "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["sha256"] == frozen["sha256"]  # the CLI reads the frozen copy
    out = world.home.root / "report.csv"
    written = run_cli_in_process(world.home.root, "annual-report", "export", "north", str(YEAR),
                                 "--out", str(out), env=env)
    assert written.returncode == 0, written.stderr
    assert out.read_bytes() == get(world, "admin", f"{REPORT}/csv").content
    again = run_cli_in_process(world.home.root, "annual-report", "publish", "north", str(YEAR),
                               env=env)
    assert again.returncode == 1 and "already published" in again.stderr
    assert world.client.get("/public/agencies/south/annual-reports/2024").status_code == 404
    assert Counter(e["type"] for e in world.events())["org:annual-report:published"] == 1
