"""The API's and the CLI's messages speak Chinese by default and English on request.

Every sentence an error carries is a ``msg("English template", name=...)`` whose
translation is in ``api/locale/zh_CN/LC_MESSAGES/messages.po``; these tests keep the
catalogue complete, the placeholders intact, and new raise sites translatable.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from rich.console import Console

from api.cli_text import print_error
from api.i18n import catalogue, catalogue_path, env_locale, gettext, negotiate, tr
from api.i18n_catalogue import extract
from domain.errors import EvidenceError, NotFound
from domain.messages import Message, msg, plain, template_fields
from tests.api_support import World, world_fixture
from tests.cli_helpers import run_cli
from tests.test_api_stations import stations_of_three_units

_ = world_fixture
API = "/api/v1"
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "custody", "storage", "media", "devices", "ingest", "cases", "api")
CJK = re.compile(r"[\u4e00-\u9fff]")
MISSING = "00000000-0000-4000-8000-000000000000"


def _entries() -> list[Any]:
    with catalogue_path("zh_CN").open("rb") as handle:
        return [m for m in read_po(handle, locale="zh_CN", domain="messages") if m.id]


# ---------------------------------------------------------------- the catalogue


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    untranslated, mismatched = [], []
    for entry in _entries():
        if not entry.string or entry.fuzzy:
            untranslated.append(entry.id)
        elif Counter(template_fields(entry.id)) != Counter(template_fields(entry.string)):
            mismatched.append((entry.id, entry.string))
    assert not untranslated, f"translate these in messages.po: {untranslated}"
    assert not mismatched, f"placeholders differ: {mismatched}"


def test_the_catalogue_holds_every_message_of_the_code_and_no_other() -> None:
    in_code = set(extract())
    in_catalogue = {str(entry.id) for entry in _entries()}
    assert in_code - in_catalogue == set(), "run scripts/update-catalogues and translate"
    assert in_catalogue - in_code == set(), "run scripts/update-catalogues (stale ids)"


def test_a_translation_uses_the_chinese_words_of_the_glossary() -> None:
    translations = {str(e.id): str(e.string) for e in _entries()}
    pairs = {"custody log": "保管链", "legal hold": "证据保全", "checkpoint": "检查点"}
    wrong = [(mid, text) for mid, text in translations.items() for english, chinese in pairs.items()
             if re.search(rf"\b{english}s?\b", re.sub(r"`[^`]*`", "", mid), re.IGNORECASE)
             and chinese not in text]
    assert not wrong, wrong


# ---------------------------------------------------------------- messages


def test_parameters_are_inserted_after_translation_and_never_read_as_templates() -> None:
    hostile = "{number} {0} [red]x[/red] <b>{{"
    message = msg("there is no case {case_id}", case_id=hostile)
    assert str(message) == f"there is no case {hostile}"
    chinese = tr(message, "zh_CN")
    assert hostile in chinese and CJK.search(chinese)
    assert tr(message, "en") == f"there is no case {hostile}"
    # a text from outside is never a template, even with braces
    assert str(plain("{x}")) == "{x}" and tr(plain("{x}"), "zh_CN") == "{x}"


def test_an_error_keeps_its_template_and_reads_as_before() -> None:
    err = NotFound(msg("there is no case {case_id}", case_id="A-1"), hint=msg("list cases"))
    assert str(err) == "there is no case A-1 list cases"
    assert "no case" in err.message and isinstance(err.message, Message)
    assert err.message.template == "there is no case {case_id}"
    assert dict(err.message.params) == {"case_id": "A-1"}
    assert CJK.search(tr(err, "zh_CN")) and "A-1" in tr(err, "zh_CN")


def test_a_nested_message_is_translated_too() -> None:
    inner = NotFound(msg("there is no case {case_id}", case_id="A-1"))
    outer = msg("{field}: {reason}", field="body.case", reason=inner)
    assert str(outer) == "body.case: there is no case A-1"
    assert tr(outer, "zh_CN").startswith("body.case") and CJK.search(tr(outer, "zh_CN"))


def test_an_id_without_translation_or_with_a_broken_one_reads_in_english() -> None:
    assert tr(msg("no translation for {this} exists", this=1), "zh_CN") == \
        "no translation for 1 exists"
    broken = Message("there is no case {case_id}", case_id="A-1")
    assert broken.localized(lambda _: "没有案件 {other}") == "there is no case A-1"
    assert gettext("no such label", "zh_CN") == "no such label"


@pytest.mark.parametrize(("header", "locale"), [
    (None, "zh_CN"), ("", "zh_CN"), ("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh-Hans-CN", "zh_CN"),
    ("en", "en"), ("en-US,en;q=0.9", "en"), ("fr, de", "zh_CN"), ("fr, en;q=0.1", "en"),
    ("en;q=0.5, zh;q=0.9", "zh_CN"), ("zh;q=0, en", "en"), ("en;q=0", "zh_CN"),
    ("*", "zh_CN"), ("en;q=bogus, zh-CN;q=0.2", "zh_CN"), ("en;q=2", "zh_CN"),
])
def test_accept_language_picks_the_locale(header: str | None, locale: str) -> None:
    assert negotiate(header) == locale


@pytest.mark.parametrize(("env", "locale"), [
    ({}, "zh_CN"), ({"LANG": "zh_CN.UTF-8"}, "zh_CN"), ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"), ({"LANG": "POSIX"}, "en"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"), ({"LANG": "C", "LC_MESSAGES": "zh_CN"}, "zh_CN"),
    ({"LANG": "en_GB.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh_CN"),
    ({"LC_ALL": "C.UTF-8", "LANGUAGE": "zh_CN"}, "en"),
])
def test_the_environment_picks_the_cli_locale(env: dict[str, str], locale: str) -> None:
    assert env_locale(env) == locale


# ---------------------------------------------------------------- the API


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("language", [None, "zh-CN", "zh-CN,zh;q=0.9,en;q=0.8"])
def test_api_errors_are_in_chinese_by_default_and_for_zh(world: World, language: str | None) -> None:
    headers = {} if language is None else {"Accept-Language": language}
    if language is None:
        world.client.headers.pop("Accept-Language", None)  # the test client says "en"
    missing = world.get("admin", f"{API}/evidence/{MISSING}", headers=headers)
    error = _error(missing, 404)
    assert missing.headers["Content-Language"] == "zh-CN"
    assert CJK.search(error["message"]) and MISSING in error["message"]
    assert error["code"] == "not_found"  # the machine word never changes
    forbidden = _error(world.get("officer", f"{API}/users", headers=headers), 403)
    assert CJK.search(forbidden["message"])
    invalid = world.get("admin", f"{API}/evidence?limit=0", headers=headers)
    error = _error(invalid, 422)
    assert CJK.search(error["message"]) and "limit" in error["message"]
    assert error["hint"] and CJK.search(error["hint"])
    body = {"title": "t", "number": "N-1"}
    created = world.client.post(f"{API}/cases", json=body, headers={**world.auth("admin"),
                                                                     **headers})
    assert created.status_code == 201
    again = world.client.post(f"{API}/cases", json=body, headers={**world.auth("admin"),
                                                                   **headers})
    error = _error(again, 409)
    assert CJK.search(error["message"]) and "N-1" in error["message"]
    no_route = _error(world.get("admin", f"{API}/no/such", headers=headers), 404)
    assert CJK.search(no_route["message"]) and "/api/v1/no/such" in no_route["message"]
    wrong_method = _error(world.client.put(f"{API}/cases", headers={**world.auth("admin"),
                                                                       **headers}), 405)
    assert wrong_method["message"] == "/api/v1/cases 不支持 PUT 请求"


def test_api_errors_are_in_english_for_a_client_that_asks(world: World) -> None:
    headers = {"Accept-Language": "en-US,en;q=0.9,zh;q=0.1"}
    missing = world.get("admin", f"{API}/evidence/{MISSING}", headers=headers)
    error = _error(missing, 404)
    assert missing.headers["Content-Language"] == "en"
    assert not CJK.search(error["message"]) and MISSING in error["message"]
    assert not CJK.search(_error(world.get("officer", f"{API}/users", headers=headers),
                                 403)["message"])
    invalid = _error(world.get("admin", f"{API}/evidence?limit=0", headers=headers), 422)
    assert invalid["message"].startswith("the request does not match the API: query.limit")


def test_a_validation_error_names_each_field_in_words(world: World) -> None:
    headers = {**world.auth("admin"), "Accept-Language": "zh-CN"}
    response = world.client.post(f"{API}/cases", json={"title": "x" * 301}, headers=headers)
    error = _error(response, 422)
    assert "body.number" in error["message"] and "body.title" in error["message"]
    assert "Field required" not in error["message"] and CJK.search(error["message"])
    english = world.client.post(f"{API}/cases", json={"title": "x" * 301},
                                headers={**world.auth("admin"), "Accept-Language": "en"})
    text = _error(english, 422)["message"]
    assert "body.number: required but missing" in text
    when = _error(world.get("admin", f"{API}/evidence?from=2024",
                            headers={"Accept-Language": "zh-CN"}), 422)
    assert "query.from" in when["message"] and "ISO 8601" in when["message"]
    assert "请按 ISO 8601 格式填写" in when["message"]  # the validator's own sentence, translated
    twice = world.client.post(f"{API}/cases/{MISSING}/evidence", headers=headers,
                              json={"evidence_ids": [MISSING, MISSING]})
    assert "有一项证据被列出了两次" in _error(twice, 422)["message"]


def test_a_case_number_with_braces_and_markup_is_quoted_literally(world: World) -> None:
    number = "{number}<b>{0}"
    headers = {**world.auth("admin"), "Accept-Language": "zh-CN"}
    response = world.client.get(f"{API}/cases/does-not-exist-{number}", headers=headers)
    assert response.status_code in (404, 422), response.text
    assert "Traceback" not in response.text


def test_each_refused_item_of_an_attach_is_named_in_chinese(world: World) -> None:
    made = world.client.post(f"{API}/cases", json={"title": "t", "number": "B-9"},
                             headers=world.auth("admin"))
    assert made.status_code == 201, made.text
    unknown = "00000000-0000-4000-8000-00000000000f"
    response = world.client.post(f"{API}/cases/{made.json()['id']}/evidence",
                                 json={"evidence_ids": [world.evidence["mine"], unknown]},
                                 headers={**world.auth("admin"), "Accept-Language": "zh-CN"})
    error = _error(response, 404)
    assert "B-9" in error["message"] and CJK.search(error["message"])
    [item] = error["items"]
    assert item["id"] == unknown and item["code"] == "not_found"
    assert item["message"] == f"没有证据 {unknown}"


def test_a_station_tile_says_its_problem_in_the_readers_language(world: World) -> None:
    stations_of_three_units(world)
    for language, words in (("zh-CN", "无法连接证据存储或数据库。2 个文件将重试（第 3 次）"),
                            ("en", "The evidence store or the database cannot be reached. 2 file(s)")):
        body = world.get("south-clerk", f"{API}/stations",
                         headers={"Accept-Language": language}).json()
        tile = next(t for t in body["tiles"] if t["port"] == "D")
        assert tile["problem"]["code"] == "store_unreachable"
        assert tile["problem"]["message"].startswith(words)


# ---------------------------------------------------------------- the CLI


def test_the_cli_prints_errors_in_the_environments_language(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-home"
    chinese = run_cli(nowhere, "log", "checkpoints", env={"LANG": "zh_CN.UTF-8"})
    assert chinese.returncode == 2
    assert CJK.search(chinese.stderr) and str(nowhere) in chinese.stderr, chinese.stderr
    assert "error:" not in chinese.stderr
    english = run_cli(nowhere, "log", "checkpoints", env={"LANG": "C.UTF-8"})
    assert english.returncode == 2
    assert not CJK.search(english.stderr) and "error:" in english.stderr, english.stderr


def test_the_cli_prints_a_hostile_parameter_as_it_is() -> None:
    console = Console(record=True, width=200, markup=False, highlight=False, emoji=False)
    err = NotFound(msg("there is no case {case_id}", case_id="[red]{x}[/red]"))
    print_error(console, err, "zh_CN")
    text = console.export_text()
    assert "[red]{x}[/red]" in text and CJK.search(text)


# ---------------------------------------------------------------- raise sites


def _package_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _error_classes(files: list[Path]) -> set[str]:
    bases: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                    if isinstance(b, (ast.Name, ast.Attribute)))
    found = {"EvidenceError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _built_text(node: ast.expr) -> bool:
    """A sentence made here other than by msg(): a literal, an f-string, +, %, .format, join."""
    if isinstance(node, ast.IfExp):
        return _built_text(node.body) or _built_text(node.orelse)
    if isinstance(node, (ast.JoinedStr, ast.BinOp)):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Call):
        return _callee(node) in ("format", "join", "str", "format_map")
    return False


def _sentences(call: ast.Call, classes: set[str], enclosing: str | None) -> list[ast.expr]:
    name = _callee(call)
    is_super_init = (name == "__init__" and isinstance(call.func, ast.Attribute)
                     and isinstance(call.func.value, ast.Call)
                     and _callee(call.func.value) == "super" and enclosing in classes)
    found: list[ast.expr] = []
    if name in classes or is_super_init:
        found += call.args[:1]
        found += [kw.value for kw in call.keywords if kw.arg in ("message", "hint")]
    elif name in ("HTTPException", "StarletteHTTPException"):
        found += call.args[1:2]
        found += [kw.value for kw in call.keywords if kw.arg == "detail"]
    return found


def test_no_error_message_is_written_outside_a_translatable_template() -> None:
    """New untranslated messages fail here: an EvidenceError's (or HTTPException's) message
    and hint are msg("template", name=value), never an f-string, literal or built text."""
    files = _package_files()
    classes = _error_classes(files)
    assert {"NotFound", "AccessDenied", "RecorderUnplugged", "OidcFailed"} <= classes
    offenders: list[str] = []

    def visit(node: ast.AST, enclosing: str | None, path: Path) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call):
                offenders.extend(f"{path.relative_to(ROOT)}:{arg.lineno}"
                                 for arg in _sentences(child, classes, enclosing)
                                 if _built_text(arg))
            visit(child, child.name if isinstance(child, ast.ClassDef) else enclosing, path)

    for path in files:
        visit(ast.parse(path.read_text(encoding="utf-8")), None, path)
    assert not offenders, f"write these messages with msg(\"template\", name=...): {offenders}"


def test_every_msg_call_names_exactly_its_placeholders() -> None:
    wrong = []
    for path in _package_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and _callee(node) in ("msg", "gettext")
                    and node.args):
                continue
            first = node.args[0]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                if _callee(node) == "msg" and path.name != "messages.py":
                    wrong.append(f"{where}: the template is not a literal")
                continue
            if any(kw.arg is None for kw in node.keywords):
                continue  # **params: checked when called
            fields = {name for name, _, _ in template_fields(first.value)}
            given = {kw.arg for kw in node.keywords if kw.arg is not None}
            if _callee(node) == "msg" and fields != given:
                wrong.append(f"{where}: {sorted(fields)} vs {sorted(given)}")
    assert not wrong, wrong


def test_a_plain_string_message_is_still_an_error_message() -> None:
    err = EvidenceError("some text {x}")  # kept as it is, untranslated
    assert str(err) == "some text {x}" and tr(err, "zh_CN") == "some text {x}"
    assert catalogue("zh_CN")  # the catalogue loads from the .po of a clean clone


def test_no_message_sends_a_person_to_an_api_address() -> None:
    """Errors speak to people: a clerk reads them on a page, so no message or hint names
    an API path such as GET /api/v1/... (the API's own 404 for unknown API addresses, which
    only programs reach, may point at its OpenAPI document)."""
    from api.i18n_catalogue import extract

    found = [message_id for message_id in extract() if "/api/v1" in message_id
             and message_id != "see the OpenAPI document at /api/v1/openapi.json"]
    assert found == []
