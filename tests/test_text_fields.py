"""Text people type (case titles, reasons, agency/unit/officer names, volume labels) passes one
check (``cases.text``) from the CLI and the API alike: no control, bidi-override or line
separator characters, not only invisible characters, and what is stored is what is logged,
in NFC."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cases.case_records import create_case, get_case
from cases.errors import InvalidRequest
from cases.text import TEXT_PATTERN, clean_text
from cases.users import authenticate
from tests.api_support import NORTH, NORTH_UNIT, OFFICER_NO, World, world_fixture
from tests.cli_helpers import run_cli_in_process

_ = world_fixture
API = "/api/v1"

HOSTILE = {
    "newline": "Theft\nINTACT",
    "carriage return": "Theft\r",
    "escape": "Theft \x1b[2J",
    "c1 control": "Theft \x85",
    "right-to-left override": "Invoice \u202egpj.exe",
    "left-to-right embedding": "a\u202ab",
    "first-strong isolate": "a\u2068b\u2069",
    "line separator": "Theft\u2028at 5th",
    "paragraph separator": "Theft\u2029",
    "only zero-width": "\u200b\u200c\u200d",
    "only format characters": "\u2060\ufeff\u00ad",
    "only blank fillers": "\u3164\u2800 \u3000",
    "only tags": "\U000e0041\U000e0042",
    "empty": "",
}
NFD = "Cafe\u0301 \u1100\u1161 case"  # e + combining acute, Hangul jamo: NFC composes both
NFC = "Café \uac00 case"


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_the_domain_check_refuses_hostile_text(label: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        clean_text(HOSTILE[label], "case title", 300)
    assert refused.value.hint


def test_the_domain_check_keeps_real_text_in_nfc() -> None:
    assert clean_text(NFD, "case title", 300) == NFC
    assert clean_text("  内蒙古 \u180e ᠮᠣᠩᠭᠣᠯ  ", "name", 100) == "内蒙古 \u180e ᠮᠣᠩᠭᠣᠯ"
    assert clean_text("שלום world", "reason", 100) == "שלום world"  # RTL script itself is fine
    assert clean_text("a\u200db", "name", 100) == "a\u200db"  # a joiner inside text is fine


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_the_schema_pattern_agrees_with_the_domain(label: str) -> None:
    assert re.fullmatch(TEXT_PATTERN, HOSTILE[label]) is None or label == "only tags"
    assert re.fullmatch(TEXT_PATTERN, NFD) and re.fullmatch(TEXT_PATTERN, "呼和浩特市公安局")


def _case_body(title: str, number: str) -> dict[str, Any]:
    return {"title": title, "number": number}


def test_the_api_refuses_hostile_titles_reasons_names_and_labels(world: World) -> None:
    case_id = create_case(world.home.custody_log(),
                          authenticate(world.home.engine(), world.tokens["case_officer"]),
                          "Fare dodging", "F-1").id
    refused = []
    for i, (label, text) in enumerate(sorted(HOSTILE.items())):
        requests: list[tuple[str, str, str, dict[str, Any]]] = [
            ("case_officer", "POST", "/cases", _case_body(text, f"H-{i}")),
            ("admin", "POST", f"/evidence/{world.evidence['mine']}/hold", {"reason": text}),
            ("admin", "POST", "/units", {"code": f"h{i}", "agency": NORTH, "name": text}),
            ("admin", "POST", "/devices", {"serial": f"ZFY9{i}", "officer_no": OFFICER_NO,
                                           "unit": NORTH_UNIT, "officer_name": text}),
            ("admin", "POST", "/devices", {"serial": f"ZFY8{i}", "officer_no": OFFICER_NO,
                                           "unit": NORTH_UNIT, "label": text}),
        ]
        for user, method, path, body in requests:
            response = world.client.request(method, f"{API}{path}", json=body,
                                            headers=world.auth(user))
            if response.status_code not in (400, 422):
                refused.append(f"{label} {path}: {response.status_code}")
            else:
                assert response.json()["error"]["code"] == "invalid_request"
        response = world.get("case_officer", f"{API}/cases/{case_id}/export",
                             params={"reason": text})
        if response.status_code not in (400, 422):
            refused.append(f"{label} export reason: {response.status_code}")
    assert not refused, refused
    logged = [e for e in world.events() if e["type"] in ("case:record:created", "org:unit:added",
                                                          "evidence:hold:placed")]
    assert [e["details"].get("title") for e in logged if "title" in e["details"]] == ["Fare dodging"]


def test_what_the_api_stores_is_what_it_logs_in_nfc(world: World) -> None:
    made = world.client.post(f"{API}/cases", json=_case_body(f"  {NFD} ", "N-1"),
                             headers=world.auth("case_officer"))
    assert made.status_code == 201, made.text
    assert made.json()["title"] == NFC
    assert get_case(world.home.engine(), made.json()["id"]).title == NFC
    [event] = [e for e in world.events("case:record:created") if e["details"]["number"] == "N-1"]
    assert event["details"]["title"] == NFC
    unit = world.client.post(f"{API}/units", json={"code": "nfd", "agency": NORTH, "name": NFD},
                             headers=world.auth("admin"))
    assert unit.status_code == 201 and unit.json()["name"] == NFC
    hold = world.client.post(f"{API}/evidence/{world.evidence['mine']}/hold",
                             json={"reason": NFD}, headers=world.auth("admin"))
    assert hold.status_code == 200, hold.text
    assert world.events("evidence:hold:placed")[-1]["details"]["reason"] == NFC


def test_the_domain_stores_and_logs_the_same_title(world: World) -> None:
    """Called directly (as the CLI's and the API's handlers do), not only through the schema."""
    user = authenticate(world.home.engine(), world.tokens["case_officer"])
    case = create_case(world.home.custody_log(), user, NFD, "D-1")
    assert case.title == get_case(world.home.engine(), case.id).title == NFC
    assert world.events("case:record:created")[-1]["details"]["title"] == NFC
    with pytest.raises(InvalidRequest):
        create_case(world.home.custody_log(), user, "a\u202eb", "D-2")


def test_the_cli_refuses_hostile_names_labels_and_reasons(world: World, db_url: str) -> None:
    env = {"EVIDENCE_DATABASE_URL": db_url}
    for text in (HOSTILE["right-to-left override"], HOSTILE["only zero-width"]):
        for args in (("agency", "add", "hx", "--name", text, "--level", "city", "--parent", NORTH),
                     ("unit", "add", "hx", "--agency", NORTH, "--name", text),
                     ("device", "register", "ZFYX", "--officer", OFFICER_NO, "--unit", NORTH_UNIT,
                      "--name", text),
                     ("device", "register", "ZFYX", "--officer", OFFICER_NO, "--unit", NORTH_UNIT,
                      "--label", text),
                     ("hold", "place", world.evidence["mine"], "--reason", text)):
            result = run_cli_in_process(world.home.root, *args, env=env)
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            assert "what to do:" in result.stderr, result.stderr
    added = run_cli_in_process(world.home.root, "unit", "add", "nfd", "--agency", NORTH, "--name", NFD,
                               env=env)
    assert added.returncode == 0, added.stderr
    assert world.events("org:unit:added")[-1]["details"]["name"] == NFC
    units = world.get("admin", f"{API}/units").json()["items"]
    assert {u["code"]: u["name"] for u in units}["nfd"] == NFC
