"""Shared fixtures: databases (SQLite and a throwaway PostgreSQL database), logs.

Every engine and pool a fixture opens is closed in its teardown, and after each
test the engines of evidence homes (api.home) are disposed. While PostgreSQL is
in use a ``ConnectionWatch`` (tests/pg_watch.py) samples its connections: the peak
goes to the terminal summary and to .pytest-pg-peak.json, and a PostgreSQL test
after whose teardown this process still holds a connection to the test database
fails at teardown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.home import dispose_engines
from custody.log import CustodyLog
from custody.note import Ed25519Signer
from storage.db import make_engine, migrate, sqlite_url
from tests.pg_watch import PEAK_FILE, ConnectionWatch, write_reports

# The browser harness's fixtures (site, browser, new_page, signed_in_page): tests/browser_support.py.
pytest_plugins = ("tests.browser_support",)

PG_ADMIN_URL = os.environ.get("EVIDENCE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"
ORIGIN = "test.example/custody"
_WATCH: list[ConnectionWatch] = []  # the session's, once a test has used PostgreSQL
# The stopped watches' reports (ConnectionWatch.report): this process's, or on the
# controller of a pytest-xdist run (scripts/test: -n 2) every worker's.
_REPORTS: list[dict[str, Any]] = []
# The most connections to the test database the suite may hold at once (it peaks
# near 13, in the tests that start a dozen writers); CI's server has 100 for all.
PEAK_BUDGET = 25


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a skipped PostgreSQL test is a failure)")
    pytest.skip(message)


def _xdist_worker(config: pytest.Config) -> str | None:
    """``gw0``, ``gw1``, ... in a pytest-xdist worker; None in a run without workers."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["workerid"])


@pytest.fixture(scope="session")
def pg_database_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """A database created for this run and dropped after it; its connections watched.

    Each pytest-xdist worker has its own (with ``EVIDENCE_TEST_PG_URL`` too, created on that
    server), so that no worker's connections, schemas or terminated backends are another's."""
    given = os.environ.get("EVIDENCE_TEST_PG_URL")
    admin_url = PG_ADMIN_URL
    if given and _xdist_worker(pytestconfig) is None:
        with _watching(given, make_url(given).database or "", pytestconfig):
            yield given
        return
    if given:
        admin_url = given
    name = f"evidence_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A commit need not wait for the server's WAL flush: nothing here survives a crash
            # of the server anyway, and the suite commits many thousands of times.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except OperationalError as exc:
        admin.dispose()
        _skip_or_fail(f"PostgreSQL not reachable at {admin_url} ({exc.orig}); start it or "
                      "set EVIDENCE_TEST_PG_ADMIN_URL / EVIDENCE_TEST_PG_URL to enable these tests")
    admin.dispose()  # idle for the whole run: connect again to drop the database
    try:
        with _watching(admin_url, name, pytestconfig):
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _watching(admin_url: str, database: str, config: pytest.Config) -> Iterator[None]:
    """Sample the connections to ``database`` (over a connection to ``admin_url``)."""
    watch = ConnectionWatch(admin_url, database).start()
    _WATCH.append(watch)
    try:
        yield
    finally:
        watch.stop()
        _REPORTS.append(watch.report())
        if _xdist_worker(config) is None:  # the controller writes the workers' reports
            write_reports(config.rootpath / PEAK_FILE, _REPORTS)


def _uses_postgres(request: pytest.FixtureRequest) -> bool:
    return (request.node.get_closest_marker("postgres") is not None
            or "pg_database_url" in request.fixturenames)


@pytest.fixture(autouse=True)
def _no_connection_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before and torn down after every other fixture of the test: disposes the
    homes' engines, then fails if this process still holds a connection to the test
    database that it did not hold before the test."""
    watch = _WATCH[-1] if _WATCH else None
    checked = _uses_postgres(request)
    before = watch.own_backends() if watch is not None and checked else {}
    if watch is not None:
        watch.current_test = request.node.nodeid
    failed = request.session.testsfailed
    yield
    dispose_engines()
    watch = _WATCH[-1] if _WATCH else None  # the test may have started it
    if watch is None or not checked or request.session.testsfailed != failed:
        return  # a failure's traceback still holds what the test opened
    left = {pid: name for pid, name in watch.own_backends().items() if pid not in before}
    if left:
        watch.record_leak(request.node.nodeid, left)
        pytest.fail(f"{len(left)} PostgreSQL connection(s) of this process were left open after "
                    f"the test and its fixtures finished (application names: "
                    f"{sorted(set(left.values()))}); close the engine, pool or custody log "
                    "(CustodyLog.close) that opened them", pytrace=False)


def _over_budget(report: dict[str, Any]) -> bool:
    return int(report["test_database"]) > PEAK_BUDGET


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the controller of a pytest-xdist run: a worker's watch reports (sent below)."""
    reports = getattr(node, "workeroutput", {}).get("pg_watch", [])
    _REPORTS.extend(reports)
    if reports:
        write_reports(node.config.rootpath / PEAK_FILE, _REPORTS)


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown stopped the watch
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["pg_watch"] = _REPORTS  # to the controller, which sums up and fails the run
    elif any(_over_budget(report) for report in _REPORTS):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for report in _REPORTS:
        terminalreporter.write_sep("-", "PostgreSQL connections")
        for line in report["summary"]:
            terminalreporter.write_line(line)
        if _over_budget(report):
            terminalreporter.write_line(
                f"FAILED: the suite held {report['test_database']} connections at once, over its "
                f"budget of {PEAK_BUDGET}; CI's server allows 100 for every client together",
                red=True)


def _pg_schema_url(database_url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    setup = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    setup.dispose()
    return f"{database_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "evidence.db")
    else:
        url = _pg_schema_url(request.getfixturevalue("pg_database_url"))
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the tests open their own; this one's connection must not linger
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate(ORIGIN)


@pytest.fixture
def log(engine: Engine, signer: Ed25519Signer) -> Iterator[CustodyLog]:
    custody_log = CustodyLog(engine, signer, ORIGIN)
    yield custody_log
    custody_log.close()
