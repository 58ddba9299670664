"""The pages' catalogues: every sentence the script shows has a Chinese text, with the
same placeholders, and the server hands it to the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.home import init_home
from api.http import pages_i18n
from api.http.app import create_app
from api.settings import Settings

PLACEHOLDER = re.compile(r"\{(\w+)\}")
ZH = "zh-CN"


def test_every_message_the_script_shows_is_translated_with_the_same_placeholders() -> None:
    found = pages_i18n.script_messages()
    assert found.unreadable == [], "t() must be given one literal English text"
    assert len(found.ids) > 150  # the extraction reads the calls (a broken regex finds none)
    assert "Evidence" in found.ids and "Case {number}" in found.ids
    catalogue = pages_i18n.messages(ZH)
    missing = [i for i in found.ids if not catalogue.get(i)]
    assert missing == [], "run scripts/update-pages-po and translate these"
    wrong = [(i, catalogue[i]) for i in found.ids
             if sorted(PLACEHOLDER.findall(i)) != sorted(PLACEHOLDER.findall(catalogue[i]))]
    assert wrong == []
    unused = sorted(set(catalogue) - set(found.ids))
    assert unused == [], "run scripts/update-pages-po to drop them"


def test_the_chinese_texts_use_the_glossary() -> None:
    catalogue = pages_i18n.messages(ZH)
    assert catalogue["Evidence"] == "证据"
    assert catalogue["Cases"] == "案件"
    assert "执法记录仪" in catalogue["Recorder"]
    assert "法制审核" in catalogue["Send for review"]
    header = pages_i18n.catalogue_path(ZH).read_text(encoding="utf-8").split("msgid", 1)[0]
    for english, chinese in (("evidence", "证据"), ("case", "案件"), ("publication", "公示"),
                             ("unit", "单位"), ("agency", "机关"), ("legal review", "法制审核")):
        assert re.search(rf"^# {english}\b.* = .*{chinese}", header, re.MULTILINE), english
    # Chinese sentences use Chinese punctuation, not an English full stop after Chinese text.
    assert [i for i, text in catalogue.items() if re.search(r"[\u4e00-\u9fff]\.$", text)] == []


def test_a_message_the_script_uses_is_found_and_a_call_it_cannot_read_is_reported(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "x.js").write_text(
        'const a = t("Hello {name}", { name });\n'
        "// t(\"in a comment\") is not a message\n"
        "const b = t(variable);\n"
        "const c = tn(`template ${x}`);\n"
        'const d = format("x"); const e = list.at(0);\n', encoding="utf-8")
    found = pages_i18n.script_messages(tmp_path)
    assert list(found.ids) == ["Hello {name}"]
    assert found.ids["Hello {name}"] == ["views/x.js:1"]
    assert [u.split(":")[:2] for u in found.unreadable] == [["views/x.js", "3"], ["views/x.js", "4"]]


def test_updating_the_catalogue_adds_new_ids_and_drops_unused_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locale_dir = tmp_path / "locale"
    po = locale_dir / "zh_CN" / "LC_MESSAGES" / "pages.po"
    po.parent.mkdir(parents=True)
    po.write_text('# Glossary: evidence = 证据\nmsgid ""\nmsgstr ""\n'
                  '"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Kept"\nmsgstr "保留"\n\nmsgid "Gone"\nmsgstr "删除"\n', encoding="utf-8")
    scripts = tmp_path / "js"
    scripts.mkdir()
    (scripts / "a.js").write_text('t("Kept"); t("New one");\n', encoding="utf-8")
    monkeypatch.setattr(pages_i18n, "LOCALE_DIR", locale_dir)
    added, dropped = pages_i18n.update_catalogue(ZH, scripts)
    assert (added, dropped) == (["New one"], ["Gone"])
    text = po.read_text(encoding="utf-8")
    assert "# Glossary: evidence = 证据" in text and 'msgstr "保留"' in text
    assert 'msgid "New one"\nmsgstr ""' in text and "Gone" not in text


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    home, _ = init_home(Settings(home=tmp_path / "home", s3_endpoint=None))
    app = create_app(home)
    with TestClient(app) as test_client:
        yield test_client
    app.state.services.log.close()
    home.engine().dispose()


def test_the_page_gets_each_languages_messages(client: TestClient) -> None:
    zh = client.get("/ui/i18n/zh-CN.json")
    assert zh.status_code == 200
    assert zh.json()["locale"] == ZH and zh.json()["messages"]["Sign in"] == "登录"
    en = client.get("/ui/i18n/en.json")
    assert en.json() == {"locale": "en", "messages": {}}  # English is the ids themselves
    unknown = client.get("/ui/i18n/fr.json", headers={"Accept-Language": "en"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["hint"] == "choose one of: zh-CN, en"
    in_chinese = client.get("/ui/i18n/fr.json")  # no Accept-Language: the default, Chinese
    assert in_chinese.json()["error"]["hint"] == "请从以下选项中选择：zh-CN, en"
