"""Publication of decisions in the browser, in Chinese and in English: the case officer sees
the notice in the header, opens the queue and the record, checks the masked text (the party's
name highlighted as 张某, the original listed), writes the conclusion and the document number,
confirms, publishes, publishes a corrected version with a reason and revokes it with a reason;
each step's custody event names them, and another role is refused by the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cases import tables
from cases.actions import ActionKind, Party, PartyKind, add_matter, open_action
from cases.case_records import create_case
from cases.documents import DocumentKind, add_document
from cases.legal_review import decide, set_materials
from cases.users import authenticate, operator
from tests.browser_support import (
    LANGS,
    PageFactory,
    Site,
    check_page,
    require_browser,
    running_site,
    tr,
)

API = "/api/v1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("site"), with_footage=False) as running:
        yield running


def call(site: Site, method: str, path: str, user: str,
         body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(site.url + API + path, method=method,
                                     data=json.dumps(body).encode() if body else None)
    request.add_header("Authorization", f"Bearer {site.tokens[user]}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def decided(site: Site, number: str) -> str:
    """A penalty on 张三丰 decided on a new case of north's n1 by ``case_officer``; returns its
    publication record's id."""
    home = site.home
    log = home.custody_log()
    officer = authenticate(home.engine(), site.tokens["case_officer"])
    case = create_case(log, officer, "无证经营", number)
    matter = add_matter(log, operator("test"), "north", f"无证经营处罚 {number}",
                        "《无证无照经营查处办法》第十三条", "一般程序", 90, "复议、诉讼")
    action = open_action(log, officer, case.id, ActionKind.PENALTY, matter.id,
                         Party(PartyKind.PERSON, "张三丰", "150102199001011234"), False,
                         date(2024, 3, 15))
    draft = add_document(log, home.object_store(), officer, case.id, "决定书.pdf",
                         DocumentKind.DRAFT_DECISION, b"%PDF-1.7 " + number.encode())
    set_materials(log, officer, action.id, draft.evidence_id, [], {"fine": 500})
    decide(log, officer, action.id)
    with home.engine().connect() as conn:
        return str(conn.execute(select(tables.publications.c.id).where(
            tables.publications.c.action_id == action.id)).scalar_one())


def last_event(site: Site, event_type: str, publication_id: str) -> dict[str, Any]:
    return [e for e in site.events(event_type)
            if e["details"]["publication_id"] == publication_id][-1]


def confirm_dialog(page: Page, dialog: str, reason: str) -> None:
    box = page.locator(f"#{dialog}")
    expect(box).to_be_visible()
    box.locator("input[name=reason]").fill(reason)
    box.locator(f"#{dialog}-confirm").click()
    expect(box).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_officer_checks_publishes_corrects_and_revokes_a_decision(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    number = f"GS-{lang}"
    pid = decided(site, number)
    page = signed_in_page("case_officer", lang)
    # the header counts the notices; they lead to the record
    expect(page.locator("#notice-count")).to_have_text("1")
    page.locator("#notices").click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Notices"))
    expect(page.locator("#notice-list")).to_contain_text(number)
    check_page(page, "publication-notices", lang)
    page.get_by_role("navigation").get_by_role(
        "link", name=tr(lang, "Publication"), exact=True).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Publication of decisions"))
    row = page.locator("#publications-table tr", has_text=number)
    expect(row).to_contain_text("张某")
    expect(row).not_to_contain_text("张三丰")
    check_page(page, "publication-queue", lang)
    row.get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_have_text(tr(
        lang, "Publication of the decision of case {number}", number=number))
    expect(page.locator("section[aria-labelledby=working-copy] mark").first).to_have_text("张某")
    expect(page.locator("#masked-table")).to_contain_text("张三丰")
    # a reviewer may not publish it (the API says so; the page offers it to managers only)
    assert call(site, "POST", f"/publications/{pid}/publish", "reviewer")[0] == 403
    page.locator("#edit-conclusion").fill("对张三丰罚款500元")
    page.locator("#edit-document-number").fill(f"北公罚字〔2024〕{lang}1号")
    page.locator("#save-publication").click()
    expect(page.locator("#status")).to_have_text(tr(
        lang, "Saved. Check the masked text and confirm it."))
    expect(page.locator("section[aria-labelledby=working-copy]")).to_contain_text("对张某罚款500元")
    check_page(page, "publication-record", lang)
    page.locator("#confirm-publication").click()
    expect(page.locator("#status")).to_have_text(tr(lang, "The masked text was confirmed."))
    page.locator("#publish-publication").click()
    expect(page.locator("#status")).to_have_text(tr(lang, "The decision was published."))
    expect(page.locator("#versions-table tbody tr")).to_have_count(1)
    assert last_event(site, "case:publication:published", pid)["actor"] == "user:case_officer"
    # a correction: edited, confirmed, published as version 2 with its reason
    page.locator("#edit-document-number").fill(f"北公罚字〔2024〕{lang}2号")
    page.locator("#save-publication").click()
    page.locator("#confirm-publication").click()
    expect(page.locator("#status")).to_have_text(tr(lang, "The masked text was confirmed."))
    page.locator("#update-publication").click()
    confirm_dialog(page, "update-publication-dialog", "文书编号录入有误")
    expect(page.locator("#status")).to_have_text(tr(lang, "The new version was published."))
    expect(page.locator("#versions-table tbody tr")).to_have_count(2)
    expect(page.locator("#versions-table")).to_contain_text("文书编号录入有误")
    updated = last_event(site, "case:publication:updated", pid)
    assert updated["details"]["reason"] == "文书编号录入有误" and updated["details"]["version"] == 2
    page.locator("#revoke-publication").click()
    confirm_dialog(page, "revoke-publication-dialog", "经行政复议撤销")
    expect(page.locator("#status")).to_have_text(tr(lang, "The publication was revoked."))
    expect(page.locator("section[aria-labelledby=revocation]")).to_contain_text("经行政复议撤销")
    expect(page.locator("#publication-edit")).to_have_count(0)
    assert last_event(site, "case:publication:revoked", pid)["actor"] == "user:case_officer"
