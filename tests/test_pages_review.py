"""The legal review (法制审核) in the browser, in Chinese and in English: a major penalty walked
through the pages by the people of agency north (tests/api_support.py).

The handling officer sets the draft decision and materials on the action's page and submits
them; the reviewer asks a legal adviser and records the opinion, then returns the packet from
the queue's checklist; the officer contests, the
principal upholds the opinion, the officer resubmits with the signed transcript; the reviewer
passes it; the action page shows the gate's refusal (and the decision is refused) until the
approving head approves; then the officer records the decision, records its service and
downloads the packet's bundle. The custody log names who did each step. A wrong role gets the
"cannot open" page, and the API's refusal.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.home import Home
from cases.actions import (
    ActionKind,
    Party,
    PartyKind,
    add_certificate,
    add_matter,
    assign_handlers,
    open_action,
)
from cases.case_records import attach_evidence, create_case
from cases.documents import DocumentKind, add_document
from cases.legal_review import set_catalogue, set_materials, submit
from cases.users import get_user
from custody.events import decode_event
from storage import catalog
from tests.browser_support import (
    LANGS,
    PageFactory,
    Site,
    assert_focus_visible,
    check_page,
    require_browser,
    running_site,
    tr,
)

API = "/api/v1"
PDF = b"%PDF-1.7\n"
CASES = {"zh-CN": "N-2024-31", "en": "N-2024-32"}
OVERDUE_CASE = "N-2024-30"
# The materials a penalty's submission must include where the backend asks for them
# (cases/review_materials.py of the review's next steps): seeded and cited when their
# document kinds exist, so the journey runs before and after that work.
REQUIRED = [(name, kind) for name, kind in (
    ("案件调查终结报告.pdf", "investigation_report"), ("事先告知书.pdf", "rights_notice"),
    ("陈述申辩笔录.pdf", "statement"), ("证据清单.pdf", "evidence_list"))
    if kind in {k.value for k in DocumentKind}]
# The gate's words (api/locale messages.po), as each language shows them.
GATE = {
    "zh-CN": {"unsent": "尚未送审", "waiting": "等待法制审核人员审核", "returned": "当前材料的审核意见为",
              "sign-off": "审批负责人", "refused": "不能记录决定",
              "rule": "重大执法决定法制审核目录清单第 1 版第 1 条"},
    "en": {"unsent": "none was submitted", "waiting": "waiting for the reviewer",
           "returned": "is: return", "sign-off": "sign-off is missing",
           "refused": "cannot be recorded", "rule": "rule 1 of the major-decision catalogue, version 1"},
}


@dataclass
class Seeded:
    actions: dict[str, str]  # lang -> action id
    cases: dict[str, str]  # lang -> case id
    documents: dict[str, dict[str, str]]  # lang -> label -> evidence id (and the packet's)


SEEDED: dict[str, Any] = {}


def seed(home: Home) -> None:
    """What the site holds before the pages are used: north's matter and catalogue, two
    officers' certificates, and per language a case with footage, documents and a penalty
    (through the domain functions, as the CLI and API do). Also an overdue packet."""
    log, store, engine = home.custody_log(), home.object_store(), home.engine()
    admin, officer = get_user(engine, "admin"), get_user(engine, "case_officer")
    matter = add_matter(log, admin, "north", "无证经营处罚", "《无证无照经营查处办法》第十三条",
                        "一般程序", 90, "行政复议、行政诉讼").id
    set_catalogue(log, admin, "north", [{"kind": "penalty", "fine_at_least": 10000}])
    for name, number in (("case_officer", "执法证-0001"), ("case_officer2", "执法证-0002")):
        add_certificate(log, admin, name, number, "北市人民政府", date(2020, 1, 1), date(2030, 12, 31))
    with engine.connect() as conn:
        footage = conn.execute(select(catalog.evidence.c.id).where(
            catalog.evidence.c.kind == "video")).scalars().first()
    assert footage is not None
    seeded = Seeded({}, {}, {})
    for lang, number in (*CASES.items(), ("overdue", OVERDUE_CASE)):
        case = create_case(log, officer, "无证经营", number)
        attach_evidence(log, store, officer, case.id, footage)
        docs = {label: add_document(log, store, officer, case.id, name, kind,
                                    PDF + f"{number} {name}".encode()).evidence_id
                for label, name, kind in (
                    ("draft", "处罚决定书（草稿）.pdf", DocumentKind.DRAFT_DECISION),
                    ("transcript", "询问笔录.pdf", DocumentKind.TRANSCRIPT),
                    ("signed", "询问笔录（签名）.pdf", DocumentKind.SCAN),
                    *((kind, name, DocumentKind(kind)) for name, kind in REQUIRED))}
        action = open_action(log, officer, case.id, ActionKind.PENALTY, matter,
                             Party(PartyKind.ORGANISATION, "某商贸有限公司"), False, date(2024, 3, 16)).id
        assign_handlers(log, officer, action, ["case_officer", "case_officer2"])
        seeded.actions[lang], seeded.cases[lang], seeded.documents[lang] = action, case.id, docs
    # A packet submitted long ago and never reviewed: overdue, first in the queue; in 2003,
    # before the official holiday calendars the library knows, so its due date is unconfirmed.
    set_materials(log, officer, seeded.actions["overdue"], seeded.documents["overdue"]["draft"],
                  [seeded.documents["overdue"][label] for label in
                   ("transcript", *(kind for _, kind in REQUIRED))], {"fine": 20000})
    seeded.documents["packet"] = {"overdue": submit(
        log, store, home.verifier(), officer, seeded.actions["overdue"],
        now=datetime(2003, 6, 2, 9, tzinfo=UTC)).id}
    seeded.documents["footage"] = {"video": footage}
    SEEDED["data"] = seeded


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The module's one site: the standard one (footage, users), seeded by ``seed``."""
    require_browser()
    with running_site(tmp_path_factory.mktemp("review-site"), prepare=seed) as running:
        yield running


