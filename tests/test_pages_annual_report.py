"""The annual statistics in the browser (Chinese, the default): the admin sees last year's
report due among the decisions to publish, opens it from there, sees the figures unpublished
and publishes them; the page shows them frozen with their hash, the custody event names the
admin, the due entry is gone, the public site shows them, and a case officer is refused by the
API."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from cases.publication import local_day
from tests.browser_support import PageFactory, Site, check_page, require_browser, running_site, tr

LANG = "zh-CN"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with running_site(tmp_path_factory.mktemp("site"), with_footage=False) as running:
        yield running


def status_of(site: Site, path: str, user: str | None = None) -> int:
    request = urllib.request.Request(site.url + path)
    if user is not None:
        request.add_header("Authorization", f"Bearer {site.tokens[user]}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_admin_publishes_last_years_statistics(site: Site,
                                                    signed_in_page: PageFactory) -> None:
    year = local_day(datetime.now(UTC)).year - 1
    page = signed_in_page("admin", LANG)
    # last year's report is due (from 1 January): listed with the decisions to publish
    page.get_by_role("navigation").get_by_role(
        "link", name=tr(LANG, "Publication"), exact=True).click()
    due = page.locator("#reports-due")
    expect(due).to_contain_text(tr(LANG, "Publish the annual statistics of {year} of agency "
                                         "{agency}", year=str(year), agency="north"))
    due.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(tr(LANG, "Annual statistics"))
    expect(page.locator("#report-draft")).to_be_visible()
    expect(page.locator("#report-decisions")).to_be_visible()
    check_page(page, "annual-report", LANG)

    page.locator("#report-publish").click()
    box = page.locator("#publish-report-dialog")
    expect(box).to_be_visible()
    box.locator("#publish-report-dialog-confirm").click()
    expect(page.locator("#status")).to_have_text(
        tr(LANG, "The statistics of {year} were published.", year=str(year)))
    expect(page.locator("#report-draft")).to_have_count(0)
    expect(page.locator("#report-publish")).to_have_count(0)
    (event,) = site.events("org:annual-report:published")
    assert event["actor"].endswith("admin") and event["details"]["year"] == year
    expect(page.locator(".hash")).to_have_text(event["details"]["sha256"])
    page.get_by_role("navigation").get_by_role(
        "link", name=tr(LANG, "Publication"), exact=True).click()
    expect(page.locator("h1")).to_have_text(tr(LANG, "Publication of decisions"))
    expect(page.locator("#reports-due")).to_have_count(0)
    assert status_of(site, f"/public/agencies/north/annual-reports/{year}") == 200
    assert status_of(site, f"/api/v1/agencies/north/annual-reports/{year}", "case_officer") == 403
