"""Hostile clients: bodies are limited before anything reads them, and every response
carries the security headers; the API docs page needs nothing from another origin."""

from __future__ import annotations

import asyncio
import re
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.types import Message

from api.http.app import EvidenceApp, create_app
from api.http.bodies import JSON_BODY_LIMIT, LIMIT_KEY, install_body_limits, route_limit
from api.http.headers import SECURITY_HEADERS
from tests.api_support import World, world_fixture
from tests.browser_support import serve

_ = world_fixture
API = "/api/v1"
STATIC = Path(__file__).parents[1] / "api" / "http" / "static"
HUGE = 200 * 1024 * 1024
CHUNK = 64 * 1024
HUGE_HEAD = JSON_BODY_LIMIT + 1


class FakeClient:
    """An ASGI client that hands the app a body chunk by chunk and counts what it took."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.delivered = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        size = min(CHUNK, self.total - self.delivered)
        self.delivered += size
        return {"type": "http.request", "body": b"{" * size, "more_body": self.delivered < self.total}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def call(self, app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
        asyncio.run(app(scope, self.receive, self.send))
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return int(start["status"])

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def _assert_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_large"
    assert response.json()["error"]["hint"]
    assert response.headers["Connection"] == "close"


def test_a_huge_declared_body_without_a_token_is_refused_unread(world: World) -> None:
    app = create_app(world.home)
    client = FakeClient(HUGE)
    status = client.call(app, "POST", f"{API}/cases",
                         [(b"content-type", b"application/json"),
                          (b"content-length", str(HUGE).encode())])
    assert status == 413
    assert client.delivered == 0  # not one byte of the body was taken
    assert b'"too_large"' in client.body()


def test_a_streamed_body_is_cut_off_at_the_routes_limit(world: World) -> None:
    app = create_app(world.home)
    client = FakeClient(50 * 1024 * 1024)  # no Content-Length: chunked
    status = client.call(app, "POST", f"{API}/cases", [(b"content-type", b"application/json")])
    assert status == 413
    assert client.delivered <= JSON_BODY_LIMIT + CHUNK
    assert b'"too_large"' in client.body()


def test_json_bodies_over_the_limit_get_413_in_the_error_shape(world: World) -> None:
    big = {"title": "x" * JSON_BODY_LIMIT, "number": "N-1"}
    _assert_too_large(world.client.post(f"{API}/cases", json=big, headers=world.auth("admin")))
    _assert_too_large(world.client.post(f"{API}/cases", json=big))  # 413 before the 401
    # Streamed without a length, with a good token: cut off as it streams.
    chunks = (b"x" * CHUNK for _ in range(4))
    _assert_too_large(world.client.post(f"{API}/cases", content=chunks,
                                        headers={**world.auth("admin"),
                                                 "Content-Type": "application/json"}))
    # A route without a body reads none; a large one is refused all the same.
    _assert_too_large(world.client.request("GET", f"{API}/evidence", content=b"x" * HUGE_HEAD,
                                           headers=world.auth("admin")))
    # A length over every route's limit (a case document's is the largest) is refused before
    # routing, even for an address that is no route.
    _assert_too_large(world.client.post(f"{API}/no/such/route", content=b"{}",
                                        headers={"Content-Length": str(HUGE)}))
    # A length of thousands of digits is too large, not a crash.
    _assert_too_large(world.client.post(f"{API}/cases", content=b"{}",
                                        headers={"Content-Length": "9" * 5000}))
    # Under the limit all is as before.
    ok = world.client.post(f"{API}/cases", json={"title": "t", "number": "N-1"},
                           headers=world.auth("admin"))
    assert ok.status_code == 201, ok.text
    assert world.get("admin", f"{API}/cases").json()["total"] == 1


def test_a_small_body_sent_to_a_route_that_takes_none_is_refused(world: World) -> None:
    """Not ignored: a body on a route without one is a client's mistake (the wrong route, or
    a parameter sent in the body that belongs in the query) and gets 413 in the error shape."""
    mine = world.evidence["mine"]
    size = world.home.custody_log().size()
    for method, path, user in (("GET", f"{API}/evidence", "admin"),
                               ("GET", f"{API}/evidence/{mine}", "officer"),
                               ("DELETE", f"{API}/evidence/{mine}/hold?reason=r", "admin"),
                               ("POST", f"{API}/users/officer/token", "admin"),
                               ("GET", f"{API}/me", "officer")):
        for body in (b"{}", b'{"reason": "why"}', b"x"):
            response = world.client.request(method, path, content=body,
                                            headers={**world.auth(user),
                                                     "Content-Type": "application/json"})
            _assert_too_large(response)
            assert "takes no body" in response.json()["error"]["hint"]
        # streamed without a length, too
        _assert_too_large(world.client.request(method, path, content=iter([b"{", b"}"]),
                                               headers=world.auth(user)))
        _assert_too_large(world.client.request(method, path, content=b"{}"))  # before the 401
    assert world.home.custody_log().size() == size  # nothing was done
    # without a body all is as before (an empty one included)
    assert world.get("admin", f"{API}/evidence").status_code == 200
    assert world.client.request("GET", f"{API}/me", content=b"",
                                headers=world.auth("officer")).status_code == 200


def test_a_real_server_answers_a_huge_body_without_waiting_for_it(world: World) -> None:
    with serve(create_app(world.home)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST {API}/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {HUGE}\r\n\r\n".encode() + b"{" * CHUNK)
            answer = b""
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()


def _assert_secured(response: Any, where: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (where, name, dict(response.headers))
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy


def test_every_response_carries_the_security_headers(world: World) -> None:
    mine = world.evidence["mine"]
    for path, user, status in (("/", None, 307), ("/ui/", None, 200), ("/no/such/page", None, 404),
                               ("/ui/static/js/main.js", None, 200), ("/ui/static/app.css", None, 200),
                               (f"{API}/docs", None, 200), ("/ui/swagger/swagger-ui.css", None, 200),
                               (f"{API}/openapi.json", None, 200), (f"{API}/evidence", None, 401),
                               (f"{API}/evidence", "admin", 200), (f"{API}/users", "officer", 403),
                               (f"{API}/nowhere", "admin", 404), ("/ui/static/nothing.js", None, 404),
                               (f"{API}/evidence/{mine}/playback", "officer", 206)):
        headers = {**(world.auth(user) if user else {}),
                   **({"Range": "bytes=0-9"} if path.endswith("playback") else {})}
        response = world.client.get(path, headers=headers, follow_redirects=False)
        assert response.status_code == status, (path, response.text[:200])
        _assert_secured(response, path)
    _assert_secured(world.client.post(f"{API}/cases", content=b"x" * (JSON_BODY_LIMIT + 1)), "413")


def test_an_unexpected_failure_carries_the_security_headers(world: World) -> None:
    class BrokenStore:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("broken")

    app = create_app(world.home)
    services = app.state.services
    app.state.services = type(services)(**{**services.__dict__, "store": BrokenStore()})
    response = TestClient(app, raise_server_exceptions=False).get(
        f"{API}/evidence/{world.evidence['mine']}/playback", headers=world.auth("officer"))
    assert response.status_code == 500
    _assert_secured(response, "500")


class _Links(HTMLParser):
    """Every URL an HTML page refers to, and anything a CSP without 'unsafe-inline' blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")]
        if tag == "style" or (tag == "script" and "src" not in named):
            self.inline.append(f"inline <{tag}>")


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_the_docs_page_loads_everything_from_this_server(world: World) -> None:
    page = world.client.get(f"{API}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    links = _links(page.text)
    assert not links.inline, links.inline
    assert links.urls and all((u.startswith("/") and not u.startswith("//")) or u == "data:,"
                              for u in links.urls), links.urls
    assert not re.search(r"https?://|//cdn", page.text)
    for url in links.urls:
        if url.startswith("/") and not url.startswith(f"{API}/openapi"):
            assert world.client.get(url).status_code == 200, url
    starter = world.client.get("/ui/static/docs.js").text
    assert "SwaggerUIBundle" in starter and not re.search(r"https?://", starter)


def test_the_pages_have_no_inline_script_or_style() -> None:
    for name in ("index.html", "docs.html"):
        assert not _links((STATIC / name).read_text()).inline, name
    scripts = sorted((STATIC / "js").rglob("*.js"))
    assert len(scripts) > 5
    for path in scripts:
        # The modules build elements with h(); a "style" or "on…" attribute string would be inline.
        assert not re.search(r"""["']style["']\s*[:,]|\bstyle\s*:|innerHTML|insertAdjacentHTML|"""
                             r"""setAttribute\(\s*["'](style|on)""", path.read_text()), path


@pytest.mark.parametrize("path", ["/ui/", f"{API}/docs"])
def test_pages_may_not_be_framed_or_sniffed(world: World, path: str) -> None:
    response = world.client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class Small(BaseModel):
    text: str


def test_a_route_may_declare_a_smaller_limit() -> None:
    app = EvidenceApp()
    install_body_limits(app)

    @app.post("/small", openapi_extra={LIMIT_KEY: 16})
    def small(body: Small) -> dict[str, str]:
        return {"text": body.text}

    @app.post("/default")
    def default(body: Small) -> dict[str, str]:
        return {"text": body.text}

    limits = {getattr(r, "path", ""): route_limit(r) for r in app.router.routes}
    assert limits["/small"] == 16 and limits["/default"] == JSON_BODY_LIMIT
    client = TestClient(app)
    assert client.post("/small", json={"text": "ok"}).status_code == 200
    _assert_too_large(client.post("/small", json={"text": "x" * 16}))
    assert client.post("/default", json={"text": "x" * 16}).status_code == 200
