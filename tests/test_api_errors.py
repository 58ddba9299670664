"""One error shape everywhere, no stack traces, and a complete OpenAPI document."""

from __future__ import annotations

from typing import Any, get_args

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.models import Category
from cases.retention import CATEGORIES
from tests.api_support import World, world_fixture

_ = world_fixture
API = "/api/v1"
ERROR_KEYS = {"code", "message", "hint"}


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def test_every_kind_of_error_has_the_same_shape(world: World) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    _assert_error(world.client.get(f"{API}/evidence"), 401, "unauthenticated")
    _assert_error(world.get("officer", f"{API}/users"), 403, "forbidden")
    _assert_error(world.get("admin", f"{API}/evidence/{missing}"), 404, "not_found")
    _assert_error(world.get("admin", f"{API}/no/such/route"), 404, "not_found")
    _assert_error(world.get("admin", f"{API}/evidence/not-a-uuid"), 422, "invalid_request")
    _assert_error(world.get("admin", f"{API}/evidence?limit=0"), 422, "invalid_request")
    _assert_error(world.get("admin", f"{API}/evidence?bogus=1"), 400, "invalid_request")
    _assert_error(world.client.post(f"{API}/cases", content=b"{not json",
                                    headers={**world.auth("admin"),
                                             "Content-Type": "application/json"}),
                  422, "invalid_request")
    _assert_error(world.client.put(f"{API}/cases", headers=world.auth("admin")),
                  405, "method_not_allowed")
    first = world.client.post(f"{API}/cases", json={"title": "t", "number": "N-1"},
                              headers=world.auth("admin"))
    assert first.status_code == 201
    _assert_error(world.client.post(f"{API}/cases", json={"title": "t", "number": "N-1"},
                                    headers=world.auth("admin")), 409, "already_exists")
    size = len(world.playback["mine"])
    _assert_error(world.get("officer", f"{API}/evidence/{world.evidence['mine']}/playback",
                            headers={"Range": f"bytes={size}-"}), 416, "range_not_satisfiable")


def test_bad_input_is_refused_not_stored(world: World) -> None:
    for body in ({"title": "a\x00b", "number": "N-2"},          # NUL (PostgreSQL cannot store)
                 {"title": " ", "number": "N-2"},              # blank
                 {"title": "x" * 301, "number": "N-2"},         # too long
                 {"title": "t", "number": "N-2\n"},             # not one line
                 {"title": "t", "number": "N-2", "extra": 1}):  # unknown field
        response = world.client.post(f"{API}/cases", json=body, headers=world.auth("admin"))
        _assert_error(response, 422, "invalid_request")
    # not a case number by the agency's rule (checked by the domain, which says the rule)
    error = _assert_error(world.client.post(f"{API}/cases", json={"title": "t", "number": "../../etc"},
                                            headers=world.auth("admin")), 400, "invalid_request")
    assert "the rule:" in error["hint"]
    lone_surrogate = b'{"title": "\\ud800", "number": "N-2"}'
    response = world.client.post(f"{API}/cases", content=lone_surrogate,
                                 headers={**world.auth("admin"), "Content-Type": "application/json"})
    _assert_error(response, 422, "invalid_request")
    assert world.get("admin", f"{API}/cases").json()["total"] == 0
    _assert_error(world.get("admin", f"{API}/custody/proof/inclusion?index={2**63}"),
                  422, "invalid_request")
    _assert_error(world.client.post(f"{API}/users", json={"name": "x", "role": "officer"},
                                    headers=world.auth("admin")), 422, "invalid_request")


def test_an_unexpected_failure_is_a_500_without_internals(world: World) -> None:
    class BrokenStore:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("secret internal detail /srv/keys")

    app = create_app(world.home)
    services = app.state.services
    app.state.services = type(services)(**{**services.__dict__, "store": BrokenStore()})
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get(f"{API}/evidence/{world.evidence['mine']}/playback",
                          headers=world.auth("officer"))
    error = _assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert error["hint"]
    assert world.events("evidence:file:viewed") == []  # nothing delivered, nothing logged


def test_the_openapi_document_is_complete(world: World) -> None:
    document = world.client.get(f"{API}/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    error_ref = "#/components/schemas/ErrorBody"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert operation.get("security"), where
            # sign-in routes need no credentials (an empty requirement): no 401 to document
            public = {} in operation["security"]
            statuses = set(operation["responses"])
            if path.startswith(API):
                success = {s for s in statuses if s.startswith("2")}
                assert success, where
                assert {"400", "422", "500"} | (set() if public else {"401"}) <= statuses, where
            else:  # single sign-on: pages a browser is redirected through
                assert public and {"302", "400", "500"} <= statuses, where
            for status, response in operation["responses"].items():
                content = response.get("content", {})
                if status.startswith("2"):
                    assert content or status == "204", where
                    for media in content.values():
                        assert media.get("schema"), (where, status)
                elif status.startswith("3"):
                    assert not content, where  # a redirect has no body to describe
                else:
                    assert content["application/json"]["schema"]["$ref"] == error_ref, \
                        (where, status)


def test_the_category_filter_lists_every_retention_category() -> None:
    assert set(get_args(Category)) == set(CATEGORIES)


def test_a_number_is_not_a_time(world: World) -> None:
    """Read as seconds since 1970, "2024" would search the first hour of 1970."""
    for value in ("2024", "-25885", "1710466200.5"):
        response = world.get("admin", f"{API}/evidence", params={"from": value})
        error = _assert_error(response, 422, "invalid_request")
        assert "ISO 8601" in error["message"], value
    assert world.get("admin", f"{API}/evidence",
                     params={"from": "2024-03-15T09:30:00+08:00"}).status_code == 200


def test_values_of_the_wrong_type_are_refused_not_coerced(world: World) -> None:
    """The document says boolean, integer, date-time: 0, "yes", 1.0 and 0.0 are none of them."""
    size = world.home.custody_log().size()
    for body in ({"dry_run": 0}, {"dry_run": 1}, {"dry_run": "true"}, {"dry_run": "false"},
                 {"dry_run": None}):
        response = world.client.post(f"{API}/retention", json=body, headers=world.auth("admin"))
        _assert_error(response, 422, "invalid_request")
    assert world.home.custody_log().size() == size  # the job did not run
    for value in ("0.0", "0", "1710466200", "1e9", "2024-03-15"):  # numbers are not times
        for name in ("from", "to"):
            _assert_error(world.get("admin", f"{API}/evidence", params={name: value}),
                          422, "invalid_request")
    for query in ("objects=1", "objects=yes", "objects=on"):
        _assert_error(world.get("auditor", f"{API}/verify?{query}"), 422, "invalid_request")
    for query in ("offset=1.0", "limit=5.0", "offset=%201", "limit=%2B5"):
        _assert_error(world.get("admin", f"{API}/evidence?{query}"), 422, "invalid_request")
    # the forms the document gives still work
    assert world.client.post(f"{API}/retention", json={"dry_run": True},
                             headers=world.auth("admin")).status_code == 200
    page = world.get("admin", f"{API}/evidence",
                     params={"from": "2020-01-01T00:00:00+08:00", "offset": "0", "limit": "5"})
    assert page.status_code == 200 and page.json()["total"] > 0
    assert world.get("auditor", f"{API}/verify?objects=false").status_code == 200
