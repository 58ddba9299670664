"""Checkpoints time-stamped by a real RFC 3161 authority (OpenSSL's `ts` on 127.0.0.1):
the token chain, the message imprint and the time are checked, a TSA that is out never
holds up the log and is caught up with, and a swapped token is reported by verify."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.home import Home, dispose_engines, init_home
from api.settings import Settings
from api.timestamping import Timestamper, TsaSetup, load_roots, timestamp_newest
from api.verify_run import run_verify
from custody.events import EventDraft
from custody.schema import timestamps
from custody.timestamps import TimestampError, newest, untimestamped
from tests.cli_helpers import run_cli
from tests.tsa_support import RunningTsa, running_tsa


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTsa]:
    with running_tsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    made, _ = init_home(Settings(home=tmp_path / "home", s3_endpoint=None,
                                 log_origin="evidence.test/tsa"))
    yield made
    dispose_engines()


def _grow(home: Home, count: int = 2) -> int:
    log = home.custody_log()
    log.append([EventDraft("test:grown", "tester", None, {"n": n}) for n in range(count)])
    return log.checkpoint().size


def _setup(tsa: RunningTsa, every: float = 10.0) -> TsaSetup:
    return TsaSetup(tsa.url, load_roots(tsa.roots_file), every)


def test_the_newest_checkpoint_gets_a_token_that_verify_checks(home: Home, tsa: RunningTsa) -> None:
    size = _grow(home, 3)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    stamped = timestamp_newest(home.engine(), _setup(tsa))
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert stamped is not None and stamped.size == size
    assert before <= stamped.gen_time <= after
    assert timestamp_newest(home.engine(), _setup(tsa)) is None, "nothing new to stamp"

    report = run_verify(home.engine(), None, home.verifier(), home.origin, objects=False,
                        tsa_roots=load_roots(tsa.roots_file))
    assert report.ok, report.problems
    assert "timestamps" in report.checks
    assert any(f"newest time-stamp: checkpoint size {size}" in note for note in report.notes)

    unchecked = run_verify(home.engine(), None, home.verifier(), home.origin, objects=False)
    assert "timestamps" not in unchecked.checks
    assert any("were not checked" in note for note in unchecked.notes)


def test_the_command_line_stamps_and_verifies_with_the_tsa(home: Home, tsa: RunningTsa) -> None:
    _grow(home)
    env = {"EVIDENCE_TSA_URL": tsa.url, "EVIDENCE_TSA_ROOTS": str(tsa.roots_file),
           "EVIDENCE_S3_ENDPOINT": ""}
    stamped = run_cli(home.root, "log", "timestamp", env=env)
    assert stamped.returncode == 0, stamped.stderr
    assert "time-stamped by" in stamped.stdout
    verified = run_cli(home.root, "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "timestamps" in verified.stdout and "newest time-stamp" in verified.stdout


def test_a_token_from_an_authority_not_trusted_is_refused_and_not_kept(
        home: Home, tsa: RunningTsa, tmp_path: Path) -> None:
    _grow(home)
    with running_tsa(tmp_path / "other") as other:
        foreign = TsaSetup(other.url, load_roots(tsa.roots_file), 10.0)
        with pytest.raises(TimestampError, match="does not verify"):
            timestamp_newest(home.engine(), foreign)
        assert other.answered == 1, "the other TSA did answer; its token was refused"
    assert newest(home.engine()) is None


def test_a_swapped_token_is_reported_by_verify(home: Home, tsa: RunningTsa) -> None:
    first = _grow(home)
    timestamp_newest(home.engine(), _setup(tsa))
    second = _grow(home)
    timestamp_newest(home.engine(), _setup(tsa))
    engine = home.engine()
    with engine.begin() as conn:
        old = conn.execute(select(timestamps.c.response).where(timestamps.c.size == first)).scalar_one()
        conn.execute(update(timestamps).where(timestamps.c.size == second).values(response=old))
    report = run_verify(engine, None, home.verifier(), home.origin, objects=False,
                        tsa_roots=load_roots(tsa.roots_file))
    assert not report.ok
    assert [p.index for p in report.problems if p.kind == "timestamp"] == [second]


def test_an_absent_authority_never_holds_up_the_log_and_is_caught_up_with(
        home: Home, tsa: RunningTsa) -> None:
    _grow(home)
    tsa.down = True
    try:
        with pytest.raises(TimestampError, match="did not answer"):
            timestamp_newest(home.engine(), _setup(tsa))
        stamper = Timestamper(home.engine(), _setup(tsa, every=0.05))
        stamper.start()
        try:
            _wait_for(lambda: stamper.failures >= 2, "the stamper to retry")
            size = _grow(home, 5)  # appends go on while the TSA is out
            assert untimestamped(home.engine()) is not None
            tsa.down = False
            _wait_for(lambda: (newest(home.engine()) or _NONE).size == size, "the catch-up")
        finally:
            stamper.stop()
    finally:
        tsa.down = False
    assert stamper.failures == 0 and stamper.last_error is None


class _None:
    size = -1


_NONE = _None()


def _wait_for(condition: object, what: str, limit: float = 60.0) -> None:
    """Polls a condition the background thread makes true (no fixed sleep decides it)."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
