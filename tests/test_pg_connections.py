"""The PostgreSQL fixtures close every connection they open.

A pytest session of its own runs tests on the shared fixtures (``db_url``,
``engine``, ``log`` and the API's ``world``) in this process, with the cycle
collector off, so that a connection left for the collector to close counts as
left open: the suite runs hundreds of such tests against a server that other
clients share, and the collector runs when it likes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import psycopg
import pytest

from tests.pg_watch import libpq_dsn, own_tcp_ports

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.postgres

INNER_TESTS = '''
from sqlalchemy import text

from custody.events import EventDraft


def test_appends_through_the_log(log):
    log.append([EventDraft("evidence:test:appended", "writer:test")])


def test_reads_through_the_engine(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_serves_and_appends_through_the_api(world):
    assert world.get("admin", "/api/v1/users").status_code == 200
    assert world.events()
'''


@pytest.fixture
def watcher(pg_database_url: str) -> Iterator[psycopg.Connection[tuple[int, int]]]:
    with psycopg.connect(libpq_dsn(pg_database_url), autocommit=True) as conn:
        yield conn


def _own_backends(conn: psycopg.Connection[tuple[int, int]]) -> set[int]:
    rows = conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid() AND client_port > 0").fetchall()
    ports = own_tcp_ports()
    return {pid for pid, port in rows if port in ports}


def test_no_connection_outlives_the_fixtures_that_opened_it(
        pytester: pytest.Pytester, pg_database_url: str,
        watcher: psycopg.Connection[tuple[int, int]]) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    postgres: needs PostgreSQL\n")
    pytester.makeconftest(f'''
import pytest

from tests.api_support import world_fixture
from tests.conftest import db_url, engine, log, signer

_ = (world_fixture, db_url, engine, log, signer)


@pytest.fixture(scope="session")
def pg_database_url():
    return {pg_database_url!r}
''')
    pytester.makepyfile(test_inner=INNER_TESTS)
    before = _own_backends(watcher)
    assert own_tcp_ports(), "this check needs Linux's /proc to tell this process's connections"
    gc.collect()
    gc.disable()
    try:
        result = pytester.inline_run("-q", "-k", "postgres", "-p", "no:cacheprovider")
        left = _own_backends(watcher) - before
    finally:
        gc.enable()
        gc.collect()  # what a failed run left behind, so later tests start clean
    result.assertoutcome(passed=3)
    assert left == set(), (f"{len(left)} connection(s) to the test database stayed open after the "
                           "fixtures' teardown")
