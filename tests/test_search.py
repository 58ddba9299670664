"""The case officer's search (issue 13): a time window finds every item whose span overlaps
it, officers are found by number or by a (Chinese) name, the unit narrows the caller's scope
and never widens it; case numbers follow their agency's rule; names take Chinese.

The API tests run on SQLite and PostgreSQL (``world``); the property test compares the
search with a brute-force overlap on SQLite.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, bindparam, delete, insert, text

from cases import evidence as evidence_module
from cases.devices import register_device
from cases.evidence import EvidenceFilter, search_evidence
from cases.users import Role, add_user, operator
from storage import catalog
from storage.db import make_engine, migrate, sqlite_url
from tests.api_support import NORTH_UNIT, T0, World, add_evidence, world_fixture
from tests.cli_helpers import run_cli

_ = world_fixture
API = "/api/v1"
SHANGHAI = "+08:00"


def found(world: World, user: str, **params: Any) -> set[str]:
    response = world.get(user, f"{API}/evidence", params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def clip(world: World, name: str, start: datetime, seconds: float, **kwargs: Any) -> str:
    return add_evidence(world.home, name, f"original of {name}".encode() * 20,
                        officer_no=kwargs.pop("officer_no", "100234"),
                        device=kwargs.pop("device", "ZFY0001"), start=start,
                        duration_ms=int(seconds * 1000), **kwargs)


# ---------------------------------------------------------------- the time window


def test_an_officer_in_hohhot_finds_the_clip_recorded_at_1432_local(world: World) -> None:
    """14:32 in Hohhot (Asia/Shanghai, UTC+8) is 06:32 UTC; the search in local time finds it,
    and the same wall-clock window read as UTC (what the old page sent) does not."""
    recorded = datetime(2024, 5, 20, 6, 32, tzinfo=UTC)
    hohhot = clip(world, "HOHHOT_1432.MP4", recorded, 90)
    local = found(world, "case_officer", **{"from": f"2024-05-20T14:30:00{SHANGHAI}",
                                            "to": f"2024-05-20T14:40:00{SHANGHAI}"})
    assert local == {hohhot}
    assert hohhot not in found(world, "case_officer", **{"from": "2024-05-20T14:30:00Z",
                                                         "to": "2024-05-20T14:40:00Z"})


def test_a_search_from_063030_finds_the_clip_running_0630_to_0631(world: World) -> None:
    started = datetime.fromisoformat(f"2024-05-21T06:30:00{SHANGHAI}").astimezone(UTC)
    running = clip(world, "RUNNING_0630.MP4", started, 60)
    assert found(world, "case_officer", **{"from": f"2024-05-21T06:30:30{SHANGHAI}",
                                           "to": f"2024-05-21T06:35:00{SHANGHAI}"}) == {running}
    # a window inside the clip, one touching its end instant, and one just after it
    assert running in found(world, "case_officer", **{"from": f"2024-05-21T06:30:10{SHANGHAI}",
                                                      "to": f"2024-05-21T06:30:20{SHANGHAI}"})
    assert running in found(world, "case_officer", **{"from": f"2024-05-21T06:31:00{SHANGHAI}"})
    assert running not in found(world, "case_officer",
                                **{"from": f"2024-05-21T06:31:00.001{SHANGHAI}"})
    # the window's end is not included: a window ending as it starts misses it
    assert running not in found(world, "case_officer", **{"to": f"2024-05-21T06:30:00{SHANGHAI}"})


def test_a_time_without_an_offset_is_refused_with_a_clear_message(world: World) -> None:
    for value in ("2024-05-21T06:30:30", "2024-05-21 06:30"):
        response = world.get("case_officer", f"{API}/evidence", params={"from": value})
        assert response.status_code == 422, value
        assert "no UTC offset" in response.json()["error"]["message"]
    for value in ("2024-05-21T06:30:30Z", "2024-05-21T06:30:30+08:00", "2024-05-21T06:30:30-0530"):
        assert world.get("case_officer", f"{API}/evidence", params={"to": value}).status_code == 200


def _row(start: datetime | None, duration_ms: int | None) -> dict[str, Any]:
    """A catalogue row, inserted as a bulk loader would (no end_time: the column's default)."""
    key = uuid.uuid4().hex
    return {"id": str(uuid.UUID(key)), "sha256": key + key, "size": 1, "object_key": key,
            "original_name": key, "source_path": key, "kind": "video", "start_time": start,
            "duration_ms": duration_ms, "time_source": "filename", "media_json": "{}",
            "flags": "[]", "retention_category": "standard", "legal_hold": False,
            "derivatives_state": "none", "ingested_at": T0, "unit_code": NORTH_UNIT}


BASE = datetime(2024, 6, 1, tzinfo=UTC)
_MS = st.integers(min_value=0, max_value=20 * 60 * 1000)  # within 20 minutes: spans meet often
_SPANS = st.lists(st.tuples(st.one_of(st.none(), _MS),
                            st.one_of(st.none(), st.just(0), st.integers(1, 8 * 60 * 1000))),
                  min_size=1, max_size=12)


def test_the_window_finds_exactly_the_overlapping_spans(tmp_path: Path) -> None:
    """Random spans (some without a start or a duration) and random windows, against a
    brute-force overlap: [start, start + duration] meets [from, to)."""
    engine = make_engine(sqlite_url(tmp_path / "search.db"))
    migrate(engine)
    everyone = operator("test")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(spans=_SPANS, data=st.data())
    def check(spans: list[tuple[int | None, int | None]], data: st.DataObject) -> None:
        rows = [_row(None if at is None else BASE + timedelta(milliseconds=at), length)
                for at, length in spans]
        # bounds: anywhere, or exactly at a span's start or end
        edges = sorted({ms for at, length in spans if at is not None
                        for ms in (at, at + (length or 0))})
        bound = st.one_of(st.none(), _MS, st.sampled_from(edges)) if edges else st.none()
        low, high = data.draw(bound), data.draw(bound)
        if low is not None and high is not None and low >= high:
            low, high = high, None if low == high else low
        time_from = None if low is None else BASE + timedelta(milliseconds=low)
        time_to = None if high is None else BASE + timedelta(milliseconds=high)
        with engine.begin() as conn:
            conn.execute(insert(catalog.evidence), rows)
        try:
            page = search_evidence(engine, everyone, EvidenceFilter(
                time_from=time_from, time_to=time_to, limit=500))
        finally:
            with engine.begin() as conn:
                conn.execute(delete(catalog.evidence))
        expected = {row["id"] for row, (at, length) in zip(rows, spans, strict=True)
                    if (time_from is None and time_to is None) or (
                        at is not None
                        and (high is None or at < high)
                        and (low is None or at + (length or 0) >= low))}
        assert {item.id for item in page.items} == expected
        assert page.total == len(expected) and page.exact

    try:
        check()
    finally:
        engine.dispose()


# ---------------------------------------------------------------- officers, units, roles


def test_officers_are_found_by_a_chinese_name_or_their_number(world: World) -> None:
    log, by = world.home.custody_log(), operator("test")
    register_device(log, by, "ZFY0101", "100777", NORTH_UNIT, "李娜")
    add_user(log, "王芳", Role.OFFICER, "100888", by=by, unit_code=NORTH_UNIT)
    li = clip(world, "ZFY0101_100777_0001.MP4", T0 + timedelta(days=2), 30, device="ZFY0101",
              officer_no="100777")
    wang = clip(world, "ZFY0102_100888_0001.MP4", T0 + timedelta(days=2, hours=1), 30,
                device="ZFY0102", officer_no="100888")
    assert found(world, "case_officer", officer="李娜") == {li}
    assert found(world, "case_officer", officer="娜") == {li}  # part of the name
    assert found(world, "case_officer", officer="王芳") == {wang}  # a user's name
    assert found(world, "case_officer", officer="100777") == {li}  # the number, whole
    assert found(world, "case_officer", officer="10077") == set()  # not part of a number
    assert found(world, "case_officer", officer="张") == set()
    assert found(world, "case_officer", officer="%") == set()  # LIKE's wildcards are text
    page = world.get("case_officer", f"{API}/evidence", params={"officer": "李娜"}).json()
    assert page["items"][0]["officer_name"] == "李娜"
    # a name with a control character is refused, not searched
    assert world.get("case_officer", f"{API}/evidence",
                     params={"officer": "李\u202e娜"}).status_code == 422


def test_the_unit_filter_narrows_the_scope_and_never_widens_it(world: World) -> None:
    ours = {world.evidence[k] for k in ("mine", "theirs", "photo")}
    assert found(world, "case_officer", unit=NORTH_UNIT) == ours
    assert found(world, "case_officer", unit="n2") == set()  # another unit's footage
    assert found(world, "case_officer", unit="s1") == set()  # another agency's
    assert found(world, "case_officer", officer="400567") == set()  # a south officer
    assert found(world, "n2-case_officer", unit="n2") == {world.evidence["n2"]}
    assert found(world, "admin", unit="n2") == {world.evidence["n2"]}  # the agency's admin
    assert found(world, "admin", unit="s1") == set()
    assert found(world, "officer", unit=NORTH_UNIT) == {world.evidence["mine"],
                                                        world.evidence["photo"]}


def test_a_clerk_may_not_search(world: World) -> None:
    response = world.get("clerk", f"{API}/evidence")
    assert response.status_code == 403 and "search evidence" in response.json()["error"]["message"]
    assert world.client.get(f"{API}/evidence").status_code == 401


def test_flags_kind_and_case_filters(world: World) -> None:
    mine, photo = world.evidence["mine"], world.evidence["photo"]
    assert found(world, "case_officer", flag="legal_hold") == set()
    hold = world.client.post(f"{API}/evidence/{mine}/hold", json={"reason": "court order"},
                             headers=world.auth("admin"))
    assert hold.status_code == 200, hold.text
    assert found(world, "case_officer", flag="legal_hold") == {mine}
    assert found(world, "case_officer", flag=["legal_hold", "time_uncertain"]) == set()
    assert found(world, "case_officer", kind="image") == {photo}
    item = world.get("case_officer", f"{API}/evidence", params={"flag": "legal_hold"}).json()
    assert "legal_hold" in item["items"][0]["flags"]
    assert world.get("case_officer", f"{API}/evidence",
                     params={"flag": "haunted"}).status_code == 422
    case = world.client.post(f"{API}/cases", json={"number": "朝阳刑2024-001", "title": "盗窃案"},
                             headers=world.auth("case_officer")).json()
    attached = world.client.post(f"{API}/cases/{case['id']}/evidence",
                                 json={"evidence_ids": [mine, photo]},
                                 headers=world.auth("case_officer"))
    assert attached.status_code in (200, 201), attached.text
    assert found(world, "case_officer", case=case["id"]) == {mine, photo}
    assert found(world, "case_officer", case=case["id"], flag="on_case") == {mine, photo}
    # another unit's case officer cannot learn what is on a case they do not manage
    assert found(world, "n2-case_officer", case=case["id"]) == set()


def test_the_count_stops_past_the_page(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_module, "COUNT_AHEAD", 0)
    page = world.get("case_officer", f"{API}/evidence", params={"limit": 1}).json()
    assert page["total_exact"] is False and page["total"] == 2 and page["next_offset"] == 1
    monkeypatch.setattr(evidence_module, "COUNT_AHEAD", 1000)
    page = world.get("case_officer", f"{API}/evidence", params={"limit": 1}).json()
    assert page["total_exact"] is True and page["total"] == 3


# ---------------------------------------------------------------- case numbers and names


def _new_case(world: World, user: str, number: str) -> Any:
    return world.client.post(f"{API}/cases", json={"number": number, "title": "案件"},
                             headers=world.auth(user))


def test_chinese_case_numbers_and_user_names(world: World) -> None:
    created = _new_case(world, "case_officer", "朝阳刑2024-001")
    assert created.status_code == 201, created.text
    assert created.json()["number"] == "朝阳刑2024-001"
    assert _new_case(world, "case_officer", "呼公(刑)字[2024]001号").status_code == 201
    refused = _new_case(world, "case_officer", "../../etc")
    assert refused.status_code == 400 and "朝阳刑2024-001" in refused.json()["error"]["hint"]
    user = world.client.post(f"{API}/users", json={"name": "李娜", "role": "case_officer",
                                                   "unit": NORTH_UNIT},
                             headers=world.auth("admin"))
    assert user.status_code == 201, user.text
    assert user.json()["name"] == "李娜"
    assert world.events("user:account:created")[-1]["details"]["user"] == "李娜"
    for bad in ("李\u0000娜", "_李娜", "李 娜", "x" * 65):
        response = world.client.post(f"{API}/users", json={"name": bad, "role": "case_officer",
                                                           "unit": NORTH_UNIT},
                                     headers=world.auth("admin"))
        assert response.status_code in (400, 422), bad


def test_each_agency_sets_its_own_case_number_rule(world: World) -> None:
    rule = {"pattern": r"朝阳刑\d{4}-\d{3}", "rule": "朝阳刑+年份+“-”+三位序号，如 朝阳刑2024-001"}
    path = f"{API}/agencies/north/case-number-rule"
    for user in ("case_officer", "south-admin"):  # wrong role; another agency's admin
        assert world.client.put(path, json=rule, headers=world.auth(user)).status_code == 403
    answer = world.client.put(path, json=rule, headers=world.auth("admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["case_number_rule"] == {**rule, "default": False}
    event = world.events("org:agency:case-number-rule-set")[-1]
    assert event["actor"] == "user:admin" and event["details"]["pattern"] == rule["pattern"]
    assert event["details"]["before"] == {"pattern": None, "rule": None}
    mine = world.get("case_officer", f"{API}/case-number-rule").json()
    assert mine["rule"] == rule["rule"]
    refused = _new_case(world, "case_officer", "N-2024-1")
    assert refused.status_code == 400 and rule["rule"] in refused.json()["error"]["hint"]
    assert _new_case(world, "case_officer", "朝阳刑2024-001").status_code == 201
    assert _new_case(world, "south-case_officer", "N-2024-1").status_code == 201  # default
    for bad in ({"pattern": "(a+)+", "rule": "r"}, {"pattern": "(", "rule": "r"},
                {"pattern": ".*", "rule": "r"}, {"pattern": r"\d+", "rule": None},
                {"pattern": None, "rule": "r"}):
        response = world.client.put(path, json=bad, headers=world.auth("admin"))
        assert response.status_code == 400, (bad, response.text)
    back = world.client.put(path, json={"pattern": None, "rule": None}, headers=world.auth("admin"))
    assert back.json()["case_number_rule"]["default"] is True
    assert _new_case(world, "case_officer", "N-2024-2").status_code == 201


def test_the_cli_sets_the_same_rule_with_the_same_event(world: World, db_url: str) -> None:
    result = run_cli(world.home.root, "agency", "case-rule", "south", "--pattern", r"南\d{3}",
                     "--rule", "南+三位序号", env={"EVIDENCE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "南+三位序号" in result.stdout
    event = world.events("org:agency:case-number-rule-set")[-1]
    assert event["actor"].startswith("cli:") and event["details"]["agency"] == "south"
    assert _new_case(world, "south-case_officer", "南001").status_code == 201
    assert _new_case(world, "south-case_officer", "北001").status_code == 400
    listed = run_cli(world.home.root, "agency", "list", "--json",
                     env={"EVIDENCE_DATABASE_URL": db_url})
    south = next(json.loads(line) for line in listed.stdout.splitlines()
                 if json.loads(line)["code"] == "south")
    assert south["case_number_rule"] == "南+三位序号"
    usage = run_cli(world.home.root, "agency", "case-rule", "south",
                    env={"EVIDENCE_DATABASE_URL": db_url})
    assert usage.returncode == 2


def test_the_attention_index_is_written_as_the_search_writes_it() -> None:
    """The planners use the partial index only for the very text of its WHERE clause."""
    import importlib

    migration = importlib.import_module("storage.migrations.versions.0016_search")
    assert migration.ATTENTION == evidence_module.ATTENTION_SQL


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_upgrade_gives_stored_items_the_end_of_their_span(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Items stored before migration 0016 are found by a window that meets their span only."""
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS
    from tests.conftest import _pg_schema_url

    url = (sqlite_url(tmp_path / "old.db") if dialect == "sqlite"
           else _pg_schema_url(request.getfixturevalue("pg_database_url")))
    engine = make_engine(url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0015")
        rows = [_row(BASE, 60_000), _row(BASE, None), _row(None, 5_000)]
        for row in rows:
            row.pop("unit_code")
        with engine.begin() as conn:
            for row in rows:  # as 0015 stored them: no end_time column yet
                columns = ", ".join(row)
                conn.execute(text(f"INSERT INTO evidence ({columns}) VALUES "
                                  f"({', '.join(':' + c for c in row)})").bindparams(
                    *(bindparam(name, type_=DateTime(timezone=True))
                      for name in ("start_time", "ingested_at"))), row)
        migrate(engine)
        everyone = operator("test")

        def ids(low: datetime) -> set[str]:
            return {i.id for i in search_evidence(engine, everyone,
                                                  EvidenceFilter(time_from=low)).items}

        assert ids(BASE + timedelta(seconds=30)) == {rows[0]["id"]}  # inside the first span
        assert ids(BASE) == {rows[0]["id"], rows[1]["id"]}  # the photo's instant too
        assert ids(BASE + timedelta(seconds=61)) == set()
    finally:
        engine.dispose()
