"""The search's answer is written by orjson straight from the dataclasses (a model per item
cost a few ms of every search): it must be what pydantic writes for ``EvidencePage``, byte
for byte, whatever the values."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

from api.http.convert import evidence_page_json, summary_out
from api.http.models import EvidencePage, EvidenceSummaryOut
from cases.evidence import EvidenceSummary
from cases.paging import Page

ITEM = EvidenceSummary(
    id="526cf816-f044-4c34-88c2-1aadc57bbdde", sha256="78" * 32, size=448_952_597,
    original_name="ZFY00138_155106_20261130223221_0004.MP4", kind="video",
    device_serial="ZFY00138", officer_no="155106",
    start_time=datetime(2026, 11, 30, 22, 32, 21, 287000, tzinfo=UTC), duration_ms=446_667,
    retention_category="standard", retain_until=datetime(2027, 6, 4, 3, 8, 47, tzinfo=UTC),
    legal_hold=False, derivatives_state="done",
    ingested_at=datetime(2026, 12, 3, 3, 8, 47, 1, tzinfo=UTC), unit_code="hhht-xc",
    flags=("legal_hold", "time_uncertain", "zz-other"), officer_name="巴特尔 \"李\" </script>",
    poster=True)


def pydantic_json(page: Page[EvidenceSummary]) -> bytes:
    return EvidencePage(items=[summary_out(i) for i in page.items], total=page.total,
                        total_exact=page.exact, offset=page.offset, limit=page.limit,
                        next_offset=page.next_offset).model_dump_json().encode()


def test_the_dataclass_and_the_model_name_the_same_fields_in_order() -> None:
    assert [f.name for f in fields(EvidenceSummary)] == list(EvidenceSummaryOut.model_fields)
    assert list(EvidencePage.model_fields) == ["total", "offset", "limit", "next_offset",
                                               "items", "total_exact"]


def test_the_page_is_written_as_pydantic_writes_it() -> None:
    empty = replace(ITEM, id="0" * 36, device_serial=None, officer_no=None, start_time=None,
                    duration_ms=None, retain_until=None, unit_code=None, flags=(),
                    officer_name=None, poster=False, legal_hold=True, size=0, original_name="")
    other_zone = replace(ITEM, start_time=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))),
                         ingested_at=datetime(1, 1, 1, tzinfo=UTC))
    for page in (Page([ITEM, empty, other_zone], 3, 0, 50),
                 Page([ITEM], 1051, 250, 1, exact=False),
                 Page([], 0, 0, 50)):
        assert evidence_page_json(page) == pydantic_json(page)