@pytest.fixture(scope="module")
def data(site: Site) -> Seeded:
    seeded: Seeded = SEEDED["data"]
    return seeded


def call(site: Site, method: str, path: str, user: str) -> tuple[int, Any]:
    request = urllib.request.Request(site.url + API + path, method=method)
    request.add_header("Authorization", f"Bearer {site.tokens[user]}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def open_nav(page: Page, lang: str, label: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=tr(lang, label), exact=True).click()


def goto(page: Page, site: Site, path: str) -> None:
    page.goto(site.url + "/ui" + path)
    page.wait_for_function("() => !document.getElementById('main').hasAttribute('aria-busy')"
                           " && document.querySelector('#main h1')")


def tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Tab from where the focus is until ``selector`` has it, drawn visibly (keyboard use)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            assert_focus_visible(page)
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def expect_blocking(page: Page, *words: str) -> None:
    for word in words:
        expect(page.locator("#blocking")).to_contain_text(word)


def confirm(page: Page, dialog: str, reason: str | None = None) -> None:
    box = page.locator(f"#{dialog}")
    expect(box).to_be_visible()
    if reason is not None:
        box.locator("textarea").fill(reason)
    box.locator(f"#{dialog}-confirm").click()
    expect(box).to_have_count(0)


def set_materials_in_page(page: Page, lang: str, names: list[str], fine: str) -> None:
    form = page.locator("#materials-form")
    form.locator("#materials-draft").select_option(label="处罚决定书（草稿）.pdf")
    for box in form.locator("input[name=cited]").all():
        label = form.locator(f"label[for='{box.get_attribute('id')}']").inner_text()
        box.set_checked(any(label.startswith(name) for name in names))
    form.locator("#materials-fine").fill(fine)
    form.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_have_text(tr(lang, "The draft decision and materials were set."))


def review_in_page(page: Page, lang: str, number: str, opinion: str, material: bool) -> None:
    """The reviewer opens the queue, then the packet's checklist, and gives the opinion."""
    open_nav(page, lang, "Legal review")
    expect(page.locator("h1")).to_have_text(tr(lang, "Legal review queue"))
    page.get_by_role("link", name=tr(lang, "Open the checklist for case {number}", number=number)).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Legal review: {matter}", matter="无证经营处罚"))
    for box in page.locator("#checklist-form input[type=radio][value=pass]").all():
        box.check()
    if material:
        page.locator("#point-facts_and_evidence-material").check()
        page.locator("#note-facts_and_evidence").fill("询问笔录未经当事人签名")
    page.locator(f"#opinion-{opinion}").check()
    page.locator("#opinion-reasons").fill("补充签名的询问笔录" if material
                                          else "事实清楚，证据充分，程序合法")
    page.locator("#opinion-submit").click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Legal review queue"))


def packet_id(site: Site, action: str) -> str:
    """The action's latest packet."""
    status, packets = call(site, "GET", f"/actions/{action}/reviews", "case_officer")
    assert status == 200, packets
    return str(packets["items"][-1]["id"])


def action_steps(site: Site, action: str, every: bool = False) -> list[tuple[str, str]]:
    """(type, actor) of the action's review steps, from the custody log (``every``: its
    opening and staffing too, and a review voided by new materials where the backend
    records that). Its publication's events are the publication pages' business."""
    events = (decode_event(leaf) for _, leaf in site.home.custody_log().entries())
    left_out = () if every else ("case:action:opened", "case:action:handlers-assigned",
                                 "case:review:voided")
    return [(e["type"], e["actor"]) for e in events
            if (e.get("details") or {}).get("action_id") == action and e["type"] not in left_out
            and e["type"].startswith(("case:action:", "case:review:"))]


@pytest.mark.parametrize("lang", LANGS)
def test_a_major_penalty_walks_through_the_review_pages(
        site: Site, data: Seeded, signed_in_page: PageFactory, lang: str) -> None:
    action, number, gate = data.actions[lang], CASES[lang], GATE[lang]
    officer = signed_in_page("case_officer", lang)
    goto(officer, site, f"/cases/{data.cases[lang]}")
    expect(officer.locator("#case-actions")).to_contain_text("某商贸有限公司")
    officer.locator("#case-actions").get_by_role("link", name="无证经营处罚").click()
    expect(officer.locator("h1")).to_have_text(
        tr(lang, "Enforcement action: {matter}", matter="无证经营处罚"))
    expect_blocking(officer, tr(lang, "the action has no draft decision yet"))

    # the officer sets the draft and cites the transcript and the footage; a fine makes it major
    required = [name for name, _ in REQUIRED]
    set_materials_in_page(officer, lang, ["询问笔录.pdf", site.video_name, *required], "50000")
    expect(officer.locator("#action-major")).to_contain_text(gate["rule"])
    expect(officer.locator("#materials")).to_contain_text(site.video_name)
    expect_blocking(officer, gate["unsent"])
    check_page(officer, "review-action", lang)
    officer.locator("#decide-button").click()
    expect(officer.locator("#message")).to_contain_text(gate["refused"])
    expect(officer.locator("#message")).to_contain_text(gate["unsent"])
    officer.locator("#message button").click()
    tab_to(officer, "#submit-review")
    officer.keyboard.press("Enter")
    expect(officer.locator("#status")).to_contain_text(
        tr(lang, "Submitted for legal review; due {due}.").split("{due}")[0])
    expect_blocking(officer, gate["waiting"])
    expect(officer.locator("#action-steps")).to_contain_text("(Asia/Shanghai)")

    # the reviewer's queue: the overdue packet first, said in words; this one returned
    reviewer = signed_in_page("reviewer", lang)
    open_nav(reviewer, lang, "Legal review")
    rows = reviewer.locator("#review-queue tbody tr")
    expect(rows.first).to_contain_text(OVERDUE_CASE)
    expect(rows.first).to_contain_text(tr(lang, "Overdue"))
    expect(rows.first.locator(".unconfirmed")).to_have_text(tr(
        lang, "(unconfirmed: the official holiday calendar for these days is not published yet)"))
    expect(reviewer.locator("#review-queue")).to_contain_text(number)
    check_page(reviewer, "review-queue", lang)
    tab_to(reviewer, f"#review-queue a[href$='{packet_id(site, action)}']")
    reviewer.keyboard.press("Enter")
    expect(reviewer.locator("#packet-items")).to_contain_text(site.video_sha256)
    # before the opinion, the reviewer asks a government lawyer and records what they said
    reviewer.locator("#advice-kind").select_option("government_lawyer")
    reviewer.locator("#advice-question").fill("罚款数额是否符合裁量基准？")
    reviewer.locator("#advice-request").click()
    expect(reviewer.locator("#status")).to_have_text(
        tr(lang, "The request for an opinion was recorded."))
    expect(reviewer.locator("#advice")).to_contain_text(tr(lang, "awaited"))
    check_page(reviewer, "review-checklist", lang)
    reviewer.locator("#advice-adviser-0").fill("市司法局 王律师")
    reviewer.locator("#advice-opinion-0").fill("符合裁量基准")
    reviewer.locator("#advice-record-0").click()
    expect(reviewer.locator("#status")).to_have_text(tr(lang, "The adviser's opinion was recorded."))
    expect(reviewer.locator("#advice")).to_contain_text("市司法局 王律师")
    expect(reviewer.locator("#advice")).to_contain_text(
        tr(lang, "(recorded by {name})", name="reviewer"))
    tab_to(reviewer, "#point-enforcing_body_lawful-pass")  # each point, the opinion, the button
    tab_to(reviewer, "#opinion-submit")
    review_in_page(reviewer, lang, number, "return", material=True)
    expect(reviewer.locator("#review-queue")).not_to_contain_text(number)

    # the officer contests; the principal upholds the opinion
    officer.reload()
    expect_blocking(officer, gate["returned"])
    officer.locator("#contest-button").click()
    confirm(officer, "contest-dialog", "笔录已由当事人确认")
    expect(officer.locator("#status")).to_have_text(
        tr(lang, "The opinion was contested; the principal will rule on it."))
    head = signed_in_page("admin", lang)
    open_nav(head, lang, "Approvals")
    expect(head.locator("#to-rule")).to_contain_text("笔录已由当事人确认")
    head.get_by_role("button", name=tr(lang, "Uphold the opinion on case {number}", number=number)).click()
    confirm(head, "ruling-dialog", "笔录确须当事人签名")
    expect(head.locator("#status")).to_have_text(
        tr(lang, "The opinion on case {number} was upheld.", number=number))

    # the officer cites the signed transcript instead and submits again; the reviewer passes it
    officer.reload()
    set_materials_in_page(officer, lang, ["询问笔录（签名）.pdf", site.video_name, *required],
                          "50000")
    expect_blocking(officer, gate["unsent"])
    officer.locator("#submit-review").click()
    expect_blocking(officer, gate["waiting"])
    review_in_page(reviewer, lang, number, "pass", material=False)

    # before the head's approval the page shows the gate's refusal, and the decision is refused
    officer.reload()
    expect_blocking(officer, gate["sign-off"])
    officer.locator("#decide-button").click()
    expect(officer.locator("#message")).to_contain_text(gate["sign-off"])

    # the head approves, by keyboard
    open_nav(head, lang, "Approvals")
    approve_label = tr(lang, "Approve the decision of case {number}", number=number)
    approve = head.get_by_role("button", name=approve_label)
    expect(approve).to_be_visible()
    check_page(head, "review-approvals", lang)
    for _ in range(60):
        head.keyboard.press("Tab")
        if head.evaluate("(label) => document.activeElement.getAttribute('aria-label') === label",
                         approve_label):
            break
    assert_focus_visible(head)
    head.keyboard.press("Enter")
    expect(head.locator("#approve-dialog")).to_be_visible()
    head.keyboard.press("Shift+Tab")  # from Cancel to Approve
    head.keyboard.press("Enter")
    expect(head.locator("#status")).to_have_text(
        tr(lang, "Approved: the decision of case {number} can now be recorded.", number=number))

    # the officer records the decision
    officer.reload()
    expect(officer.locator("#blocking")).to_have_text(
        tr(lang, "Nothing blocks the decision: it can be recorded."))
    officer.locator("#decide-button").click()
    expect(officer.locator("#status")).to_have_text(tr(lang, "The decision was recorded."))
    expect(officer.locator("#next-step")).to_contain_text(tr(lang, "The decision is recorded."))
    # every step of the action in the log is on the page
    expect(officer.locator("#action-steps li")).to_have_count(len(action_steps(site, action, every=True)))

    # after the decision: its service (送达), and the packet's bundle downloads as a ZIP
    expect(officer.locator("#service")).to_have_text(
        tr(lang, "The service of the decision is not recorded yet."))
    officer.locator("#service-method").select_option("post")
    officer.locator("#service-recipient").fill("某商贸有限公司 法定代表人")
    officer.locator("#service-submit").click()
    expect(officer.locator("#status")).to_have_text(
        tr(lang, "The service of the decision was recorded."))
    expect(officer.locator("#service")).to_contain_text(tr(lang, "by post"))
    expect(officer.locator("#service")).to_contain_text("某商贸有限公司 法定代表人")
    check_page(officer, "review-action-served", lang)
    with officer.expect_download() as download:
        officer.locator("#packets .bundle-link").last.click()
    assert Path(download.value.path()).read_bytes()[:4] == b"PK\x03\x04"

    # the chain of responsibility, from the log: who did each step
    assert action_steps(site, action) == [
        ("case:action:materials-set", "user:case_officer"),
        ("case:review:submitted", "user:case_officer"),
        ("case:review:advice-requested", "user:reviewer"),
        ("case:review:advice-recorded", "user:reviewer"), ("case:review:opinion", "user:reviewer"),
        ("case:review:contested", "user:case_officer"), ("case:review:ruled", "user:admin"),
        ("case:action:materials-set", "user:case_officer"),
        ("case:review:submitted", "user:case_officer"), ("case:review:opinion", "user:reviewer"),
        ("case:review:approved", "user:admin"), ("case:action:decided", "user:case_officer"),
        ("case:action:decision-served", "user:case_officer"),
        ("case:review:packet-exported", "user:case_officer")]


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_role_cannot_open_the_review_pages(
        site: Site, data: Seeded, signed_in_page: PageFactory, lang: str) -> None:
    cannot = tr(lang, "You cannot open this page")
    officer = signed_in_page("officer", lang)  # records footage; no cases, no reviews
    expect(officer.get_by_role("navigation")).not_to_contain_text(tr(lang, "Legal review"))
    packet = data.documents["packet"]["overdue"]
    for path in (f"/actions/{data.actions['overdue']}", "/reviews", f"/reviews/{packet}",
                 "/approvals"):
        goto(officer, site, path)
        expect(officer.locator("h1")).to_have_text(cannot)
    reviewer = signed_in_page("case_officer", lang)
    for path in ("/reviews", "/approvals"):
        goto(reviewer, site, path)
        expect(reviewer.locator("h1")).to_have_text(cannot)
    # and the API refuses them, whatever a page would do
    assert call(site, "GET", "/reviews", "case_officer")[0] == 403
    assert call(site, "GET", "/approvals", "reviewer")[0] == 403
    assert call(site, "GET", f"/actions/{data.actions['overdue']}/review-state", "officer")[0] == 403
    assert call(site, "GET", f"/reviews/{packet}", "south-reviewer")[0] == 403
    status, queue = call(site, "GET", "/reviews", "south-reviewer")  # another agency's reviewer
    assert status == 200 and queue["items"] == []
