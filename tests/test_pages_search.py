"""The case officer's search in the browser (issue 13), in Chinese and in English.

The card's recorder (ZFY0001, officer 100234) is registered to 李娜. A case officer finds its
footage by her Chinese name and a window typed in the station's time (Asia/Shanghai, while
the browser's own zone is Los Angeles), as YYYY-MM-DD HH:mm whatever the browser's own
locale (en-US under the Chinese page, zh-CN under the English one), sees the posters,
selects both results and attaches them to a case at once; Back brings the search again.
The search form works with the keyboard alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from api.home import Home
from cases.case_records import create_case
from cases.devices import register_device
from cases.users import get_user, operator
from tests.api_support import NORTH_UNIT
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

OFFICER_NAME = "李娜"
CASES = {"zh-CN": ("朝阳刑2024-001", "朝阳区市场纠纷"), "en": ("朝阳刑2024-002", "Market Street")}
# Segment 1 runs 09:30:00-09:30:03 at the station (01:30 UTC), the photo is 09:32:00.
WINDOW = ("2024-03-15 09:29", "2024-03-15 09:35")
# The browser's own locale, the other way round from the page's language.
BROWSER_LOCALE = {"zh-CN": "en-US", "en": "zh-CN"}


def _prepare(home: Home) -> None:
    log, by = home.custody_log(), operator("test")
    register_device(log, by, "ZFY0001", "100234", NORTH_UNIT, OFFICER_NAME)
    officer = get_user(home.engine(), "case_officer")
    for number, title in CASES.values():
        create_case(log, officer, title, number)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("search-site"), prepare=_prepare) as running:
        yield running


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _posters_loaded(page: Page, count: int) -> None:
    posters = page.locator("#evidence-table img.poster")
    expect(posters).to_have_count(count)
    page.wait_for_function("""(n) => [...document.querySelectorAll('#evidence-table img.poster')]
        .filter((img) => img.complete && img.naturalWidth > 0).length === n""", arg=count)


@pytest.mark.parametrize("lang", LANGS)
def test_case_officer_finds_footage_by_a_chinese_name_and_local_time_and_files_it(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang, browser_locale=BROWSER_LOCALE[lang])
    expect(page.locator("#search-form")).to_be_visible()
    assert page.evaluate("navigator.language") == BROWSER_LOCALE[lang]
    expect(page.locator("#from-zone")).to_have_text("(Asia/Shanghai)")  # the zone, by the field
    expect(page.locator("#from")).to_have_attribute("placeholder", "YYYY-MM-DD HH:mm")

    # A time in the browser's own format is no time here: said by the field, nothing searched.
    page.locator("#from").fill("03/15/2024 09:29 AM")
    page.locator("#search-button").click()
    said = tr(lang, "“{value}” is not a time: write it as {format}, for example {example}.",
              value="03/15/2024 09:29 AM", format="YYYY-MM-DD HH:mm", example="EXAMPLE")
    example = r"\d{4}-\d\d-\d\d \d\d:\d\d"  # now, in the station's zone
    expect(page.locator("#from-error")).to_have_text(re.compile(
        "^" + re.escape(said).replace("EXAMPLE", example) + "$"))
    expect(page.locator("#from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#from")).to_be_focused()
    assert "from=" not in page.url

    # A refused search (a window ending before it starts) is said, and the form stays to fix it.
    page.locator("#officer").fill(OFFICER_NAME)
    page.locator("#from").fill(WINDOW[1])
    page.locator("#to").fill(WINDOW[0])
    page.locator("#search-button").click()
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text(
        tr(lang, "Reference for support: {code} ({status})", code="invalid_request", status=400))
    expect(page.locator("#officer")).to_have_value(OFFICER_NAME)

    page.locator("#from").fill(WINDOW[0])
    page.locator("#to").fill(WINDOW[1])
    page.locator("#search-button").click()
    caption = page.locator("#evidence-table caption")
    expect(caption).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=2, total=2))
    query = _query(page)  # the search is in the address, the times with the station's offset
    assert query["officer"] == [OFFICER_NAME]
    assert query["from"] == ["2024-03-15T09:29:00+08:00"]
    assert query["to"] == ["2024-03-15T09:35:00+08:00"]
    expect(page.locator("#from-error")).to_be_hidden()
    expect(page.locator("#from")).to_have_value(WINDOW[0])  # drawn again from the address, same form
    table = page.locator("#evidence-table")
    expect(table).to_contain_text(f"{OFFICER_NAME} (100234)")
    expect(table).to_contain_text("2024-03-15 09:30:00")  # in the station's zone
    _posters_loaded(page, 2)
    check_page(page, "search", lang)

    # A window a minute later (09:31-09:35) leaves out the 3-second segment of 09:30.
    page.locator("#from").fill("2024-03-15 09:31")
    page.locator("#search-button").click()
    expect(caption).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=1, total=1))
    expect(table).not_to_contain_text(site.video_name)
    page.go_back()  # Back: the first search again, its fields filled
    expect(caption).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=2, total=2))
    expect(page.locator("#officer")).to_have_value(OFFICER_NAME)
    expect(page.locator("#from")).to_have_value(WINDOW[0])

    # Select both results and attach them to the case at once.
    number, title = CASES[lang]
    expect(page.locator("#attach-selected")).to_be_disabled()
    for box in page.locator("input.select-item").all():
        box.check()
    expect(page.locator("#selected-count")).to_have_text(tr(lang, "Selected: {count}", count=2))
    page.locator("#attach-selected-case").select_option(label=f"{number} — {title}")
    page.locator("#attach-selected").click()
    result = page.locator("#attach-result")
    expect(result).to_contain_text(tr(lang, "{count} items attached to case", count=2))
    attached = [e for e in site.events("case:evidence:attached")
                if e["actor"] == "user:case_officer" and e["details"].get("case_number") == number]
    assert len(attached) == 2, attached
    result.get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Case {number}", number=number))
    expect(page.locator("#case-evidence")).to_contain_text(site.video_name)
    expect(page.locator("#case-evidence")).to_contain_text(site.photo_name)


def _tab_to(page: Page, element_id: str, most: int = 80) -> None:
    for _ in range(most):
        if page.evaluate("(id) => document.activeElement && document.activeElement.id === id",
                         element_id):
            assert_focus_visible(page)
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_search_form_works_with_the_keyboard_alone(
        site: Site, signed_in_page: PageFactory, lang: str) -> None:
    page = signed_in_page("case_officer", lang)
    expect(page.locator("#search-form")).to_be_visible()
    _tab_to(page, "officer")
    page.keyboard.type(OFFICER_NAME)
    _tab_to(page, "kind")
    page.keyboard.press("ArrowDown")  # the first kind after "any": video
    expect(page.locator("#kind")).to_have_value("video")
    _tab_to(page, "flag-on_case")
    page.keyboard.press("Space")
    expect(page.locator("#flag-on_case")).to_be_checked()
    page.keyboard.press("Space")  # and off again
    _tab_to(page, "search-button")
    page.keyboard.press("Enter")
    caption = page.locator("#evidence-table caption")
    expect(caption).to_contain_text(
        tr(lang, "Evidence found: {first}–{last} of {total}", first=1, last=1, total=1))
    assert _query(page)["kind"] == ["video"] and "flags" not in _query(page)
    expect(page.locator("#evidence-table")).to_contain_text(site.video_name)
    # the result's checkbox is reached and ticked with the keyboard too
    _tab_to(page, f"select-{site.video_id}")
    page.keyboard.press("Space")
    expect(page.locator("#selected-count")).to_have_text(tr(lang, "Selected: {count}", count=1))
    expect(page.locator("#attach-selected")).to_be_enabled()
