"""Published decisions on the public site, without signing in: a decision is published,
updated and revoked, and at each step the public page, the search, the JSON and the Atom feed
say exactly what the public may see. Every unpublished record (draft, confirmed but not
published), every replaced or revoked version and every private field (the party's real
name and id number, the case's number and title, the officers, what was masked) is searched
for in every public answer and found in none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import feedparser

from tests.api_support import World, world_fixture
from tests.test_publication import call, decided, ok

_ = world_fixture
PUBLIC = "/public"
PRIVATE = ("张三丰", "150102199001011234", "N-2024-1", "N-2024-2", "N-2024-3", "无证经营",
           "case_officer", "draft-only", "confirmed-only")


def fill(world: World, pid: str, number: str, conclusion: str = "对张三丰罚款500元") -> None:
    ok(call(world, "PATCH", "case_officer", f"/publications/{pid}",
            {"conclusion": conclusion, "document_number": number}))
    ok(call(world, "POST", "case_officer", f"/publications/{pid}/confirm"))


def public(world: World, path: str, status: int = 200) -> Any:
    world.client.cookies.clear()
    response = world.client.get(PUBLIC + path)  # no credentials at all
    assert response.status_code == status, (path, response.text)
    head = world.client.head(PUBLIC + path)  # as the lists' pages answer HEAD, so do these
    assert (head.status_code, head.content) == (status, b""), path
    return response


def everything(world: World, ids: list[str]) -> str:
    """Every public answer about decisions: pages, searches, JSON, the feed, each id's page."""
    paths = ["/decisions", "/decisions?party=张", "/decisions/feed.atom", "/api/decisions",
             "/api/decisions?limit=100", "/agencies/north/decisions", "/", "/agencies",
             "/agencies/north", *(f"/decisions/{pid}" for pid in ids),
             *(f"/api/decisions/{pid}" for pid in ids)]
    texts = []
    for path in paths:
        world.client.cookies.clear()
        response = world.client.get(PUBLIC + path)
        assert response.status_code in (200, 404), (path, response.status_code)
        texts.append(response.text)
    return "\n".join(texts)


def assert_nothing_private(world: World, ids: list[str], *also: str) -> str:
    text = everything(world, ids)
    for secret in (*PRIVATE, *also):
        assert secret not in text, secret
    return text


def test_publish_update_and_revoke_as_the_public_sees_them(world: World) -> None:
    shown = decided(world)["record"]["id"]
    draft_only = decided(world, number="N-2024-2")["record"]["id"]
    confirmed_only = decided(world, "licensing", number="N-2024-3")["record"]["id"]
    fill(world, confirmed_only, "confirmed-only")
    ok(call(world, "PATCH", "case_officer", f"/publications/{draft_only}",
            {"document_number": "draft-only"}))
    ids = [shown, draft_only, confirmed_only]
    # nothing published: nothing shown, each id "not found" like one that does not exist
    for pid in (*ids, "00000000-0000-0000-0000-000000000000"):
        public(world, f"/decisions/{pid}", 404)
        public(world, f"/api/decisions/{pid}", 404)
    assert public(world, "/api/decisions").json() == {"total": 0, "offset": 0, "items": []}
    assert feedparser.parse(public(world, "/decisions/feed.atom").content).entries == []
    assert_nothing_private(world, ids, "北公罚字")

    # published: the current version, masked
    fill(world, shown, "北公罚字〔2024〕1号")
    ok(call(world, "POST", "case_officer", f"/publications/{shown}/publish"))
    page = public(world, f"/decisions/{shown}").text
    for words in ("张某", "对张某罚款500元", "北公罚字〔2024〕1号", "行政处罚", "2024-03-16"):
        assert words in page, words
    assert "更正说明" not in page
    [item] = public(world, "/api/decisions").json()["items"]
    assert (item["id"], item["party"], item["version"], item["corrections"]) == (
        shown, "张某", 1, [])
    [entry] = feedparser.parse(public(world, "/decisions/feed.atom").content).entries
    assert "北公罚字〔2024〕1号" in entry.title and "张某" in entry.summary
    assert entry.link.endswith(f"/public/decisions/{shown}")
    # the search: agency, kind, date range, party
    for query, found in (("agency=north", 1), ("agency=south", 0), ("kind=penalty", 1),
                         ("kind=licensing", 0), ("from=2024-03-16&to=2024-03-16", 1),
                         ("from=2024-03-17", 0), ("party=张某", 1), ("party=李", 0)):
        assert public(world, f"/api/decisions?{query}").json()["total"] == found, query
        assert (f"d-{shown}" in public(world, f"/decisions?{query}").text) == bool(found), query
    assert "无法识别" in public(world, "/decisions?from=yesterday").text
    public(world, "/api/decisions?colour=red", 400)
    assert_nothing_private(world, ids)

    # updated: the new version and a correction notice; the old number is gone
    world.clock.advance(timedelta(days=1))
    ok(call(world, "PATCH", "case_officer", f"/publications/{shown}",
            {"document_number": "北公罚字〔2024〕2号"}))
    ok(call(world, "POST", "case_officer", f"/publications/{shown}/confirm"))
    ok(call(world, "POST", "case_officer", f"/publications/{shown}/update",
            {"reason": "张三丰的文书编号录入有误"}))
    page = public(world, f"/decisions/{shown}").text
    assert "北公罚字〔2024〕2号" in page and "更正说明" in page
    assert "张某的文书编号录入有误" in page  # the reason is masked like the record
    assert "2024-03-16" in page and "2024-03-17" in page  # both versions' dates
    one = public(world, f"/api/decisions/{shown}").json()
    assert one["version"] == 2 and [c["reason"] for c in one["corrections"]] == [
        "张某的文书编号录入有误"]
    [entry] = feedparser.parse(public(world, "/decisions/feed.atom").content).entries
    assert entry.title.startswith("【更正】") and "北公罚字〔2024〕2号" in entry.title
    assert_nothing_private(world, ids, "北公罚字〔2024〕1号")

    # revoked: only the revocation notice, at the same address and in the feed
    ok(call(world, "POST", "admin", f"/publications/{shown}/revoke",
            {"reason": "经行政复议撤销原决定"}))
    page = public(world, f"/decisions/{shown}").text
    assert "撤销说明" in page and "经行政复议撤销原决定" in page
    assert public(world, "/api/decisions").json()["total"] == 0
    one = public(world, f"/api/decisions/{shown}").json()
    assert one["state"] == "revoked" and "party" not in one and "conclusion" not in one
    [entry] = feedparser.parse(public(world, "/decisions/feed.atom").content).entries
    assert entry.title.startswith("【已撤销】") and "经行政复议撤销原决定" in entry.summary
    assert_nothing_private(world, ids, "北公罚字", "张某", "罚款500元")
