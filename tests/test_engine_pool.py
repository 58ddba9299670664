"""An engine keeps every connection its pool may open (under load SQLAlchemy's default kept 5
of 15 and closed and reopened the others at every request), and never opens more than before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from storage.db import POOL_SIZE, make_engine, sqlite_url


def test_a_file_database_keeps_its_connections_and_opens_no_more(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "evidence.db"))
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == POOL_SIZE == 15 and engine.pool._max_overflow == 0
        held = [engine.connect() for _ in range(POOL_SIZE)]
        for conn in held:
            conn.close()
        assert engine.pool.checkedin() == POOL_SIZE  # all kept, none closed on return
    finally:
        engine.dispose()


def test_an_in_memory_database_keeps_its_own_kind_of_pool() -> None:
    engine = make_engine("sqlite://")
    try:
        assert not isinstance(engine.pool, QueuePool)
    finally:
        engine.dispose()
