"""What the server gives the pages: one shell for every page path, a 404 page (not JSON)
for unknown addresses outside the API, the station's zone, and no service worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.home import init_home
from api.http.app import create_app
from api.http.headers import CONTENT_SECURITY_POLICY
from api.http.pages import STATIC_DIR
from api.http.services import ApiOptions
from api.settings import Settings
from domain.errors import ConfigError
from tests.cli_helpers import run_cli


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    home, _ = init_home(Settings(home=tmp_path / "home", s3_endpoint=None))
    app = create_app(home, ApiOptions(time_zone="Asia/Urumqi"))
    with TestClient(app) as test_client:
        yield test_client
    app.state.services.log.close()
    home.engine().dispose()


def is_shell(response_text: str) -> bool:
    return '<script type="module" src="/ui/static/js/main.js"></script>' in response_text


@pytest.mark.parametrize("path", ["/ui/", "/ui/evidence", "/ui/evidence/0b1c", "/ui/cases/x/y",
                                  "/ui/signin?next=/ui/cases"])
def test_every_page_path_is_the_shell(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert is_shell(response.text)


@pytest.mark.parametrize("path", ["/no/such/page", "/favicon.ico", "/uix", "/admin"])
def test_an_unknown_address_outside_the_api_is_a_404_page(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert is_shell(response.text)  # the script says "page not found" in the person's language
    assert client.head(path).status_code == 404


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/no-such-route"), ("GET", "/api"),
                                              ("POST", "/no/such/page"), ("GET", "/ui/static/none.js")])
def test_the_api_and_other_methods_keep_json_errors(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_the_shell_has_no_inline_script_or_style_and_the_policy_stays_strict(client: TestClient) -> None:
    response = client.get("/ui/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    html = response.text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    assert re.findall(r"\son\w+=", html) == []
    for script in STATIC_DIR.joinpath("js").rglob("*.js"):
        source = script.read_text(encoding="utf-8")
        assert "innerHTML" not in source and "eval(" not in source, script
        assert ".style." not in source and "setAttribute(\"style\"" not in source, script


def test_the_page_is_told_the_station_zone_and_languages(client: TestClient) -> None:
    config = client.get("/ui/config.json")
    assert config.status_code == 200
    assert config.json() == {"time_zone": "Asia/Urumqi", "default_locale": "zh-CN",
                             "locales": [{"code": "zh-CN", "name": "中文"},
                                         {"code": "en", "name": "English"}]}


def test_there_is_no_player_service_worker_any_more(client: TestClient) -> None:
    worker = client.get("/ui/sw.js")
    assert not worker.headers["content-type"].startswith("text/javascript")
    assert not STATIC_DIR.joinpath("sw.js").exists()
    assert not any("serviceWorker.register" in p.read_text(encoding="utf-8")
                   for p in STATIC_DIR.joinpath("js").rglob("*.js"))


def test_the_pages_zone_setting() -> None:
    assert Settings(time_zone=None, station_tz=None).page_time_zone() == "Asia/Shanghai"
    assert Settings(time_zone=None, station_tz="Asia/Urumqi").page_time_zone() == "Asia/Urumqi"
    assert Settings(time_zone="Asia/Hong_Kong", station_tz="Asia/Urumqi").page_time_zone() == "Asia/Hong_Kong"
    with pytest.raises(ConfigError, match="EVIDENCE_TIME_ZONE='Beijing'") as refused:
        Settings(time_zone="Beijing").page_time_zone()
    assert refused.value.hint and "Asia/Shanghai" in refused.value.hint
    with pytest.raises(ConfigError, match="EVIDENCE_STATION_TZ"):
        Settings(time_zone=None, station_tz="../etc/passwd").page_time_zone()


def test_serve_refuses_an_unknown_page_zone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    refused = run_cli(home, "serve", "--port", "1", env={"EVIDENCE_TIME_ZONE": "Beijing"}, timeout=120)
    assert refused.returncode == 2
    assert "EVIDENCE_TIME_ZONE='Beijing'" in refused.stderr and "Asia/Shanghai" in refused.stderr
