"""The public lists in Chromium: an admin publishes on the signed-in "Public lists" page, and
a person on a 375 px phone, never signed in, on pages without any script, finds it on the public
site and checks a shown certificate. axe-core finds nothing on any of the pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, expect

from api.home import Home
from cases.actions import add_certificate, add_matter
from cases.public_entries import ListKind, publish
from cases.public_lists import add_inspection
from cases.users import operator
from tests.api_support import NORTH
from tests.browser_support import (
    PageFactory,
    Site,
    assert_fits,
    assert_no_axe_violations,
    check_page,
    require_browser,
    running_site,
    shoot,
)

OP = operator("test")
INSPECTION = "沿街商户市容环境卫生检查"


def _prepare(home: Home) -> None:
    log = home.custody_log()
    matter = add_matter(log, OP, NORTH, "对占道经营的处罚", "《城市市容和环境卫生管理条例》第十七条",
                        "立案、调查取证、告知、听取陈述申辩、作出决定、送达", 20, "行政复议、行政诉讼").id
    publish(log, OP, ListKind.MATTERS, matter)
    add_certificate(log, OP, "officer", "NM-150100-0001", "内蒙古自治区人民政府",
                    date(2023, 1, 1), date(2099, 12, 31))
    publish(log, OP, ListKind.OFFICERS, "NM-150100-0001", public_name="王伟")
    add_inspection(log, OP, NORTH, name=INSPECTION, basis="《城市市容和环境卫生管理条例》第十七条",
                   subject="沿街商户", method="现场检查", frequency="每年抽查比例不低于5%")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("public"), with_footage=False,
                      prepare=_prepare) as running:
        yield running


def _phone(browser: Browser) -> Page:
    # JavaScript stays on for axe-core; the pages carry no script (checked below).
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN",
                                  is_mobile=True)
    return context.new_page()


def test_an_admin_publishes_and_a_person_on_a_phone_reads_and_checks_a_certificate(
        signed_in_page: PageFactory, browser: Browser, site: Site) -> None:
    page = signed_in_page("admin")
    page.goto(site.url + "/ui/admin/publication")
    row = page.locator("#publication-inspections tr", has_text=INSPECTION)
    expect(row).to_contain_text("未公示")
    check_page(page, "admin-publication", "zh-CN")
    row.get_by_role("button", name="公示", exact=True).click()
    expect(page.locator("#publication-inspections tr", has_text=INSPECTION)).to_contain_text("已公示")
    assert site.events("org:public-entry:published")[-1]["details"]["title"] == INSPECTION

    phone = _phone(browser)
    try:
        phone.goto(site.url + "/public/")
        expect(phone.locator("h1")).to_have_text("行政执法信息公示平台")
        assert phone.locator("script").count() == 0
        assert_no_axe_violations(phone)
        phone.get_by_role("link", name="north agency").first.click()
        phone.get_by_role("link", name="随机抽查事项清单（1）").click()
        expect(phone.locator("main")).to_contain_text("每年抽查比例不低于5%")
        assert_no_axe_violations(phone)
        assert_fits(phone, 375)
        shoot(phone, "public-inspections-375", "zh-CN")
        phone.goto(site.url + f"/public/agencies/{NORTH}/matters")
        expect(phone.locator("main")).to_contain_text("行政复议、行政诉讼")
        assert_no_axe_violations(phone)
        assert_fits(phone, 375)
        phone.get_by_role("link", name="执法证查询").click()
        phone.get_by_label("执法证号").fill("NM-150100-0001")
        phone.get_by_role("button", name="查询").click()
        verdict = phone.locator(".verdict")
        expect(verdict).to_contain_text("查询结果：有效")
        expect(verdict).to_contain_text("王伟")
        assert_no_axe_violations(phone)
        assert_fits(phone, 375)
        shoot(phone, "public-certificate-375", "zh-CN")
        assert "officer" not in phone.locator("body").inner_text()  # the account name
    finally:
        phone.context.close()
