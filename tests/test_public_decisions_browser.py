"""Published decisions in Chromium, on a 375 px phone, never signed in: the list of
decisions and a corrected decision with its correction notice fit the screen, carry no
script and axe-core finds nothing on them; two penalties of one agency are told apart by
their links (the document number), not only by what follows them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from cases import publication as pub
from cases.users import authenticate
from tests.browser_support import (
    Site,
    assert_fits,
    assert_no_axe_violations,
    require_browser,
    running_site,
    shoot,
)
from tests.test_pages_publication import decided

NUMBER, CORRECTED, OTHER = "北公罚字〔2024〕1号", "北公罚字〔2024〕2号", "北公罚字〔2024〕7号"
REASON = "决定书文号录入有误"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("decisions"), with_footage=False) as running:
        yield running


def _published_then_corrected(site: Site) -> str:
    """Two penalties of north published; the first corrected. Returns the first's id."""
    log = site.home.custody_log()
    officer = authenticate(site.home.engine(), site.tokens["case_officer"])
    corrected, other = decided(site, "PD-1"), decided(site, "PD-2")
    for pid, number in ((corrected, NUMBER), (other, OTHER)):
        pub.edit(log, officer, pid, {"conclusion": "对张三丰罚款500元", "document_number": number})
        pub.confirm(log, officer, pid)
        pub.publish(log, officer, pid)
    pub.edit(log, officer, corrected, {"document_number": CORRECTED})
    pub.confirm(log, officer, corrected)
    pub.update_published(log, officer, corrected, REASON)
    return corrected


def test_a_person_on_a_phone_reads_the_decisions_and_a_correction_notice(
        browser: Browser, site: Site) -> None:
    pid = _published_then_corrected(site)
    # JavaScript stays on for axe-core; the pages carry no script (checked below).
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN",
                                  is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(site.url + "/public/decisions")
        expect(phone.locator("main")).to_contain_text(CORRECTED)
        assert phone.locator("script").count() == 0
        assert_no_axe_violations(phone)
        assert_fits(phone, 375)
        shoot(phone, "public-decisions-375", "zh-CN")
        links = phone.locator("main .card-title a")
        expect(links).to_have_count(2)
        assert len(set(links.all_inner_texts())) == 2  # each link names its decision
        phone.get_by_role("link", name=CORRECTED).click()
        expect(phone).to_have_url(site.url + f"/public/decisions/{pid}")
        main = phone.locator("main")
        expect(main).to_contain_text("对张某罚款500元")
        expect(main).to_contain_text(REASON)  # the correction notice
        assert "张三丰" not in main.inner_text() and NUMBER not in main.inner_text()
        assert phone.locator("script").count() == 0
        assert_no_axe_violations(phone)
        assert_fits(phone, 375)
        shoot(phone, "public-decision-corrected-375", "zh-CN")
    finally:
        context.close()
